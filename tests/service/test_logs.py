"""Repeated log lines are held back (issue 10, item 3: 175,059 tracebacks in 45 s)."""

from __future__ import annotations

import logging

import pytest

from monitor.service.logs import RepeatFilter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def logged() -> tuple[logging.Logger, list[str], Clock]:
    clock = Clock()
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Keep()
    handler.addFilter(RepeatFilter(burst=3, window_s=60, clock=clock))
    logger = logging.getLogger("slawatch.test-repeats")
    logger.propagate = False
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)
    return logger, lines, clock


def test_a_flood_of_one_line_is_held_back_and_counted(
    logged: tuple[logging.Logger, list[str], Clock],
) -> None:
    logger, lines, clock = logged
    for _ in range(10_000):
        try:
            raise OSError(24, "Too many open files")
        except OSError:
            logger.exception("socket.accept() out of system resource")
    assert len(lines) == 3
    clock.now = 61
    logger.error("socket.accept() out of system resource")
    assert lines[-1] == (
        "socket.accept() out of system resource "
        "[9997 more like this in the previous 60 s not logged]"
    )


def test_different_lines_are_never_held_back(
    logged: tuple[logging.Logger, list[str], Clock],
) -> None:
    logger, lines, _ = logged
    for n in range(100):  # a regional outage: a hundred incidents, a line each
        logger.warning("incident %d opened on er-%d", n, n)
    assert len(lines) == 100
