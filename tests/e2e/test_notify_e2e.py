"""End to end: an outage in the namespaces reaches a real SMTP relay within a second."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e.daemon import Daemon
from tests.e2e.test_daemon import all_up
from tests.notify.smtp_server import SmtpServer
from tests.topology import Topology

pytestmark = pytest.mark.netns


def test_notice_accepted_within_a_second_of_detection(topology: Topology, tmp_path: Path) -> None:
    with SmtpServer(host=topology.root_mgmt_address) as relay:
        d = Daemon.launch(topology, tmp_path, smtp_port=relay.port)
        try:
            d.wait_for(lambda: all_up(d), 10, "all paths up")
            topology.cut_all()
            incident = d.wait_for(
                lambda: [i for i in d.incidents() if i["notified"]],
                10,
                "an incident with an accepted notice",
            )[0]
            detected = datetime.fromisoformat(incident["detected"])
            notified = datetime.fromisoformat(incident["notified"])
            assert 0 <= (notified - detected).total_seconds() < 1.0
            assert incident["notify_breach"] is False
            got = [r for r in relay.received if "fault@customer.example" in r.rcpt_tos]
            assert len(got) == 1
            assert re.match(rf"<slawatch\.[0-9a-f]{{12}}\.er-test-1\.{incident['id']}\.opened",
                            got[0].message_id)  # fmt: skip
            timeline = d.get(f"/api/incidents/{incident['id']}")["timeline"]
            assert any(e["kind"] == "delivery" and "accepted" in e["text"] for e in timeline)
            topology.restore_all()
            d.wait_for(
                lambda: any("recovered" in r.message_id for r in relay.received),
                10,
                "the recovery notice",
            )
            metrics = d.text("/metrics")
            assert "slawatch_notification_latency_seconds_count 1.0" in metrics
        finally:
            d.ensure_stopped()
            topology.restore_all()
