"""The hang guard of tests/hang.py bounds CPU time, so a loaded machine does not fail a test."""

import time

import pytest

from tests.hang import Hang, bounded


def test_waiting_is_not_a_hang():
    # A run slowed by other jobs takes longer by the clock but no more CPU time: a sleep stands for it.
    with bounded(0.2, "a wait"):
        time.sleep(0.5)


def test_computing_past_the_bound_is_a_hang():
    with pytest.raises(Hang, match="CPU time"), bounded(0.2, "a busy loop"):
        end = time.process_time() + 5
        while time.process_time() < end:
            pass


def test_waiting_forever_is_ended_by_the_wall_time_backstop(monkeypatch):
    monkeypatch.setattr("tests.hang.WALL_FACTOR", 2)
    start = time.monotonic()
    with pytest.raises(Hang, match="wall time"), bounded(0.1, "a wait that never ends"):
        time.sleep(30)
    assert time.monotonic() - start < 10
