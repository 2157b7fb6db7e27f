"""Daily search capacity and candidate limits per requesting state (FP-3).

Each state sets, for each requesting state, how many searches it answers per day for identified
persons and for unidentified traces, and the requesting state sets how many candidates it accepts
for verification. A search past the day's capacity is refused with `CapacityExhausted` (gRPC
RESOURCE_EXHAUSTED) saying when the capacity comes back: it is never queued silently. The day is the
UTC calendar day of the state's `Clock`; counters start again at midnight UTC.

The servicer checks the request first and takes capacity last (`acquire`), so a malformed search
costs nothing; `release` gives a unit back when the search could not be run after all.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import CapacityExhausted, InvalidInput, quote
from prum.services.common.reference import ReferenceKind

_STATE_TEXT = "an ISO 3166 alpha-2 code such as NL"


@dataclass(frozen=True, slots=True)
class CapacityLimits:
    """What one requesting state may do per UTC day (FP-3)."""

    person_searches_per_day: int = 1000
    trace_searches_per_day: int = 100
    max_candidates: int = 10

    def __post_init__(self) -> None:
        for name in ("person_searches_per_day", "trace_searches_per_day", "max_candidates"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInput(f"{quote(value)} is not a limit; allowed: an integer >= 0", field=name)
        if self.max_candidates < 1:
            raise InvalidInput("a state accepts at least 1 candidate for verification; allowed: >= 1",
                               field="max_candidates")

    def searches_per_day(self, kind: ReferenceKind) -> int:
        return self.trace_searches_per_day if kind is ReferenceKind.UNIDENTIFIED_TRACE else self.person_searches_per_day


@dataclass(frozen=True, slots=True)
class CapacityGrant:
    """One search granted: what is left of the day's capacity for its kind, and when it resets."""

    state: str
    kind: ReferenceKind
    remaining: int
    resets_at: datetime
    max_candidates: int


def _state(code: object) -> str:
    if not isinstance(code, str) or len(code) != 2 or not code.isascii() or not code.isalpha():
        raise InvalidInput(f"{quote(code)} is not a state code; allowed: {_STATE_TEXT}", field="requesting_state")
    return code.upper()


def next_midnight_utc(moment: datetime) -> datetime:
    """The start of the next UTC day after `moment`."""
    day = moment.astimezone(UTC).date() + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=UTC)


class CapacityLedger:
    """Counts each requesting state's searches per UTC day and kind, and caps candidate lists (FP-3).

    `limits` maps a state code to its CapacityLimits; states not listed get `default`. Thread-safe.
    """

    def __init__(self, limits: Mapping[str, CapacityLimits] | None = None, *,
                 default: CapacityLimits | None = None, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or SystemClock()
        self._default = default or CapacityLimits()
        self._limits = {_state(code): value for code, value in (limits or {}).items()}
        self._lock = threading.Lock()
        self._day: date | None = None
        self._used: dict[tuple[str, ReferenceKind], int] = {}

    def set_limits(self, state: str, limits: CapacityLimits) -> None:
        with self._lock:
            self._limits[_state(state)] = limits

    def limits(self, state: str) -> CapacityLimits:
        return self._limits.get(_state(state), self._default)

    def _roll(self) -> datetime:
        """The clock's now; forgets yesterday's counts when the UTC day has changed (under the lock)."""
        now = self._clock.now().astimezone(UTC)
        if now.date() != self._day:
            self._day = now.date()
            self._used.clear()
        return now

    def remaining(self, state: str, kind: ReferenceKind | str) -> int:
        """Searches of this kind the state may still make today."""
        code, kind = _state(state), ReferenceKind.parse(kind)
        with self._lock:
            self._roll()
            return max(0, self.limits(code).searches_per_day(kind) - self._used.get((code, kind), 0))

    def resets_at(self) -> datetime:
        """When today's counters start again (midnight UTC next day on the clock)."""
        return next_midnight_utc(self._clock.now())

    def acquire(self, state: str, kind: ReferenceKind | str) -> CapacityGrant:
        """Take one search of today's capacity; CapacityExhausted when it is spent (FP-3)."""
        code, kind = _state(state), ReferenceKind.parse(kind)
        with self._lock:
            now = self._roll()
            limits = self.limits(code)
            allowed = limits.searches_per_day(kind)
            used = self._used.get((code, kind), 0)
            resets = next_midnight_utc(now)
            if used >= allowed:
                what = "trace" if kind is ReferenceKind.UNIDENTIFIED_TRACE else "person"
                raise CapacityExhausted(
                    f"{code} has used its {allowed} {what} searches for {now.date().isoformat()} (FP-3); "
                    f"capacity resets at {resets.isoformat()}", resets_at=resets)
            self._used[(code, kind)] = used + 1
            return CapacityGrant(code, kind, allowed - used - 1, resets, limits.max_candidates)

    def release(self, grant: CapacityGrant) -> None:
        """Give back a search that could not be run (only on the day it was granted)."""
        with self._lock:
            now = self._roll()
            if next_midnight_utc(now) == grant.resets_at:
                key = (grant.state, grant.kind)
                self._used[key] = max(0, self._used.get(key, 0) - 1)

    def candidate_limit(self, state: str, requested: int | None = None) -> int:
        """How many candidates to return: the request's max_candidates within the state's limit (FP-2, FP-3).

        None or 0 (proto default) means "as many as the state accepts"; a negative number is refused.
        """
        limit = self.limits(state).max_candidates
        if requested is None or requested == 0:
            return limit
        if isinstance(requested, bool) or not isinstance(requested, int) or requested < 0:
            raise InvalidInput(f"{requested!r} is not a candidate count; allowed: 1-{limit} (0 means {limit})",
                               field="max_candidates")
        return min(requested, limit)
