"""Europol's analysis work files (EUR-1, EUR-3) without gRPC: evaluation codes, the yearly review and the deletion
3 years after a file closes, on a simulated clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prum.services.common.category import Category
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import InvalidInput, UnknownReference
from prum.services.europol.analysis_files import AnalysisFiles, years_after
from prum.services.europol.evaluation import Evaluation, InformationReliability, SourceReliability

START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def erased() -> list[tuple[Category, str]]:
    return []


@pytest.fixture
def files(tmp_path: Path, clock: SimulatedClock, erased: list[tuple[Category, str]]) -> AnalysisFiles:
    store = AnalysisFiles(tmp_path / "analysis-files.db", clock,
                          lambda category, reference: erased.append((category, reference)))
    store.open_file("AWF-1")
    store.open_file("AWF-2")
    store.add_many([("XP-D-1", Category.DNA, Evaluation.parse("A", "1", "AWF-1")),
                    ("XP-F-1", Category.FINGERPRINT, Evaluation.parse("C", "3", "AWF-1")),
                    ("XP-D-2", Category.DNA, Evaluation.parse("D", "4", "AWF-2"))])
    return store


def test_evaluation_codes_are_a_to_d_and_1_to_4() -> None:
    evaluation = Evaluation.parse("B", "2", "AWF-1")
    assert (evaluation.source, evaluation.information, evaluation.code) == (
        SourceReliability.B, InformationReliability.R2, "B2")
    for source, information, file, field in (("E", "1", "AWF-1", "source"), ("A", "5", "AWF-1", "information"),
                                             ("A", "0", "AWF-1", "information"), ("A", "1", "", "file"),
                                             ("A", "1", "AWF 1", "file"), ("A", "1", "x" * 65, "file")):
        with pytest.raises(InvalidInput) as refused:
            Evaluation.parse(source, information, file)
        assert refused.value.field == field


def test_each_item_carries_its_codes_and_file(files: AnalysisFiles) -> None:
    assert files.evaluation("XP-F-1") == Evaluation(SourceReliability.C, InformationReliability.R3, "AWF-1")
    assert files.evaluation("NL-P-1") is None
    assert files.file_ids() == ["AWF-1", "AWF-2"]


def test_an_item_goes_only_into_an_open_file(files: AnalysisFiles) -> None:
    files.close_file("AWF-2")
    with pytest.raises(InvalidInput, match="not an open analysis work file"):
        files.add_many([("XP-D-3", Category.DNA, Evaluation.parse("A", "1", "AWF-2"))])
    with pytest.raises(UnknownReference):
        files.close_file("AWF-9")


def test_items_are_due_for_review_a_year_after_their_last_review(files: AnalysisFiles, clock: SimulatedClock) -> None:
    clock.advance(timedelta(days=364))
    assert files.review().due == ()
    clock.set(years_after(START, 1))
    review = files.review()
    assert sorted(review.due) == ["XP-D-1", "XP-D-2", "XP-F-1"] and review.deleted == ()
    files.decide("XP-D-1", keep=True)  # still needed: its year starts again
    files.decide("XP-D-2", keep=False)  # not needed: deleted at once
    assert sorted(files.review().due) == ["XP-F-1"]
    assert files.item("XP-D-2") is None
    kinds = [(r.kind, r.kept, r.deleted) for r in files.reviews()]
    assert kinds[2:4] == [("DECISION", ("XP-D-1",), ()), ("DECISION", (), ("XP-D-2",))]


def test_items_are_deleted_three_years_after_their_file_closed(files: AnalysisFiles, clock: SimulatedClock,
                                                                erased: list[tuple[Category, str]]) -> None:
    clock.advance(timedelta(days=30))
    deleted_by = files.close_file("AWF-1")
    assert deleted_by == years_after(clock.now(), 3)
    clock.set(deleted_by - timedelta(seconds=1))
    assert files.review().deleted == ()
    clock.set(deleted_by)
    review = files.review()
    assert sorted(review.deleted) == ["XP-D-1", "XP-F-1"]
    assert sorted(erased) == [(Category.DNA, "XP-D-1"), (Category.FINGERPRINT, "XP-F-1")]
    assert [i.reference for i in files.items()] == ["XP-D-2"]  # its file is still open
    assert files.reviews()[-1].deleted == review.deleted  # kept for the EDPS


def test_the_register_is_back_after_a_restart(tmp_path: Path, files: AnalysisFiles, clock: SimulatedClock) -> None:
    files.review()
    files.close()
    reopened = AnalysisFiles(tmp_path / "analysis-files.db", clock)
    assert reopened.evaluation("XP-D-1") == Evaluation.parse("A", "1", "AWF-1") and len(reopened.reviews()) == 1


def test_a_29_february_plus_a_year_is_28_february() -> None:
    assert years_after(datetime(2028, 2, 29, tzinfo=UTC), 1) == datetime(2029, 2, 28, tzinfo=UTC)
