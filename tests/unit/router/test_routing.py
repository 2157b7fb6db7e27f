"""The router's core without gRPC (issue 20): routing, per-state statuses under one deadline, readiness of the
router connection, its log without data content, statistics, retention (P2-ROUTER-1..3, P2-GATE-1, P2-VRD-1)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prum.services.common.category import Category
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import GateClosed, IdentityMismatch, InvalidInput
from prum.services.common.fan_out import ResultStatus
from prum.services.common.identity import ROUTER, check_claim
from prum.services.router.log import RouterLog, RouterStats
from prum.services.router.routing import Forwarded, RoutedSearch, Router, RouterSettings
from prum.services.supervisor import ReadinessBook

MEMBERS = ["DE", "NL", "FR", "BE", "LU"]
SECRET = "PROFILE-NL-4711 D3S1358=15,16"  # what a query carries: it must never reach the router's log


@dataclass
class FakeDataServices:
    """Each state's data service: NL hits, FR does not, BE is down, LU is slow past any deadline."""

    asked: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def search(self, category: Category, state: str, query: Any, timeout_s: float) -> Forwarded:
        self.asked.append(state)
        if state == "NL":
            return Forwarded(ResultStatus.HIT, reply={"hits": [query]}, reply_id="reply-nl", hit_count=1)
        if state == "FR":
            return Forwarded(ResultStatus.NO_HIT, reply={"hits": []}, reply_id="reply-fr")
        if state == "BE":
            raise ConnectionRefusedError("connection refused")
        self.release.wait(5)  # LU: slower than the deadline
        return Forwarded(ResultStatus.NO_HIT)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock()


@pytest.fixture
def readiness(clock: SimulatedClock) -> ReadinessBook:
    book = ReadinessBook(MEMBERS, clock=clock)
    for state in MEMBERS:
        book.seed_ready(state, Category.ROUTER_CONNECTION)
        book.seed_ready(state, Category.DNA)
    return book


@pytest.fixture
def services() -> Iterator[FakeDataServices]:
    fake = FakeDataServices()
    yield fake
    fake.release.set()


@pytest.fixture
def router(tmp_path: Path, clock: SimulatedClock, readiness: ReadinessBook,
           services: FakeDataServices) -> Iterator[Router]:
    log = RouterLog(tmp_path / "router-log.db", clock)
    routing = Router(MEMBERS, readiness, log, services, clock, RouterSettings(deadline_ms=300))
    yield routing
    routing.close()
    log.close()


def search(targets: tuple[str, ...] = (), requested: str = ROUTER, category: Category = Category.DNA,
           requesting: str = "DE", deadline_ms: int = 0) -> RoutedSearch:
    return RoutedSearch("0b6c3f2e-5f1d-4c61-9d3b-2f8f5c1a7e90", requesting, requested, {category: SECRET}, targets,
                        deadline_ms)


def test_each_state_has_its_own_status_under_one_deadline(router: Router, services: FakeDataServices) -> None:
    started = time.monotonic()
    results = {r.state: r for r in router.route("DE", search())}
    assert time.monotonic() - started < 2  # LU's slowness holds up nobody: the deadline is 300 ms
    assert {s: r.status for s, r in results.items()} == {
        "NL": ResultStatus.HIT, "FR": ResultStatus.NO_HIT, "BE": ResultStatus.UNAVAILABLE,
        "LU": ResultStatus.DEADLINE_EXCEEDED}
    assert results["NL"].reply == {"hits": [SECRET]} and results["NL"].hit_count == 1  # handed back, not kept
    assert results["BE"].code == "UNAVAILABLE" and "refused" in results["BE"].detail
    assert sorted(services.asked) == ["BE", "FR", "LU", "NL"]  # every other state, never the requesting one


def test_chosen_states_only_and_the_context_must_name_them(router: Router, services: FakeDataServices) -> None:
    assert [r.state for r in router.route("DE", search(("FR", "NL", "FR")))] == ["FR", "NL"]
    assert [r.status for r in router.route("DE", search(("NL",), requested="NL"))] == [ResultStatus.HIT]
    with pytest.raises(InvalidInput, match="context.requested_state"):
        router.route("DE", search(("NL", "FR"), requested="NL"))
    with pytest.raises(InvalidInput, match="requesting state"):
        router.route("DE", search(("DE",)))
    with pytest.raises(InvalidInput, match="not a state connected"):
        router.route("DE", search(("XX",)))


