"""Facial-image benchmark: 1:N accuracy, latency and memory of the exact search at 100k and 1M templates, numpy
against FAISS's exact inner-product index in the same run.

Usage (the figures in BENCHMARKS.md came from the second line):
    python bench/face_bench.py --sizes 20000 --probes 200
    python bench/face_bench.py --sizes 100000,1000000 --probes 1000 --json bench/face_bench.json

For each size N: N identities (random unit vectors, 512-d) each enrolled once (`federation/synthetic/face.py`:
enrolment fidelity U(0.88, 0.96)); `--probes` mated probes, a third each NORMAL, AGE_GAP and LOW_QUALITY, and as
many non-mated probes (identities not enrolled). Reported:
- rank-1 identification rate (all mated probes, and per case);
- FNIR at FPIR 1 % (NIST FRVT 1:N's measure): the threshold is the 99th percentile of the non-mated searches' best
  score; a mated search fails if its mate is not in the candidate list (rank <= 10, the default cap of P2-FACE-2)
  with at least that score;
- search latency of one probe, p50 and p95, for: the service's own `FaceGallery.search` (at the sizes where
  `--gallery-class-max` allows building one: each template goes through `FaceTemplate.make`), the same numpy
  matrix-vector product + argpartition on the raw matrix, and FAISS `IndexFlatIP` (exact, when `faiss-cpu` is
  installed: the `bench` extra); the top-10 of each is checked to be the same candidates;
- memory per template: the matrix row (512 x 4 bytes float32, 2 x 512 float16) and, for FaceGallery, the
  template object's share measured with tracemalloc.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from typing import Any

import numpy as np
from prum.federation.synthetic.face import (
    Case,
    captures,
    enrolment_fidelity,
    identities,
    probe_fidelity,
    template,
)
from prum.services.common.reference import ReferenceKind
from prum.services.face.gallery import FaceGallery

CAP = 10
CHUNK = 100_000


def enrol(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The enrolled matrix (n x 512 float32), and the identities and fidelities of its first rows (the mates)."""
    matrix = np.empty((n, 512), dtype=np.float32)
    keep_ids, keep_fid = [], []
    for start in range(0, n, CHUNK):
        ids = identities(rng, min(CHUNK, n - start))
        fidelity = enrolment_fidelity(rng, len(ids))
        matrix[start:start + len(ids)] = captures(rng, ids, fidelity)
        if start == 0:
            keep_ids, keep_fid = ids, fidelity
    return matrix, np.asarray(keep_ids), np.asarray(keep_fid)


def probes(rng: np.random.Generator, ids: np.ndarray, fidelity: np.ndarray, count: int
           ) -> tuple[np.ndarray, np.ndarray, list[Case], np.ndarray]:
    """`count` mated probes (rows 0..count-1 of the file, the cases in turn) and `count` non-mated ones."""
    cases = [list(Case)[i % 3] for i in range(count)]
    mated = np.empty((count, 512), dtype=np.float32)
    for case in Case:
        rows = np.array([i for i, c in enumerate(cases) if c is case])
        mated[rows] = captures(rng, ids[rows], probe_fidelity(rng, fidelity[rows], case))
    strangers = identities(rng, count)
    non_mated = captures(rng, strangers, probe_fidelity(rng, enrolment_fidelity(rng, count), Case.NORMAL))
    return mated, non_mated, cases, np.arange(count)


