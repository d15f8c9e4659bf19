"""RFC 3161 time-stamps of the chain head against a real local authority (``openssl ts``)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.core.chain import ChainHead
from monitor.evidence import tsa
from monitor.service.jobs import Jobs
from monitor.store.aio import AsyncStore
from monitor.store.base import Store
from monitor.store.sqlite import open_sqlite
from tests.evidence.tsa_server import Authority, make_authority
from tests.store.test_chain import history

HEAD = ChainHead(seq=42, hash="ab" * 32)


def test_a_token_over_the_head_verifies_with_openssl(tmp_path: Path) -> None:
    with Authority() as authority:
        token = tsa.stamp(authority.url, HEAD, timeout_s=10, ca_file=authority.ca)
        assert authority.answered == 1
        said = tsa.read(token)
        assert said.imprint == tsa.imprint_of(HEAD)
        assert abs(said.at - datetime.now(UTC)) < timedelta(minutes=1)
        (tmp_path / "t.tsr").write_bytes(token)
        (tmp_path / "head.bin").write_bytes(bytes.fromhex(HEAD.hash))
        done = subprocess.run(
            ["openssl", "ts", "-verify", "-in", "t.tsr", "-data", "head.bin",
             "-CAfile", str(authority.ca)],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0 and "Verification: OK" in done.stdout, done.stderr
        (tmp_path / "other.bin").write_bytes(bytes.fromhex("cd" * 32))
        wrong = subprocess.run(
            ["openssl", "ts", "-verify", "-in", "t.tsr", "-data", "other.bin",
             "-CAfile", str(authority.ca)],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert wrong.returncode != 0


def test_a_token_from_an_authority_we_do_not_trust_is_refused(tmp_path: Path) -> None:
    make_authority(tmp_path)  # another root of the same name
    with Authority() as authority, pytest.raises(tsa.TsaError, match="does not verify"):
        tsa.stamp(authority.url, HEAD, timeout_s=10, ca_file=tmp_path / "ca.crt")


def test_an_unreachable_or_refusing_authority_says_so() -> None:
    with Authority() as authority:
        authority.refuse = True
        with pytest.raises(tsa.TsaError, match="HTTP 503"):
            tsa.stamp(authority.url, HEAD, timeout_s=10)
        url = authority.url
    with pytest.raises(tsa.TsaError, match="cannot reach"):
        tsa.stamp(url, HEAD, timeout_s=2)


class _Stamping:
    def __init__(self, url: str, ca: Path) -> None:
        self.tsa_url, self.tsa_ca_file, self.tsa_timeout_s = url, ca, 10.0


class _NoFigures:
    async def sla(self, month: str) -> dict[str, object]:
        return {"month": month, "circuits": []}


class _NoCredits:
    def set_credit(self, circuit: str, month: str, fraction: float) -> None:
        pass


async def test_the_hourly_job_stamps_the_head_into_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    history(open_sqlite(path))
    store: AsyncStore[Store] = await AsyncStore.open(lambda: open_sqlite(path))
    try:
        with Authority() as authority:
            jobs = Jobs(_NoFigures(), store=store, credits=_NoCredits(),
                        wall=lambda: datetime.now(UTC), timezone="UTC", reports=tmp_path,
                        stamping=_Stamping(authority.url, authority.ca))  # fmt: skip
            head = await store.run(lambda s: s.head())
            await jobs.witness()
        [kept] = await store.run(lambda s: s.stamps())
        assert (kept.seq, kept.hash, kept.tsa) == (head.seq, head.hash, authority.url)
        assert tsa.read(kept.token).imprint == tsa.imprint_of(head)
        after = await store.run(lambda s: s.head())
        assert after.seq == head.seq + 1  # the token is chained like any fact
        assert (await store.run(lambda s: s.verify())).ok
    finally:
        await store.close()
