"""The 1:1 matcher, the 1:N search and verification on the requesting side (FP-2), on synthetic fingers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from prum.federation.synthetic.afis import impression, master_finger, mated_probe, trace_impression
from prum.services.afis import kernels, matching
from prum.services.afis.gallery import Candidate, Gallery
from prum.services.afis.matching import VERIFY_THRESHOLD, Batch, encode, score, score_batch, verify
from prum.services.common.errors import Duplicate, InvalidInput, UnknownReference
from prum.services.common.reference import ReferenceKind


@pytest.fixture(scope="module")
def fingers():
    rng = np.random.default_rng(2026)
    masters = [master_finger(rng, pattern="left_loop" if i % 2 else "whorl") for i in range(60)]
    gallery = [impression(rng, m, f"NL-{i:04d}") for i, m in enumerate(masters)]
    return rng, masters, gallery


def test_mated_scores_are_well_above_impostor_scores(fingers):
    rng, masters, gallery = fingers
    encoded = [encode(t) for t in gallery]
    batch = Batch.of(encoded)
    mated, impostor = [], []
    for i in range(20):
        row = score_batch(encode(mated_probe(rng, masters[i], f"P{i}")), batch)
        mated.append(row[i])
        impostor.extend(np.delete(row, i))  # same pattern classes: loops and whorls only
    assert min(mated) > max(impostor), (min(mated), max(impostor))
    assert np.median(mated) > 1.5 * VERIFY_THRESHOLD and max(impostor) < VERIFY_THRESHOLD
    assert all(0.0 <= s <= 100.0 for s in mated + impostor)
    assert score(gallery[0], gallery[0]) > 90  # a template against itself


def test_one_to_n_finds_the_mate_at_rank_one_and_caps_the_list(fingers):
    rng, masters, gallery = fingers
    file = Gallery()
    assert file.add_many(gallery) == len(gallery)
    for i in (3, 17, 42):
        candidates = file.search(mated_probe(rng, masters[i], f"P{i}"), max_candidates=5)
        assert candidates[0].reference == f"NL-{i:04d}"
        assert len(candidates) <= 5 and all(isinstance(c, Candidate) for c in candidates)
        assert [c.score for c in candidates] == sorted((c.score for c in candidates), reverse=True)
    trace = trace_impression(rng, masters[8], "T-8")
    assert trace.kind is ReferenceKind.UNIDENTIFIED_TRACE and trace.finger_position == 0
    assert file.search(trace, max_candidates=3)[0].reference == "NL-0008"
    assert len(file.search(mated_probe(rng, masters[9], "P9"), max_candidates=1)) == 1
    with pytest.raises(InvalidInput, match="candidate count"):
        file.search(gallery[0], max_candidates=0)


def test_the_file_adds_removes_and_returns_stored_templates(fingers):
    rng, masters, gallery = fingers
    file = Gallery()
    file.add_many(gallery[:10])
    with pytest.raises(Duplicate):
        file.add(gallery[3])
    assert file.template("NL-0003") == gallery[3]
    assert file.remove("NL-0003") and not file.remove("NL-0003") and len(file) == 9
    with pytest.raises(UnknownReference):
        file.template("NL-0003")
    assert all(c.reference != "NL-0003" for c in file.search(mated_probe(rng, masters[3], "P3"), 10))
    file.add(gallery[20])  # added after the index was built: found through the pending keys
    assert file.search(mated_probe(rng, masters[20], "P20"), 3)[0].reference == "NL-0020"
    stats = file.stats()
    assert stats.templates == 10 and stats.identified_persons == 10 and stats.memory_bytes > 0


def test_the_requesting_state_verifies_each_candidate(fingers):
    rng, masters, gallery = fingers
    file = Gallery()
    file.add_many(gallery)
    probe = mated_probe(rng, masters[5], "P5")
    candidates = file.search(probe, max_candidates=4)
    verdicts = [verify(probe, file.template(c.reference)) for c in candidates]
    assert verdicts[0][1] is True and candidates[0].reference == "NL-0005"
    assert all(not is_match for _, is_match in verdicts[1:])
    assert abs(verdicts[0][0] - candidates[0].score) < 1e-6 + 0.01  # the same matcher, the same score
    value, is_match = verify(probe, gallery[6])
    assert not is_match and value < VERIFY_THRESHOLD


def test_resolution_does_not_change_the_match(fingers):
    rng, masters, gallery = fingers
    at_1000 = mated_probe(rng, masters[11], "P11", resolution_ppi=1000)
    assert at_1000.resolution_ppi == 1000 and at_1000.width == 832
    assert verify(at_1000, gallery[11])[1]


def test_a_search_leaves_nothing_of_the_probe_in_the_file(fingers):
    """PUR-2: the probe is read, never stored: the file's arrays and references are the same after a search."""
    rng, masters, gallery = fingers
    file = Gallery()
    file.add_many(gallery[:30])
    file.build_index()
    before = (len(file), file.memory_bytes(), file.stats())
    probe = mated_probe(rng, masters[4], "PROBE-1")
    file.search(probe, 5)
    assert (len(file), file.memory_bytes(), file.stats()) == before
    assert "PROBE-1" not in file


@pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed")
@pytest.mark.parametrize("trace", [False, True])
def test_compiled_and_numpy_scorers_agree(fingers, monkeypatch, trace):
    rng, masters, gallery = fingers
    batch = Batch.of([encode(t) for t in gallery])
    for i in range(3):
        probe = encode(mated_probe(rng, masters[i], f"K{i}", trace=trace))
        monkeypatch.setattr(matching, "USE_KERNELS", True)
        fast, fast_sim = score_batch(probe, batch, keep=20), matching.local_similarity(probe, batch)
        monkeypatch.setattr(matching, "USE_KERNELS", False)
        slow, slow_sim = score_batch(probe, batch, keep=20), matching.local_similarity(probe, batch)
        np.testing.assert_array_equal(fast_sim, slow_sim)  # popcounts on both paths, float32 alike
        np.testing.assert_allclose(fast, slow, rtol=1e-6, atol=1e-6)
        assert int(np.argmax(fast)) == i


def test_a_partial_print_is_scored_on_how_many_minutiae_agree(fingers, monkeypatch):
    """A trace on either side: the overlap counts enter as their geometric mean (PARTIAL_EXPONENT), never lower
    than the full-print form; two plain impressions are scored as before; search and verify agree."""
    rng, masters, gallery = fingers
    trace = trace_impression(rng, masters[12], "T-12")
    plain = mated_probe(rng, masters[13], "P13")
    assert encode(trace).partial and not encode(plain).partial
    batch = Batch.of([encode(t) for t in gallery])
    assert not batch.partial.any()
    as_trace, as_plain = score_batch(encode(trace), batch), score_batch(encode(plain), batch)
    monkeypatch.setattr(matching, "PARTIAL_EXPONENT", 1.0)
    trace_full_form, plain_full_form = score_batch(encode(trace), batch), score_batch(encode(plain), batch)
    np.testing.assert_array_equal(as_plain, plain_full_form)
    assert (as_trace >= trace_full_form - 1e-9).all() and as_trace[12] > trace_full_form[12]
    assert int(np.argmax(as_trace)) == 12 and as_trace[12] >= VERIFY_THRESHOLD
    assert np.sort(as_trace)[-2] < VERIFY_THRESHOLD  # impostors of the same pattern classes stay below
    monkeypatch.undo()
    # a trace held in the file is partial on the candidate side: a plain impression searching for it
    file = Gallery()
    file.add_many(gallery[:20] + [trace])
    assert file._batch(np.arange(21)).partial.tolist() == [False] * 20 + [True]
    again = impression(rng, masters[12], "P12-again")
    found = {c.reference: c.score for c in file.search(again, max_candidates=3)}
    assert "T-12" in found and "NL-0012" in found
    assert abs(found["T-12"] - verify(again, trace)[0]) < 0.01  # the requesting side's check: the same score
    value, _ = verify(trace, gallery[12])
    assert abs(value - round(float(as_trace[12]), 2)) < 0.01


