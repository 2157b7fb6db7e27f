#!/usr/bin/env python3
"""DNA index benchmark (issue 4): the exact block-key index of `prum.services.dna.block_index` on
synthetic national files (`prum.federation.synthetic.dna.synthetic_file`: 80 % persons with the 16 loci
of the common European kits, 20 % traces with drop-out, 2 % with a wildcard, 1 % duplicates).

For each file size: build time (encoding + keys + directory), memory per profile (encoded rows + key
entries + designated-set ids; and the resident-memory growth of the build), Art 3 search latency
(p50, p99) over a mix of hits, near matches and no-hits (`DEFAULT_QUERY_MIX`), and the same queries
through a plain numpy full scan of the same encoded rows in the same run (fewer queries for big files:
--scan-queries), with the speed-up and a check that both give the same results. Then Art 4 (bulk
comparison of unidentified profiles against the largest file) and start-up of a SQLite DNA file
(ingest, snapshot, open from the snapshot, open rebuilding from the database).

    python bench/dna_bench.py                  # 10k, 100k, 1M; 10k queries; Art 4 100k vs 1M; start-up 1M
    python bench/dna_bench.py --profiles 10000 --queries 2000 --art4 0 --startup 0 --out /tmp/dna.json

Prints the tables, then the JSON (also written to --out). Same engine as `prum dna bench`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console

from prum.federation.cli.dna import print_benchmark, run_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, action="append", help="file size (repeat; default 10k, 100k, 1M)")
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scan-queries", type=int, default=None)
    parser.add_argument("--art4", type=int, default=100_000)
    parser.add_argument("--startup", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    console = Console(stderr=True)

    def progress(step: str, done: int, total: int) -> None:
        if done == 0 or done == total:
            console.print(f"{step}: {done:,}/{total:,}")

    result = run_benchmark(args.profiles or [10_000, 100_000, 1_000_000], args.queries, args.seed,
                           scan_queries=args.scan_queries, art4=args.art4, startup=args.startup,
                           workdir=args.workdir, progress=progress)
    print_benchmark(result, Console())
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
