"""Where the AFIS loses traces, with the generator's ground truth: how much of each trace's patch lies in its mate's
impression, how many genuine minutiae the two share, and which stage of the search loses it.

Usage:
    python bench/afis_trace_truth.py --gallery 10000 --traces 300 [--invariants] [--json out.json]

The gallery and the traces are those of `bench/afis_trace_recall.py` (same generator calls in the same order);
the generator is not changed: its `_capture` and `_observe` are wrapped while the data is made, only to note
each capture's finger -> image map and seen region. For every trace:
- `area_in`: the share of the trace's patch (on the finger) that lies inside its mate's impression (contact
  region and image);
- `genuine`: trace minutiae that are a real minutia of the finger (within 8 px and 30 degrees of where the
  finger's minutia lands), `common`: real minutiae seen both in the trace and in the mate's impression;
- the mate's rank in the pre-selection, its 1:1 score, the search's first candidate and its score.
With `--invariants`: how the six invariants of every triangle of real minutiae seen in both differ between
the trace and its mate (the noise a triangle look-up must bear), the share of those genuine triangles the
index look-ups keep with and without the trace tolerance (`hashing.TRACE_SIDE_TOLERANCE`), and the share of
other templates' entries under the same keys that the tolerance keeps.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pickle
import sys
import time
from typing import Any

import numpy as np

from prum.federation.synthetic import afis as synthetic_afis
from prum.federation.synthetic.afis import _FINGER_A, _FINGER_B, impression, master_finger, mated_probe
from prum.services.afis import hashing, kernels, matching
from prum.services.afis.gallery import Gallery

_last: dict[str, Any] = {}


def _install() -> None:
    capture, observe = synthetic_afis._capture, synthetic_afis._observe

    def wrapped_capture(*args, **kwargs):
        result = capture(*args, **kwargs)
        _last["capture"] = result
        return result

    def wrapped_observe(rng, master, cap, to_image, style, inside, *rest):
        _last["inside"] = inside
        return observe(rng, master, cap, to_image, style, inside, *rest)

    synthetic_afis._capture, synthetic_afis._observe = wrapped_capture, wrapped_observe


def _grid() -> np.ndarray:
    x, y = np.meshgrid(np.arange(-_FINGER_A, _FINGER_A, 4.0), np.arange(-_FINGER_B, _FINGER_B, 4.0))
    points = np.stack([x.ravel(), y.ravel()], axis=1)
    return points[(points[:, 0] / _FINGER_A) ** 2 + (points[:, 1] / _FINGER_B) ** 2 <= 1.0]


def _record() -> dict[str, Any]:
    cap, to_image = _last["capture"]
    return {"to_image": to_image, "inside": _last["inside"], "points": cap.points, "angles": cap.angles}


def _shown(record: dict[str, Any], template) -> np.ndarray:
    """Per finger minutia: the nearest template minutia within 8 px and 30 degrees that shows it, or -1."""
    xy = np.array([(m.x, m.y) for m in template.minutiae], float)
    angle = np.radians([m.angle for m in template.minutiae])
    d = np.hypot(record["points"][:, None, 0] - xy[None, :, 0], record["points"][:, None, 1] - xy[None, :, 1])
    turn = np.abs((record["angles"][:, None] - angle[None, :] + np.pi) % (2 * np.pi) - np.pi)
    near = (d <= 8.0) & (turn <= np.radians(30))
    return np.where(near.any(axis=1), np.where(near, d, np.inf).argmin(axis=1), -1)


def _seen(record: dict[str, Any], template) -> np.ndarray:
    """Per finger minutia: whether the template shows it (a template minutia within 8 px and 30 degrees)."""
    return _shown(record, template) >= 0


def _invariant_errors(trace_shown: np.ndarray, trace: matching.Encoded, mate_shown: np.ndarray,
                      mate: matching.Encoded) -> np.ndarray:
    """(triangles, 6) how the six invariants of every triangle of real minutiae seen in both differ between
    the trace and its mate (`hashing.triangles`; sides px, angles radians): the noise a look-up must bear."""
    both = np.flatnonzero((trace_shown >= 0) & (mate_shown >= 0))
    rows = []
    for i, j, k in itertools.combinations(both, 3):
        a, b = trace_shown[[i, j, k]], mate_shown[[i, j, k]]
        mine = hashing.triangles(trace.xy[a], trace.theta[a], probe=True, whole=True)
        theirs = hashing.triangles(mate.xy[b], mate.theta[b])
        if mine.count and theirs.count:
            diff = mine.values[0] - theirs.values[0, 0]  # the probe's three cyclic orders against the mate's
            diff[:, 3:] = (diff[:, 3:] + np.pi) % (2 * np.pi) - np.pi
            rows.append(diff[np.abs(diff[:, :3]).sum(axis=1).argmin()])
    return np.array(rows).reshape(-1, 6)


def _kept_share(errors: np.ndarray, tolerance: tuple[float, float] | None, seed: int = 0) -> float:
    """The share of genuine triangles the index look-ups of a trace keep, for invariant differences `errors`
    and the probe's values anywhere in their bins: the nearer neighbouring bin is looked up, and with a
    `tolerance` only the entries whose quarter-bin lies within it are kept (`hashing.probe_keys`)."""
    rng = np.random.default_rng(seed)
    width = np.array([hashing.SIDE_BIN] * 3 + [2 * np.pi / hashing.ANGLE_BINS] * 3)
    error = errors / width
    reach = np.inf if tolerance is None else np.array([tolerance[0]] * 3 + [tolerance[1]] * 3) / width
    kept = []
    for _ in range(20):
        where = rng.random(error.shape)  # the probe's value within its bin
        step = np.where(where < 0.5, -1, 1)
        other = where - error  # the mate's value, in bins from the probe's bin
        bin_ = np.floor(other)
        quarter = bin_ + np.floor((other - bin_) * hashing.FINE) / hashing.FINE
        near = (quarter + 1 / hashing.FINE > where - reach) & (quarter < where + reach)
        kept.append((((bin_ == 0) | (bin_ == step)) & near).all(axis=1))
    return float(np.mean(kept))


def build(size: int, seed: int, cache: str | None) -> tuple[Gallery, list, list, list]:
    """The gallery of `afis_evaluation.enrol(default_rng(seed), size)`, its master fingers and templates, and the
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