@pytest.mark.parametrize("trace", [True, False])
def test_aligned_pairs_count_by_the_quality_of_their_poorer_minutia(fingers, trace):
    """Each aligned pair counts min(quality) / QUALITY_REFERENCE, quality 0 (not reported) counting as the
    reference, for a trace and a plain impression alike; the file keeps the qualities it was given."""
    rng, masters, gallery = fingers
    template = trace_impression(rng, masters[7], "T-7") if trace else mated_probe(rng, masters[7], "P7")
    probe = encode(template)
    batch = Batch.of([encode(t) for t in gallery[:12]])
    assert batch.quality[7, :len(gallery[7].minutiae)].tolist() == [m.quality for m in gallery[7].minutiae]

    def with_quality(encoded, value):
        return replace(encoded, quality=np.full(encoded.minutiae, value, np.uint8))

    def file_quality(value):
        return replace(batch, quality=np.full(batch.quality.shape, value, np.uint8))

    reference = int(matching.QUALITY_REFERENCE)
    at_reference = score_batch(with_quality(probe, reference), file_quality(reference))
    np.testing.assert_allclose(score_batch(with_quality(probe, 0), file_quality(0)), at_reference)
    assert at_reference[7] >= VERIFY_THRESHOLD and int(np.argmax(at_reference)) == 7
    # every pair at half the reference quality on the probe's side (the file's better): a quarter of the score
    halved = score_batch(with_quality(probe, reference // 2), file_quality(95))
    unclipped = at_reference < 100
    np.testing.assert_allclose(halved[unclipped], at_reference[unclipped] * (reference // 2 / reference) ** 2,
                               rtol=1e-6)
    # the poorer side decides, whichever it is
    np.testing.assert_allclose(score_batch(with_quality(probe, 95), file_quality(reference // 2)), halved, rtol=1e-6)
    # the generator's qualities (spurious minutiae 10-60): the mate stays first
    assert int(np.argmax(score_batch(probe, batch))) == 7
    file = Gallery()
    file.add_many(gallery[:12] + [impression(rng, masters[12], "NL-HIGH-RES", resolution_ppi=1000)])
    stored, made = file._batch(np.arange(13)), Batch.of([encode(file.template(r)) for r in file._references])
    np.testing.assert_array_equal(stored.quality[:12, :batch.quality.shape[1]], batch.quality)
    # the file's minutiae are the very float32 values `encode` gives: search and verification score alike
    present = np.arange(made.theta.shape[1])[None, :] < made.count[:, None]  # padding differs, and is never read
    for name in ("xy", "theta", "kinds", "quality"):
        np.testing.assert_array_equal(getattr(stored, name)[present], getattr(made, name)[present], err_msg=name)


@pytest.mark.parametrize("numpy_path", [False, True])
def test_a_candidate_scores_the_same_alone_and_padded_in_a_batch(fingers, monkeypatch, numpy_path):
    """A small candidate beside large ones is padded in a batch, and scores as it does alone: what a 1:N
    search gives a candidate is what a 1:1 comparison gives it, on the compiled and the numpy path."""
    rng, masters, gallery = fingers
    if numpy_path:
        monkeypatch.setattr(matching, "USE_KERNELS", False)
    encoded = [encode(t) for t in gallery]
    batch = Batch.of(encoded)
    for i in (2, 9, 30):
        probe = encode(trace_impression(np.random.default_rng(i), masters[i], f"T-{i}"))
        together = score_batch(probe, batch)
        alone = np.array([score_batch(probe, Batch.of([e]))[0] for e in encoded])
        np.testing.assert_array_equal(together, alone)


def test_a_trace_search_scores_its_candidates_as_verification_does(fingers, monkeypatch):
    """A trace's shortlist is aligned on the pose its triangles voted for; its finalists' scores are those of
    `score` (MCC hypotheses and the same pose, `triangle_pose`), on the compiled and the numpy path alike."""
    rng, masters, gallery = fingers
    file = Gallery(trace_finalists=8)
    file.add_many(gallery)
    for i in (5, 21, 33):
        trace = trace_impression(rng, masters[i], f"T-{i}")
        found = file.search(trace, max_candidates=4)
        assert found[0].reference == f"NL-{i:04d}"
        for candidate in found:
            assert round(score(trace, file.template(candidate.reference)), 2) == candidate.score
        pose = matching.triangle_pose(encode(trace), encode(gallery[i]))
        assert pose.valid[0]
        if kernels.AVAILABLE:
            monkeypatch.setattr(matching, "USE_KERNELS", False)
            monkeypatch.setattr(file._index, "compiled", False)
            assert file.search(trace, max_candidates=4) == found
            monkeypatch.undo()
