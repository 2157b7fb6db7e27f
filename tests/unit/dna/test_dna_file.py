"""The national DNA file: SQLite in WAL mode, persistence, ACC-1 marking, ACC-2 blocking, PUR-2."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from prum.federation.synthetic.dna import derived_profile, random_profile
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import Duplicate, InvalidInput, UnknownReference
from prum.services.common.reference import ReferenceKind
from prum.services.dna import DnaFile, DnaHit, FileStats, normalize_profile

PERSON = ReferenceKind.IDENTIFIED_PERSON
TRACE = ReferenceKind.UNIDENTIFIED_TRACE


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(42)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock()


@pytest.fixture
def dna_file(tmp_path: Path, clock: SimulatedClock):
    with DnaFile(tmp_path / "dna" / "file.db", clock=clock) as file:
        yield file


def test_database_is_in_wal_mode_with_full_sync(dna_file: DnaFile, tmp_path: Path):
    assert dna_file.journal_mode == "wal"
    assert dna_file._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with sqlite3.connect(tmp_path / "dna" / "file.db") as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent in the file


def test_only_reference_data_is_stored(dna_file: DnaFile):
    columns = [row[1] for row in dna_file._db.execute("PRAGMA table_info(profile)")]
    assert columns == ["slot", "reference", "kind", "loci", "contested", "marking_note", "blocked", "block_reason",
                       "created_at"]  # DNA-1: no name, birth date or other personal data


def test_ingest_returns_the_normalised_profile_and_stores_it(dna_file: DnaFile, rng, clock):
    loci = random_profile(rng)
    loci["TH01"] = ["6", "OL"]
    normalised = dna_file.ingest("NL-P-1", PERSON, loci)
    assert normalised == normalize_profile(loci) and normalised["TH01"] == ("6", "*")
    stored = dna_file.get("NL-P-1")
    assert (stored.reference, stored.kind, stored.profile, stored.created_at) == ("NL-P-1", PERSON, normalised,
                                                                                  clock.now())
    assert not stored.contested and not stored.blocked
    assert dna_file.stats() == FileStats(1, 1, 0, 0, 0)


def test_ingest_refuses_duplicates_bad_references_and_profiles(dna_file: DnaFile, rng):
    loci = random_profile(rng)
    dna_file.ingest("NL-P-1", PERSON, loci)
    with pytest.raises(Duplicate, match="already in the DNA file"):
        dna_file.ingest("NL-P-1", TRACE, random_profile(rng))
    for reference in ("", "Jan Jansen", "x" * 65, " NL-1", None):
        with pytest.raises(InvalidInput, match="not a reference number; allowed") as caught:
            dna_file.ingest(reference, PERSON, loci)  # type: ignore[arg-type]
        assert caught.value.field == "reference"
    with pytest.raises(InvalidInput, match="allowed: IDENTIFIED_PERSON"):
        dna_file.ingest("NL-P-2", None, loci)  # type: ignore[arg-type]
    small = dict(list(loci.items())[:5])
    with pytest.raises(InvalidInput, match="has 5 fully designated loci"):
        dna_file.ingest("NL-T-3", TRACE, small)
    no_ess = {k: v for k, v in loci.items() if k not in ("VWA", "TH01")}
    dna_file.ingest("NL-T-4", TRACE, no_ess)  # 14 designated loci: fine for a trace
    with pytest.raises(InvalidInput, match="6 of the 7 original ESS loci"):
        dna_file.ingest("NL-P-4", PERSON, no_ess)
    assert dna_file.stats() == FileStats(2, 1, 1, 0, 0)


def test_persistence_across_reopen_rebuilds_the_index(tmp_path: Path, rng):
    path = tmp_path / "file.db"
    donor = random_profile(rng)
    with DnaFile(path) as file:
        file.ingest_many([(f"NL-P-{i}", PERSON, random_profile(rng)) for i in range(50)])
        file.ingest("NL-P-DONOR", PERSON, donor)
        file.ingest("NL-P-HIDDEN", PERSON, derived_profile(rng, donor, "near"))
        file.mark("NL-P-DONOR", True, "contested by the data subject, case 12")
        file.block("NL-P-HIDDEN", True, "deletion would harm the data subject")
        before = file.stats()
        hits_before = file.search(donor)
    with DnaFile(path) as reopened:
        assert reopened.stats() == before == FileStats(52, 52, 0, 1, 1)
        hits = reopened.search(donor)
        assert hits == hits_before
        assert [(h.reference, h.match.match_class, h.contested, h.marking_note) for h in hits] == [
            ("NL-P-DONOR", "full", True, "contested by the data subject, case 12")]
        reopened.block("NL-P-HIDDEN", False, "")
        assert [h.reference for h in reopened.search(donor)] == ["NL-P-DONOR", "NL-P-HIDDEN"]


def test_ingest_many_loads_good_rows_and_reports_bad_ones(dna_file: DnaFile, rng):
    dna_file.ingest("NL-P-OLD", PERSON, random_profile(rng))
    good = [random_profile(rng) for _ in range(4)]
    rows = [
        ("NL-P-1", PERSON, good[0]),
        ("NL-P-2", None, good[1]),                              # kind unspecified
        ("NL-T-3", "UNIDENTIFIED_TRACE", good[2]),
        ("NL-P-1", PERSON, good[3]),                            # twice in the batch
        ("NL-P-OLD", PERSON, good[3]),                          # already in the file
        ("NL-P-5", PERSON, {"VWA": ["17", "18"], "XYZ": ["1"]}),  # unknown locus
        ("NL-P-6", PERSON, {"VWA": ["17", "18"]}),              # DNA-4
        ("NL-P-7",),                                            # malformed row
        ("NL-P-8", PERSON, good[3]),
    ]
    report = dna_file.ingest_many(rows)
    assert report.accepted == 3
    assert [(position, reference) for position, reference, _ in report.rejections] == [
        (2, "NL-P-2"), (4, "NL-P-1"), (5, "NL-P-OLD"), (6, "NL-P-5"), (7, "NL-P-6"), (8, "NL-P-7")]
    reasons = {p: r for p, _, r in report.rejections}
    assert "allowed: IDENTIFIED_PERSON" in reasons[2]
    assert "twice in this batch (first at position 1)" in reasons[4]
    assert "already in the DNA file" in reasons[5]
    assert "XYZ" in reasons[6] and "DNA-4" in reasons[7] and "(reference, kind, loci)" in reasons[8]
    assert dna_file.stats() == FileStats(4, 3, 1, 0, 0)
    assert dna_file.get("NL-T-3").kind is TRACE
    assert dna_file.ingest_many([]).accepted == 0


def test_delete(dna_file: DnaFile, rng):
    loci = random_profile(rng)
    dna_file.ingest("NL-P-1", PERSON, loci)
    assert dna_file.delete("NL-P-1") is True
    assert dna_file.delete("NL-P-1") is False
    assert dna_file.search(loci) == []
    with pytest.raises(UnknownReference):
        dna_file.get("NL-P-1")
    assert dna_file.stats().profiles == 0 and len(dna_file) == 0
    dna_file.ingest("NL-P-1", PERSON, loci)  # the reference is free again
    assert [h.reference for h in dna_file.search(loci)] == ["NL-P-1"]


def test_marking_travels_with_the_hit_and_is_lifted_only_with_a_ground(dna_file: DnaFile, rng):
    loci = random_profile(rng)
    dna_file.ingest("NL-P-1", PERSON, loci)
    with pytest.raises(UnknownReference):
        dna_file.mark("NL-P-404", True, "x")
    dna_file.mark("NL-P-1", True, "data subject contests the profile")
    [hit] = dna_file.search(loci)
    assert hit.contested and hit.marking_note == "data subject contests the profile"
    assert dna_file.stats().contested == 1
    with pytest.raises(InvalidInput, match="ACC-1"):
        dna_file.mark("NL-P-1", False, " ")
    assert dna_file.search(loci)[0].contested
    dna_file.mark("NL-P-1", False, "court decision 2026/17")
    [hit] = dna_file.search(loci)
    assert not hit.contested and hit.marking_note == "court decision 2026/17"
    assert dna_file.stats().contested == 0


def test_blocked_profiles_are_kept_but_never_returned(dna_file: DnaFile, rng):
    donor = random_profile(rng)
    dna_file.ingest("NL-P-1", PERSON, donor)
    dna_file.ingest("NL-P-2", PERSON, derived_profile(rng, donor, "near"))
    with pytest.raises(UnknownReference):
        dna_file.block("NL-P-404", True, "x")
    with pytest.raises(InvalidInput, match="ACC-2"):
        dna_file.block("NL-P-1", True, "")
    dna_file.block("NL-P-1", True, "deletion would harm the data subject")
    assert [h.reference for h in dna_file.search(donor)] == ["NL-P-2"]
    assert [(q, [h.reference for h in hits]) for q, hits in dna_file.compare_many([("Q", donor)])] == [
        ("Q", ["NL-P-2"])]
    assert dna_file.stats() == FileStats(2, 2, 0, 1, 0)
    with pytest.raises(UnknownReference):
        dna_file.get("NL-P-1")  # never supplied in a follow-up either
    kept = dna_file.get("NL-P-1", include_blocked=True)
    assert kept.blocked and kept.block_reason == "deletion would harm the data subject"
    dna_file.block("NL-P-1", False, "")
    assert [h.reference for h in dna_file.search(donor)] == ["NL-P-1", "NL-P-2"]


def test_search_checks_the_query_and_sorts_hits_best_first(dna_file: DnaFile, rng):
    donor = random_profile(rng)
    for change in ("near", "microvariant", "wildcard", "duplicate"):
        dna_file.ingest(f"NL-{change}", PERSON, derived_profile(rng, donor, change))
    dna_file.ingest("NL-T-trace", TRACE, derived_profile(rng, donor, "trace"))
    for i in range(30):
        dna_file.ingest(f"NL-P-{i}", PERSON, random_profile(rng))
    hits = dna_file.search(donor, query_kind=TRACE)
    assert all(isinstance(hit, DnaHit) for hit in hits)
    classes = [(hit.reference, hit.match.match_class) for hit in hits]
    assert classes[:2] in ([("NL-duplicate", "full"), ("NL-T-trace", "full")],
                           [("NL-T-trace", "full"), ("NL-duplicate", "full")])
    assert classes[2:] == [("NL-wildcard", "wildcard"), ("NL-microvariant", "microvariant"), ("NL-near", "near")]
    assert {hit.reference: hit.kind for hit in hits}["NL-T-trace"] is TRACE  # DNA-2
    assert hits[0].profile == dna_file.get(hits[0].reference).profile
    with pytest.raises(InvalidInput, match="at least 6 are needed"):
        dna_file.search(dict(list(donor.items())[:4]))
    no_ess = {k: v for k, v in donor.items() if k not in ("VWA", "TH01")}
    assert dna_file.search(no_ess, query_kind=TRACE)
    with pytest.raises(InvalidInput, match="original ESS loci"):
        dna_file.search(no_ess, query_kind=PERSON)


def test_hit_profiles_are_copies(dna_file: DnaFile, rng):
    loci = random_profile(rng)
    dna_file.ingest("NL-P-1", PERSON, loci)
    hit = dna_file.search(loci)[0]
    hit.profile["VWA"] = ("1", "1")
    assert dna_file.search(loci)[0].profile["VWA"] == normalize_profile(loci)["VWA"]


def test_compare_many_streams_one_answer_per_query(dna_file: DnaFile, rng):
    donors = [random_profile(rng) for _ in range(3)]
    for number, donor in enumerate(donors):
        dna_file.ingest(f"NL-P-{number}", PERSON, donor)
    consumed: list[str] = []

    def queries():
        for number, donor in enumerate(donors):
            consumed.append(f"Q{number}")
            yield (f"Q{number}", derived_profile(rng, donor, "trace"))
        consumed.append("Q-nobody")
        yield ("Q-nobody", TRACE, random_profile(rng))

    answers = dna_file.compare_many(queries())
    assert next(answers)[0] == "Q0" and consumed == ["Q0"]  # streaming: nothing read ahead
    rest = list(answers)
    assert [(q, [h.reference for h in hits]) for q, hits in rest] == [
        ("Q1", ["NL-P-1"]), ("Q2", ["NL-P-2"]), ("Q-nobody", [])]


def test_compare_many_names_the_bad_query(dna_file: DnaFile, rng):
    answers = dna_file.compare_many([("Q1", random_profile(rng)), ("Q2", {"VWA": ["17", "18"]})])
    assert next(answers) == ("Q1", [])
    with pytest.raises(InvalidInput, match=r"profile #2 \('Q2'\).*at least 6") as caught:
        next(answers)
    assert caught.value.field == "loci"


def _fingerprint(path: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (path, path.with_name(path.name + "-wal")) if p.exists()}


def test_a_query_leaves_no_trace(tmp_path: Path, rng):
    """PUR-2: after a search or a comparison nothing of the query is in any table, file or index."""
    path = tmp_path / "file.db"
    donor = random_profile(rng)
    with DnaFile(path) as file:
        file.ingest_many([(f"NL-P-{i}", PERSON, random_profile(rng)) for i in range(20)])
        file.ingest("NL-P-DONOR", PERSON, donor)
        changes, rows, size = file._db.total_changes, file.stats().profiles, len(file)
        before = _fingerprint(path)
        unique = "PUR2-QUERY-REFERENCE-7f3a9c"
        assert file.search(derived_profile(rng, donor, "near"))
        results = list(file.compare_many([(unique, derived_profile(rng, donor, "trace"))]))
        assert results[0][0] == unique and results[0][1]
        assert file._db.total_changes == changes
        assert file.stats().profiles == rows and len(file) == size == len(file._index)
        assert _fingerprint(path) == before
        data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
        assert unique.encode() not in data
        assert b"NL-P-DONOR" in data  # the grep does see what is stored


def test_memory_database_works(rng):
    with DnaFile(":memory:") as file:
        loci = random_profile(rng)
        file.ingest("NL-P-1", PERSON, loci)
        assert [h.reference for h in file.search(loci)] == ["NL-P-1"]
        assert file.journal_mode == "memory"


def test_concurrent_ingest_and_search(tmp_path: Path):
    rng = np.random.default_rng(9)
    profiles = [random_profile(rng) for _ in range(120)]
    with DnaFile(tmp_path / "file.db") as file:
        def ingest(number: int) -> None:
            file.ingest(f"NL-P-{number}", PERSON, profiles[number])

        def search(number: int) -> list[str]:
            return [h.reference for h in file.search(profiles[number])]

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(ingest, range(60)))
            late = [pool.submit(ingest, n) for n in range(60, 120)]  # writers and readers at once
            found = list(pool.map(search, range(60)))
            assert [future.result() for future in late] == [None] * 60
        assert found == [[f"NL-P-{n}"] for n in range(60)]
        assert file.stats().profiles == 120 == len(file)
    with DnaFile(tmp_path / "file.db") as reopened:
        assert reopened.stats().profiles == 120
        assert [h.reference for h in reopened.search(profiles[119])] == ["NL-P-119"]


def test_created_at_comes_from_the_clock(dna_file: DnaFile, clock: SimulatedClock, rng):
    dna_file.ingest("NL-P-1", PERSON, random_profile(rng))
    clock.advance(timedelta(days=3))
    dna_file.ingest("NL-P-2", PERSON, random_profile(rng))
    assert dna_file.get("NL-P-2").created_at - dna_file.get("NL-P-1").created_at == timedelta(days=3)


def test_snapshot_is_used_only_at_the_databases_generation(tmp_path: Path, rng):
    path = tmp_path / "file.db"
    profiles = [random_profile(rng) for _ in range(40)]
    with DnaFile(path, snapshot=True) as file:
        file.ingest_many([(f"NL-P-{i}", PERSON, p) for i, p in enumerate(profiles)])
        file.mark("NL-P-3", True, "contested")
        file.block("NL-P-4", True, "deletion would harm")
        file.delete("NL-P-5")
        expected = [[(h.reference, h.match, h.contested, h.marking_note) for h in file.search(p)] for p in profiles]
        stats = file.stats()
    assert (tmp_path / "file.db.index.npz").exists()
    with DnaFile(path) as reopened:
        assert reopened.loaded_from == "snapshot" and reopened.stats() == stats
        assert [[(h.reference, h.match, h.contested, h.marking_note) for h in reopened.search(p)]
                for p in profiles] == expected
    with sqlite3.connect(path) as other:  # a change behind the file's back: the snapshot is stale
        other.execute("UPDATE profile SET blocked = 1, block_reason = 'x' WHERE reference = 'NL-P-6'")
    with DnaFile(path, snapshot=False) as reopened:
        assert reopened.loaded_from == "database"
        assert "NL-P-6" not in [h.reference for h in reopened.search(profiles[6])]


def test_a_version_1_file_is_migrated_with_fixed_slots(tmp_path: Path, rng):
    path = tmp_path / "old.db"
    loci = normalize_profile(random_profile(rng))
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE profile (reference TEXT PRIMARY KEY, kind TEXT NOT NULL, loci TEXT NOT NULL, "
                    "contested INTEGER NOT NULL DEFAULT 0, marking_note TEXT NOT NULL DEFAULT '', blocked INTEGER "
                    "NOT NULL DEFAULT 0, block_reason TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL)")
        old.execute("INSERT INTO profile (reference, kind, loci, created_at) VALUES (?, ?, ?, ?)",
                    ("NL-P-1", "IDENTIFIED_PERSON", json.dumps({k: list(v) for k, v in loci.items()}),
                     "2026-01-01T00:00:00+00:00"))
        old.execute("PRAGMA user_version=1")
    with DnaFile(path) as file:
        assert [h.reference for h in file.search(loci)] == ["NL-P-1"]
        assert file._db.execute("SELECT slot FROM profile").fetchall() == [(1,)]
        file.ingest("NL-P-2", PERSON, random_profile(rng))
        assert file.stats().profiles == 2


def test_searches_do_not_wait_for_one_another(dna_file: DnaFile, rng):
    """Two readers hold the file's reader lock at once; a writer waits for both."""
    dna_file.ingest("NL-P-1", PERSON, random_profile(rng))
    inside = threading.Barrier(2, timeout=5)
    order: list[str] = []

    def reader() -> None:
        with dna_file._rw.read():
            inside.wait()  # both readers must be inside together, or this times out
            order.append("read")

    def writer() -> None:
        with dna_file._rw.write():
            order.append("write")

    with ThreadPoolExecutor(max_workers=3) as pool:
        readers = [pool.submit(reader) for _ in range(2)]
        [future.result() for future in readers]
        pool.submit(writer).result()
    assert order == ["read", "read", "write"]


