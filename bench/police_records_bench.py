"""EPRIS police-record index: recall per planted variation, false-match rate, build time, search latency, memory.

    python bench/police_records_bench.py --records 100000 --records 1000000 --queries 300

For each size N: one state's synthetic national records (`federation/synthetic/police_records.py`, the
`--country` locale), indexed under a fresh key (`PoliceRecordIndex.ingest_many`, then a timed `refresh`: the
daily rebuild under a new key, P2-EPRIS-5). Then `--queries` records drawn at random, each queried once per
planted variation (transliteration, compound surname swapped, names swapped, typo, year only, day and month
swapped, and the exact data): recall is the share whose record is among the matches. The false-match rate is
the share of queries for people on no record (names of another locale, `unrelated_query`) that return any
match. Latency: each query timed in this process, without gRPC. Memory: the process's peak RSS growth over
the build (resource.getrusage), with the national records held beside the index. Namesakes: a first name and
a surname of two different records of the same locale with a random date of birth; such a person is on no
record (bar chance), so a match is a false one unless a record happens to share name and date. Other records:
matches returned beside the planted record (people of similar name born the same year).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import time
from typing import Any

from prum.federation.synthetic.police_records import Variation, planted_query, police_records, unrelated_query
from prum.services.police_records.index import PoliceRecordIndex


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(records: int, queries: int, country: str, seed: int) -> dict[str, Any]:
    before = _rss_mib()
    started = time.perf_counter()
    population = list(police_records(country, records, seed))
    generated_s = time.perf_counter() - started
    index = PoliceRecordIndex()
    started = time.perf_counter()
    index.ingest_many(population)
    ingest_s = time.perf_counter() - started
    started = time.perf_counter()
    stats = index.refresh()
    refresh_s = time.perf_counter() - started
    rng = random.Random(seed)
    sample = rng.sample(population, queries)
    recall: dict[str, float] = {}
    latencies: list[float] = []
    matches_returned: list[int] = []
    others = 0  # matches of another record returned with the planted one's
    for variation in Variation:
        found = 0
        for record in sample:
            query = planted_query(record, variation, rng)
            t = time.perf_counter()
            matches = index.search(query)
            latencies.append((time.perf_counter() - t) * 1000)
            matches_returned.append(len(matches))
            found += record.reference in {m.reference for m in matches}
            others += sum(m.reference != record.reference for m in matches)
        recall[variation.value] = round(found / queries, 4)
    false = 0
    for _ in range(queries):
        t = time.perf_counter()
        false += bool(index.search(unrelated_query(rng)))
        latencies.append((time.perf_counter() - t) * 1000)
    # Namesakes: the same locale's names (first name and surname of two different records), born on a random day.
    namesakes = 0
    for _ in range(queries):
        a, b = rng.sample(population, 2)
        query = unrelated_query(rng)
        query = type(query)(a.first_names, b.surnames, query.date_of_birth)
        namesakes += any(m.quality >= index.min_quality for m in index.search(query))
    return {"records": records, "country": country, "queries_per_variation": queries,
            "generate_s": round(generated_s, 1), "ingest_s": round(ingest_s, 1), "refresh_s": round(refresh_s, 1),
            "blocking_keys": stats.blocking_keys, "rss_growth_mib": round(_rss_mib() - before),
            "recall": recall, "recall_all_variations": round(statistics.mean(recall.values()), 4),
            "false_match_rate": round(false / queries, 4),
            "namesake_match_rate": round(namesakes / queries, 4),
            "other_records_per_planted_query": round(others / (queries * len(Variation)), 3),
            "matches_per_query_mean": round(statistics.mean(matches_returned), 2),
            "latency_ms": {"p50": round(_pct(latencies, 0.5), 2), "p95": round(_pct(latencies, 0.95), 2),
                           "p99": round(_pct(latencies, 0.99), 2)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, action="append", help="index size (repeatable)")
    parser.add_argument("--queries", type=int, default=300, help="queries per variation, and unrelated ones")
    parser.add_argument("--country", default="DE")
    parser.add_argument("--seed", type=int, default=2008)
    args = parser.parse_args()
    for size in args.records or [100_000]:
        print(json.dumps(run(size, args.queries, args.country, args.seed)), flush=True)


if __name__ == "__main__":
    main()
