"""EUR-2 and the EDPS's checks without gRPC: a retrieval of Europol's data is logged with the user reference, the
data subject and the file; the EDPS finds a retrieval without them, a Europol search without its Art 18(2)(a) or
(c) task, and files whose review or deletion is late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from prum.services.common.category import Category
from prum.services.common.clock import SimulatedClock
from prum.services.common.identity import EUROPOL
from prum.services.common.purpose import SearchPurpose
from prum.services.dna.exchange import DnaQuery
from prum.services.dna.file import DnaFile
from prum.services.dna.plugin import PLUGIN
from prum.services.common.reference import ReferenceKind
from prum.services.europol.analysis_files import AnalysisFiles
from prum.services.europol.audit import check_europol_entry, file_findings
from prum.services.europol.evaluation import Evaluation
from prum.services.europol.plugin import EuropolData
from prum.services.exchange.context import QueryContext
from prum.services.logger import EntryKind, LogEntry, MessageType, Outcome, Side
from prum.services.logger.entry import canonical_json

DONOR = {"D3S1358": ["15", "16"], "VWA": ["17", "18"], "D8S1179": ["13", "14"], "D21S11": ["29", "30"],
         "D18S51": ["12", "13"], "TH01": ["6", "9.3"], "FGA": ["21", "22"]}
START = datetime(2026, 1, 15, tzinfo=UTC)


def test_a_retrieval_names_the_user_the_subject_the_file_and_the_codes(tmp_path: Path) -> None:
    clock = SimulatedClock(START)
    dna = DnaFile(tmp_path / "dna.db", clock)
    dna.ingest_many([("XP-D-7", ReferenceKind.IDENTIFIED_PERSON, DONOR)])
    files = AnalysisFiles(None, clock)
    files.open_file("AWF-TC-US")
    files.add_many([("XP-D-7", Category.DNA, Evaluation.parse("B", "3", "AWF-TC-US"))])
    plugin = EuropolData(PLUGIN, files, lambda hits: [h.reference for h in hits])
    context = QueryContext("0b6c3f2e-5f1d-4c61-9d3b-2f8f5c1a7e90", "DE", EUROPOL, "DE-NCP-01", "DE-NCP-02",
                           "homicide")
    supply = plugin.search(dna, context, DnaQuery("DE-T-1", ReferenceKind.UNIDENTIFIED_TRACE, DONOR))
    assert [h.reference for h in supply.result] == ["XP-D-7"] and supply.hit_count == 1
    assert supply.data["user"] == "DE/DE-NCP-01"
    assert supply.data["retrievals"] == [{"subject": "XP-D-7", "file": "AWF-TC-US", "evaluation": "B3"}]
    assert supply.data["hits"]  # the category's own logged form stays
    none = plugin.search(dna, context, DnaQuery("DE-T-2", ReferenceKind.UNIDENTIFIED_TRACE,
                                                {**DONOR, "D3S1358": ["9", "10"], "VWA": ["11", "12"],
                                                 "D8S1179": ["8", "9"], "D21S11": ["24", "25"]}))
    assert none.hit_count == 0 and "retrievals" not in none.data  # nothing retrieved, nothing to log under EUR-2
    dna.close()


def entry(**fields: object) -> LogEntry:
    base: dict[str, object] = dict(
        kind=EntryKind.AUTOMATED_SUPPLY, message_type=MessageType.REPLY, category="DNA", side=Side.FILE_MANAGING,
        logging_state=EUROPOL, requesting_state="DE", requested_state=EUROPOL, officer_id="DE-NCP-01",
        reason="homicide", outcome=Outcome.HIT, hit_count=1,
        data_supplied=canonical_json({"user": "DE/DE-NCP-01", "retrievals": [
            {"subject": "XP-D-7", "file": "AWF-TC-US", "evaluation": "B3"}]}))
    base.update(fields)
    return LogEntry.new(**base)  # type: ignore[arg-type]


def test_the_edps_finds_a_retrieval_without_its_eur2_fields() -> None:
    assert check_europol_entry(entry()) == []
    assert check_europol_entry(entry(data_supplied=canonical_json({"user": "DE/DE-NCP-01", "retrievals": [
        {"subject": "", "file": "AWF-TC-US"}]}))) == ["a retrieval without its data subject (EUR-2)"]
    assert check_europol_entry(entry(data_supplied=canonical_json({"user": "DE/DE-NCP-01", "retrievals": [
        {"subject": "XP-D-7", "file": ""}]}))) == ["a retrieval without its file (EUR-2)"]
    assert check_europol_entry(entry(officer_id="")) == ["a retrieval without the user reference (EUR-2)"]
    assert check_europol_entry(entry(data_supplied="{}")) == [
        "a retrieval of Europol's data without its logged retrievals (EUR-2)"]
    assert check_europol_entry(entry(logging_state="DE", requested_state="DE", data_supplied="{}")) == []


def test_the_edps_finds_a_europol_search_without_its_task() -> None:
    search = dict(kind=EntryKind.AUTOMATED_SUPPLY, message_type=MessageType.QUERY, side=Side.REQUESTING,
                  requesting_state=EUROPOL, requested_state="NL", officer_id="XP-NCP-01",
                  ordering_officer_id="XP-NCP-02", outcome=Outcome.NONE, hit_count=0, data_supplied="{}")
    assert check_europol_entry(entry(**search, purpose=SearchPurpose.EUROPOL_OPERATIONAL_ANALYSIS)) == []
    (problem,) = check_europol_entry(entry(**search, purpose=SearchPurpose.CRIMINAL_INVESTIGATION))
    assert "Art 18(2)(a) and (c)" in problem and "P2-EUROPOL-1" in problem


def test_the_edps_finds_late_reviews_and_data_kept_too_long() -> None:
    clock = SimulatedClock(START)
    files = AnalysisFiles(None, clock)
    files.open_file("AWF-1")
    files.add_many([("XP-D-1", Category.DNA, Evaluation.parse("A", "1", "AWF-1"))])
    assert file_findings(files, clock.now()) == []
    late = START + timedelta(days=400)
    (problem,) = file_findings(files, late)
    assert "has not been reviewed since 2026-01-15" in problem
    clock.set(late)
    files.review()  # lists it as due: the review is not late any more, the decision is pending
    assert file_findings(files, late) == []
    files.close_file("AWF-1")
    (kept,) = file_findings(files, late + timedelta(days=3 * 366))
    assert "still held 3 years after its file closed" in kept
