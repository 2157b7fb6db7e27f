"""The police-record index's core (P2-EPRIS-1, -3, -5): every planted variation found, an unrelated person not,
only keyed values in the index, rotation of its key, the refresh at least every 24 hours."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from prum.federation.synthetic.police_records import Variation, planted_query, police_records, unrelated_query
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import InvalidInput, UnknownReference
from prum.services.police_records.index import (
    BiographicQuery,
    PoliceRecord,
    PoliceRecordIndex,
    blocking_values,
    fold,
    parse_date,
    score,
)

MUELLER = PoliceRecord("DE-PR-1", "Jörg", "Müller", "1970-06-15", gender="M")
GARCIA = PoliceRecord("ES-PR-1", "María José", "García López", "1988-04-09", ("Pepa García",), "ES", "Sevilla", "ES",
                      "F")
WISNIEWSKI = PoliceRecord("PL-PR-1", "Łukasz", "Wiśniewski", "1984-03-07", gender="M")
ELENI = PoliceRecord("EL-PR-1", "Ελένη", "Παπαδοπούλου", "1979-11-02", gender="F")


@pytest.fixture()
def clock() -> SimulatedClock:
    return SimulatedClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))


@pytest.fixture()
def index(clock: SimulatedClock) -> PoliceRecordIndex:
    index = PoliceRecordIndex(clock)
    report = index.ingest_many([MUELLER, GARCIA, WISNIEWSKI, ELENI, *police_records("DE", 2000, 3)])
    assert (report.accepted, report.rejections) == (2004, [])
    return index


def found(index: PoliceRecordIndex, first: str, surnames: str, born: str) -> list[str]:
    return [m.reference for m in index.search(BiographicQuery(first, surnames, born))]


@pytest.mark.parametrize("first, surnames, born, reference", [
    ("Jorg", "Mueller", "1970-06-15", "DE-PR-1"),         # German transliteration
    ("Joerg", "Muller", "1970-06-15", "DE-PR-1"),         # diacritics dropped
    ("Lukasz", "Wisniewski", "1984-03-07", "PL-PR-1"),    # Polish letters
    ("Eleni", "Papadopoulou", "1979-11-02", "EL-PR-1"),   # Greek script from Latin letters
    ("María José", "López García", "1988-04-09", "ES-PR-1"),  # compound surname swapped
    ("Garcia Lopez", "Maria Jose", "1988-04-09", "ES-PR-1"),  # first names and surnames swapped
    ("Pepa", "Garcia", "1988-04-09", "ES-PR-1"),            # an alias
    ("Lukasz", "Wisnieswki", "1984-03-07", "PL-PR-1"),    # a typo
    ("Jörg", "Müller", "1970", "DE-PR-1"),                # the year only
    ("Jörg", "Müller", "1970-06", "DE-PR-1"),             # year and month
    ("Lukasz", "Wisniewski", "1984-07-03", "PL-PR-1"),    # day and month swapped
])
def test_each_variation_kind_is_found(index: PoliceRecordIndex, first: str, surnames: str, born: str,
                                      reference: str) -> None:
    assert reference in found(index, first, surnames, born)


def test_an_exact_query_scores_100_and_a_variation_less() -> None:
    assert score(BiographicQuery("Jörg", "Müller", "1970-06-15"), MUELLER) == 100
    assert 80 <= score(BiographicQuery("Jorg", "Mueller", "1970"), MUELLER) < 100


def test_an_unrelated_person_or_another_year_is_not_matched(index: PoliceRecordIndex) -> None:
    assert found(index, "Siobhan", "O'Connell", "1970-06-15") == []
    assert found(index, "Jörg", "Müller", "1952-06-15") == []  # same name, born 18 years earlier
    rng = random.Random(5)
    assert sum(bool(index.search(unrelated_query(rng))) for _ in range(100)) <= 1


def test_the_planted_variations_of_the_synthetic_population_are_found() -> None:
    index = PoliceRecordIndex()
    records = list(police_records("PL", 3000, 11))
    index.ingest_many(records)
    rng = random.Random(2)
    for variation in Variation:
        sample = rng.sample(records, 40)
        hits = sum(r.reference in [m.reference for m in index.search(planted_query(r, variation, rng))]
                   for r in sample)
        assert hits >= 38, variation


def test_the_index_holds_no_clear_text_name_or_date(index: PoliceRecordIndex) -> None:
    values = index.index_values()
    assert values and all(isinstance(value, bytes) and len(value) == 16 for value, _ in values)
    clear = {part.encode() for part in ("muller", "mueller", "MALAR", "MLR", "1970", "joerg", "jorg")}
    assert not any(c in value for value, _ in values for c in clear)
    assert all(isinstance(position, int) for _, positions in values for position in positions)


def test_rotation_changes_every_keyed_value_and_old_ones_find_nothing(index: PoliceRecordIndex) -> None:
    query = BiographicQuery("Jorg", "Mueller", "1970-06-15")
    before, generation = index.keyed_query(query), index.stats().key_generation
    assert index.lookup(before)
    old_values = {value for value, _ in index.index_values()}
    stats = index.refresh()
    after = index.keyed_query(query)
    assert stats.key_generation == generation + 1
    assert not before & after and not old_values & {value for value, _ in index.index_values()}
    assert not index.lookup(before)  # the old key is gone: a value keyed under it no longer matches
    assert "DE-PR-1" in found(index, "Jorg", "Mueller", "1970-06-15")  # the new key's query does


def test_the_index_is_refreshed_when_a_day_old(index: PoliceRecordIndex, clock: SimulatedClock) -> None:
    generation = index.stats().key_generation
    clock.advance(timedelta(hours=23))
    found(index, "Jorg", "Mueller", "1970")
    assert index.stats().key_generation == generation
    clock.advance(timedelta(hours=1))
    assert "DE-PR-1" in found(index, "Jorg", "Mueller", "1970")
    assert index.stats().key_generation == generation + 1
    assert index.stats().refreshed_at == clock.now()


def test_a_record_added_after_a_refresh_is_found_under_the_current_key(index: PoliceRecordIndex) -> None:
    index.refresh()
    index.ingest(PoliceRecord("DE-PR-2", "Ömer", "Yılmaz", "1991-12-30"))
    assert found(index, "Omer", "Yilmaz", "1991") == ["DE-PR-2"]


def test_folding_and_blocking() -> None:
    assert fold("Müller-Lüdenscheidt") == "muller ludenscheidt"
    assert fold("Ελένη") == "elene"  # unidecode's η; the phonetic codes are Eleni's
    assert blocking_values(["Ελένη"], 1979) == blocking_values(["Eleni"], 1979)
    assert blocking_values(["Mueller"], 1970) == blocking_values(["Müller"], 1970)
    assert blocking_values(["J. Müller"], 1970) == blocking_values(["Müller"], 1970)  # an initial blocks nothing


@pytest.mark.parametrize("text, expected", [("1970", (1970, None, None)), ("1970-06", (1970, 6, None)),
                                            ("1970-06-15", (1970, 6, 15))])
def test_partial_dates(text: str, expected: tuple[int, int | None, int | None]) -> None:
    date = parse_date(text, "date_of_birth")
    assert (date.year, date.month, date.day) == expected


@pytest.mark.parametrize("query, field", [
    (BiographicQuery("", "Müller", "1970"), "person.first_names"),
    (BiographicQuery("Jörg", "1234", "1970"), "person.surnames"),
    (BiographicQuery("Jörg", "Müller", "15.06.1970"), "person.date_of_birth"),
    (BiographicQuery("Jörg", "Müller", "1970-13"), "person.date_of_birth"),
    (BiographicQuery("Jörg", "Müller", "1970", gender="Q"), "person.gender"),
])
def test_a_query_without_names_or_a_date_is_refused(index: PoliceRecordIndex, query: BiographicQuery,
                                                    field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        index.search(query)
    assert refused.value.field == field


def test_a_record_needs_a_whole_date_and_a_reference_is_looked_up_only_by_the_holder(
        index: PoliceRecordIndex) -> None:
    report = index.ingest_many([PoliceRecord("X-1", "Anna", "Nowak", "1990")])
    assert report.accepted == 0 and "YYYY-MM-DD" in report.rejections[0][2]
    assert index.record("DE-PR-1") == MUELLER
    with pytest.raises(UnknownReference):
        index.record("DE-PR-404")


def test_fields_left_out_by_the_federation_file_are_not_searched(clock: SimulatedClock) -> None:
    """P2-EPRIS-1 (U): without `aliases` an alias finds nothing; without `gender` a different gender costs
    nothing; names and a date are always needed."""
    narrow = PoliceRecordIndex(clock, fields=("first_names", "surnames", "date_of_birth"))
    narrow.ingest(GARCIA)
    assert narrow.search(BiographicQuery("Pepa", "Garcia", "1988-04-09")) == []
    full = score(BiographicQuery("María José", "García López", "1988-04-09", gender="M"), GARCIA)
    assert full == 95 and score(BiographicQuery("María José", "García López", "1988-04-09", gender="M"), GARCIA,
                                narrow.fields) == 100
    with pytest.raises(InvalidInput, match="every search needs"):
        PoliceRecordIndex(clock, fields=("surnames", "date_of_birth"))
    with pytest.raises(InvalidInput, match="24 hours"):
        PoliceRecordIndex(clock, refresh_interval=timedelta(hours=25))


def test_a_shorter_refresh_interval_rotates_sooner(clock: SimulatedClock) -> None:
    index = PoliceRecordIndex(clock, refresh_interval=timedelta(hours=6))
    index.ingest(MUELLER)
    clock.advance(timedelta(hours=6))
    assert index.refresh_if_due() and index.stats().key_generation == 2


def test_searches_that_find_the_index_due_together_rebuild_it_once(index: PoliceRecordIndex,
                                                                   clock: SimulatedClock) -> None:
    from concurrent.futures import ThreadPoolExecutor

    generation = index.stats().key_generation
    clock.advance(timedelta(hours=24))
    with ThreadPoolExecutor(8) as pool:
        found_all = list(pool.map(lambda _: found(index, "Jorg", "Mueller", "1970"), range(16)))
    assert all("DE-PR-1" in f for f in found_all)
    assert index.stats().key_generation == generation + 1
