"""Where the AFIS loses traces: shortlist recall by depth and by the trace's minutia count, and rank-1 after it.

Usage:
    python bench/afis_trace_recall.py --gallery 10000 --traces 300
    python bench/afis_trace_recall.py --gallery 100000 --traces 300 --json bench/afis_trace_recall_100k.json

The gallery is the one `prum.federation.demo.afis_evaluation.evaluate` builds for the same seed (same generator
calls in the same order); the traces are drawn from a generator of their own (seed + 1000), mates chosen
uniformly from the gallery. For every mated trace:
- the mate's rank in the triangle pre-selection (`TriangleIndex.votes`), with the usual contender cut and
  without it (every template through the pose vote), so that losses of the cut and of the vote show apart;
- whether `Gallery.search` puts the mate first (the whole search: shortlist, MCC, global check).
Recall at depth d is the share of traces whose mate ranks within the first d templates.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np

from prum.federation.demo.afis_evaluation import enrol
from prum.federation.synthetic.afis import mated_probe
from prum.services.afis import hashing, matching
from prum.services.afis.gallery import Gallery

DEPTHS = (1, 10, 100, 300, 600, 1000, 2000, 5000)
BINS = ((12, 16), (16, 20), (20, 25), (25, 1000))


def build(size: int, seed: int) -> tuple[Gallery, list]:
    """The gallery of `evaluate(size, ..., seed)` and its master fingers."""
    return enrol(np.random.default_rng(seed), size)


def measure(gallery: Gallery, masters: list, traces: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed + 1000)
    size = len(masters)
    mates = rng.choice(size, traces, replace=size < traces)
    counts = gallery._triangles.view.astype(np.float64)
    rows = []
    for number, mate in enumerate(mates):
        probe = mated_probe(rng, masters[int(mate)], f"X{number}", trace=True)
        slot = gallery._slot[f"G{int(mate) + 1:07d}"]
        encoded = matching.encode(probe)
        found = hashing.triangles(encoded.xy, encoded.theta, probe=True, whole=True)
        ranks = []
        for contenders in (hashing.TRACE_CONTENDERS, size):
            saved, hashing.TRACE_CONTENDERS = hashing.TRACE_CONTENDERS, contenders
            try:
                votes = gallery._index.votes(found, size, counts, trace=True)
            finally:
                hashing.TRACE_CONTENDERS = saved
            ranks.append(int((votes > votes[slot]).sum()) if votes[slot] > 0 else size)
        first = gallery.search(probe, 1)
        rows.append((len(probe.minutiae), ranks[0], ranks[1], bool(first) and first[0].reference == f"G{int(mate) + 1:07d}"))
    minutiae = np.array([r[0] for r in rows])
    cut, full, rank1 = (np.array([r[i] for r in rows]) for i in (1, 2, 3))
    result: dict[str, Any] = {
        "gallery": size, "traces": traces, "seed": seed, "trace_shortlist": gallery.trace_shortlist,
        "trace_contenders": hashing.TRACE_CONTENDERS,
        "recall": {str(d): float(np.mean(cut < d)) for d in DEPTHS},
        "recall_without_contender_cut": {str(d): float(np.mean(full < d)) for d in DEPTHS},
        "rank1": float(np.mean(rank1)),
        "rank1_given_shortlisted": float(np.mean(rank1[cut < gallery.trace_shortlist])),
        "by_minutiae": {},
    }
    for low, high in BINS:
        chosen = (minutiae >= low) & (minutiae < high)
        if chosen.any():
            result["by_minutiae"][f"{low}-{min(high, 99) - 1}"] = {
                "traces": int(chosen.sum()), "recall_300": float(np.mean(cut[chosen] < 300)),
                "recall_1000": float(np.mean(cut[chosen] < 1000)), "rank1": float(np.mean(rank1[chosen])),
                "no_vote": float(np.mean(cut[chosen] >= size))}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gallery", type=int, default=10000)
    parser.add_argument("--traces", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="write the result here as JSON")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    gallery, masters = build(args.gallery, args.seed)
    print(f"enrolled {args.gallery} in {time.perf_counter() - began:.0f} s", flush=True)
    result = measure(gallery, masters, args.traces, args.seed)
    print("depth " + " ".join(f"{d:>6}" for d in DEPTHS))
    print("recall" + " ".join(f"{result['recall'][str(d)]:>6.3f}" for d in DEPTHS))
    print("no cut" + " ".join(f"{result['recall_without_contender_cut'][str(d)]:>6.3f}" for d in DEPTHS))
    print(f"rank-1 {result['rank1']:.3f}; given the mate in the shortlist of {gallery.trace_shortlist}: "
          f"{result['rank1_given_shortlisted']:.3f}")
    for name, row in result["by_minutiae"].items():
        print(f"  {name:>6} minutiae: {row['traces']:>4} traces, recall@300 {row['recall_300']:.3f}, "
              f"@1000 {row['recall_1000']:.3f}, rank-1 {row['rank1']:.3f}, no vote {row['no_vote']:.3f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
