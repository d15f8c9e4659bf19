"""SNMP configuration, the daemon's trap -> path mapping and its poll loop, without a network."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor import config
from monitor.core.errors import ConfigError
from monitor.core.inputs import Probed
from monitor.core.model import Demarc, Router
from monitor.probes.snmp import Reading, SnmpPoller, Trap, TrapKind
from monitor.service.snmp_watch import SnmpWatch, demarcs_named, path_result, plans

ISSUE2 = Path(__file__).parent / "fixtures" / "issue2.yaml"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def settings(monkeypatch: pytest.MonkeyPatch, **circuit: Any) -> config.Settings:
    monkeypatch.setenv("SW_COMMUNITY", "s3cret")
    data = yaml.safe_load(ISSUE2.read_text())
    data["circuits"][0]["routers"] = {
        "active": {
            "address": "198.18.1.2",
            "snmp": {"community": {"env": "SW_COMMUNITY"}},
            "interfaces": {"primary": {"if_name": "xe-0/0/1"}, "secondary": {"if_descr": "Te2"}},
            "bgp_peers": {"primary": "198.18.9.1"},
        }
    }
    data["circuits"][0].update(circuit)
    data["snmp_traps"] = {"listen": "127.0.0.1:16299", "community": {"env": "SW_COMMUNITY"}}
    return config.parse(data, "test.yaml")


def errors_of(data_change: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    with pytest.raises(ConfigError) as err:
        settings(monkeypatch, **data_change)
    return str(err.value)


def test_routers_and_traps_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(monkeypatch)
    router = s.circuits[0].routers[Router.ACTIVE]
    assert router.interfaces[Demarc.PRIMARY].if_name == "xe-0/0/1"
    assert router.poll_interval_s == 10 and router.port == 161
    assert s.snmp_traps is not None and s.snmp_traps.host_port == ("127.0.0.1", 16299)
    assert s.snmp_traps.burst.count == 3 and s.snmp_traps.burst.spacing_s == 0.2


def test_snmp_probed_path_needs_something_to_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    data = yaml.safe_load(ISSUE2.read_text())
    paths = data["circuits"][0]["paths"]
    paths[3]["probe"] = "snmp"  # standby/secondary: no standby router configured
    msg = errors_of({"paths": paths}, monkeypatch)
    assert "circuits[0]: paths[3] has probe: snmp" in msg
    assert "routers.standby.interfaces.secondary" in msg


@pytest.mark.parametrize(
    ("snmp", "expected"),
    [
        ({"community": "public"}, "community: write where the secret lives, {env: NAME} or"),
        ({"version": "3", "user": "u", "auth_key": {"env": "A"}}, "SNMPv3 needs user"),
        ({"community": {"env": "A", "file": "/x"}}, "exactly one of env"),
        ({"version": "1", "community": {"env": "A"}}, "version: Input should be '2c' or '3'"),
    ],
)
def test_bad_snmp_credentials_are_named(
    snmp: dict[str, Any], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    routers = {"active": {"address": "198.18.1.2", "snmp": snmp}}
    msg = errors_of({"routers": routers}, monkeypatch)
    assert "circuits[0].routers.active.snmp" in msg and expected in msg, msg
    assert "public" not in msg  # the secret itself is never echoed into a log


def test_interface_by_one_name_only(monkeypatch: pytest.MonkeyPatch) -> None:
    routers = {
        "active": {
            "address": "198.18.1.2",
            "snmp": {"community": {"env": "A"}},
            "interfaces": {"primary": {"if_name": "a", "if_descr": "b"}},
        }
    }
    msg = errors_of({"routers": routers}, monkeypatch)
    assert "routers.active.interfaces.primary" in msg and "exactly one of if_name" in msg


def test_bgp_peer_must_be_ipv4(monkeypatch: pytest.MonkeyPatch) -> None:
    routers = {
        "active": {
            "address": "198.18.1.2",
            "snmp": {"community": {"env": "A"}},
            "bgp_peers": {"primary": "2001:db8::1"},
        }
    }
    assert "IPv4 address only" in errors_of({"routers": routers}, monkeypatch)


def test_secrets_come_from_env_or_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SW_X", "  from-env \n")
    assert config.read_secret(config.snmp.SecretConfig(env="SW_X"), "f") == "from-env"
    secret = tmp_path / "secret"
    secret.write_text("from-file\nsecond line ignored\n")
    assert config.read_secret(config.snmp.SecretConfig(file=secret), "f") == "from-file"
    monkeypatch.delenv("SW_X")
    with pytest.raises(ConfigError, match=r"^a\.b: environment variable SW_X is not set"):
        config.read_secret(config.snmp.SecretConfig(env="SW_X"), "a.b")
    with pytest.raises(ConfigError, match=r"a\.b: cannot read .*nope: No such file"):
        config.read_secret(config.snmp.SecretConfig(file=tmp_path / "nope"), "a.b")
    secret.write_bytes(b"publ\xefc\n")  # Latin-1: was a UnicodeDecodeError traceback
    with pytest.raises(ConfigError, match=r"a\.b: cannot read .*secret: not UTF-8 text"):
        config.read_secret(config.snmp.SecretConfig(file=secret), "a.b")


def test_missing_secret_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(monkeypatch)
    monkeypatch.delenv("SW_COMMUNITY")
    with pytest.raises(ConfigError, match=r"circuits\[0\]\.routers\.active\.snmp\.community"):
        plans(s)


def test_plans_carry_agent_interfaces_and_peers(monkeypatch: pytest.MonkeyPatch) -> None:
    [plan] = plans(settings(monkeypatch))
    assert plan.agent.name == "198.18.1.2:161" and "s3cret" not in repr(plan.agent)
    assert plan.interfaces[Demarc.SECONDARY].label == "ifDescr=Te2"
    assert plan.peers == {Demarc.PRIMARY: "198.18.9.1"}
    assert plan.paths == {Demarc.PRIMARY, Demarc.SECONDARY} and not plan.snmp_paths


def trap(**varbinds: int | str) -> Trap:
    binds = {k.replace("_", "."): v for k, v in varbinds.items()}
    return Trap(source="198.18.1.2", kind=TrapKind.LINK_DOWN, oid="x", varbinds=binds, at=T0)


@pytest.mark.parametrize(
    ("binds", "named"),
    [
        ({"1_3_6_1_2_1_31_1_1_1_1_7": "xe-0/0/1"}, {Demarc.PRIMARY}),
        ({"1_3_6_1_2_1_2_2_1_2_9": "Te2"}, {Demarc.SECONDARY}),
        ({"1_3_6_1_2_1_15_3_1_2_198_18_9_1": 1}, {Demarc.PRIMARY}),
        ({"1_3_6_1_2_1_2_2_1_1_7": 7}, {Demarc.PRIMARY}),  # by ifIndex
        ({"1_3_6_1_2_1_2_2_1_1_42": 42}, {Demarc.PRIMARY, Demarc.SECONDARY}),  # unknown index
        ({}, {Demarc.PRIMARY, Demarc.SECONDARY}),
    ],
)
def test_trap_names_the_paths_behind_it(
    binds: dict[str, Any], named: set[Demarc], monkeypatch: pytest.MonkeyPatch
) -> None:
    [plan] = plans(settings(monkeypatch))
    xe = plan.interfaces[Demarc.PRIMARY]
    known = {(plan.agent, xe): 7}  # as the poller resolved it: xe-0/0/1 is ifIndex 7
    assert demarcs_named(plan, trap(**binds), lambda a, i: known.get((a, i))) == named


def test_trap_indexes_names_and_peers_are_parsed() -> None:
    t = trap(**{"1_3_6_1_2_1_2_2_1_1_3": 3, "1_3_6_1_2_1_2_2_1_8_3": 2})
    assert t.if_indexes() == {3}
    t = trap(**{"1_3_6_1_2_1_15_3_1_7_10_0_0_1": "10.0.0.1"})
    assert t.bgp_peers() == {"10.0.0.1"}


def test_snmp_path_result_needs_every_reading_up(monkeypatch: pytest.MonkeyPatch) -> None:
    [plan] = plans(settings(monkeypatch))
    up = Reading(key="primary", kind="ifOperStatus", at=T0, ok=True, value=1, text="up")
    idle = Reading(key="primary", kind="bgpPeerState", at=T0, ok=False, value=1, text="idle")
    lost = Reading(key="primary", kind="bgpPeerState", at=T0, ok=None, error="timeout")
    assert path_result(plan, Demarc.PRIMARY, [up], T0).ok is True
    result = path_result(plan, Demarc.PRIMARY, [up, idle], T0)
    assert result.ok is False and result.error == "idle"
    assert path_result(plan, Demarc.PRIMARY, [up, lost], T0).error == "timeout"
    assert path_result(plan, Demarc.SECONDARY, [up], T0).ok is False  # nothing read for it


class Raising(SnmpPoller):
    """A poller with a bug: every poll raises (what no agent can make the real one do)."""

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass

    async def poll(self, agent: Any, **_: Any) -> list[Reading]:
        raise RuntimeError("a bug in the poller")


class Sink:
    def __init__(self, enough: int) -> None:
        self.probed: list[Probed] = []
        self.enough, self.full = enough, asyncio.Event()

    def feed(self, event: object) -> None:
        pass

    def on_probed(self, batch: Probed) -> None:
        self.probed.append(batch)
        if len(self.probed) >= self.enough:
            self.full.set()


class Quiet:
    def snmp_reading(self, kind: str, ok: bool | None) -> None:
        pass

    def snmp_trap(self, kind: str, matched: bool) -> None:
        pass

    async def probe_now(self, keys: Any, *, count: int = 3, spacing_s: float = 0.2) -> None:
        pass


async def test_a_poll_that_raises_is_a_failed_probe_and_polling_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever goes wrong in a poll, the paths SNMP decides get a failed probe and the next
    poll comes: the router's poll loop ended at the first exception, unlogged, and its SNMP
    paths kept their last state for ever."""
    monkeypatch.setenv("SW_COMMUNITY", "s3cret")
    data = yaml.safe_load(ISSUE2.read_text())
    circuit = data["circuits"][0]
    for p in circuit["paths"]:
        p["probe"] = "snmp"
    circuit["routers"] = {
        role: {"address": address, "snmp": {"community": {"env": "SW_COMMUNITY"}},
               "poll_interval_s": 0.05, "interfaces": {"primary": {"if_name": "xe-0/0/1"},
                                                  "secondary": {"if_name": "xe-0/0/2"}}}
        for role, address in (("active", "198.18.1.2"), ("standby", "198.18.1.6"))
    }  # fmt: skip
    sink, quiet = Sink(enough=6), Quiet()  # three polls of each router
    watch = SnmpWatch(config.parse(data, "test.yaml"), sink=sink, reprobe=quiet, counters=quiet,
                      wall=lambda: datetime.now(UTC), poller=Raising())  # fmt: skip
    watch.start()
    try:
        async with asyncio.timeout(10):
            await sink.full.wait()
    finally:
        await watch.close()
    results = [
        (k, ok, e) for b in sink.probed for k, ok, e in zip(b.targets, b.oks, b.errors, strict=True)
    ]
    assert all(not ok and e and "a bug in the poller" in e for _, ok, e in results), results
    assert {k.router for k, _, _ in results} == {Router.ACTIVE, Router.STANDBY}
    assert "a bug in the poller" in caplog.text


