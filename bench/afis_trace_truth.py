"""Where the AFIS loses traces, with the generator's ground truth: how much of each trace's patch lies in its mate's
impression, how many genuine minutiae the two share, and which stage of the search loses it.

Usage:
    python bench/afis_trace_truth.py --gallery 10000 --traces 300 [--json out.json]

The gallery and the traces are those of `bench/afis_trace_recall.py` (same generator calls in the same order);
the generator is not changed: its `_capture` and `_observe` are wrapped while the data is made, only to note
each capture's finger -> image map and seen region. For every trace:
- `area_in`: the share of the trace's patch (on the finger) that lies inside its mate's impression (contact
  region and image);
- `genuine`: trace minutiae that are a real minutia of the finger (within 8 px and 30 degrees of where the
  finger's minutia lands), `common`: real minutiae seen both in the trace and in the mate's impression;
- the mate's rank in the pre-selection, its 1:1 score, the search's first candidate and its score.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from typing import Any

import numpy as np

from prum.federation import datagen_afis
from prum.federation.datagen_afis import _FINGER_A, _FINGER_B, impression, master_finger, mated_probe
from prum.services.afis import hashing, matching
from prum.services.afis.gallery import Gallery

_last: dict[str, Any] = {}


def _install() -> None:
    capture, observe = datagen_afis._capture, datagen_afis._observe

    def wrapped_capture(*args, **kwargs):
        result = capture(*args, **kwargs)
        _last["capture"] = result
        return result

    def wrapped_observe(rng, master, cap, to_image, style, inside, *rest):
        _last["inside"] = inside
        return observe(rng, master, cap, to_image, style, inside, *rest)

    datagen_afis._capture, datagen_afis._observe = wrapped_capture, wrapped_observe


def _grid() -> np.ndarray:
    x, y = np.meshgrid(np.arange(-_FINGER_A, _FINGER_A, 4.0), np.arange(-_FINGER_B, _FINGER_B, 4.0))
    points = np.stack([x.ravel(), y.ravel()], axis=1)
    return points[(points[:, 0] / _FINGER_A) ** 2 + (points[:, 1] / _FINGER_B) ** 2 <= 1.0]


def _record() -> dict[str, Any]:
    cap, to_image = _last["capture"]
    return {"to_image": to_image, "inside": _last["inside"], "points": cap.points, "angles": cap.angles}


def _seen(record: dict[str, Any], template) -> np.ndarray:
    """Per finger minutia: whether the template shows it (a template minutia within 8 px and 30 degrees)."""
    xy = np.array([(m.x, m.y) for m in template.minutiae], float)
    angle = np.radians([m.angle for m in template.minutiae])
    d = np.hypot(record["points"][:, None, 0] - xy[None, :, 0], record["points"][:, None, 1] - xy[None, :, 1])
    turn = np.abs((record["angles"][:, None] - angle[None, :] + np.pi) % (2 * np.pi) - np.pi)
    return ((d <= 8.0) & (turn <= np.radians(30))).any(axis=1)


def build(size: int, seed: int, cache: str | None) -> tuple[Gallery, list, list, list]:
    """The gallery of `afis_evaluate.enrol(default_rng(seed), size)`, its master fingers and templates, and the
    generator's state before each impression (to replay it for its ground truth); from `cache` if it exists."""
    if cache and os.path.exists(cache):
        with open(cache, "rb") as handle:
            state, masters, templates, states = pickle.load(handle)
        gallery = Gallery()  # today's shortlist and finalist sizes; the file's arrays and index from the cache
        gallery.__dict__.update({k: v for k, v in state.items() if k.startswith("_")})
        return gallery, masters, templates, states
    rng = np.random.default_rng(seed)
    gallery, masters, templates, states = Gallery(), [], [], []
    chunk = []
    for number in range(size):
        master = master_finger(rng)
        masters.append(master)
        states.append(rng.bit_generator.state)
        template = impression(rng, master, f"G{number + 1:07d}")
        templates.append(template)
        chunk.append(template)
        if len(chunk) == 1000 or number == size - 1:
            gallery.add_many(chunk)
            chunk = []
    gallery.build_index()
    if cache:
        with open(cache, "wb") as handle:
            pickle.dump(({k: v for k, v in gallery.__dict__.items() if k != "_lock"}, masters, templates, states),
                        handle, protocol=5)
    return gallery, masters, templates, states


