"""What a partner DPA or a caller may send that no supervisor writes (issue 16): refused with InvalidInput naming the
field, never an sqlite3 error or a TypeError; state codes with a trailing line break are no state codes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import InvalidInput, UnknownReference
from prum.services.supervisor import JointCaseKind, JointCases, JointFinding

START = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def cases() -> tuple[JointCases, JointCases]:
    clock = SimulatedClock(START)
    return JointCases("NL", clock), JointCases("DE", clock)


def test_a_shared_case_without_its_opening_time_is_refused(cases: tuple[JointCases, JointCases]) -> None:
    """The partner's case was stored as sent: opened_at None hit the register's NOT NULL (sqlite3.IntegrityError)."""
    nl, de = cases
    opened = nl.open("DE", JointCaseKind.AUDIT, "sample check of DNA supplies")
    with pytest.raises(InvalidInput, match="joint_case.opened_at: is missing"):
        de.receive("NL", replace(opened, opened_at=None))  # type: ignore[arg-type]
    assert de.list() == []


def test_a_shared_finding_without_its_time_is_refused(cases: tuple[JointCases, JointCases]) -> None:
    """Findings are ordered by their time: None beside a datetime raised TypeError."""
    nl, de = cases
    opened = nl.open("DE", JointCaseKind.AUDIT, "sample check of DNA supplies")
    found = nl.add_finding(opened.id, "3 of 40 queries lack the ordering officer")
    untimed = replace(found, findings=(*found.findings, JointFinding("NL-9", "NL", "no time", None)))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=r"joint_case.findings\[1\].recorded_at: is missing"):
        de.receive("NL", untimed)


def test_a_long_case_id_is_quoted_cut(cases: tuple[JointCases, JointCases]) -> None:
    nl, de = cases
    opened = nl.open("DE", JointCaseKind.AUDIT, "sample check")
    with pytest.raises(InvalidInput) as caught:
        de.receive("NL", replace(opened, id="X" * 100_000))
    assert len(str(caught.value)) < 400 and "(100,000 characters)" in str(caught.value)
    with pytest.raises(UnknownReference) as missing:
        nl.get("Y" * 100_000)
    assert len(str(missing.value)) < 400


@pytest.mark.parametrize("partner", ["DE\n", "DE\r\n", "de", "D", "DEU", "\u0414E"])
def test_a_partner_that_is_not_a_state_code_is_refused(cases: tuple[JointCases, JointCases], partner: str) -> None:
    """The check was re.match('^[A-Z]{2}$'): '$' also matches before a final line break, so 'DE\\n' passed."""
    nl, _ = cases
    with pytest.raises(InvalidInput) as caught:
        nl.open(partner, JointCaseKind.AUDIT, "sample check")
    assert caught.value.field == "partner_state"
