"""Retries with exponential backoff and full jitter, for operations on a partner's server."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """``attempts`` tries in all; before try n+1 a random wait of up to ``base * 2**n`` seconds,
    never more than ``cap`` (full jitter: many pollers that failed together do not retry together)."""

    attempts: int = 3
    base: float = 0.5
    cap: float = 30.0

    def delays(self, rng: random.Random | None = None) -> list[float]:
        draw = (rng or random).uniform
        return [draw(0, min(self.cap, self.base * 2**n)) for n in range(self.attempts - 1)]


def retried(
    operation: Callable[[], T],
    backoff: Backoff,
    *,
    retry_on: tuple[type[BaseException], ...],
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> T:
    """``operation()``, tried again after each of ``retry_on`` until ``backoff`` runs out (then the
    last error is raised). ``on_retry`` hears (attempt, error, wait) before each wait."""
    delays = backoff.delays()
    for attempt, delay in enumerate([*delays, None], start=1):
        try:
            return operation()
        except retry_on as error:
            if delay is None:
                raise
            if on_retry is not None:
                on_retry(attempt, error, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
