"""The synthetic fingerprint generator: deterministic, realistic counts, valid templates; the evaluation."""

from __future__ import annotations

import numpy as np
from prum.federation.demo.afis_evaluation import evaluate, write_det_plot
from prum.federation.synthetic.afis import (
    MIN_TRACE_MINUTIAE,
    PATTERN_CLASSES,
    impression,
    master_finger,
    population,
    trace_impression,
)
from prum.services.common.reference import ReferenceKind


def _draw(seed: int):
    rng = np.random.default_rng(seed)
    return [(m.pattern, t) for m, t in population(rng, 5)] + [("trace", trace_impression(rng, master_finger(rng), "T1"))]


def test_same_seed_same_templates_other_seed_other_templates():
    assert _draw(7) == _draw(7)
    assert _draw(7) != _draw(8)


def test_counts_classes_and_directions_are_realistic():
    rng = np.random.default_rng(1)
    counts, traces, patterns = [], [], set()
    for number in range(150):
        master = master_finger(rng)
        patterns.add(master.pattern)
        counts.append(len(impression(rng, master, f"P{number}").minutiae))
        trace = trace_impression(rng, master, f"T{number}")
        traces.append(len(trace.minutiae))
        assert trace.kind is ReferenceKind.UNIDENTIFIED_TRACE
    assert 30 <= np.percentile(counts, 10) and np.percentile(counts, 90) <= 60  # plain impression at 500 ppi
    assert min(traces) >= MIN_TRACE_MINUTIAE and np.median(traces) < np.median(counts) / 2  # partial
    assert {"left_loop", "right_loop", "whorl"} <= patterns <= set(PATTERN_CLASSES)
    master = master_finger(rng, pattern="right_loop")
    m = master.minutiae
    along = np.abs(np.sin(m[:, 2] - master.orientation(m[:, 0], m[:, 1])))
    assert np.all(along < 1e-6)  # every direction follows the ridge flow (either way along it)
    kinds = set(m[:, 3].astype(int))
    assert {1, 2} <= kinds


def test_evaluate_reports_the_measures_and_plots(tmp_path):
    result = evaluate(120, 12, seed=3, trace_share=0.25)
    assert result["rank1_plain"] == 1.0 and result["rank1_trace"] is not None
    assert 0.0 <= result["fnir_at_fpir_1pct"] <= 1.0
    assert result["latency_ms_p95"] >= result["latency_ms_p50"] > 0
    assert 1000 < result["memory_bytes_per_template"] and 30 < result["mean_minutiae_per_template"] < 60
    assert result["by_kind"]["trace"]["searches"] == 3
    path = write_det_plot(result, tmp_path / "det.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
