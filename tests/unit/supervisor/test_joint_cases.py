"""Joint cases of two DPAs (AUD-1): both hold the case, each adds findings in its own name, the status is the
same on both sides after each change is shared, and a closed case is deleted 18 months after closing."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import CapacityExhausted, IdentityMismatch, InvalidInput, NotAuthorised, UnknownReference
from prum.services.supervisor import JointCaseKind, JointCases, JointCaseStatus, JointFinding, add_months

START = datetime(2026, 4, 1, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def nl(clock: SimulatedClock) -> JointCases:
    return JointCases("NL", clock)


@pytest.fixture
def de(clock: SimulatedClock) -> JointCases:
    return JointCases("DE", clock)


def test_both_dpas_hold_the_case_add_findings_and_see_it_closed(
        nl: JointCases, de: JointCases, clock: SimulatedClock) -> None:
    opened = nl.open("DE", JointCaseKind.COMPLAINT, "data subject NL-P-7 contests a DNA hit supplied by DE",
                     request_id="req-42")
    assert opened.id.startswith("JC-NL-") and opened.states == ("NL", "DE")
    assert de.receive("NL", opened) == opened
    clock.advance(timedelta(days=2))
    by_de = de.add_finding(opened.id, "DE's log has the reply at 10:00:01, hit NL-1, officer authorised")
    nl.receive("DE", by_de)
    clock.advance(timedelta(days=1))
    by_nl = nl.add_finding(opened.id, "NL's follow-up request was made without an MLA reference")
    de.receive("NL", by_nl)
    assert nl.get(opened.id) == de.get(opened.id)
    assert [(f.state, f.id) for f in de.get(opened.id).findings] == [("DE", "DE-1"), ("NL", "NL-1")]
    closed = de.close(opened.id, "follow-up supply to be repeated with the MLA reference")
    assert nl.receive("DE", closed) == closed
    assert nl.get(opened.id).status is JointCaseStatus.CLOSED and nl.get(opened.id).closed_by == "DE"
    with pytest.raises(InvalidInput, match="closed by DE"):
        nl.add_finding(opened.id, "too late")


def test_merging_is_idempotent_and_order_free(nl: JointCases, de: JointCases, clock: SimulatedClock) -> None:
    opened = nl.open("DE", "AUDIT", "joint check of NL's queries to DE in March")
    first = nl.add_finding(opened.id, "3 of 40 queries lack the ordering officer")
    closed = nl.close(opened.id, "NL instructs its contact point")
    assert de.receive("NL", closed) == closed  # the later copy first
    assert de.receive("NL", first) == closed  # an older copy changes nothing: closed stays closed
    assert de.receive("NL", closed) == closed and len(de.list()) == 1


def test_a_dpa_adds_findings_in_its_own_name_only(nl: JointCases, de: JointCases) -> None:
    opened = nl.open("DE", "AUDIT", "joint check")
    de.receive("NL", opened)
    by_nl = nl.add_finding(opened.id, "NL's finding")
    assert nl.receive("DE", by_nl) == by_nl  # NL's own finding coming back: already held, nothing changes
    forged = replace(opened, findings=(JointFinding("NL-7", "NL", "NL agrees it was unlawful", START),))
    with pytest.raises(IdentityMismatch, match="in the name of NL"):
        nl.receive("DE", forged)  # DE putting a finding NL never made in NL's name
    fr = JointCases("FR")
    with pytest.raises(NotAuthorised, match="between NL and DE"):
        fr.receive("NL", opened)  # FR is no party to the case
    with pytest.raises(NotAuthorised):
        de.receive("FR", opened)  # nor can FR share it


def test_a_case_id_names_the_state_that_opened_it(nl: JointCases, de: JointCases) -> None:
    opened = nl.open("DE", "AUDIT", "joint check")
    with pytest.raises(InvalidInput, match="names the state that opened it"):
        de.receive("NL", replace(opened, id="JC-DE-000001"))


def test_opening_needs_another_state_a_kind_and_a_subject(nl: JointCases) -> None:
    for partner in ("NL", "de", ""):
        with pytest.raises(InvalidInput) as refused:
            nl.open(partner, "AUDIT", "x")
        assert refused.value.field == "partner_state"
    with pytest.raises(InvalidInput, match="AUDIT, COMPLAINT"):
        nl.open("DE", "INQUIRY", "x")
    with pytest.raises(InvalidInput) as refused:
        nl.open("DE", "AUDIT", "  ")
    assert refused.value.field == "subject"
    with pytest.raises(UnknownReference):
        nl.add_finding("JC-NL-999999", "x")


def test_a_closed_case_is_deleted_18_months_after_closing(
        nl: JointCases, de: JointCases, clock: SimulatedClock) -> None:
    kept_open = nl.open("DE", "COMPLAINT", "still under way")
    closed = nl.close(nl.open("DE", "AUDIT", "done").id, "lawful")
    de.receive("NL", closed)
    assert closed.delete_after == add_months(START, 18)
    clock.set(add_months(START, 18) - timedelta(seconds=1))
    assert {c.id for c in nl.list()} == {kept_open.id, closed.id}
    clock.set(add_months(START, 18))
    assert [c.id for c in nl.list()] == [kept_open.id]  # an open case is never deleted
    assert de.list() == []


def test_a_case_holds_at_most_the_findings_one_message_carries(nl: JointCases, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    """The whole case travels to the partner in one message, whose contract allows 1000 findings."""
    from prum.services.supervisor import joint

    monkeypatch.setattr(joint, "MAX_FINDINGS", 3)
    case = nl.open("DE", JointCaseKind.AUDIT, "sample audit of DNA supplies")
    for number in range(3):
        nl.add_finding(case.id, f"finding {number}")
    with pytest.raises(CapacityExhausted, match="holds 3 findings"):
        nl.add_finding(case.id, "one too many")
    assert len(nl.get(case.id).findings) == 3


def test_the_findings_limit_is_the_contracts() -> None:
    from prum.services.common.validation import rules_of
    from prum.services.supervisor.joint import MAX_FINDINGS
    from prum.supervisor.v1 import supervisor_pb2 as pb

    rules = rules_of(pb.JointCase.DESCRIPTOR.fields_by_name["findings"])
    assert rules is not None and rules.max_items == MAX_FINDINGS