def test_a_trap_with_a_garbage_if_index_still_re_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    """``snmptrap ... ifIndex.3 s abc``: the trap names no interface we can know, so every
    path of the router is re-probed (it raised ValueError: no re-probe at all, and asyncio's
    'Exception in callback' traceback in the log)."""
    [plan] = plans(settings(monkeypatch))
    garbage = trap(**{"1_3_6_1_2_1_2_2_1_1_3": "abc", "1_3_6_1_2_1_2_2_1_1_4": "4",
                      "1_3_6_1_2_1_2_2_1_1_5": "²"})  # fmt: skip
    assert garbage.if_indexes() == {3, 4, 5}  # the instance suffixes; "4" read as 4
    only = trap(**{"1_3_6_1_6_3_1_1_4_1_0": "x", "1_3_6_1_2_1_2_2_1_1": "abc"})
    assert only.if_indexes() == set()
    assert demarcs_named(plan, only, lambda a, i: None) == {Demarc.PRIMARY, Demarc.SECONDARY}


def test_traps_from_many_strangers_are_logged_once_a_minute(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Traps (with the community) from 200 addresses that are no configured router: one
    line, then a count, not a line each (each address made its text new, so the daemon's
    repeat filter let every one through: a spoofed flood flooded the log)."""
    quiet = Quiet()
    watch = SnmpWatch(settings(monkeypatch), sink=Sink(enough=1), reprobe=quiet,
                      counters=quiet, wall=lambda: T0)  # fmt: skip
    with caplog.at_level("WARNING", logger="slawatch.snmp"):
        for n in range(200):
            watch.on_trap(Trap(source=f"10.0.{n // 250}.{n % 250 + 1}", kind=TrapKind.LINK_DOWN,
                               oid="1.3.6.1.6.3.1.1.5.3", varbinds={}, at=T0))  # fmt: skip
    strangers = [r for r in caplog.records if "not a configured router" in r.getMessage()]
    assert len(strangers) == 1, [r.getMessage() for r in strangers[:5]]
