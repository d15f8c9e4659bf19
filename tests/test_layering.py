"""The package's import arrows point inward, and nothing goes round in a circle.

    core  <-  adapters (config, probes, notify, store, metrics, web, report, evidence)  <-  service
          <-  commands, cli

(and two leaves: ``html``, the one Jinja2 environment, for the adapters that draw pages, and
``clock``, the one wall clock, for everything but the core, which never reads a clock).

Read from the source with ``ast`` (every import, those inside functions and ``TYPE_CHECKING``
blocks included), so a lazy import cannot hide an arrow.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "monitor"
ADAPTERS = ("config", "probes", "notify", "store", "metrics", "web", "report", "evidence")
ALLOWED = {
    "core": {"core"},
    "html": set(),  # the one Jinja2 environment: a leaf the adapters that draw pages share
    "clock": set(),  # the one wall clock: a leaf for everything but the core
    **{a: {"core", "html", "clock", a} for a in ADAPTERS},
    "service": {"core", "clock", "service", *ADAPTERS},
    "commands": {"core", "clock", "service", "commands", *ADAPTERS},
    "cli": {"core", "commands", "cli"},
    "__main__": {"cli"},
    "__init__": set(),
}


def layer(module: str) -> str:
    """``monitor.store.sql`` -> ``store``; ``monitor.cli`` -> ``cli``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        name = ".".join(rel.parts)
        out[name.removesuffix(".__init__")] = path
    return out


def imports(name: str, path: Path) -> Iterator[str]:
    """Every module of ours that ``name`` imports (``monitor`` itself, the package root, holds
    only the version: importing it is no arrow)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("monitor."))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))  # fmt: skip
            if base == "monitor" or base.startswith("monitor."):
                for a in node.names:  # ``from pkg import module`` imports the module
                    sub = f"{base}.{a.name}"
                    yield sub if sub in MODULES else base


MODULES = {
    ".".join(p.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__")
    for p in ROOT.rglob("*.py")
}


@functools.cache
def graph() -> dict[str, set[str]]:
    mods = modules()
    return {
        name: {i for i in imports(name, path) if i not in (name, "monitor") and i in mods}
        for name, path in mods.items()
    }


@pytest.mark.parametrize("name", sorted(modules()))
def test_every_arrow_points_inward(name: str) -> None:
    allowed = ALLOWED[layer(name)]
    outward = sorted(i for i in graph()[name] if layer(i) not in allowed)
    assert not outward, f"{name} ({layer(name)}) may import only {sorted(allowed)}: {outward}"


def test_nothing_imports_the_service_but_the_commands() -> None:
    users = sorted(
        name
        for name, deps in graph().items()
        if layer(name) not in ("service", "commands") and any(layer(d) == "service" for d in deps)
    )
    assert users == []


def test_no_cycles() -> None:
    g = graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        path.append(n)
        for d in sorted(g.get(n, ())):
            if state.get(d) == 1:
                cycle = [*path[path.index(d) :], d]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if d not in state:
                visit(d)
        path.pop()
        state[n] = 2

    for n in sorted(g):
        if n not in state:
            visit(n)


def test_the_layering_test_sees_imports() -> None:
    """It would pass vacuously if it read no arrows: it must see some it knows are there."""
    g = graph()
    assert "monitor.core.tracker" in g["monitor.core.supervisor"]
    assert "monitor.store.sql" in g["monitor.store.sqlite"]
    assert any(layer(d) == "service" for d in g["monitor.commands.run"])
