"""The DNA service's messages to and from its core's types (protobuf only, no gRPC).

The servicer converts through here, and so does the contact point for a DNA search: `WIRE` says
where a DNA query and its hits travel in the officer's search and in the call to a peer's index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from google.protobuf.descriptor import MethodDescriptor
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.dna.v1 import dna_pb2
from prum.services.common.errors import InvalidInput
from prum.services.common.reference import ReferenceKind
from prum.services.common.wire import timestamp
from prum.services.dna.exchange import DnaQuery
from prum.services.dna.file import DnaHit, MatchMark

KIND_TO_PROTO: dict[ReferenceKind, dna_pb2.ProfileKind.ValueType] = {
    ReferenceKind.IDENTIFIED_PERSON: dna_pb2.PROFILE_KIND_IDENTIFIED_PERSON,
    ReferenceKind.UNIDENTIFIED_TRACE: dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE,
}
#: Keyed by plain int: a message's field holds any number, not only the enum's.
KIND_FROM_PROTO: dict[int, ReferenceKind] = {v: k for k, v in KIND_TO_PROTO.items()}
MATCH_CLASS_TO_PROTO = {
    "full": dna_pb2.MATCH_CLASS_FULL,
    "wildcard": dna_pb2.MATCH_CLASS_WILDCARD,
    "microvariant": dna_pb2.MATCH_CLASS_MICROVARIANT,
    "near": dna_pb2.MATCH_CLASS_NEAR,
}


def kind_from_proto(value: int, field: str = "profile.kind") -> ReferenceKind:
    try:
        return KIND_FROM_PROTO[value]
    except KeyError:
        raise InvalidInput("is unspecified; allowed: PROFILE_KIND_IDENTIFIED_PERSON, "
                           "PROFILE_KIND_UNIDENTIFIED_TRACE (DNA-2)", field=field) from None


def loci_from_proto(profile: dna_pb2.Profile) -> dict[str, list[str]]:
    return {locus: list(alleles.values) for locus, alleles in profile.loci.items()}


def profile_to_proto(reference: str, kind: ReferenceKind, loci: Mapping[str, Sequence[str]]) -> dna_pb2.Profile:
    return dna_pb2.Profile(reference=reference, kind=KIND_TO_PROTO[kind],
                           loci={locus: dna_pb2.Alleles(values=list(a)) for locus, a in loci.items()})


def query_from_proto(profile: dna_pb2.Profile) -> DnaQuery:
    return DnaQuery(profile.reference, kind_from_proto(profile.kind), loci_from_proto(profile))


def hit_to_proto(hit: DnaHit) -> dna_pb2.Hit:
    return dna_pb2.Hit(
        reference=hit.reference, kind=KIND_TO_PROTO[hit.kind],
        match_class=MATCH_CLASS_TO_PROTO[hit.match.match_class], loci_compared=hit.match.loci_compared,
        loci_matched=hit.match.loci_matched, matching_profile=profile_to_proto(hit.reference, hit.kind, hit.profile),
        contested=hit.contested, marking_note=hit.marking_note or "")


class DnaWire:
    """A DNA search on the wire: the officer's `profile`, `DnaIndexService.Search` at each peer, `dna_hits` back."""

    officer_field = "profile"
    result_field = "dna_hits"
    method: MethodDescriptor = dna_pb2.DESCRIPTOR.services_by_name["DnaIndexService"].methods_by_name["Search"]
    reply_type = dna_pb2.SearchResponse

    def officer_query(self, request: cp_pb2.SearchRequest | cp_pb2.CategoryQuery, max_candidates: int) -> DnaQuery:
        return query_from_proto(request.profile)

    def peer_request(self, context: common_pb2.QueryContext, query: DnaQuery) -> dna_pb2.SearchRequest:
        return dna_pb2.SearchRequest(context=context, profile=profile_to_proto(query.reference, query.kind,
                                                                               query.loci))

    def items(self, reply: dna_pb2.SearchResponse) -> tuple[dna_pb2.Hit, ...]:
        return tuple(reply.hits)


WIRE = DnaWire()


def match_mark_to_proto(mark: MatchMark) -> dna_pb2.MatchMark:
    return dna_pb2.MatchMark(reference=mark.reference, requesting_state=mark.requesting_state,
                             request_id=mark.request_id, marked_at=timestamp(mark.marked_at))
