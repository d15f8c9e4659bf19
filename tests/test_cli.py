"""The command line's lazy start-up: a table of commands, one module imported per run."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from monitor import cli

HEAVY = ("pydantic", "aiohttp", "prometheus_client", "apscheduler", "yaml", "pysnmp")


def registered(module: str) -> dict[str, str | None]:
    """The commands ``module``'s register() adds, with their help lines."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    importlib.import_module(f"monitor.commands.{module}").register(sub)
    return {a.dest: a.help for a in sub._choices_actions}


def test_the_table_says_what_each_module_registers() -> None:
    for module in {mod for mod, _ in cli.COMMANDS.values()}:
        table = {name: h for name, (mod, h) in cli.COMMANDS.items() if mod == module}
        assert registered(module) == table, module


def loaded_after(argv: list[str]) -> dict[str, object]:
    """Run ``slawatch ARGV`` in a fresh interpreter; its exit code and the modules it loaded
    (top-level packages, and monitor's own)."""
    code = textwrap.dedent(f"""
        import json, sys
        from monitor import cli
        try:
            rc = cli.main({argv!r})
        except SystemExit as exc:
            rc = exc.code
        mods = sorted(m for m in sys.modules if "." not in m or m.startswith("monitor."))
        print(json.dumps({{"rc": rc, "modules": mods}}), file=sys.stderr)
    """)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    result: dict[str, object] = json.loads(done.stderr.strip().splitlines()[-1])
    result["stdout"] = done.stdout
    return result


def test_help_lists_every_command_and_imports_none_of_their_modules() -> None:
    run = loaded_after(["--help"])
    assert run["rc"] == 0
    assert all(f"    {name}" in str(run["stdout"]) for name in cli.COMMANDS)
    modules = run["modules"]
    assert isinstance(modules, list)
    assert not [m for m in modules if m.startswith("monitor.commands.")]
    assert not [m for m in modules if m in (*HEAVY, "asyncio")]


def test_ping_help_loads_neither_asyncio_nor_the_engine() -> None:
    run = loaded_after(["ping", "--help"])
    assert run["rc"] == 0 and "--period" in str(run["stdout"])
    modules = run["modules"]
    assert isinstance(modules, list)
    assert "monitor.commands.ping" in modules
    assert not [m for m in modules if m in (*HEAVY, "asyncio", "monitor.probes.icmp")]


def test_ping_probes_without_loading_the_daemon_libraries() -> None:
    run = loaded_after(["ping", "--timeout", "0.5", "127.0.0.1"])
    modules = run["modules"]
    assert isinstance(modules, list)
    assert "monitor.probes.icmp" in modules  # it really probed (or tried: no ICMP socket is 2)
    assert run["rc"] in (0, 2)
    assert not [m for m in modules if m in (*HEAVY, "asyncio")]  # its own loop (icmp_loop)


@pytest.mark.parametrize(
    ("argv", "expect"),
    [(["pnig", "127.0.0.1"], "invalid choice: 'pnig'"), ([], "required: COMMAND")],
)
def test_a_wrong_or_missing_command_is_refused(
    argv: list[str], expect: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2 and expect in capsys.readouterr().err


def test_the_chosen_command_is_the_first_word_that_is_not_an_option() -> None:
    assert cli.chosen_command(["--version"]) is None
    assert cli.chosen_command(["report", "--month", "ping"]) == "report"
    assert cli.chosen_command(["-h", "status"]) == "status"
    assert cli.chosen_command(["nonsense"]) is None


@pytest.mark.parametrize(
    "flags", [["--timeout", "nan"], ["--period", "nan"], ["--period", "inf"], ["--timeout", "inf"]]
)
def test_ping_refuses_a_number_that_is_not_finite(
    flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``nan`` passed the range check (every comparison with it is false) and ended in a
    traceback; ``--period inf`` slept for ever."""
    assert cli.main(["ping", "--count", "2", *flags, "127.0.0.1"]) == 2
    err = capsys.readouterr().err
    assert f"{flags[0]} must be a finite number" in err, err


def test_ping_names_a_target_file_that_is_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = tmp_path / "targets"
    targets.write_bytes(b"127.0.0.1 # caf\xe9\n")
    assert cli.main(["ping", "-f", str(targets)]) == 2
    assert f"{targets}: not UTF-8 text" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "ours"), [("-c", "--count"), ("-p", "--period"),
                                            ("-t", "--timeout"), ("-C", "--count")])  # fmt: skip
def test_ping_refuses_fping_s_flags_naming_its_own(
    flag: str, ours: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``slawatch ping -c 1`` said only "unrecognized arguments: -c"."""
    with pytest.raises(SystemExit) as exc:
        cli.main(["ping", flag, "1", "127.0.0.1"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and f"{flag} is fping's; slawatch ping takes {ours}" in err, err
    assert err.count("\n") == 1
