#!/usr/bin/env python3
"""Durable appends per second to the protocol log (LOG-4), with and without group commit.

Baseline: one caller appending one entry at a time, so one transaction and one fsync per entry.
Group commit: T caller threads appending one entry each at a time, as concurrent gRPC handlers do;
their entries share transactions and fsyncs. Every append returns only once its entry is durable.
Ends with `verify()` over the whole log to show the chain is intact.

    python bench/log_bench.py --entries 20000 --threads 1 8 32 64
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

from prum.services.logger import Category, EntryKind, LogEntry, MessageType, ProtocolLog, Side


def entry(i: int) -> LogEntry:
    return LogEntry.new(kind=EntryKind.AUTOMATED_RECEIPT, message_type=MessageType.QUERY, category=Category.DNA,
                        side=Side.FILE_MANAGING, logging_state="NL", requesting_state="DE", requested_state="NL",
                        request_id=f"req-{i}", officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02",
                        reason="benchmark", data_supplied=json.dumps({"reference": f"DE-T-{i}", "loci": {
                            "D3S1358": ["15", "16"], "VWA": ["17", "18"], "TH01": ["6", "9.3"]}}))


def run(threads: int, entries: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="prum-log-bench-"))
    log = ProtocolLog(folder / "log.db", "NL")
    per_thread = entries // threads
    items = [entry(i) for i in range(per_thread * threads)]

    def worker(offset: int) -> None:
        for item in items[offset * per_thread:(offset + 1) * per_thread]:
            log.append(item)

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    verification = log.verify()
    log.close()
    return {"threads": threads, "entries": per_thread * threads, "seconds": round(elapsed, 3),
            "appends_per_s": round(per_thread * threads / elapsed, 1), "chain_intact": verification.intact}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    rows = [run(t, options.entries if t > 1 else min(options.entries, 5000)) for t in options.threads]
    baseline = rows[0]["appends_per_s"]
    for row in rows:
        row["ratio_to_one_caller"] = round(row["appends_per_s"] / baseline, 2)
    if options.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'threads':>8}{'entries':>9}{'seconds':>9}{'appends/s':>11}{'x 1 caller':>12}{'chain':>7}")
    for r in rows:
        print(f"{r['threads']:>8}{r['entries']:>9}{r['seconds']:>9}{r['appends_per_s']:>11}"
              f"{r['ratio_to_one_caller']:>12}{'ok' if r['chain_intact'] else 'BROKEN':>7}")


if __name__ == "__main__":
    main()
