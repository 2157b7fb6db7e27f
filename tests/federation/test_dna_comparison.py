"""Art 4 (DNA-11): a state's unidentified profiles streamed against another state's whole file, by agreement."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import grpc
import pytest
from sample_federation import DONOR, RELATIVE, STRANGER, profile

from prum.common.v1 import common_pb2
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.federation.runtime.launcher import InProcessFederation
from prum.services.logger import MessageType

TRACE = dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE


def stream(requesting: str, requested: str, profiles: list[dna_pb2.Profile]) -> Iterator[dna_pb2.CompareRequest]:
    context = common_pb2.QueryContext(request_id=str(uuid.uuid4()),
                                      requesting_state=requesting, requested_state=requested,
                                      officer_id=f"{requesting}-NCP-01", ordering_officer_id=f"{requesting}-NCP-02",
                                      reason="Art 4 comparison of unsolved cases")
    for position, item in enumerate(profiles):
        yield dna_pb2.CompareRequest(context=context if position == 0 else None, profile=item)


def compare(federation: InProcessFederation, requesting: str, requested: str,
            profiles: list[dna_pb2.Profile]) -> list[dna_pb2.CompareResponse]:
    stub = dna_pb2_grpc.DnaIndexServiceStub(federation.channel(requested, as_state=requesting))
    return list(stub.Compare(stream(requesting, requested, profiles), timeout=10))


def test_unidentified_profiles_are_compared_in_bulk_and_hits_stream_back(federation: InProcessFederation) -> None:
    traces = [profile("DE-T-1", DONOR, TRACE), profile("DE-T-2", {**STRANGER, "VWA": ["9", "10"]}, TRACE),
              profile("DE-T-3", RELATIVE, TRACE)]
    replies = compare(federation, "DE", "NL", traces)
    assert [r.query_reference for r in replies] == ["DE-T-1", "DE-T-2", "DE-T-3"]
    assert [h.reference for h in replies[0].hits] == ["NL-P-1"]
    assert replies[0].hits[0].match_class == dna_pb2.MATCH_CLASS_FULL
    assert list(replies[1].hits) == []
    assert [h.match_class for h in replies[2].hits] == [dna_pb2.MATCH_CLASS_NEAR]
    assert all(r.header.requested_state == "NL" and r.header.reply_id for r in replies)
    logged = [e for e in federation.nodes["NL"].log.query(request_id=replies[0].header.request_id)
              if e.message_type is MessageType.REPLY]
    assert len(logged) == 3  # every compared profile's reply is a logged supply (LOG-1)


def test_a_state_without_an_agreement_is_refused(federation: InProcessFederation) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        compare(federation, "FR", "NL", [profile("FR-T-1", DONOR, TRACE)])
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "no Art 4 agreement with FR" in refused.value.details()


def test_only_unidentified_profiles_are_compared(federation: InProcessFederation) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        compare(federation, "DE", "NL", [profile("DE-P-1", DONOR, dna_pb2.PROFILE_KIND_IDENTIFIED_PERSON)])
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "unidentified" in refused.value.details()
