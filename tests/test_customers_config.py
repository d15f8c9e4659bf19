"""``customers`` in the configuration: checked as strictly as the rest, tokens read as the
API token is (service/preflight.py), the same for ``run`` and ``check-config``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from monitor import config
from monitor.core.errors import ConfigError
from monitor.service.app import customers
from monitor.service.preflight import preflight

PATHS = [{"router": "active", "demarc": "primary", "address": "127.0.0.2"}]


def data(tmp: Path, custs: list[dict[str, Any]], api: Path | None = None) -> dict[str, Any]:
    return {
        "journal": str(tmp / "j.db"),
        "http": {"token_file": None if api is None else str(api)},
        "circuits": [
            {"id": c, "monthly_fee_yen": 1000, "contacts": ["a@b.example"], "paths": PATHS}
            for c in ("c1", "c2")
        ],
        "customers": custs,
    }


def token(tmp: Path, name: str, value: str, mode: int = 0o600) -> Path:
    path = tmp / name
    path.write_text(value + "\n")
    os.chmod(path, mode)
    return path


def cust(cid: str, circuits: list[str], path: Path, name: str = "Name") -> dict[str, Any]:
    return {"id": cid, "name": name, "circuits": circuits, "token_file": str(path)}


@pytest.mark.parametrize(
    ("custs", "message"),
    [
        ([cust("a", ["c9"], Path("/t"))], "customers[0].circuits: no circuit 'c9'"),
        ([cust("a", ["c1"], Path("/t")), cust("a", ["c2"], Path("/t"))], "duplicate customer"),
        ([cust("a", ["c1"], Path("/t")), cust("b", ["c1"], Path("/t"))], "already belongs"),
        ([cust("a", ["c1", "c1"], Path("/t"))], "listed twice"),
        ([cust("a", [], Path("/t"))], "at least one"),
        ([{**cust("a", ["c1"], Path("/t")), "token": "x"}], "unknown key"),
        ([cust("a b", ["c1"], Path("/t"))], "customers[0].id"),
    ],
)
def test_mistakes_are_named(tmp_path: Path, custs: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        config.parse(data(tmp_path, custs))


def test_tokens_are_read_checked_and_warned_about(tmp_path: Path) -> None:
    api = token(tmp_path, "api", "a" * 32)
    good = token(tmp_path, "alpha", "b" * 32, 0o644)
    s = config.parse(data(tmp_path, [cust("alpha", ["c1"], good, "Alpha")], api))
    warning = preflight(s)
    assert warning is not None and "customers[0].token_file" in warning
    assert customers(s)[0].token == "b" * 32 and customers(s)[0].circuits == {"c1"}
    same = token(tmp_path, "same", "a" * 32)
    short = token(tmp_path, "short", "short")
    for custs, message in (
        ([cust("x", ["c1"], same)], "customers[0].token_file .*the same token as the API token"),
        ([cust("x", ["c1"], good), cust("y", ["c2"], good)], "same token as customer 'x'"),
        ([cust("x", ["c1"], short)], "customers[0].token_file .*shorter than 16"),
        ([cust("x", ["c1"], tmp_path / "missing")], "customers[0].token_file .*cannot read"),
    ):
        s = config.parse(data(tmp_path, custs, api))
        with pytest.raises(ConfigError, match=message.replace("[0]", r"\[0\]")):
            preflight(s)
