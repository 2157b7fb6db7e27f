#!/usr/bin/env python3
"""The RPC fuzzing of tests/contracts/test_fuzz_rpcs.py run for longer: every RPC of every prum service, with
NL's own certificate and with DE's, against a fresh in-process federation; prints per RPC the messages sent and
the status codes seen, then every answer that broke the contract (a code outside the allowed client errors, a
status message over 1 KB, a channel or server no longer SERVING, a protocol log that no longer verifies).

    python bench/fuzz_rpcs.py --examples 200              # 200 calls per RPC and certificate
    python bench/fuzz_rpcs.py --seconds 300 --chunk 25    # rounds of 25 per RPC and certificate for 5 minutes
    python bench/fuzz_rpcs.py --seconds 60 --in-range-timestamps   # only times the validation layer lets through
    python bench/fuzz_rpcs.py --seconds 120 --without-validation   # the cores alone behind the interceptors

`--without-validation` turns the request validation layer (services/common/validation.py) off in this process,
so that what the .protos' rules would refuse reaches the servicers and cores: every core must still refuse it
with a domain error (a status message may then exceed 1 KB: the interceptors cut it centrally).

Rounds: each round runs `--chunk` examples of every RPC with each certificate, with its own seed (`--seed` +
round), until `--examples` per RPC and certificate are sent or `--seconds` have passed. Unlike the test, a
broken answer is counted, not shrunk. Exit status 1 when any answer broke the contract.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "contracts"))
import rpc_fuzzing as fuzz


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=0, help="calls per RPC and certificate (0: no limit)")
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0: no limit)")
    parser.add_argument("--chunk", type=int, default=25, help="examples per RPC and certificate in one round")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--in-range-timestamps", action="store_true",
                        help="generate only Timestamps in their range (see rpc_fuzzing.OUT_OF_RANGE_TIMESTAMPS)")
    parser.add_argument("--without-validation", action="store_true",
                        help="turn the request validation layer off: the cores get what it would refuse")
    args = parser.parse_args()
    if not args.examples and not args.seconds:
        parser.error("give --examples or --seconds")
    fuzz.OUT_OF_RANGE_TIMESTAMPS = not args.in_range_timestamps
    if args.without_validation:
        from prum.services.common import interceptors

        interceptors.validate = lambda message: None  # type: ignore[assignment]

    rpcs = fuzz.all_rpcs()
    sent: collections.Counter[str] = collections.Counter()
    codes: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    slowest: dict[str, float] = collections.defaultdict(float)
    broken: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as workdir:
        federation = fuzz.start(Path(workdir))
        print(f"federation up in {time.monotonic() - started:.1f} s; {len(rpcs)} RPCs", flush=True)
        channels = {"own": federation.channel(fuzz.TARGET), "peer": federation.channel(fuzz.TARGET,
                                                                                      as_state=fuzz.PEER)}
        try:
            round_number = 0
            while True:
                done = args.examples and all(sent[f"{r.name} {c}"] >= args.examples for r in rpcs for c in channels)
                if done or (args.seconds and time.monotonic() - started > args.seconds):
                    break
                for rpc in rpcs:
                    for certificate, channel in channels.items():
                        if args.seconds and time.monotonic() - started > args.seconds:
                            break
                        key = f"{rpc.name} {certificate}"
                        left = args.chunk if not args.examples else min(args.chunk, args.examples - sent[key])
                        if left > 0:
                            run(rpc, channel, certificate, left, args.seed + round_number, sent, codes, slowest,
                                broken)
                for state, node in federation.nodes.items():
                    verified = node.log.verify()
                    if not verified.intact:
                        broken[("protocol log", state)].append(str(verified.violations[:3]))
                round_number += 1
        finally:
            federation.stop()
    elapsed = time.monotonic() - started
    report(rpcs, channels, sent, codes, slowest, broken, elapsed)
    return 1 if broken else 0


def run(rpc: fuzz.Rpc, channel: Any, certificate: str, examples: int, round_seed: int,
        sent: collections.Counter[str], codes: dict[str, collections.Counter[str]], slowest: dict[str, float],
        broken: dict[tuple[str, str], list[str]]) -> None:
    as_state = fuzz.TARGET if certificate == "own" else fuzz.PEER
    key = f"{rpc.name} {certificate}"

    @seed(round_seed)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def one_call(data: st.DataObject) -> None:
        requests = fuzz.draw_requests(data.draw, rpc, as_state)
        outcome = fuzz.call(channel, rpc, requests)
        sent[key] += 1
        codes[rpc.name][outcome.code.name] += 1
        slowest[rpc.name] = max(slowest[rpc.name], outcome.seconds)
        found = fuzz.problems(outcome)
        if not fuzz.serving(channel):
            found.append("not SERVING afterwards")
        if found:
            broken[(rpc.path, outcome.code.name)].append(
                f"as {as_state}: {', '.join(found)}: {outcome.details[:200]!r} for {fuzz.describe(requests, 200)}")

    one_call()


def report(rpcs: list[fuzz.Rpc], channels: dict[str, Any], sent: collections.Counter[str],
           codes: dict[str, collections.Counter[str]], slowest: dict[str, float],
           broken: dict[tuple[str, str], list[str]], elapsed: float) -> None:
    total = sum(sent.values())
    print(f"\n{total:,} calls in {elapsed:.0f} s ({total / elapsed:.0f} per second), "
          f"{len(rpcs)} RPCs x {len(channels)} certificates\n")
    names = sorted({name for counter in codes.values() for name in counter},
                   key=lambda name: (name != "OK", name))
    short = {name: name.replace("INVALID_ARGUMENT", "INVALID_ARG").replace("PERMISSION_DENIED", "PERM_DENIED")
             .replace("FAILED_PRECONDITION", "FAILED_PRECOND").replace("RESOURCE_EXHAUSTED", "RES_EXHAUSTED")
             for name in names}
    width = max(len(rpc.name) for rpc in rpcs)
    print(f"{'RPC':<{width}}  {'own':>5} {'peer':>5}  " + " ".join(f"{short[n]:>14}" for n in names)
          + f"  {'slowest':>8}")
    for rpc in rpcs:
        row = codes.get(rpc.name, collections.Counter())
        print(f"{rpc.name:<{width}}  {sent[f'{rpc.name} own']:>5} {sent[f'{rpc.name} peer']:>5}  "
              + " ".join(f"{row.get(n, 0):>14}" for n in names) + f"  {slowest.get(rpc.name, 0) * 1000:>6.0f}ms")
    if broken:
        print(f"\n{sum(len(v) for v in broken.values())} answers broke the contract:")
        for (where, code), cases in sorted(broken.items()):
            print(f"  {where} {code}: {len(cases)}")
            for case in cases[:3]:
                print(f"    {case}")
    else:
        print("\nevery answer kept the contract (OK or a client error, message <= 1 KB, channel and server SERVING, "
              "every protocol log verified)")


if __name__ == "__main__":
    sys.exit(main())
