"""PathKey hashes once; equal keys hash equal however made, in this process or another."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from monitor.core.errors import InputError
from monitor.core.inputs import Control, Probed
from monitor.core.model import Demarc, PathKey, ProbeResult, Router

KEY = PathKey(circuit="er-tokyo-1", router=Router.ACTIVE, demarc=Demarc.PRIMARY)


def test_equal_keys_hash_equal_and_replace_rehashes() -> None:
    same = PathKey(circuit="er-tokyo-1", router=Router.ACTIVE, demarc=Demarc.PRIMARY)
    assert same == KEY and hash(same) == hash(KEY) and {KEY: 1}[same] == 1
    other = replace(KEY, demarc=Demarc.SECONDARY)
    assert other != KEY and other == PathKey.parse("er-tokyo-1", "active/secondary")
    assert hash(other) == hash(PathKey.parse("er-tokyo-1", "active/secondary"))
    assert "_hash" not in repr(KEY)


def test_a_key_pickled_in_another_process_finds_its_entry_here() -> None:
    """str hashes are salted per process: a pickled key must not carry its old hash."""
    code = (
        "import pickle, sys; from monitor.core.model import PathKey, Router, Demarc; "
        "sys.stdout.buffer.write(pickle.dumps(PathKey(circuit='er-tokyo-1', "
        "router=Router.ACTIVE, demarc=Demarc.PRIMARY)))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, check=True)
    back = pickle.loads(done.stdout)
    assert back == KEY and hash(back) == hash(KEY) and {KEY: "found"}[back] == "found"


def test_a_probed_batch_is_columns_of_one_length_and_round_trips_its_pairs() -> None:
    at = datetime(2026, 10, 7, tzinfo=UTC)
    pairs = [
        (KEY, ProbeResult(target="a", at=at, ok=True, rtt=0.002)),
        (Control(name="gw"), ProbeResult(target="b", at=at, ok=False, error="timeout")),
    ]
    batch = Probed.of(pairs)
    assert len(batch) == 2
    assert list(batch.rows()) == [(KEY, at, True, 0.002), (Control(name="gw"), at, False, None)]
    assert batch.errors == (None, "timeout")
    with pytest.raises(InputError, match="one entry per target"):
        Probed(targets=(KEY,), ats=(at,), oks=(True, False), rtts=(None,), errors=(None,))