def _other_entries_kept(gallery: Gallery, found: hashing.Triangles, mate: int) -> np.ndarray:
    """(kept, looked up): the index entries of other templates than the mate under a trace's keys, and how many
    of them its tolerance keeps (the built part of the index)."""
    keys, _, allowed = hashing.probe_keys(found.values.reshape(-1, 6), hashing.TRACE_SIDE_MARGIN,
                                          hashing.TRACE_ANGLE_MARGIN,
                                          (hashing.TRACE_SIDE_TOLERANCE, hashing.TRACE_ANGLE_TOLERANCE))
    part = gallery._index._main
    entries, query = part.lookup(keys)
    other = part.slot[entries] != mate
    return np.array([int((kernels.within(allowed[query], part.fine[entries]) & other).sum()), int(other.sum())])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gallery", type=int, default=10000)
    parser.add_argument("--traces", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json")
    parser.add_argument("--invariants", action="store_true",
                        help="also measure how the triangle invariants of each trace differ from its mate's")
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
    errors: list[np.ndarray] = []
    chance = np.zeros(2, np.int64)
    for number, mate in enumerate(mates):
        mate = int(mate)
        probe = mated_probe(trng, masters[mate], f"X{number}", trace=True)
        trace_record = _record()
        mate_template = templates[mate]
        mate_record = replay(masters[mate], states[mate], mate_template.reference)
        in_trace = trace_record["inside"](trace_record["to_image"](grid))
        in_mate = mate_record["inside"](mate_record["to_image"](grid))
        area_in = float((in_trace & in_mate).sum() / max(1, in_trace.sum()))
        trace_shown, mate_shown = _shown(trace_record, probe), _shown(mate_record, mate_template)
        genuine_trace, genuine_mate = trace_shown >= 0, mate_shown >= 0
        common = int((genuine_trace & genuine_mate).sum())
        encoded = matching.encode(probe)
        if args.invariants:
            errors.append(_invariant_errors(trace_shown, encoded, mate_shown, matching.encode(mate_template)))
        found = hashing.triangles(encoded.xy, encoded.theta, probe=True, whole=True)
        votes = gallery._index.votes(found, len(masters), counts, trace=True)
        slot = gallery._slot[mate_template.reference]
        if args.invariants:
            chance += _other_entries_kept(gallery, found, slot)
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
    if args.invariants:
        every = np.concatenate(errors)
        sides, angles = np.abs(every[:, :3]).ravel(), np.degrees(np.abs(every[:, 3:])).ravel()
        print(f"triangles of real minutiae seen in a trace and its mate: {len(every)}; how their invariants differ, "
              f"percentiles 50/80/90/95: sides {np.percentile(sides, [50, 80, 90, 95]).round(1).tolist()} px, "
              f"angles {np.percentile(angles, [50, 80, 90, 95]).round(1).tolist()} degrees")
        tolerance = (hashing.TRACE_SIDE_TOLERANCE, hashing.TRACE_ANGLE_TOLERANCE)
        print(f"genuine triangles a trace's look-ups keep: every entry of the two bins {_kept_share(every, None):.3f}; "
              f"within {tolerance[0]:g} px and {np.degrees(tolerance[1]):g} degrees {_kept_share(every, tolerance):.3f}; "
              f"entries of other templates in the same look-ups kept: {chance[0] / max(1, chance[1]):.3f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            handle.write(json.dumps({"gallery": args.gallery, "traces": args.traces, "seed": args.seed,
                                     "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
