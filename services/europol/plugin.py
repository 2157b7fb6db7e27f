"""Every retrieval of Europol's data logged (EUR-2), each supplied item with its evaluation codes (EUR-1), without
gRPC: a category's plug-in wrapped for Europol's file-managing side.

`EuropolData` answers a state's search of Europol's third-country data (P2-EUROPOL-2) through the category's own
plug-in, and adds to what the protocol log keeps of the reply, for every item supplied, the data subject (the
item's reference), its analysis work file and its evaluation codes, with the user reference (the requesting state
and its officer). The log entry's date and time are the logger's (LOG-2), so the entry holds the four fields of
EUR-2; it is durable before the reply leaves (LOG-4). The simulator logs every retrieval, not 1 in 10. The wire
puts the same codes on each hit or candidate (`Evaluation` in the contracts), via `AnalysisFiles.evaluation`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prum.services.common.category import Category
from prum.services.europol.analysis_files import AnalysisFiles
from prum.services.exchange.context import QueryContext
from prum.services.exchange.plugin import CategoryPlugin, FollowUp, Supply


def user_reference(context: QueryContext) -> str:
    """Who retrieved (EUR-2): the requesting state's officer, as "DE/DE-NCP-01"."""
    return f"{context.requesting_state}/{context.officer_id}"


class EuropolData:
    """`CategoryPlugin`: the category's plug-in, its supplies logged as retrievals of Europol's data (EUR-2)."""

    def __init__(self, inner: CategoryPlugin[Any, Any, Any, Any], files: AnalysisFiles,
                 supplied: Callable[[Any], list[str]]) -> None:
        self.inner = inner
        self.files = files
        #: The references of the items a search result supplies (the hits' or the candidates').
        self.supplied = supplied

    @property
    def category(self) -> Category:
        return self.inner.category

    @property
    def follow_up(self) -> FollowUp:
        return self.inner.follow_up

    @property
    def verifies(self) -> bool:
        return self.inner.verifies

    def validate(self, query: Any) -> Any:
        return self.inner.validate(query)

    def query_record(self, query: Any) -> dict[str, Any]:
        return self.inner.query_record(query)

    def search(self, file: Any, context: QueryContext, query: Any) -> Supply[Any]:
        supply = self.inner.search(file, context, query)
        retrievals = []
        for reference in self.supplied(supply.result):
            evaluation = self.files.evaluation(reference)
            retrievals.append({"subject": reference, "file": evaluation.file if evaluation else "",
                               "evaluation": evaluation.code if evaluation else ""})
        data = {**supply.data, "retrievals": retrievals, "user": user_reference(context)} if retrievals else supply.data
        return Supply(result=supply.result, hit_count=supply.hit_count, data=data)

    def reference(self, item: Any) -> str:
        return self.inner.reference(item)

    def verify(self, query: Any, items: tuple[Any, ...]) -> tuple[tuple[Any, ...], str]:
        return self.inner.verify(query, items)