def test_the_caller_must_be_the_requesting_state(router: Router) -> None:
    """P2-ROUTER-1: the router takes the requesting state from the certificate; the states rely on that check."""
    with pytest.raises(IdentityMismatch):
        router.route("NL", search())
    assert router.log.entries()[0] == []  # nothing routed, nothing logged for an impostor
    check_claim(ROUTER, "DE", routed=True)  # a requested state takes a routed search from the router's certificate
    with pytest.raises(IdentityMismatch):
        check_claim(ROUTER, "DE")  # and nothing else (a vote, a declaration, a follow-up) from it


def test_vehicle_searches_do_not_pass_the_router(router: Router) -> None:
    """P2-VRD-1."""
    with pytest.raises(InvalidInput, match="P2-VRD-1"):
        router.route("DE", search(category=Category.VEHICLE))


def test_a_state_whose_router_connection_is_not_ready_is_not_ready_without_a_call(
        router: Router, readiness: ReadinessBook, services: FakeDataServices) -> None:
    """P2-GATE-1: NOT_READY, and the state is never asked. Readiness for the category (GATE-1) is the states' to
    check (the requested state refuses, FAILED_PRECONDITION, which the transport maps to NOT_READY): FR is asked."""
    readiness.revoke("FR", Category.DNA, "evaluation found gaps")
    readiness.revoke("NL", Category.ROUTER_CONNECTION, "connection not tested")
    results = {r.state: r for r in router.route("DE", search(("NL", "FR")))}
    assert results["NL"].status is ResultStatus.NOT_READY and "P2-GATE-1" in results["NL"].detail
    assert services.asked == ["FR"]


def test_a_requesting_state_not_ready_is_refused_and_the_refusal_logged(router: Router,
                                                                        readiness: ReadinessBook) -> None:
    readiness.revoke("DE", Category.ROUTER_CONNECTION, "connection not tested")
    with pytest.raises(GateClosed, match="P2-GATE-1"):
        router.route("DE", search(("NL",), requested="NL"))
    (entry,), more = router.log.entries()
    assert (entry.requesting_state, entry.requested_state, entry.status, entry.code, more) == (
        "DE", "", ResultStatus.REFUSED, "FAILED_PRECONDITION", False)


def test_the_log_holds_who_whom_when_and_the_outcome_but_no_data(router: Router, tmp_path: Path,
                                                                 clock: SimulatedClock) -> None:
    """P2-ROUTER-1, P2-ROUTER-3: one entry per routed query, durable, without the query or the reply."""
    router.route("DE", search(("NL", "FR")))
    entries, more = router.log.entries()
    assert not more
    assert [(e.requesting_state, e.requested_state, e.category, e.status, e.hit_count, e.reply_id) for e in entries] \
        == [("DE", "NL", Category.DNA, ResultStatus.HIT, 1, "reply-nl"),
            ("DE", "FR", Category.DNA, ResultStatus.NO_HIT, 0, "reply-fr")]
    assert all(e.received_at == clock.now() and e.request_id for e in entries)
    reopened = RouterLog(tmp_path / "router-log.db", clock)  # durable: another connection reads it
    assert len(reopened.entries()[0]) == 2
    reopened.close()
    for name in ("router-log.db", "router-log.db-wal"):
        stored = tmp_path / name
        if stored.exists():
            assert b"PROFILE-NL-4711" not in stored.read_bytes() and b"D3S1358" not in stored.read_bytes()


def test_statistics_per_state_and_category(router: Router, readiness: ReadinessBook) -> None:
    """P2-LOG-2: queries routed, hits, no-hits, refusals and failures per requested state and category."""
    readiness.revoke("BE", Category.ROUTER_CONNECTION, "connection not tested")
    router.route("DE", search(("NL", "FR", "BE")))
    router.route("NL", search(("DE", "FR"), requesting="NL"))
    assert router.log.stats() == [
        RouterStats("BE", Category.DNA, 1, 0, 0, 1, 0), RouterStats("DE", Category.DNA, 1, 0, 0, 0, 1),
        RouterStats("FR", Category.DNA, 2, 0, 2, 0, 0), RouterStats("NL", Category.DNA, 1, 1, 0, 0, 0)]


def test_the_log_pages_and_purges_after_its_retention(router: Router, clock: SimulatedClock) -> None:
    """P2-ROUTER-3 (unconfirmed: kept 1 year by default); the statistics outlive the purge."""
    router.route("DE", search(("NL", "FR")))
    clock.advance(timedelta(days=200))
    router.route("DE", search(("NL",), requested="NL"))
    first, more = router.log.entries(limit=2)
    assert more and [e.requested_state for e in first] == ["NL", "FR"]
    rest, more = router.log.entries(after=first[-1].sequence, limit=2)
    assert not more and [e.requested_state for e in rest] == ["NL"]
    assert len(router.log.entries(requesting_state="NL")[0]) == 0
    clock.advance(timedelta(days=200))
    assert router.log.purge() == 2
    assert [e.requested_state for e in router.log.entries()[0]] == ["NL"]
    assert router.log.stats()[-1].queries_routed == 2  # NL's count stays


