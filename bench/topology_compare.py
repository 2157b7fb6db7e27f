#!/usr/bin/env python3
"""A search to every state, in a federation of N states, by topology (issue 20: mesh against router).

The measurement is `prum.federation.demo.topologies` (also shown by `prum demo --topology router`): per topology
and size, the channels the requesting state holds, the certificates a state manages, fan-out latency p50 / p99,
protocol-log entries per search, and the same with one state's link slowed (150 ms each way) and one state down.

    python bench/topology_compare.py --states 7 --states 27 --searches 40
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from prum.federation.demo.topologies import compare
from prum.federation.runtime.launcher import compile_kernels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--states", type=int, action="append", help="federation sizes (default 7 and 27)")
    parser.add_argument("--topology", action="append", help="mesh and/or router (default both)")
    parser.add_argument("--searches", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--json", type=Path, help="write the results here too")
    options = parser.parse_args()
    compile_kernels()
    results = [compare(n, topology, options.searches, options.seed)
               for n in options.states or [7, 27] for topology in options.topology or ["mesh", "router"]]
    print(f"{'states':>6} {'topology':<8} {'channels':>8} {'p50 ms':>8} {'p99 ms':>8} {'entries':>8} "
          f"{'one slow: p50':>14} {'p99':>8} {'one down: p50':>14} {'p99':>8} {'its status'}")
    for row in results:
        if "refused" in row:
            print(f"{row['states']:>6} {row['topology']:<8} not measured: {row['refused']}")
            continue
        up, slow, down = row["all_up"], row["one_slow"], row["one_down"]
        down_status = ", ".join(f"{k} {v}" for k, v in sorted(down["statuses"].items()))
        print(f"{row['states']:>6} {row['topology']:<8} {row['channels_held_by_requester']:>8} {up['p50_ms']:>8} "
              f"{up['p99_ms']:>8} {up['log_entries_per_search']:>8} {slow['p50_ms']:>14} {slow['p99_ms']:>8} "
              f"{down['p50_ms']:>14} {down['p99_ms']:>8} "
              f"{down_status}")
    if options.json:
        options.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
