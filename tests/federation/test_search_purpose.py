"""P2-SCOPE-1: searches for a missing person or to identify human remains, in every category, where the searching
state's national law allows it (the federation file's `search_purposes`, known to every state). The requesting
contact point refuses its officer a purpose its law does not allow; the requested state refuses a purpose the
requesting state has not declared; both sides log the purpose of every entry."""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.federation.runtime.launcher import InProcessFederation
from prum.federation.runtime.topology import parse_federation
from prum.logger.v1 import logger_pb2, logger_pb2_grpc
from prum.services.common.purpose import SearchPurpose
from prum.services.logger import EntryKind, MessageType, Outcome
from sample_federation import DONOR, STRANGER, load, officer_search, profile

PURPOSE_FEDERATION = """
[federation]
name = "purpose-test"
topology = "{topology}"
deadline_ms = 3000
[defaults]
dna_profiles = 0
vehicles = 0
fingerprints = 0
[[state]]
code = "DE"
search_purposes = ["MISSING_PERSON", "HUMAN_REMAINS"]
[[state]]
code = "NL"
[[state]]
code = "FR"
search_purposes = ["HUMAN_REMAINS"]
"""


@pytest.fixture(scope="module", params=["mesh", "router"])
def running(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessFederation]:
    text = PURPOSE_FEDERATION.format(topology=request.param)
    federation = InProcessFederation(parse_federation(tomllib.loads(text)),
                                     tmp_path_factory.mktemp(f"purpose-{request.param}")).start()
    load(federation, "NL", [profile("NL-P-1", DONOR), profile("NL-P-2", STRANGER)])
    load(federation, "DE", [profile("DE-P-4", DONOR)])
    yield federation
    federation.stop()


def statuses(reply: cp_pb2.SearchResponse) -> dict[str, str]:
    return {r.state: cp_pb2.ResultStatus.Name(r.status).removeprefix("RESULT_STATUS_") for r in reply.results}


def test_a_missing_person_search_is_allowed_and_logged_as_such_on_both_sides(running: InProcessFederation) -> None:
    reply = running.contact_point("DE").Search(officer_search(
        DONOR, "DE-MP-1", reason="missing since 2026-03-02, relatives' reference sample",
        purpose=common_pb2.SEARCH_PURPOSE_MISSING_PERSON, target_states=["NL"]), timeout=10)
    assert statuses(reply) == {"NL": "HIT"}
    requesting = running.nodes["DE"].log.query(request_id=reply.request_id)
    managing = running.nodes["NL"].log.query(request_id=reply.request_id)
    assert len(requesting) == 2 and len(managing) == 2
    assert {e.purpose for e in requesting + managing} == {SearchPurpose.MISSING_PERSON}
    # The logger's contract carries it too (LOG-2 fields, queried over gRPC by the state's own authorities).
    entries = logger_pb2_grpc.ProtocolLoggerServiceStub(running.channel("NL")).Query(
        logger_pb2.QueryRequest(request_id=reply.request_id), timeout=5).entries
    assert {e.purpose for e in entries} == {common_pb2.SEARCH_PURPOSE_MISSING_PERSON}


