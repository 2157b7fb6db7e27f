"""Allele values no laboratory means, through real gRPC (issue 16, findings 2 and 3): at the DNA service of the
file-managing state and at the requesting state's contact point, INVALID_ARGUMENT naming the locus and what is
allowed, never INTERNAL, never a hit; the same channel answers the next search."""

from __future__ import annotations

import uuid

import grpc
import pytest
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import contact_point_pb2_grpc as cp_pb2_grpc
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.federation.runtime.launcher import InProcessFederation
from sample_federation import DONOR, officer_search, profile

TRACE = dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE

# The core says "out of range" for 5,000 digits; the validation layer, when the .proto bounds an allele's length,
# refuses it first ("at most 8 allowed"): either names the locus and what is allowed.
ODD = {
    "5,000 digits": ("VWA", ["1" * 5000, "18"], "allowed"),                # finding 2: int() raised ValueError
    "Arabic-Indic 17": ("VWA", ["١٧", "18"], "not an ASCII digit 0-9"),     # finding 3: read as 17, a hit
    "Arabic-Indic 3": ("D18S51", ["٣", "17"], "not an ASCII digit 0-9"),    # finding 3: read as 3, a near match
}


def context() -> common_pb2.QueryContext:
    return common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state="DE", requested_state="NL",
                                   officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02",
                                   reason="homicide, art. 3 search")


def names(details: str, locus: str) -> bool:
    """The message starts with the field: the locus (the core) or its path in the request (the validation layer)."""
    field = details.split(": ", 1)[0]
    return field == locus or field.startswith(f"profile.loci['{locus}']")


def refused(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as failure:
        call()
    error = failure.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (error.code(), error.details())
    details = error.details() or ""
    assert len(details.encode("utf-8")) < 1024 and "4300" not in details
    return details


@pytest.mark.parametrize("case", sorted(ODD))
def test_the_dna_service_refuses_the_allele_naming_the_locus(federation: InProcessFederation, case: str) -> None:
    locus, values, why = ODD[case]
    stub = dna_pb2_grpc.DnaIndexServiceStub(federation.channel("NL", as_state="DE"))
    details = refused(lambda: stub.Search(dna_pb2.SearchRequest(
        context=context(), profile=profile("DE-T-1", {**DONOR, locus: values}, TRACE)), timeout=10))
    assert names(details, locus) and why in details and "allowed" in details
    assert stub.Search(dna_pb2.SearchRequest(context=context(), profile=profile("DE-T-1", DONOR, TRACE)),
                       timeout=10).hit


@pytest.mark.parametrize("case", sorted(ODD))
def test_the_contact_point_refuses_the_allele_before_anything_leaves(federation: InProcessFederation,
                                                                     case: str) -> None:
    locus, values, why = ODD[case]
    ncp = cp_pb2_grpc.ContactPointServiceStub(federation.channel("DE"))
    logged = federation.nodes["DE"].log.stats().entries
    details = refused(lambda: ncp.Search(officer_search({**DONOR, locus: values}), timeout=10))
    assert names(details, locus) and why in details
    assert federation.nodes["DE"].log.stats().entries == logged  # nothing supplied, nothing logged
    again = ncp.Search(officer_search(DONOR), timeout=10)
    assert {r.state for r in again.results if r.status == cp_pb2.RESULT_STATUS_HIT} >= {"NL"}
