"""Waiting for something to happen, or for a runner to have had the chance to do what must not happen.

One poll loop for the whole suite. Its timeout only stops a broken test from hanging; it is never
a speed assertion (speed is measured in bench/).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T], what: str = "the condition", timeout: float = 60.0,
               interval: float = 0.05, context: Callable[[], object] | None = None) -> T:
    """Call `check` until it returns something truthy and return that; fail after `timeout` seconds.

    `context` is called once on failure and its result added to the message (e.g. the cloud's
    health), so a timeout says what the system was doing rather than only what was missing.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f"; {context()}" if context is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


class Polling(Protocol):
    """A runner loop that counts its completed rounds (PipesRunner, PipeWorker, FirehoseRunner, ...)."""

    @property
    def polls(self) -> int: ...


def after_polls(*loops: Polling, rounds: int = 2, timeout: float = 60.0) -> None:
    """Return once every loop has completed `rounds` more rounds than when called.

    This is how a test shows that something does NOT happen: a round in progress now may have
    begun before the test's last action, so two more completed rounds mean at least one whole
    round ran after it and did not do the thing. It waits for the work, not for the clock, so a
    loaded machine makes it slower, never wrong.
    """
    targets = [(loop, loop.polls + rounds) for loop in loops]
    eventually(lambda: all(loop.polls >= target for loop, target in targets),
               f"{rounds} more poll rounds of {[type(loop).__name__ for loop in loops]}", timeout=timeout)
