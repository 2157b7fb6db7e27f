"""Evaluation of the AFIS core on a synthetic national file: identification rates, FNIR/FPIR, latency, memory.

`evaluate` builds a gallery of `gallery_size` plain impressions (one finger each), then searches
`probes` mated probes (other captures of gallery fingers; a share `trace_share` of them partial,
latent-like traces) and as many non-mated probes (fingers not in the file, same share of traces).

Measures (the terms of ISO/IEC 19795-1 for identification):
- rank-1 identification rate: the mate is the first candidate (plain impressions and traces apart);
- FPIR(T): the share of non-mated searches with any candidate scoring >= T;
  FNIR(T): the share of mated searches whose mate is not on the list with a score >= T;
  `fnir_at_fpir_1pct` takes T as the smallest threshold with FPIR <= 1 %;
- search latency p50 / p95 in ms (wall clock, one search at a time, this machine), and the CPU
  time of the searching thread (`time.thread_time`), which other processes on a shared machine
  do not inflate; the load average before and after the searches; both also per kind of probe
  (plain impressions, traces) in `by_kind`;
- memory per template in bytes (`Gallery.memory_bytes` / templates).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from prum.federation.synthetic.afis import impression, master_finger, mated_probe
from prum.services.afis.gallery import Gallery


def _fnir_at_fpir(mated: np.ndarray, nonmated: np.ndarray, fpir: float) -> tuple[float, float]:
    """(FNIR, threshold) at the smallest threshold whose FPIR is at most `fpir`."""
    if len(nonmated) == 0 or len(mated) == 0:
        return float("nan"), float("nan")
    candidates = np.unique(np.concatenate([mated, nonmated, np.nextafter(nonmated, np.inf), [np.inf]]))
    for threshold in candidates:
        if np.mean(nonmated >= threshold) <= fpir:
            return float(np.mean(mated < threshold)), float(threshold)
    return 1.0, float("inf")


def _det(mated: np.ndarray, nonmated: np.ndarray) -> dict[str, list[float]]:
    thresholds = np.unique(np.concatenate([mated, nonmated, [0.0]]))
    fpir = [float(np.mean(nonmated >= t)) for t in thresholds]
    fnir = [float(np.mean(mated < t)) for t in thresholds]
    return {"threshold": thresholds.tolist(), "fpir": fpir, "fnir": fnir}


def enrol(rng: np.random.Generator, size: int, progress: Any = None) -> tuple[Gallery, list[Any]]:
    """A synthetic national file of `size` plain impressions, indexed, and their master fingers (G0000001...):
    the gallery `evaluate` searches, the same for the same generator state."""
    masters: list[Any] = []
    gallery = Gallery()
    chunk: list = []
    for number in range(size):
        master = master_finger(rng)
        masters.append(master)
        chunk.append(impression(rng, master, f"G{number + 1:07d}"))
        if len(chunk) == 1000 or number == size - 1:
            gallery.add_many(chunk)
            chunk = []
            if progress:
                progress("enrol", number + 1, size)
    gallery.build_index()
    return gallery, masters


def evaluate(gallery_size: int, probes: int, seed: int, trace_share: float = 0.3, *, max_candidates: int = 10,
             progress: Any = None) -> dict[str, Any]:
    """Build a synthetic file, search mated and non-mated probes, and measure (see the module docstring).

    `progress`, if given, is called as progress(stage, done, total). Deterministic for a seed
    (except the latencies).
    """
    if gallery_size < 1 or probes < 1 or not 0.0 <= trace_share <= 1.0:
        raise ValueError("gallery_size and probes must be >= 1 and trace_share within 0-1")
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    gallery, masters = enrol(rng, gallery_size, progress)
    enrol_seconds = time.perf_counter() - started
    traces = round(probes * trace_share)
    is_trace = np.zeros(probes, bool)
    is_trace[rng.choice(probes, traces, replace=False)] = True
    mates = rng.choice(gallery_size, probes, replace=gallery_size < probes)
    searches: list[tuple[str, bool, Any, str | None]] = []
    for number in range(probes):
        master = masters[int(mates[number])]
        probe = mated_probe(rng, master, f"Q{number + 1:06d}", trace=bool(is_trace[number]))
        searches.append(("mated", bool(is_trace[number]), probe, f"G{int(mates[number]) + 1:07d}"))
    for number in range(probes):
        stranger = master_finger(rng)
        probe = mated_probe(rng, stranger, f"N{number + 1:06d}", trace=bool(is_trace[number]))
        searches.append(("nonmated", bool(is_trace[number]), probe, None))
    latencies: list[float] = []
    cpu: list[float] = []
    cpu_by_kind: dict[bool, list[float]] = {False: [], True: []}
    wall_by_kind: dict[bool, list[float]] = {False: [], True: []}
    load_before = os.getloadavg()[0]
    mated_score: dict[bool, list[float]] = {False: [], True: []}
    nonmated_top: dict[bool, list[float]] = {False: [], True: []}
    rank1: dict[bool, list[bool]] = {False: [], True: []}
    for done, (kind, trace, probe, mate) in enumerate(searches, start=1):
        began, began_cpu = time.perf_counter(), time.thread_time()
        candidates = gallery.search(probe, max_candidates)
        latencies.append((time.perf_counter() - began) * 1000)
        cpu.append((time.thread_time() - began_cpu) * 1000)
        cpu_by_kind[trace].append(cpu[-1])
        wall_by_kind[trace].append(latencies[-1])
        if kind == "mated":
            references = [c.reference for c in candidates]
            rank1[trace].append(bool(references) and references[0] == mate)
            mated_score[trace].append(candidates[references.index(mate)].score if mate in references else 0.0)
        else:
            nonmated_top[trace].append(candidates[0].score if candidates else 0.0)
        if progress:
            progress("search", done, len(searches))
    all_mated = np.array(mated_score[False] + mated_score[True])
    all_nonmated = np.array(nonmated_top[False] + nonmated_top[True])
    fnir, threshold = _fnir_at_fpir(all_mated, all_nonmated, 0.01)
    by_kind = {}
    for trace, name in ((False, "plain"), (True, "trace")):
        m, n = np.array(mated_score[trace]), np.array(nonmated_top[trace])
        f, t = _fnir_at_fpir(m, n, 0.01)
        by_kind[name] = {"searches": len(m), "rank1": float(np.mean(rank1[trace])) if rank1[trace] else None,
                         "fnir_at_fpir_1pct": f, "threshold_at_fpir_1pct": t,
                         "latency_ms_p50": float(np.percentile(wall_by_kind[trace], 50)) if wall_by_kind[trace] else None,
                         "latency_ms_p95": float(np.percentile(wall_by_kind[trace], 95)) if wall_by_kind[trace] else None,
                         "cpu_ms_p50": float(np.percentile(cpu_by_kind[trace], 50)) if cpu_by_kind[trace] else None,
                         "cpu_ms_p95": float(np.percentile(cpu_by_kind[trace], 95)) if cpu_by_kind[trace] else None}
    stats = gallery.stats()
    return {
        "gallery_size": gallery_size, "probes": probes, "seed": seed, "trace_share": trace_share,
        "mated_searches": probes, "nonmated_searches": probes, "max_candidates": max_candidates,
        "rank1_plain": by_kind["plain"]["rank1"], "rank1_trace": by_kind["trace"]["rank1"],
        "fnir_at_fpir_1pct": fnir, "threshold_at_fpir_1pct": threshold, "by_kind": by_kind,
        "latency_ms_p50": float(np.percentile(latencies, 50)), "latency_ms_p95": float(np.percentile(latencies, 95)),
        "cpu_ms_p50": float(np.percentile(cpu, 50)), "cpu_ms_p95": float(np.percentile(cpu, 95)),
        "load_average": [load_before, os.getloadavg()[0]],
        "memory_bytes_per_template": stats.memory_bytes / max(1, stats.templates),
        "mean_minutiae_per_template": stats.minutiae / max(1, stats.templates),
        "enrol_seconds": enrol_seconds,
        "det": {"all": _det(all_mated, all_nonmated),
                "plain": _det(np.array(mated_score[False]), np.array(nonmated_top[False])),
                "trace": _det(np.array(mated_score[True]), np.array(nonmated_top[True]))},
    }


def write_det_plot(result: dict[str, Any], path: str | Path) -> Path:
    """A DET plot (FNIR against FPIR, log axes) of an `evaluate` result as PNG (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(6, 5))
    floor = 1.0 / max(2, 2 * result["probes"])
    for name, style in (("all", "-"), ("plain", "--"), ("trace", ":")):
        curve = result["det"][name]
        if not curve["fpir"]:
            continue
        fpir = np.clip(curve["fpir"], floor, 1)
        fnir = np.clip(curve["fnir"], floor, 1)
        axes.step(fpir, fnir, style, where="post", label=name)
    axes.axvline(0.01, color="grey", linewidth=0.8)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("FPIR (non-mated searches with a candidate >= T)")
    axes.set_ylabel("FNIR (mate missing or below T)")
    axes.set_title(f"AFIS DET: gallery {result['gallery_size']}, {result['probes']} mated + "
                   f"{result['probes']} non-mated, seed {result['seed']}", fontsize=9)
    axes.legend()
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(target, dpi=100)
    plt.close(figure)
    return target
