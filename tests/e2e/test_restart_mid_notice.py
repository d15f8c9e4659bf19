"""The daemon killed (SIGKILL) or stopped (SIGTERM) while the opened notice is inside
a stalled relay's DATA; restarted. The customer must get the notice under one Message-ID,
the incident must keep its start, and nothing must be counted twice.
(Written by an attack on 2026-12-02; it passed: kept as a regression test.)"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.e2e.daemon import Daemon
from tests.e2e.test_daemon import all_up
from tests.notify.smtp_server import SmtpServer
from tests.topology import Topology

pytestmark = pytest.mark.netns


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_restart_mid_notice_sends_it_once_under_one_message_id(
    topology: Topology, tmp_path: Path, sig: int
) -> None:
    with SmtpServer(host=topology.root_mgmt_address) as relay:
        relay.script.stall_data_s = 1.5
        d = Daemon.launch(topology, tmp_path, smtp_port=relay.port)
        try:
            d.wait_for(lambda: all_up(d), 10, "all paths up")
            topology.cut_all()
            first = d.wait_for(lambda: d.incidents(), 10, "an incident")[0]
            d.wait_for(lambda: relay.handler.data_commands >= 1, 10, "the notice in DATA")
            assert d.stop(sig) in (0, -9)
            relay.script.stall_data_s = 0.0
            d.start()
            inc = d.wait_for(
                lambda: [i for i in d.incidents() if i["notified"]], 15, "notified after restart"
            )[0]
            topology.restore_all()
            d.wait_for(lambda: [i for i in d.incidents() if i["end"]], 15, "closed")
            d.wait_for(
                lambda: any(".recovered." in r.message_id for r in relay.received), 15, "recovered"
            )
            to_customer = [r for r in relay.received if "fault@customer.example" in r.rcpt_tos]
            ids = [r.message_id for r in to_customer]
            opened = [m for m in ids if ".opened." in m]
            assert len(set(opened)) == 1, ids
            assert len(d.incidents()) == 1 and inc["id"] == first["id"]
            assert d.incidents()[0]["start"] == first["start"]
            assert d.incidents()[0]["notify_breach"] is False
            recovered = [m for m in ids if ".recovered." in m]
            assert len(recovered) == 1, ids
        finally:
            d.ensure_stopped()
            topology.restore_all()
