"""Customers: who may sign in to the web UI with their own token and see their own circuits.

A customer's token lives in a file (``token_file``), never in the YAML, as the API token does;
the service reads it at start and at SIGHUP (service/preflight.py). Each circuit belongs to
one customer at most, so a typo cannot show one customer's circuit to another.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import Field, field_validator

from monitor.config.fields import Strict


class CustomerConfig(Strict):
    """``id`` appears in URLs and logs; ``name`` is shown on the pages; ``circuits`` are the
    circuit ids the customer sees; ``token_file`` holds its sign-in token (first line)."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=200)
    circuits: tuple[str, ...]
    token_file: Path

    @field_validator("circuits")
    @classmethod
    def _some(cls, circuits: tuple[str, ...]) -> tuple[str, ...]:
        if not circuits:
            raise ValueError("list the customer's circuit ids (at least one)")
        dupes = sorted({c for c in circuits if circuits.count(c) > 1})
        if dupes:
            raise ValueError(f"circuit {', '.join(dupes)} listed twice; list each once")
        return circuits


def check_customers(customers: Sequence[CustomerConfig], circuits: Sequence[str]) -> None:
    """ValueError naming the first mistake: a duplicate customer id, a circuit that is not
    configured, or a circuit given to two customers."""
    known = set(circuits)
    owner: dict[str, str] = {}
    ids: set[str] = set()
    for n, c in enumerate(customers):
        where = f"customers[{n}]"
        if c.id in ids:
            raise ValueError(f"{where}.id: duplicate customer id {c.id!r}; each id must be unique")
        ids.add(c.id)
        for circuit in c.circuits:
            if circuit not in known:
                raise ValueError(
                    f"{where}.circuits: no circuit {circuit!r} is configured; "
                    f"known: {', '.join(sorted(known))}"
                )
            if circuit in owner:
                raise ValueError(
                    f"{where}.circuits: circuit {circuit!r} already belongs to customer "
                    f"{owner[circuit]!r}; a circuit belongs to one customer"
                )
            owner[circuit] = c.id