def test_compare_batch_equals_compare_many(dna_file: DnaFile, rng):
    donors = [random_profile(rng) for _ in range(12)]
    dna_file.ingest_many([(f"NL-P-{i}", PERSON, d) for i, d in enumerate(donors)])
    queries = [(f"Q{i}", derived_profile(rng, donors[i % 12], "trace" if i % 2 else "near")) for i in range(30)]
    queries.append(("Q-nobody", random_profile(rng)))
    batched = [(q, [(h.reference, h.match) for h in hits]) for q, hits in dna_file.compare_batch(queries, chunk=7)]
    threaded = [(q, [(h.reference, h.match) for h in hits])
                for q, hits in dna_file.compare_batch(queries, chunk=9, workers=2)]
    assert threaded == batched
    streamed = [(q, [(h.reference, h.match) for h in hits]) for q, hits in dna_file.compare_many(queries)]
    assert batched == streamed and len(batched) == 31 and batched[-1] == ("Q-nobody", [])
    with pytest.raises(InvalidInput, match=r"profile #2 \('bad'\)"):
        list(dna_file.compare_batch([("ok", donors[0]), ("bad", {"VWA": ["1"]})]))


def test_matches_on_unidentified_profiles_are_noted_when_the_state_does_so(tmp_path: Path, rng, clock):
    """P2-DNA-5: a match of another state's search on an unidentified profile is noted, once per search, and
    survives a restart; an identified person's is not; a state that does not note matches notes none."""
    loci = random_profile(rng)
    with DnaFile(tmp_path / "dna.db", clock, mark_matched_traces=True) as noting:
        noting.ingest("NL-T-1", ReferenceKind.UNIDENTIFIED_TRACE, loci)
        noting.ingest("NL-P-1", ReferenceKind.IDENTIFIED_PERSON, loci)
        hits = noting.search(loci)
        assert {h.reference for h in hits} == {"NL-T-1", "NL-P-1"}
        assert noting.note_matches(hits, "DE", "req-1") == 1
        noting.note_matches(hits, "DE", "req-1")  # the same search again: one note
        clock.advance(timedelta(minutes=5))
        noting.note_matches(hits, "FR", "req-2")
    with DnaFile(tmp_path / "dna.db", clock, mark_matched_traces=True) as reopened:
        assert [(m.reference, m.requesting_state, m.request_id) for m in reopened.match_marks()] == [
            ("NL-T-1", "DE", "req-1"), ("NL-T-1", "FR", "req-2")]
        assert reopened.match_marks("NL-P-1") == []
    with DnaFile(tmp_path / "quiet.db", clock) as quiet:
        quiet.ingest("NL-T-1", ReferenceKind.UNIDENTIFIED_TRACE, loci)
        assert quiet.note_matches(quiet.search(loci), "DE", "req-1") == 0 and quiet.match_marks() == []
