"""P2-TIME-1 (Art 75(1) of Regulation (EU) 2024/982): the router may be used from a date the Commission sets, and
must be one year later, postponable by at most one more year; in between, states move from the mesh to the router
as their router connections are declared ready."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prum.services.common.errors import InvalidInput
from prum.services.common.router_phases import RouterPhases

FROM = datetime(2027, 6, 1, tzinfo=UTC)


def test_without_dates_the_router_carries_every_search_from_the_start() -> None:
    phases = RouterPhases()
    assert phases.in_operation(FROM) and phases.mesh_closed(FROM)
    assert phases.routes(FROM, requesting_ready=False, requested_ready=False)  # the router answers NOT_READY then


def test_the_router_becomes_mandatory_one_year_after_it_may_be_used() -> None:
    phases = RouterPhases(FROM)
    assert phases.mandatory_from == datetime(2028, 6, 1, tzinfo=UTC)
    before, between, after = FROM - timedelta(seconds=1), FROM + timedelta(days=100), datetime(2028, 6, 1, tzinfo=UTC)
    assert not phases.in_operation(before) and not phases.routes(before, True, True)  # the 2008 mesh only
    assert phases.routes(between, True, True)  # both connections ready: through the router
    assert not phases.routes(between, True, False) and not phases.routes(between, False, True)  # else bilateral
    assert not phases.mesh_closed(between)
    assert phases.mesh_closed(after) and phases.routes(after, False, True)  # mandatory: the router or nothing
    assert RouterPhases(datetime(2028, 2, 29, tzinfo=UTC)).mandatory_from == datetime(2029, 2, 28, tzinfo=UTC)


def test_the_mandatory_date_may_be_postponed_by_one_year_at_most() -> None:
    assert RouterPhases(FROM, datetime(2029, 6, 1, tzinfo=UTC)).mandatory_from == datetime(2029, 6, 1, tzinfo=UTC)
    for wrong in (datetime(2028, 5, 31, tzinfo=UTC), datetime(2029, 6, 2, tzinfo=UTC)):
        with pytest.raises(InvalidInput, match="at most one more year"):
            RouterPhases(FROM, wrong)
    with pytest.raises(InvalidInput, match="without available_from"):
        RouterPhases(None, FROM)
