"""Daily capacity and candidate limits (FP-3) on a simulated clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from prum.services.afis.capacity import CapacityLedger, CapacityLimits, next_midnight_utc
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import CapacityExhausted, InvalidInput
from prum.services.common.reference import ReferenceKind

PERSON, TRACE = ReferenceKind.IDENTIFIED_PERSON, ReferenceKind.UNIDENTIFIED_TRACE


def test_capacity_is_spent_per_state_and_kind_then_refused_with_reset_time():
    clock = SimulatedClock(datetime(2026, 3, 2, 22, 30, tzinfo=UTC))
    ledger = CapacityLedger({"DE": CapacityLimits(person_searches_per_day=2, trace_searches_per_day=1,
                                                  max_candidates=5)}, clock=clock)
    first = ledger.acquire("DE", PERSON)
    assert first.remaining == 1 and first.resets_at == datetime(2026, 3, 3, tzinfo=UTC)
    assert ledger.acquire("de", PERSON).remaining == 0
    with pytest.raises(CapacityExhausted) as refused:
        ledger.acquire("DE", PERSON)
    assert refused.value.resets_at == datetime(2026, 3, 3, tzinfo=UTC)
    assert "2 person searches" in str(refused.value) and "2026-03-03T00:00:00+00:00" in str(refused.value)
    assert ledger.remaining("DE", TRACE) == 1  # traces have their own count
    ledger.acquire("DE", TRACE)
    with pytest.raises(CapacityExhausted):
        ledger.acquire("DE", "UNIDENTIFIED_TRACE")
    assert ledger.remaining("FR", PERSON) == CapacityLimits().person_searches_per_day  # other states: the default


def test_counters_reset_at_midnight_utc():
    clock = SimulatedClock(datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC))
    ledger = CapacityLedger({"BE": CapacityLimits(1, 1, 3)}, clock=clock)
    ledger.acquire("BE", PERSON)
    with pytest.raises(CapacityExhausted):
        ledger.acquire("BE", PERSON)
    clock.advance(timedelta(seconds=1))
    grant = ledger.acquire("BE", PERSON)
    assert grant.remaining == 0 and grant.resets_at == datetime(2026, 3, 4, tzinfo=UTC)
    assert ledger.resets_at() == datetime(2026, 3, 4, tzinfo=UTC)
    assert next_midnight_utc(datetime(2026, 3, 4, 0, 30, tzinfo=timezone(timedelta(hours=2)))) == \
        datetime(2026, 3, 4, tzinfo=UTC)  # 00:30 +02:00 is 22:30 UTC the day before


def test_release_gives_back_a_search_the_same_day_only():
    clock = SimulatedClock(datetime(2026, 3, 2, 12, tzinfo=UTC))
    ledger = CapacityLedger({"AT": CapacityLimits(1, 1, 3)}, clock=clock)
    grant = ledger.acquire("AT", PERSON)
    ledger.release(grant)
    assert ledger.remaining("AT", PERSON) == 1


def test_candidate_limit_caps_the_request():
    ledger = CapacityLedger({"NL": CapacityLimits(10, 10, 4)}, clock=SimulatedClock())
    assert ledger.candidate_limit("NL", 2) == 2
    assert ledger.candidate_limit("NL", 50) == 4
    assert ledger.candidate_limit("NL", 0) == 4 and ledger.candidate_limit("NL") == 4
    with pytest.raises(InvalidInput, match="1-4"):
        ledger.candidate_limit("NL", -1)
    with pytest.raises(InvalidInput, match="state code"):
        ledger.acquire("Netherlands", PERSON)
    with pytest.raises(InvalidInput, match="at least 1 candidate"):
        CapacityLimits(1, 1, 0)
