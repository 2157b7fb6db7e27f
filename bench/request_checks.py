#!/usr/bin/env python3
"""What the checks before a servicer cost per request: the contract rules (`validation.validate`) of a valid request
of every RPC, as a ratio to parsing the same request from its bytes (protobuf's own work, the baseline measured in
the same process, alternating with it).

    python bench/request_checks.py                # every RPC with a valid example request
    python bench/request_checks.py --rounds 5 --calls 5000 --json

The figure per RPC is the median over rounds of (time of `validate(request)`) / (time of `ParseFromString` of its
serialized bytes); the absolute microseconds are printed too, but they move with the machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "contracts"))
import rpc_fuzzing as fuzz  # noqa: E402 - the examples of the fuzz test, one valid request per RPC

from prum.services.common.validation import validate  # noqa: E402


def measure(calls: int, rounds: int) -> list[dict[str, object]]:
    rows = []
    for rpc in fuzz.all_rpcs():
        requests = fuzz.valid_requests(rpc, fuzz.TARGET)
        if not requests:
            continue
        request = requests[0]
        data = request.SerializeToString()
        parsed = type(request)()
        check_us, parse_us = [], []
        for _ in range(rounds):
            check_us.append(timeit.timeit(lambda: validate(request), number=calls) / calls * 1e6)
            parse_us.append(timeit.timeit(lambda: parsed.ParseFromString(data), number=calls) / calls * 1e6)
        ratios = [c / p for c, p in zip(check_us, parse_us)]
        rows.append({"rpc": rpc.name, "bytes": len(data), "check_us": round(statistics.median(check_us), 2),
                     "parse_us": round(statistics.median(parse_us), 2),
                     "check_per_parse": round(statistics.median(ratios), 2)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="calls per timing (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds, median taken (default 3)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    options = parser.parse_args()
    rows = measure(options.calls, options.rounds)
    if options.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'rpc':<42} {'bytes':>6} {'check us':>9} {'parse us':>9} {'check/parse':>12}")
    for row in sorted(rows, key=lambda r: -float(r["check_per_parse"])):  # type: ignore[arg-type]
        print(f"{row['rpc']:<42} {row['bytes']:>6} {row['check_us']:>9} {row['parse_us']:>9} "
              f"{row['check_per_parse']:>12}")
    ratios = [float(r["check_per_parse"]) for r in rows]  # type: ignore[arg-type]
    print(f"\n{len(rows)} RPCs; check/parse median {statistics.median(ratios):.2f}, max {max(ratios):.2f}")


if __name__ == "__main__":
    main()