def replay(master, state: dict, reference: str) -> dict[str, Any]:
    """The ground-truth record of a gallery impression, made again from the generator state before it."""
    rng = np.random.default_rng()
    rng.bit_generator.state = state
    impression(rng, master, reference)
    return _record()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gallery", type=int, default=10000)
    parser.add_argument("--traces", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json")
    parser.add_argument("--cache", help="pickle of the built gallery: read if it exists, else written (index "
                                        "changes need a new one)")
    args = parser.parse_args(argv)
    _install()
    began = time.perf_counter()
    gallery, masters, templates, states = build(args.gallery, args.seed, args.cache)
    print(f"enrolled {args.gallery} in {time.perf_counter() - began:.0f} s", flush=True)
    grid = _grid()
    trng = np.random.default_rng(args.seed + 1000)
    mates = trng.choice(args.gallery, args.traces, replace=args.gallery < args.traces)
    counts = gallery._triangles.view.astype(np.float64)
    rows = []
    cpu = []
    for number, mate in enumerate(mates):
        mate = int(mate)
        probe = mated_probe(trng, masters[mate], f"X{number}", trace=True)
        trace_record = _record()
        mate_template = templates[mate]
        mate_record = replay(masters[mate], states[mate], mate_template.reference)
        in_trace = trace_record["inside"](trace_record["to_image"](grid))
        in_mate = mate_record["inside"](mate_record["to_image"](grid))
        area_in = float((in_trace & in_mate).sum() / max(1, in_trace.sum()))
        genuine_trace = _seen(trace_record, probe)
        genuine_mate = _seen(mate_record, mate_template)
        common = int((genuine_trace & genuine_mate).sum())
        encoded = matching.encode(probe)
        found = hashing.triangles(encoded.xy, encoded.theta, probe=True, whole=True)
        votes = gallery._index.votes(found, len(masters), counts, trace=True)
        slot = gallery._slot[mate_template.reference]
        rank = int((votes > votes[slot]).sum()) if votes[slot] > 0 else args.gallery
        mate_score = matching.score(probe, mate_template)
        t0 = time.thread_time()
        result = gallery.search(probe, 2)
        cpu.append(time.thread_time() - t0)
        top = result[0] if result else None
        rows.append({"minutiae": len(probe.minutiae), "genuine": int(genuine_trace.sum()), "common": common,
                     "area_in": area_in, "rank": rank, "mate_score": mate_score,
                     "top": top.reference if top else None, "top_score": top.score if top else 0.0,
                     "hit": bool(top and top.reference == mate_template.reference)})
    hit = np.array([r["hit"] for r in rows])
    area = np.array([r["area_in"] for r in rows])
    common = np.array([r["common"] for r in rows])
    rank = np.array([r["rank"] for r in rows])
    mate_score = np.array([r["mate_score"] for r in rows])
    top_score = np.array([r["top_score"] for r in rows])
    print(f"rank-1 {hit.mean():.3f} ({hit.sum()}/{len(hit)}); search CPU p50/p95 "
          f"{np.percentile(cpu, 50) * 1000:.0f}/{np.percentile(cpu, 95) * 1000:.0f} ms")
    short = gallery.trace_shortlist
    print(f"missed {int((~hit).sum())}: not shortlisted {int(((~hit) & (rank >= short)).sum())}, "
          f"shortlisted but outranked {int(((~hit) & (rank < short)).sum())}")
    for low, high in ((0, 4), (4, 6), (6, 8), (8, 10), (10, 13), (13, 100)):
        chosen = (common >= low) & (common < high)
        if chosen.any():
            print(f"  common {low:>2}-{high - 1:<3}: {int(chosen.sum()):>4} traces, rank-1 {hit[chosen].mean():.3f}, "
                  f"shortlisted {np.mean(rank[chosen] < short):.3f}, area_in median {np.median(area[chosen]):.2f}")
    for low, high in ((0, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01)):
        chosen = (area >= low) & (area < high)
        if chosen.any():
            print(f"  area_in {low:.1f}-{high:.1f}: {int(chosen.sum()):>4} traces, rank-1 {hit[chosen].mean():.3f}, "
                  f"common median {np.median(common[chosen]):.0f}")
    print("missed traces: minutiae genuine common area_in rank mate_score top_score")
    for r in rows:
        if not r["hit"]:
            print(f"  {r['minutiae']:>3} {r['genuine']:>3} {r['common']:>3} {r['area_in']:.2f} {r['rank']:>6} "
                  f"{r['mate_score']:6.2f} {r['top_score']:6.2f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            handle.write(json.dumps({"gallery": args.gallery, "traces": args.traces, "seed": args.seed,
                                     "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
