"""The 1:N pre-selection by geometric hashing of minutia triangles (services/afis/hashing.py)."""

from __future__ import annotations

import numpy as np
import pytest

from prum.federation.synthetic.afis import impression, master_finger, mated_probe
from prum.services.afis import hashing, kernels
from prum.services.afis.matching import encode


def _moved(xy: np.ndarray, theta: np.ndarray, turn: float, shift: tuple[float, float]):
    c, s = np.cos(turn), np.sin(turn)
    return np.stack([c * xy[:, 0] - s * xy[:, 1] + shift[0], s * xy[:, 0] + c * xy[:, 1] + shift[1]], axis=1), \
        theta + turn


@pytest.fixture(scope="module")
def population():
    rng = np.random.default_rng(615)
    masters = [master_finger(rng) for _ in range(250)]
    gallery = [encode(impression(rng, m, f"G{i:04d}")) for i, m in enumerate(masters)]
    index = hashing.TriangleIndex()
    counts = []
    for slot, e in enumerate(gallery):
        found = hashing.triangles(e.xy, e.theta)
        index.add(slot, found)
        counts.append(found.count)
    index.build()
    return rng, masters, gallery, index, np.array(counts, float)


def test_triangle_keys_do_not_change_under_rotation_and_translation(population, monkeypatch):
    _, _, gallery, _, _ = population
    e = gallery[0]
    base = hashing.triangles(e.xy, e.theta)
    xy, theta = _moved(e.xy.astype(float), e.theta.astype(float), np.radians(37.0), (120.0, -55.0))
    moved = hashing.triangles(xy, theta)
    assert base.count > 100 and moved.count == base.count
    np.testing.assert_allclose(np.sort(moved.values[:, 0, :3], axis=0), np.sort(base.values[:, 0, :3], axis=0),
                               atol=1e-3)
    same = np.isin(moved.keys[:, 0], base.keys[:, 0]).mean()
    assert same > 0.97  # only values on a bin edge may flip with float rounding
    # the probe form holds every cyclic order: each gallery key is among the probe's keys of the same template
    # (with the probe's triangles not capped in number nor size)
    monkeypatch.setattr(hashing, "MAX_PROBE_TRIANGLES", 10_000)
    monkeypatch.setattr(hashing, "PROBE_MAX_SIDE", hashing.MAX_SIDE)
    probe = hashing.triangles(xy, theta, probe=True)
    keys, _, _ = hashing.probe_keys(probe.values.reshape(-1, 6))
    assert np.isin(base.keys[:, 0], keys).mean() > 0.97


def test_the_minutia_order_does_not_matter(population):
    _, _, gallery, _, _ = population
    e = gallery[1]
    order = np.random.default_rng(1).permutation(e.minutiae)
    a = hashing.triangles(e.xy, e.theta)
    b = hashing.triangles(e.xy[order], e.theta[order])
    assert sorted(a.keys[:, 0].tolist()) == sorted(b.keys[:, 0].tolist())


def test_a_moved_copy_of_a_gallery_template_gets_the_most_votes(population):
    _, _, gallery, index, counts = population
    for slot in (3, 77, 201):
        e = gallery[slot]
        xy, theta = _moved(e.xy.astype(float), e.theta.astype(float), np.radians(-130.0 + slot), (-300.0, 90.0))
        votes = index.votes(hashing.triangles(xy, theta, probe=True), len(gallery), counts)
        assert int(np.argmax(votes)) == slot


def test_pre_selection_recall_on_mated_impressions_and_traces(population):
    rng, masters, gallery, index, counts = population
    ranks = {False: [], True: []}
    for n in range(30):
        slot = int(rng.integers(len(masters)))
        trace = n % 3 == 0
        e = encode(mated_probe(rng, masters[slot], f"Q{n}", trace=trace))
        votes = index.votes(hashing.triangles(e.xy, e.theta, probe=True), len(gallery), counts)
        ranks[trace].append(int((votes > votes[slot]).sum()))
    plain, traces = np.array(ranks[False]), np.array(ranks[True])
    assert (plain == 0).mean() >= 0.95, plain
    assert (traces < 25).mean() >= 0.7, traces  # a shortlist of 10 % of this small file


def test_pending_entries_are_searched_before_a_rebuild(population):
    _, _, gallery, _, _ = population
    index = hashing.TriangleIndex()
    counts = []
    for slot, e in enumerate(gallery[:40]):
        found = hashing.triangles(e.xy, e.theta)
        index.add(slot, found)
        counts.append(found.count)
        if slot == 20:
            index.build()
    assert index.pending > 0
    probe = hashing.triangles(gallery[30].xy, gallery[30].theta, probe=True)
    before = index.votes(probe, 40, np.array(counts, float))
    index.build()
    after = index.votes(probe, 40, np.array(counts, float))
    assert index.pending == 0 and int(np.argmax(before)) == 30
    np.testing.assert_array_equal(before, after)


