"""The police-record category's plug-in to the exchange (P2-EPRIS-1..5), without gRPC.

The requesting state checks the query (names with letters, a date of birth whole or in part) before it
leaves; each requested state taking part searches its pseudonymised index (`PoliceRecordIndex.search`) and
supplies the references matched with their quality, no personal data (P2-EPRIS-3). A match's reference is
its national reference number. The follow-up is the reasoned request of `prum.services.exchange.record_requests`, decided
by the holding state (P2-EPRIS-4), not the automatic FOL-1 follow-up: hence `FollowUp.NONE` here.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prum.police_records.v1 import police_records_pb2
from prum.services.common.category import Category
from prum.services.exchange.context import QueryContext
from prum.services.exchange.plugin import FollowUp, Supply
from prum.services.police_records.index import BiographicQuery, Match, PoliceRecordIndex, check_query


class PoliceRecordPlugin:
    """`CategoryPlugin[BiographicQuery, PoliceRecordIndex, list[Match], police_records_pb2.Match]`."""

    category = Category.POLICE_RECORD
    follow_up = FollowUp.NONE  # the reasoned request of P2-EPRIS-4 instead (exchange.record_requests)
    verifies = False

    def validate(self, query: BiographicQuery) -> BiographicQuery:
        return check_query(query)

    def query_record(self, query: BiographicQuery) -> dict[str, Any]:
        return asdict(query)

    def search(self, file: PoliceRecordIndex, context: QueryContext, query: BiographicQuery) -> Supply[list[Match]]:
        matches = file.search(query)
        return Supply(result=matches, hit_count=len(matches),
                      data={"references": [m.reference for m in matches],
                            "matches": [{"reference": m.reference, "quality": m.quality} for m in matches]})

    def reference(self, item: police_records_pb2.Match) -> str:
        return item.reference

    def verify(self, query: BiographicQuery, items: tuple[police_records_pb2.Match, ...]
               ) -> tuple[tuple[police_records_pb2.Match, ...], str]:
        return items, ""  # not called: the holding state's quality is the answer


PLUGIN = PoliceRecordPlugin()