def top(matrix: np.ndarray, queries: np.ndarray, k: int = CAP) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k rows and scores of each query (batched matrix product, in chunks of rows)."""
    best_rows = np.zeros((len(queries), 0), dtype=np.int64)
    best_scores = np.zeros((len(queries), 0), dtype=np.float32)
    for start in range(0, len(matrix), CHUNK):
        scores = queries @ matrix[start:start + CHUNK].T
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        best_rows = np.hstack([best_rows, part + start])
        best_scores = np.hstack([best_scores, np.take_along_axis(scores, part, axis=1)])
        keep = np.argsort(-best_scores, axis=1)[:, :k]
        best_rows = np.take_along_axis(best_rows, keep, axis=1)
        best_scores = np.take_along_axis(best_scores, keep, axis=1)
    return best_rows, best_scores


def accuracy(matrix: np.ndarray, mated: np.ndarray, non_mated: np.ndarray, cases: list[Case],
             mates: np.ndarray) -> dict[str, Any]:
    rows, scores = top(matrix, mated)
    _, stranger_scores = top(matrix, non_mated, 1)
    threshold = float(np.quantile(stranger_scores[:, 0], 0.99))
    rank1 = rows[:, 0] == mates
    found = np.array([(mates[i] in rows[i]) and scores[i][list(rows[i]).index(mates[i])] >= threshold
                      for i in range(len(mates))])
    result: dict[str, Any] = {"rank1": float(rank1.mean()), "fnir_at_fpir_1pct": float(1 - found.mean()),
                              "threshold_at_fpir_1pct": round(threshold, 4)}
    for case in Case:
        mask = np.array([c is case for c in cases])
        result[f"rank1_{case.name.lower()}"] = float(rank1[mask].mean())
        result[f"fnir_{case.name.lower()}"] = float(1 - found[mask].mean())
    return result


def percentiles(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": round(float(np.percentile(samples, 50)), 2), "p95_ms": round(float(np.percentile(samples, 95)), 2)}


def latency(matrix: np.ndarray, queries: np.ndarray, gallery: FaceGallery | None, repeat: int
            ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    numpy_ms, numpy_top = [], []
    for q in queries[:10]:  # warm-up: BLAS threads, page faults
        matrix @ q
    for q in queries[:repeat]:
        started = time.perf_counter()
        scores = matrix @ q
        part = np.argpartition(-scores, CAP - 1)[:CAP]
        order = part[np.argsort(-scores[part])]
        numpy_ms.append((time.perf_counter() - started) * 1000)
        numpy_top.append(order)
    out["numpy"] = percentiles(numpy_ms)
    if gallery is not None:
        gallery_ms = []
        for i, q in enumerate(queries[:repeat]):
            probe = template(f"P-{i}", q, 80, ReferenceKind.UNIDENTIFIED_TRACE)
            started = time.perf_counter()
            found = gallery.search(probe, CAP, -1.0)
            gallery_ms.append((time.perf_counter() - started) * 1000)
            assert [c.reference for c in found] == [f"R-{r}" for r in numpy_top[i]], "FaceGallery != numpy"
        out["face_gallery"] = percentiles(gallery_ms)
    try:
        import faiss  # type: ignore[import-not-found]
    except ImportError:
        out["faiss"] = "not installed (pip install faiss-cpu, the bench extra)"
        return out
    index = faiss.IndexFlatIP(matrix.shape[1])
    index.add(matrix)
    faiss_ms, same = [], 0
    index.search(queries[:10], CAP)  # warm-up
    for i, q in enumerate(queries[:repeat]):
        started = time.perf_counter()
        _, found = index.search(q[None, :], CAP)
        faiss_ms.append((time.perf_counter() - started) * 1000)
        same += int(list(found[0]) == list(numpy_top[i]))
    started = time.perf_counter()
    index.search(queries[:repeat], CAP)
    batch_ms = (time.perf_counter() - started) * 1000
    out["faiss_flat_ip"] = {**percentiles(faiss_ms), "same_top10_as_numpy": f"{same}/{repeat}",
                            "batch_ms_per_probe": round(batch_ms / repeat, 2), "threads": faiss.omp_get_max_threads()}
    del index
    return out


def gallery_of(matrix: np.ndarray) -> tuple[FaceGallery, float]:
    """The service's own gallery of the matrix's rows, and the bytes per template it takes (tracemalloc)."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    gallery = FaceGallery(initial_capacity=len(matrix))
    gallery.add_many(template(f"R-{i}", matrix[i], 80) for i in range(len(matrix)))
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return gallery, used / len(matrix)


def run(size: int, count: int, repeat: int, gallery_max: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    matrix, ids, fidelity = enrol(rng, size)
    mated, non_mated, cases, mates = probes(rng, ids, fidelity, count)
    generated_s = time.perf_counter() - started
    started = time.perf_counter()
    result: dict[str, Any] = {"size": size, "probes": count, "generate_s": round(generated_s, 1),
                              **accuracy(matrix, mated, non_mated, cases, mates)}
    result["accuracy_s"] = round(time.perf_counter() - started, 1)
    gallery = None
    if size <= gallery_max:
        gallery, per_template = gallery_of(matrix)
        result["face_gallery_bytes_per_template"] = round(per_template)
    result["matrix_bytes_per_template_float32"] = 512 * 4
    result["matrix_bytes_per_template_float16"] = 512 * 2
    result["latency"] = latency(matrix, np.vstack([mated, non_mated])[::max(1, 2 * count // repeat)], gallery, repeat)
    half = matrix.astype(np.float16)
    rows32, _ = top(matrix, mated[:100])
    rows16, _ = top(half.astype(np.float32), mated[:100])
    result["float16_same_top10"] = f"{int((rows32 == rows16).all(axis=1).sum())}/100"
    del half
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000")
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--latency-probes", type=int, default=200)
    parser.add_argument("--gallery-class-max", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
                              "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
                              "python": sys.version.split()[0], "numpy": np.__version__, "results": []}
    for size in (int(s) for s in args.sizes.split(",")):
        result = run(size, args.probes, args.latency_probes, args.gallery_class_max, args.seed)
        print(json.dumps(result), flush=True)
        report["results"].append(result)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
