"""The per-article time budget of the batch and Spark workers (quotegraph.budget), on real signals."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest

from quotegraph.budget import OverBudget, install, time_budget


@pytest.fixture(autouse=True)
def budget_handler() -> Iterator[None]:
    previous = install()
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def busy(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


class SlowFinaliser:
    def __del__(self) -> None:
        busy(0.3)  # the alarm lands in here, where Python would drop an exception


def test_an_article_over_its_budget_is_stopped() -> None:
    start = time.monotonic()
    with pytest.raises(OverBudget), time_budget(0.1):
        busy(3)
    assert time.monotonic() - start < 1


def test_an_alarm_during_a_finaliser_is_not_lost() -> None:
    start = time.monotonic()
    with pytest.raises(OverBudget), time_budget(0.1):
        SlowFinaliser()  # collected at once: its __del__ runs while the alarm goes off
        busy(3)  # runs to the end if the alarm was dropped
    assert time.monotonic() - start < 1


def test_work_within_budget_leaves_no_alarm_behind() -> None:
    with time_budget(0.2):
        busy(0.05)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    busy(0.3)  # no alarm fires later
    with time_budget(None):
        busy(0.05)
