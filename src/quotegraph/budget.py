"""A time budget per article for the batch and Spark workers, so one pathological article fails
alone instead of holding a worker for hours.

SIGALRM interrupts the pipeline on the worker's main thread. Python drops (and prints) an
exception raised while it runs a ``__del__`` method, and the garbage collector runs those at any
moment, so an alarm that lands there would be lost and the article would run on unbounded. The
handler therefore defers while a ``__del__`` is on the stack and always re-arms a short retry: the alarm keeps
firing until ``OverBudget`` reaches the pipeline's caller.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

RETRY_SECONDS = 0.05  # how soon a deferred or dropped alarm fires again


class OverBudget(BaseException):
    """The article ran over its time budget (a BaseException, so no ``except Exception`` inside
    the pipeline can swallow it)."""


def _in_finaliser(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS)
    if _in_finaliser(frame):
        return  # raising here would be dropped: try again once the finaliser is done
    raise OverBudget()


def install() -> signal.Handlers | object:
    """Route SIGALRM to the budget (main thread only); returns the previous handler."""
    return signal.signal(signal.SIGALRM, _on_alarm)


@contextmanager
def time_budget(seconds: float | None) -> Iterator[None]:
    """Raise ``OverBudget`` in the block once it has run ``seconds`` (no limit for None or 0)."""
    if not seconds:
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)  # also cancels a pending retry
