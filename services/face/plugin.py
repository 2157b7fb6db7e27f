"""The facial-image category's plug-in to the exchange (Prüm II Art 20; P2-FACE-2..4), without gRPC.

The requesting state refuses a search for an offence punishable by less than one year before anything leaves
(P2-FACE-4); the requested state checks it again and supplies a capped candidate list (P2-FACE-2). No candidate is
a hit on arrival: `confirms` tells the contact point that an officer confirms each one first (P2-FACE-3), so the
per-state result is CANDIDATES and the receipt verifies nothing; `prum.services.face.confirmation` records the
officer's decision on both sides, and only a confirmed candidate allows a follow-up or core data (FOL-1,
P2-CORE-1(b)).
"""

from __future__ import annotations

from typing import Any

from prum.face.v1 import face_pb2
from prum.services.common.category import Category
from prum.services.exchange.context import QueryContext
from prum.services.exchange.plugin import FollowUp, Supply
from prum.services.face.exchange import (
    FaceCandidates,
    FaceFile,
    FaceQuery,
    candidates_record,
    query_record,
    search_candidates,
)
from prum.services.face.offences import check_offence


class FacePlugin:
    """`CategoryPlugin[FaceQuery, FaceFile, FaceCandidates, face_pb2.Candidate]`."""

    category = Category.FACE
    follow_up = FollowUp.PERSONAL_DATA
    verifies = False
    #: An officer confirms each candidate before it is a hit (P2-FACE-3): the contact point reports CANDIDATES.
    confirms = True

    def validate(self, query: FaceQuery) -> FaceQuery:
        check_offence(query.offence, "refused by the requesting state's contact point before anything was sent")
        return query

    def query_record(self, query: FaceQuery) -> dict[str, Any]:
        return query_record(query)

    def search(self, file: FaceFile, context: QueryContext, query: FaceQuery) -> Supply[FaceCandidates]:
        found = search_candidates(file, query)
        return Supply(result=found, hit_count=len(found.candidates), data=candidates_record(found))

    def reference(self, item: face_pb2.Candidate) -> str:
        return item.reference

    def verify(self, query: FaceQuery, items: tuple[face_pb2.Candidate, ...]
               ) -> tuple[tuple[face_pb2.Candidate, ...], str]:
        return (), ""  # not called: an officer confirms each candidate (P2-FACE-3), no matcher of this state


PLUGIN = FacePlugin()