def test_an_officer_is_refused_a_purpose_the_law_of_its_state_does_not_allow(running: InProcessFederation) -> None:
    before = sum(1 for _ in running.nodes["NL"].log.export())
    with pytest.raises(grpc.RpcError) as refused:
        running.contact_point("NL").Search(officer_search(
            DONOR, "NL-MP-1", officer_id="NL-NCP-01", ordering_officer_id="NL-NCP-02",
            purpose=common_pb2.SEARCH_PURPOSE_MISSING_PERSON), timeout=10)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "P2-SCOPE-1" in (refused.value.details() or "")
    assert sum(1 for _ in running.nodes["NL"].log.export()) == before  # nothing sent, nothing supplied
    with pytest.raises(grpc.RpcError) as human_remains_only:  # FR's law allows human remains, not missing persons
        running.contact_point("FR").Search(officer_search(
            DONOR, "FR-MP-1", officer_id="FR-NCP-01", ordering_officer_id="FR-NCP-02",
            purpose=common_pb2.SEARCH_PURPOSE_MISSING_PERSON), timeout=10)
    assert human_remains_only.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_state_may_not_search_under_a_europol_task(running: InProcessFederation) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        running.contact_point("DE").Search(officer_search(
            DONOR, "DE-EP-1", purpose=common_pb2.SEARCH_PURPOSE_EUROPOL_CROSS_CHECKING), timeout=10)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_requested_state_refuses_and_logs_a_purpose_the_requesting_state_has_not_declared(
        running: InProcessFederation) -> None:
    """NL's law, as the federation file declares it, allows no missing-person search: DE refuses one from NL."""
    context = common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state="NL", requested_state="DE",
                                      officer_id="NL-NCP-01", reason="missing person",
                                      purpose=common_pb2.SEARCH_PURPOSE_MISSING_PERSON)
    with pytest.raises(grpc.RpcError) as refused:
        dna_pb2_grpc.DnaIndexServiceStub(running.channel("DE", as_state="NL")).Search(dna_pb2.SearchRequest(
            context=context, profile=profile("NL-Q-1", DONOR, dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE)), timeout=5)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "refused by the requested state DE" in (refused.value.details() or "")
    entries = running.nodes["DE"].log.query(request_id=context.request_id)
    assert {(e.kind, e.message_type, e.outcome, e.purpose) for e in entries} == {
        (EntryKind.AUTOMATED_RECEIPT, MessageType.QUERY, Outcome.NONE, SearchPurpose.MISSING_PERSON),
        (EntryKind.AUTOMATED_SUPPLY, MessageType.REFUSAL, Outcome.REFUSED, SearchPurpose.MISSING_PERSON)}


def test_human_remains_in_another_category_and_an_old_client_is_a_criminal_investigation(
        running: InProcessFederation) -> None:
    """In every category (a vehicle near the remains); a context without a purpose is a criminal investigation."""
    vehicle = running.contact_point("FR").Search(cp_pb2.SearchRequest(
        officer_id="FR-NCP-01", ordering_officer_id="FR-NCP-02", reason="vehicle found beside human remains",
        category=common_pb2.CATEGORY_VEHICLE, vehicle=cp_pb2.VehicleKey(vin="WVWZZZ1JZ3W386752"),
        target_states=["NL"], purpose=common_pb2.SEARCH_PURPOSE_HUMAN_REMAINS), timeout=10)
    assert statuses(vehicle) == {"NL": "NO_HIT"}
    assert {e.purpose for e in running.nodes["NL"].log.query(request_id=vehicle.request_id)} == {
        SearchPurpose.HUMAN_REMAINS}
    plain = running.contact_point("DE").Search(officer_search(DONOR, "DE-CS-9", target_states=["NL"]), timeout=10)
    assert {e.purpose for e in running.nodes["NL"].log.query(request_id=plain.request_id)} == {
        SearchPurpose.CRIMINAL_INVESTIGATION}


def test_a_search_across_several_categories_carries_its_purpose(running: InProcessFederation) -> None:
    """P2-SCOPE-1 with P2-ROUTER-2: the purpose of a search through `SearchSeveral` is checked and logged like a
    `Search`'s."""
    def several(purpose: int, state: str = "DE") -> cp_pb2.SearchSeveralRequest:
        return cp_pb2.SearchSeveralRequest(
            officer_id=f"{state}-NCP-01", ordering_officer_id=f"{state}-NCP-02", reason="human remains found",
            target_states=["NL"] if state == "DE" else ["DE"], purpose=purpose, queries=[  # type: ignore[arg-type]
                cp_pb2.CategoryQuery(category=common_pb2.CATEGORY_DNA, profile=profile("R-1", DONOR))])

    with pytest.raises(grpc.RpcError) as refused:
        running.contact_point("NL").SearchSeveral(several(common_pb2.SEARCH_PURPOSE_HUMAN_REMAINS, "NL"), timeout=10)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    reply = running.contact_point("DE").SearchSeveral(several(common_pb2.SEARCH_PURPOSE_HUMAN_REMAINS), timeout=10)
    assert [r.status for r in reply.categories[0].results] == [cp_pb2.RESULT_STATUS_HIT]
    logged = running.nodes["DE"].log.query(request_id=reply.request_id) + running.nodes["NL"].log.query(
        request_id=reply.request_id)
    assert logged and {e.purpose for e in logged} == {SearchPurpose.HUMAN_REMAINS}
