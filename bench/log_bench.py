#!/usr/bin/env python3
"""Durable appends per second to the protocol log (LOG-4), with and without group commit.

Baseline: one caller appending one entry at a time, so one transaction and one fsync per entry.
Group commit: T caller threads appending one entry each at a time; their entries share transactions
and fsyncs. Then T threads appending a receipt and its reply in one call, as every answering gRPC
handler does (`FileManagingSide`). Every append returns only once its entries are durable.
A last row writes all entries with one `append_many` (one caller, one transaction): the CPU ceiling
of validation, canonical JSON, SHA-256 and the rows, without thread hand-offs. Ends each run with
`verify()` over the whole log to show the chain is intact. First it measures the disk's fsync latency
in the same folder: with T callers of one entry each, no group commit can beat T / fsync latency.

    python bench/log_bench.py --entries 20000 --threads 1 8 32 64
    python bench/log_bench.py --entries 20000 --threads 64 256 --pin 1   # the process on one core

`--pin CPU` keeps the whole process on one core. With one interpreter lock the process uses about one
core anyway, and each group commit wakes every caller whose entry it carried: on one core a wake-up is
a local context switch, across cores an inter-processor interrupt, which on this VM costs more.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from prum.services.common.category import Category
from prum.services.logger import EntryKind, LogEntry, MessageType, ProtocolLog, Side
from prum.services.logger.entry import canonical_json


def entry(i: int) -> LogEntry:
    """A receipt as an answering service writes it: its data through `canonical_json`, as every service's is."""
    return LogEntry.new(kind=EntryKind.AUTOMATED_RECEIPT, message_type=MessageType.QUERY, category=Category.DNA,
                        side=Side.FILE_MANAGING, logging_state="NL", requesting_state="DE", requested_state="NL",
                        request_id=f"req-{i}", officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02",
                        reason="benchmark", data_supplied=canonical_json({"reference": f"DE-T-{i}", "loci": {
                            "D3S1358": ["15", "16"], "VWA": ["17", "18"], "TH01": ["6", "9.3"]}}))


def fsync_ms(folder: Path, rounds: int = 100) -> float:
    """The median time of one 4 KiB write + fsync in `folder`: what one durable commit waits for at least."""
    path = folder / "fsync-probe"
    times = []
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for _ in range(rounds):
            os.write(descriptor, b"x" * 4096)
            started = time.perf_counter()
            os.fsync(descriptor)
            times.append(time.perf_counter() - started)
    finally:
        os.close(descriptor)
        path.unlink()
    return round(statistics.median(times) * 1000, 2)


def run(threads: int, entries: int, bulk: bool = False, per_call: int = 1) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="prum-log-bench-"))
    log = ProtocolLog(folder / "log.db", "NL")
    per_thread = entries // threads // per_call * per_call
    items = [entry(i) for i in range(per_thread * threads)]

    def worker(offset: int) -> None:
        mine = items[offset * per_thread:(offset + 1) * per_thread]
        for start in range(0, len(mine), per_call):
            log.append_many(mine[start:start + per_call])

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    started, cpu = time.perf_counter(), time.process_time()
    if bulk:
        log.append_many(items)
    for w in [] if bulk else workers:
        w.start()
    for w in [] if bulk else workers:
        w.join()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    verification = log.verify()
    log.close()
    count = per_thread * threads
    label = "1 (append_many)" if bulk else f"{threads} (pairs)" if per_call == 2 else threads
    return {"threads": label, "entries": count, "seconds": round(elapsed, 3),
            "appends_per_s": round(count / elapsed, 1), "cpu_us_per_append": round(cpu / count * 1e6, 1),
            "chain_intact": verification.intact}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--pin", type=int, metavar="CPU", help="run the whole process on this core only")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    if options.pin is not None:
        os.sched_setaffinity(0, {options.pin})
    probe = Path(tempfile.mkdtemp(prefix="prum-log-bench-"))
    fsync = fsync_ms(probe)
    probe.rmdir()
    rows = [run(t, options.entries if t > 1 else min(options.entries, 5000)) for t in options.threads]
    rows += [run(t, options.entries, per_call=2) for t in options.threads if t > 1]
    rows.append(run(1, options.entries, bulk=True))
    baseline = float(rows[0]["appends_per_s"])  # type: ignore[arg-type]
    for row in rows:
        row["ratio_to_one_caller"] = round(float(row["appends_per_s"]) / baseline, 2)  # type: ignore[arg-type]
    if options.json:
        print(json.dumps({"fsync_ms_median": fsync, "pinned_to_cpu": options.pin, "rows": rows}, indent=2))
        return
    print(f"fsync (4 KiB, median): {fsync} ms; cores: {sorted(os.sched_getaffinity(0))}")
    print(f"{'threads':>16}{'entries':>9}{'seconds':>9}{'appends/s':>11}{'CPU µs/append':>15}{'x 1 caller':>12}"
          f"{'chain':>7}")
    for r in rows:
        print(f"{r['threads']:>16}{r['entries']:>9}{r['seconds']:>9}{r['appends_per_s']:>11}"
              f"{r['cpu_us_per_append']:>15}{r['ratio_to_one_caller']:>12}{'ok' if r['chain_intact'] else 'BROKEN':>7}")


if __name__ == "__main__":
    main()
