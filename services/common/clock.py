"""The one clock of a state: every timestamp, deadline, retention period and quota reads it.

Production code takes a `Clock`; tests and scenarios pass a `SimulatedClock` and move it forward
to cross retention limits (2 years, 18 months), log-request deadlines (4 weeks) or a day boundary.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that stands still until moved; thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time does not run backwards")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            if moment.astimezone(UTC) < self._now:
                raise ValueError("time does not run backwards")
            self._now = moment.astimezone(UTC)


class SkippingClock:
    """Wall-clock time that can be moved forward, not back (a demo skips ahead to cross a deadline); thread-safe."""

    def __init__(self) -> None:
        self._skipped = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._skipped

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time does not run backwards")
        with self._lock:
            self._skipped += delta
            return datetime.now(UTC) + self._skipped


def monotonic() -> float:
    """Seconds on a monotonic clock, for measuring elapsed time (never for timestamps)."""
    return time.monotonic()


DEFAULT_CLOCK: Clock = SystemClock()
