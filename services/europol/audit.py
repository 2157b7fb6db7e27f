"""What the EDPS, Europol's supervisor, checks in Europol's protocol log and analysis work files, without gRPC
(P2-EUROPOL-1..3, EUR-2, EUR-3).

Added to the lawfulness checks every DPA runs on a sample of its log (AUD-1, `prum.services.supervisor.dpa`):

- a reply of Europol that supplied items (a retrieval of Europol's data) names, for each, the data subject and the
  file, and the user reference (EUR-2; the date and time are the entry's own);
- a search Europol made of the states states its task under Art 18(2)(a) or (c) (P2-EUROPOL-1);

and, on the files (`file_findings`): no item whose year since its last review is over without a review run that
listed it (EUR-3), no item still held 3 years after its file closed (EUR-3).
"""

from __future__ import annotations

import json
from datetime import datetime

from prum.services.common.identity import EUROPOL
from prum.services.common.purpose import EUROPOL_TASKS
from prum.services.europol.analysis_files import REVIEW_EVERY_YEARS, AnalysisFiles, years_after
from prum.services.logger import EntryKind, LogEntry, MessageType, Side


def check_europol_entry(entry: LogEntry) -> list[str]:
    """What EUR-2 and P2-EUROPOL-1 find wrong in one entry of Europol's log; empty when nothing (or not Europol's)."""
    if entry.logging_state != EUROPOL:
        return []
    problems: list[str] = []
    if (entry.side is Side.REQUESTING and entry.kind is EntryKind.AUTOMATED_SUPPLY
            and entry.message_type is MessageType.QUERY and entry.purpose not in EUROPOL_TASKS):
        problems.append(f"a search of {entry.requested_state} for {entry.purpose.name}: Europol searches the "
                        f"states only for its tasks under Art 18(2)(a) and (c) of Regulation 2016/794 (P2-EUROPOL-1)")
    if (entry.side is Side.FILE_MANAGING and entry.kind is EntryKind.AUTOMATED_SUPPLY
            and entry.message_type is MessageType.REPLY and entry.hit_count > 0):
        try:
            data = json.loads(entry.data_supplied or "{}")
        except ValueError:
            data = {}
        retrievals = data.get("retrievals") if isinstance(data, dict) else None
        if not retrievals:
            problems.append("a retrieval of Europol's data without its logged retrievals (EUR-2)")
        else:
            if not str(data.get("user", "")).strip() or not entry.officer_id.strip():
                problems.append("a retrieval without the user reference (EUR-2)")
            for item in retrievals:
                for name in ("subject", "file"):
                    if not str(item.get(name, "")).strip():
                        problems.append(f"a retrieval without its {'data subject' if name == 'subject' else name} "
                                        f"(EUR-2)")
    return problems


def file_findings(files: AnalysisFiles, now: datetime) -> list[str]:
    """What EUR-3 finds wrong in Europol's analysis work files at `now`: items held past their deletion, items whose
    review is over a year late (not listed by any review run since their year ended)."""
    problems = [f"item {i.reference} of {i.evaluation.file} is still held 3 years after its file closed (EUR-3)"
                for i in files.expired(now)]
    listed: dict[str, datetime] = {}
    for review in files.reviews():
        for reference in review.due:
            listed[reference] = review.run_at
    for item in files.due(now):
        year_end = years_after(item.reviewed_at, REVIEW_EVERY_YEARS)
        if listed.get(item.reference, item.reviewed_at) < year_end:
            problems.append(f"item {item.reference} of {item.evaluation.file} has not been reviewed since "
                            f"{item.reviewed_at:%Y-%m-%d}: its need to keep is reviewed at least yearly (EUR-3)")
    return problems