def test_small_or_degenerate_templates_have_no_triangles():
    assert hashing.triangles(np.zeros((2, 2)), np.zeros(2)).count == 0
    line = np.stack([np.arange(10) * 25.0, np.zeros(10)], axis=1)  # collinear: no stable orientation
    assert hashing.triangles(line, np.zeros(10)).count == 0
    index = hashing.TriangleIndex()
    assert not index.votes(hashing.triangles(line, np.zeros(10), probe=True), 3, np.ones(3)).any()


@pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed")
@pytest.mark.parametrize("trace", [False, True])
def test_compiled_and_numpy_votes_agree(population, trace):
    rng, masters, gallery, _, counts = population
    index = hashing.TriangleIndex()
    for slot, e in enumerate(gallery):
        index.add(slot, hashing.triangles(e.xy, e.theta))
        if slot == 180:
            index.build()  # the rest stays pending: both parts are searched
    assert index.pending > 0
    for n in range(4):
        slot = int(rng.integers(len(masters)))
        e = encode(mated_probe(rng, masters[slot], f"A{n}", trace=trace))
        probe = hashing.triangles(e.xy, e.theta, probe=True)
        index.compiled = True
        fast = index.votes(probe, len(gallery), counts, trace=trace)
        fast_votes, fast_poses = index.votes_and_poses(probe, len(gallery), counts, trace=trace)
        index.compiled = False
        slow = index.votes(probe, len(gallery), counts, trace=trace)
        slow_votes, slow_poses = index.votes_and_poses(probe, len(gallery), counts, trace=trace)
        np.testing.assert_array_equal(fast, slow)
        np.testing.assert_array_equal(fast_votes, fast)
        np.testing.assert_array_equal(fast_votes, slow_votes)
        np.testing.assert_array_equal(fast_poses.member, slow_poses.member)
        np.testing.assert_array_equal(fast_poses.pose, slow_poses.pose)  # the same sums in the same order
        assert fast.max() > 0 and (fast_poses.pose[:, 0] >= 1).all()


def test_the_votes_give_the_pose_of_a_moved_copy(population):
    """The fullest pose cell of a moved copy of a template, averaged over its hits, is about the move
    (`Poses.alignment`): a start for the global check, which refits."""
    _, _, gallery, index, counts = population
    for slot, turn, shift in ((7, 0.6, (40.0, -25.0)), (99, -0.3, (-120.0, 60.0))):
        e = gallery[slot]
        xy, theta = _moved(e.xy.astype(np.float64), e.theta.astype(np.float64), -turn, shift)
        probe = hashing.triangles(xy, theta, probe=True, whole=True)
        for compiled in (True, False):
            index.compiled = compiled
            votes, poses = index.votes_and_poses(probe, len(gallery), counts, trace=True)
            assert int(np.argmax(votes)) == slot
            rotation, moved, valid = poses.alignment(np.array([slot]), xy.mean(axis=0),
                                                     e.xy.astype(np.float64).mean(axis=0)[None, :])
            c, s = np.cos(rotation[0]), np.sin(rotation[0])
            back = np.stack([c * xy[:, 0] - s * xy[:, 1], s * xy[:, 0] + c * xy[:, 1]], axis=1) + moved[0]
            assert valid[0] and abs((rotation[0] - turn + np.pi) % (2 * np.pi) - np.pi) < 0.02
            assert np.abs(back - e.xy).max() < 4.0  # centroids in whole pixels, directions in 1/256 turns: a start
    index.compiled = kernels.AVAILABLE


