"""The fingerprint category's plug-in to the exchange (Art 9; FP-1..FP-3), without gRPC.

The requested state spends one search of the requesting state's capacity and supplies at most as
many candidates as it accepts (FP-3). Only the requesting state's own verification makes a
candidate a hit (Art 9(2), FP-2): each received candidate's template is matched against the probe
here, and a confirmed one carries this state's score. A hit allows a follow-up (FOL-1).
"""

from __future__ import annotations

from typing import Any

from prum.afis.v1 import afis_pb2
from prum.services.afis.exchange import (
    CandidateList,
    FingerprintFile,
    FingerprintQuery,
    candidates_record,
    search_candidates,
    template_record,
    verify_candidates,
)
from prum.services.afis.matching import VERIFY_THRESHOLD
from prum.services.afis.wire import template_from_proto
from prum.services.common.category import Category
from prum.services.exchange.context import QueryContext
from prum.services.exchange.plugin import FollowUp, Supply


class FingerprintPlugin:
    """`CategoryPlugin[FingerprintQuery, FingerprintFile, CandidateList, afis_pb2.Candidate]`."""

    category = Category.FINGERPRINT
    follow_up = FollowUp.PERSONAL_DATA
    verifies = True

    def validate(self, query: FingerprintQuery) -> FingerprintQuery:
        return query  # a `Template` is checked when made (FP-1)

    def query_record(self, query: FingerprintQuery) -> dict[str, Any]:
        return template_record(query.probe)

    def search(self, file: FingerprintFile, context: QueryContext,
               query: FingerprintQuery) -> Supply[CandidateList]:
        found = search_candidates(file, context.requesting_state, query.probe, query.max_candidates)
        return Supply(result=found, hit_count=len(found.candidates), data=candidates_record(found))

    def reference(self, item: afis_pb2.Candidate) -> str:
        return item.reference

    def verify(self, query: FingerprintQuery, items: tuple[afis_pb2.Candidate, ...]
               ) -> tuple[tuple[afis_pb2.Candidate, ...], str]:
        """Art 9(2), FP-2: this state's own matcher verifies each candidate; only a verified one is a hit."""
        by_reference = {c.reference: c for c in items}
        verified = verify_candidates(query.probe, [template_from_proto(c.template, "candidate") for c in items])
        hits = []
        for template, value in verified:
            hit = afis_pb2.Candidate()
            hit.CopyFrom(by_reference[template.reference])
            hit.score = value  # the requesting state's own verification score
            hits.append(hit)
        return tuple(hits), (f"{len(items)} candidate(s) received, {len(hits)} verified by the requesting state "
                             f"(score >= {VERIFY_THRESHOLD:g}, Art 9(2))")


PLUGIN = FingerprintPlugin()
