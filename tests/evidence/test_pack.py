"""Claim packs end to end: made by ``slawatch evidence`` from a real journal (report page by
real headless Chromium), checked offline with nothing but the pack and the public key; one
changed byte in any member fails, naming that member."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import yaml

from monitor.core.chain import HEAD_HEADER, ChainHead, head_header
from monitor.evidence import crypto, pack
from monitor.store.sqlite import open_sqlite
from tests.store.test_chain import history
from tests.store.test_contract import T0, notice

PATHS = [{"router": r, "demarc": d, "address": f"127.0.0.{i + 2}"}
         for i, (r, d) in enumerate((r, d) for r in ("active", "standby")
                                    for d in ("primary", "secondary"))]  # fmt: skip
NOW = "2026-10-08T00:00:00+00:00"


def slawatch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def stamped_notice(head: ChainHead) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "s@noc.example", "f@cust.example", "opened"
    msg[HEAD_HEADER] = head_header(head)
    msg.set_content(f"record {head.seq} sha256:{head.hash}\n")
    return bytes(msg)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A journal with one incident (evidence, a notice carrying the head, its answer), a
    configuration naming it, a key pair, and the incident's pack."""
    d = tmp_path_factory.mktemp("pack")
    store = open_sqlite(d / "journal.db")
    history(store)
    store.outbox.put(notice("<m2@x>"), T0, stamp=stamped_notice)
    store.close()
    cfg = {"journal": str(d / "journal.db"), "evidence": {"key_file": str(d / "key")},
           "circuits": [{"id": "c1", "monthly_fee_yen": 300000,
                         "contacts": ["fault@cust.example"], "paths": PATHS}]}  # fmt: skip
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    keygen = slawatch("evidence", "keygen", "--config", "config.yaml", cwd=d)
    assert keygen.returncode == 0, keygen.stderr
    made = slawatch("evidence", "1", "-o", "pack.zip", "--config", "config.yaml", "--now", NOW,
                    cwd=d)  # fmt: skip
    assert made.returncode == 0, made.stderr
    yield d


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def rezip(contents: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in contents.items():
            z.writestr(name, data)
    return out.getvalue()


def test_a_pack_holds_up_with_its_public_key(made: Path) -> None:
    done = slawatch("evidence", "verify", "pack.zip", "--public-key", "key.pub", cwd=made)
    assert done.returncode == 0, done.stderr
    assert "holds up" in done.stdout and "'incident': 1" in done.stdout
    got = members((made / "pack.zip").read_bytes())
    assert {"manifest.json", "manifest.sig", "chain.jsonl", "incident-1.json", "timeline-1.json",
            "month-2026-10.json", "report.pdf", "notices/1.eml", "notices/1.answers.json",
            "notices/2.eml", "notices/2.answers.json", "README.txt"} <= set(got)  # fmt: skip
    assert any(n.startswith("evidence/") and n.endswith("-opened.json.gz") for n in got)
    assert got["report.pdf"].startswith(b"%PDF")
    incident = json.loads(got["incident-1.json"])
    assert incident["id"] == 1 and incident["excluded"] and incident["timeline"]
    month = json.loads(got["month-2026-10.json"])
    assert [c["circuit"] for c in month["circuits"]] == ["c1"]
    [answer] = json.loads(got["notices/1.answers.json"])
    assert answer["accepted"] and answer["code"] == 250 and answer["record"] > 0
    manifest = json.loads(got["manifest.json"])
    assert set(manifest["links"]) >= {"notices/1.eml", "notices/2.eml"}


@pytest.mark.parametrize(
    "name",
    ["manifest.json", "manifest.sig", "chain.jsonl", "incident-1.json", "timeline-1.json",
     "month-2026-10.json", "report.pdf", "notices/1.eml", "notices/1.answers.json",
     "notices/2.eml", "README.txt", "evidence"],
)  # fmt: skip
def test_one_changed_byte_in_any_member_fails_naming_it(made: Path, name: str) -> None:
    contents = members((made / "pack.zip").read_bytes())
    if name == "evidence":
        name = next(n for n in contents if n.startswith("evidence/"))
    data = bytearray(contents[name])
    data[len(data) // 2] ^= 0x01
    contents[name] = bytes(data)
    found = pack.check(rezip(contents), crypto.load_public(made / "key.pub"))
    assert not found.ok
    assert name in found.problems[0], found.problems


def test_the_command_names_the_failing_member(made: Path) -> None:
    contents = members((made / "pack.zip").read_bytes())
    contents["timeline-1.json"] = contents["timeline-1.json"].replace(b"1", b"2", 1)
    contents["extra.txt"] = b"slipped in"
    (made / "bad.zip").write_bytes(rezip(contents))
    done = slawatch("evidence", "verify", "bad.zip", "--public-key", "key.pub", cwd=made)
    assert done.returncode == 1 and done.stdout == ""
    assert "FAIL timeline-1.json: its SHA-256 differs" in done.stderr
    assert "FAIL extra.txt: in the pack but not in the manifest" in done.stderr


def test_another_key_is_named(made: Path, tmp_path: Path) -> None:
    crypto.keygen(tmp_path / "other")
    found = pack.check((made / "pack.zip").read_bytes(), crypto.load_public(tmp_path / "other.pub"))
    assert not found.ok and "signed by another key" in found.problems[0]


def test_a_month_pack_of_a_circuit_holds_up(made: Path) -> None:
    done = slawatch("evidence", "--month", "2026-10", "--circuit", "c1", "-o", "month.zip",
                    "--config", "config.yaml", "--now", NOW, cwd=made)  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = pack.check((made / "month.zip").read_bytes(), crypto.load_public(made / "key.pub"))
    assert found.ok, found.problems
    assert found.subject == {"circuit": "c1", "month": "2026-10"}
    assert "incident-1.json" in members((made / "month.zip").read_bytes())


def test_bad_requests_are_one_line_and_exit_2(made: Path) -> None:
    for args, says in [
        (("evidence", "99", "-o", "x.zip", "--config", "config.yaml"), "no incident 99"),
        (("evidence", "1", "--config", "config.yaml"), "-o PACK.zip"),
        (("evidence", "x1", "-o", "x.zip"), "an incident id is a number"),
        (("evidence", "verify", "pack.zip"), "--public-key"),
        (("evidence", "keygen", "-o", "key"), "exists"),
    ]:
        done = slawatch(*args, cwd=made)
        assert done.returncode == 2 and says in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1
