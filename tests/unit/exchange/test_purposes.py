"""Who may search for which purpose (P2-SCOPE-1, P2-EUROPOL-1), without gRPC."""

from __future__ import annotations

import pytest
from prum.common.v1 import common_pb2
from prum.services.common.errors import InvalidInput, NotAuthorised
from prum.services.common.identity import EUROPOL, ROUTER, is_state_code
from prum.services.common.purpose import EUROPOL_TASKS, SearchPurpose, allowed_purposes, check_purpose
from prum.services.common.wire import SEARCH_PURPOSE_TO_PROTO, search_purpose_from_proto

DECLARED = {"DE": frozenset({SearchPurpose.MISSING_PERSON}),
            "NL": frozenset({SearchPurpose.EUROPOL_CROSS_CHECKING})}  # a state cannot take a Europol task


def test_a_state_searches_for_a_criminal_investigation_and_what_its_law_allows() -> None:
    assert allowed_purposes("DE", DECLARED) == {SearchPurpose.CRIMINAL_INVESTIGATION, SearchPurpose.MISSING_PERSON}
    assert allowed_purposes("NL", DECLARED) == {SearchPurpose.CRIMINAL_INVESTIGATION}
    assert allowed_purposes("FR", DECLARED) == {SearchPurpose.CRIMINAL_INVESTIGATION}
    check_purpose("DE", SearchPurpose.MISSING_PERSON, DECLARED)
    with pytest.raises(NotAuthorised, match="FR may not search for HUMAN_REMAINS.*P2-SCOPE-1"):
        check_purpose("FR", SearchPurpose.HUMAN_REMAINS, DECLARED, "refused by NL")
    with pytest.raises(NotAuthorised):
        check_purpose("NL", SearchPurpose.EUROPOL_CROSS_CHECKING, DECLARED)


@pytest.mark.parametrize("purpose", list(SearchPurpose))
def test_europol_searches_only_for_its_art_18_2_a_and_c_tasks(purpose: SearchPurpose) -> None:
    assert EUROPOL_TASKS == {SearchPurpose.EUROPOL_CROSS_CHECKING, SearchPurpose.EUROPOL_OPERATIONAL_ANALYSIS}
    if purpose in EUROPOL_TASKS:
        check_purpose(EUROPOL, purpose, DECLARED)
    else:
        with pytest.raises(NotAuthorised, match=r"Art 18\(2\)\(a\) and \(c\)"):
            check_purpose(EUROPOL, purpose, DECLARED)


def test_europols_code_is_user_assigned_and_not_the_routers() -> None:
    assert is_state_code(EUROPOL) and EUROPOL != ROUTER and EUROPOL[0] == "X"


def test_the_unspecified_purpose_of_an_old_client_is_a_criminal_investigation() -> None:
    assert search_purpose_from_proto(common_pb2.SEARCH_PURPOSE_UNSPECIFIED) is SearchPurpose.CRIMINAL_INVESTIGATION
    for purpose, number in SEARCH_PURPOSE_TO_PROTO.items():
        assert search_purpose_from_proto(number) is purpose
    with pytest.raises(InvalidInput, match="not a search purpose"):
        search_purpose_from_proto(99)