def test_contenders_are_chosen_per_triangle_not_by_raw_hits(population, monkeypatch):
    # a mate with few triangles collects fewer raw hits than large unrelated templates; it must still
    # go through the pose vote (the previous selection by raw hits dropped such mates)
    _, masters, gallery, index, counts = population
    rng = np.random.default_rng(0)
    monkeypatch.setattr(hashing, "CONTENDERS", 25)  # 10 % of the file
    small = np.argsort(counts)[: len(counts) // 4]
    found = 0
    for n, slot in enumerate(small[:12]):
        e = encode(mated_probe(rng, masters[int(slot)], f"C{n}"))
        votes = index.votes(hashing.triangles(e.xy, e.theta, probe=True), len(gallery), counts)
        found += int(np.argmax(votes)) == int(slot)
    assert found >= 10  # by raw hits, only 5 of these 12 mates were among the 25 contenders


def test_the_gallery_and_traces_use_longer_triangles_than_a_plain_probe(monkeypatch):
    """Gallery and trace triangles reach MAX_SIDE, a plain probe's PROBE_MAX_SIDE; `short_count` is how many of a
    template's triangles lie within PLAIN_MAX_SIDE (a plain probe's votes are normalised by it), i.e. what the
    gallery held when its triangles stopped there."""
    rng = np.random.default_rng(140)
    e = encode(impression(rng, master_finger(rng), "G"))
    gallery = hashing.triangles(e.xy, e.theta)
    plain = hashing.triangles(e.xy, e.theta, probe=True)
    trace = hashing.triangles(e.xy, e.theta, probe=True, whole=True)
    longest = gallery.values[:, 0, :3].max(axis=1)
    assert hashing.PLAIN_MAX_SIDE < longest.max() <= hashing.MAX_SIDE
    assert plain.values[..., :3].max() <= hashing.PROBE_MAX_SIDE < hashing.PLAIN_MAX_SIDE
    assert trace.values[..., :3].max() > hashing.PLAIN_MAX_SIDE
    assert 0 < gallery.short_count < gallery.count and gallery.short_count == int((longest <= hashing.PLAIN_MAX_SIDE).sum())
    monkeypatch.setattr(hashing, "MAX_SIDE", hashing.PLAIN_MAX_SIDE)
    assert hashing.triangles(e.xy, e.theta).count == gallery.short_count


def test_a_trace_keeps_only_the_entries_within_its_tolerance():
    """Each entry keeps the quarter of its bin each invariant lies in; a trace's look-ups keep the entries whose
    quarters touch its value +- the tolerance, a plain probe's keep every entry of the key."""
    rng = np.random.default_rng(8)
    values = np.column_stack([rng.uniform(hashing.MIN_SIDE, hashing.MAX_SIDE, (400, 3)),
                              rng.uniform(0, 2 * np.pi, (400, 3))])
    tolerance = (hashing.TRACE_SIDE_TOLERANCE, hashing.TRACE_ANGLE_TOLERANCE)
    keys, source, allowed = hashing.probe_keys(values, hashing.TRACE_SIDE_MARGIN, hashing.TRACE_ANGLE_MARGIN,
                                               tolerance)
    _, _, everything = hashing.probe_keys(values, hashing.TRACE_SIDE_MARGIN, hashing.TRACE_ANGLE_MARGIN)
    assert (everything == hashing.ALL_QUARTERS).all() and (allowed != hashing.ALL_QUARTERS).mean() > 0.9
    # the probe's own key and quarter are always kept
    own = hashing._quantise(values)
    fine = hashing._fine(values)
    for row in range(len(values)):
        mine = (source == row) & (keys == own[row])
        assert mine.sum() == 1 and kernels.within(allowed[mine], fine[row:row + 1])[0]
    # an entry nudged within the tolerance in every invariant (and within the margin: the far neighbour bin is
    # not looked up) is kept under one of the row's keys; one nudged past the tolerance in one side is not
    reach = np.array([min(tolerance[0], hashing.TRACE_SIDE_MARGIN)] * 3 +
                     [min(tolerance[1], hashing.TRACE_ANGLE_MARGIN)] * 3)
    for row in range(100):
        for nudge, kept in ((rng.uniform(-0.95, 0.95, 6) * reach, True), (None, False)):
            if nudge is None:
                nudge = np.zeros(6)
                nudge[row % 3] = (tolerance[0] + hashing.SIDE_BIN / hashing.FINE + 0.5) * (1 if row % 2 else -1)
            other = values[row] + nudge
            other[3:] %= 2 * np.pi
            key, fine = hashing._quantise(other[None])[0], hashing._fine(other[None])[0]
            found = (source == row) & (keys == key)
            hit = bool(found.any()) and bool(kernels.within(allowed[found][:1], np.array([fine]))[0])
            assert hit == kept, (row, nudge)


def test_the_tolerance_drops_chance_hits_and_keeps_a_traces_mates_rank(population, monkeypatch):
    """Against this file, a trace's tolerance takes most hits on other templates away, and its mates rank
    at least as well overall as with every entry of the looked-up bins."""
    rng, masters, gallery, index, counts = population
    hits = {True: 0, False: 0}
    ranks: dict[bool, list[int]] = {True: [], False: []}
    for n in range(16):
        slot = int(rng.integers(len(masters)))
        e = encode(mated_probe(rng, masters[slot], f"T{n}", trace=True))
        probe = hashing.triangles(e.xy, e.theta, probe=True, whole=True)
        for tolerant in (True, False):
            if not tolerant:  # every quarter of the looked-up bins
                monkeypatch.setattr(hashing, "TRACE_SIDE_TOLERANCE", 99.0)
                monkeypatch.setattr(hashing, "TRACE_ANGLE_TOLERANCE", np.pi)
            keys, source, allowed = hashing.probe_keys(probe.values.reshape(-1, 6), hashing.TRACE_SIDE_MARGIN,
                                                       hashing.TRACE_ANGLE_MARGIN, (hashing.TRACE_SIDE_TOLERANCE,
                                                                                    hashing.TRACE_ANGLE_TOLERANCE))
            entries, query = index._main.lookup(keys)
            kept = kernels.within(allowed[query], index._main.fine[entries])
            hits[tolerant] += int((kept & (index._main.slot[entries] != slot)).sum())
            votes = index.votes(probe, len(gallery), counts, trace=True)
            ranks[tolerant].append(int((votes > votes[slot]).sum()))
            monkeypatch.undo()
    assert hits[True] < 0.6 * hits[False], hits
    assert sum(ranks[True]) <= sum(ranks[False]), ranks