def test_a_search_of_all_states_can_be_switched_off(tmp_path: Path, clock: SimulatedClock, readiness: ReadinessBook,
                                                    services: FakeDataServices) -> None:
    """P2-ROUTER-2 (unconfirmed, default allowed): the federation file's `[router] all_states = false`."""
    log = RouterLog(None, clock)
    closed = Router(MEMBERS, readiness, log, services, clock, RouterSettings(all_states=False, deadline_ms=300))
    try:
        with pytest.raises(InvalidInput, match="all_states"):
            closed.route("DE", search())
        assert [r.status for r in closed.route("DE", search(("NL",), requested="NL"))] == [ResultStatus.HIT]
    finally:
        closed.close()


def test_a_transport_bug_is_failed_not_unavailable(tmp_path: Path, clock: SimulatedClock,
                                                   readiness: ReadinessBook) -> None:
    class Broken:
        def search(self, category: Category, state: str, query: Any, timeout_s: float) -> Forwarded:
            raise KeyError("reply_field")

    log = RouterLog(None, clock)
    broken = Router(MEMBERS, readiness, log, Broken(), clock, RouterSettings(deadline_ms=300))
    try:
        (result,) = broken.route("DE", search(("NL",), requested="NL"))
        assert (result.status, result.code) == (ResultStatus.FAILED, "INTERNAL") and "a bug" in result.detail
        assert log.stats()[0].failures == 1
    finally:
        broken.close()


def test_one_search_across_several_categories_under_one_deadline(tmp_path: Path, clock: SimulatedClock,
                                                                 readiness: ReadinessBook,
                                                                 services: FakeDataServices) -> None:
    """P2-ROUTER-2: one search across DNA and fingerprints; one result (and one log entry) per state and category,
    all under the one deadline; a state ready for one category only is NOT_READY for the other alone."""
    readiness.seed_ready("NL", Category.FINGERPRINT)
    readiness.seed_ready("FR", Category.FINGERPRINT)
    log = RouterLog(tmp_path / "router-log.db", clock)
    router = Router(MEMBERS, readiness, log, services, clock, RouterSettings(deadline_ms=300))
    both = RoutedSearch("0b6c3f2e-5f1d-4c61-9d3b-2f8f5c1a7e90", "DE", ROUTER,
                        {Category.FINGERPRINT: SECRET, Category.DNA: SECRET}, ("NL", "FR", "LU"))
    try:
        started = time.monotonic()
        results = router.route("DE", both)
        assert time.monotonic() - started < 2
        assert [(r.state, r.category, r.status) for r in results] == [
            ("NL", Category.FINGERPRINT, ResultStatus.HIT), ("NL", Category.DNA, ResultStatus.HIT),
            ("FR", Category.FINGERPRINT, ResultStatus.NO_HIT), ("FR", Category.DNA, ResultStatus.NO_HIT),
            ("LU", Category.FINGERPRINT, ResultStatus.DEADLINE_EXCEEDED),
            ("LU", Category.DNA, ResultStatus.DEADLINE_EXCEEDED)]
        entries = log.entries()[0]
        assert [(e.requested_state, e.category) for e in entries] == [(r.state, r.category) for r in results]
        assert {e.request_id for e in entries} == {both.request_id}  # one search, one request id
    finally:
        router.close()
        log.close()


def test_a_search_across_several_categories_can_be_switched_off(tmp_path: Path, clock: SimulatedClock,
                                                                readiness: ReadinessBook,
                                                                services: FakeDataServices) -> None:
    """P2-ROUTER-2 (unconfirmed, default allowed): `[router] several_categories = false` refuses a search of more
    than one category, naming the setting; a search of one category still passes."""
    log = RouterLog(tmp_path / "router-log.db", clock)
    router = Router(MEMBERS, readiness, log, services, clock, RouterSettings(several_categories=False, deadline_ms=300))
    try:
        with pytest.raises(InvalidInput, match="several_categories = false"):
            router.route("DE", RoutedSearch("0b6c3f2e-5f1d-4c61-9d3b-2f8f5c1a7e90", "DE", "NL",
                                            {Category.DNA: SECRET, Category.FINGERPRINT: SECRET}, ("NL",)))
        assert services.asked == [] and log.entries()[0] == []
        assert [r.status for r in router.route("DE", search(("NL",), requested="NL"))] == [ResultStatus.HIT]
    finally:
        router.close()
        log.close()
