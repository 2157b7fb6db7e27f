"""The DNA category's plug-in to the exchange (Art 3 search, Art 4 comparison; DNA-4..DNA-10), without gRPC.

The requesting state refuses a profile every peer would refuse (DNA-4, DNA-5, DNA-6) before it is
supplied; the requested state searches its file and supplies the references and matching profiles
of its hits (DNA-9, DNA-10). A hit allows a follow-up for the person behind it (FOL-1).
"""

from __future__ import annotations

from typing import Any

from prum.dna.v1 import dna_pb2
from prum.services.common.category import Category
from prum.services.dna.exchange import DnaQuery, hit_record, query_record
from prum.services.dna.file import DnaFile, DnaHit
from prum.services.dna.profile import check_inclusion, normalize_profile
from prum.services.exchange.context import QueryContext
from prum.services.exchange.plugin import FollowUp, Supply


class DnaPlugin:
    """`CategoryPlugin[DnaQuery, DnaFile, list[DnaHit], dna_pb2.Hit]`."""

    category = Category.DNA
    follow_up = FollowUp.PERSONAL_DATA
    verifies = False

    def validate(self, query: DnaQuery) -> DnaQuery:
        check_inclusion(normalize_profile(query.loci), query.kind)
        return query

    def query_record(self, query: DnaQuery) -> dict[str, Any]:
        return query_record(query.reference, query.kind, query.loci)

    def search(self, file: DnaFile, context: QueryContext, query: DnaQuery) -> Supply[list[DnaHit]]:
        """Art 3: one profile against the file. The query is matched and then forgotten (PUR-2); a match on an
        unidentified profile may be noted in the file (P2-DNA-5)."""
        hits = file.search(query.loci, query_kind=query.kind)
        file.note_matches(hits, context.requesting_state, context.request_id)
        return Supply(result=hits, hit_count=len(hits), data={"hits": [hit_record(h) for h in hits]})

    def reference(self, item: dna_pb2.Hit) -> str:
        return item.reference

    def verify(self, query: DnaQuery, items: tuple[dna_pb2.Hit, ...]) -> tuple[tuple[dna_pb2.Hit, ...], str]:
        return items, ""  # not called: the requested state's match is the hit (DNA-8)


PLUGIN = DnaPlugin()
