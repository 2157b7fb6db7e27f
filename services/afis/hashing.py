"""Geometric hashing of minutia triangles: the 1:N pre-selection of the AFIS (FP-2).

Every template is cut into *triangles* of minutiae: three minutiae whose pairwise distances lie
within `MIN_SIDE`-`MAX_SIDE` px (500 ppi) and that are not nearly collinear. A triangle is taken
counter-clockwise (mirror images do not occur between impressions, so the orientation is
invariant), and described by six numbers that rotation and translation leave unchanged: its three
sides and, at each vertex, the angle between the minutia's direction and the outgoing side. The
numbers are quantised into a *key* (sides in `SIDE_BIN` px bins, angles in `ANGLE_BINS` sectors).

Index (built once, grown by a small sorted *pending* part between rebuilds): for every gallery
triangle, one entry (template slot, direction of its first side in 1/256 turns, centroid relative
to the template's mean, int16 px, and the quarter of its bin each of the six numbers lies in: 11
bytes), sorted by key; an offsets table over the whole key space
(`KEY_SPACE` keys) finds a key's entries in one look-up (the pending part: `np.searchsorted`). The
gallery stores one cyclic order of each triangle (the one starting at its longest side); the probe
looks up all three cyclic orders, so the choice of the first vertex need not agree between
impressions.

Noise: a probe value close to a bin edge (within `SIDE_MARGIN` px or `ANGLE_MARGIN` radians; a
trace: `TRACE_SIDE_MARGIN`, `TRACE_ANGLE_MARGIN`) also looks up the neighbouring bin, in every
combination over the six numbers. A trace's invariants differ from its mate's by more than a
plain probe's (its side lengths by 10 px and its angles by 22 degrees at the 90th percentile), so it
always looks up the nearer neighbour, and then keeps only the entries whose six numbers lie, to a
quarter of a bin, within `TRACE_SIDE_TOLERANCE` and `TRACE_ANGLE_TOLERANCE` of its own: most chance
entries of a two-bin look-up lie farther (`probe_keys`' allowed quarters, checked per entry by the
vote kernels).

Votes (Hough consistency, `kernels.hough_votes`): every hit is counted for its template and the
rotation it implies (integer arithmetic on 1/256 turns, `ROTATION_BINS` sectors on two staggered
grids); the `CONTENDERS` templates with the largest such rotation peak per sqrt(triangles) go on
(counting all hits regardless of rotation left more mates out: BENCHMARKS.md), and each of their hits votes
for the pose it implies: the rotation between the two triangles (gallery first-side direction
minus probe first-side direction, `ROTATION_BINS` sectors) and the translation taking the probe
triangle's centroid onto the gallery's (`TRANSLATION_BIN` px cells), on two grids staggered by half
a cell so that a cluster cut by one grid's edge is whole in the other. A mate's votes pile up in
one pose cell, chance agreements spread over all of them. A template's score is its largest cell
divided by sqrt(the template's triangles), so that large templates, which collect more chance
votes, do not crowd out the small ones. Compiled with numba (three passes over the hits with small
counters), or the same in numpy (a sort of the hits' codes): no Python loop over templates.

numpy and numba, no gRPC; the probe's keys are computed, used and dropped (PUR-2).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from prum.services.afis import kernels

MIN_SIDE = 20.0
MAX_SIDE = 140.0
"""Triangle sides in px at 500 ppi (about 1-7 mm) in the gallery and in a trace. A trace is a patch of
190-300 px whose minutiae shared with the file's impression are few; triangles up to 140 px (110 before)
give it about twice as many shared ones (at 100k, 300 traces: its mate in the pre-selection's top 300
for 88 % instead of 79 %), at 2.5 times the index entries per template (about 1,150)."""
PLAIN_MAX_SIDE = 110.0
"""A plain probe's triangles stay within this (`PROBE_MAX_SIDE` below): it has plenty, and its votes
are normalised by each template's triangles within this size (`short_count`), as before the
gallery's triangles grew to `MAX_SIDE`."""
MIN_HEIGHT = 8.0
"""Nearly collinear triangles (smallest height below this, px) are skipped: their orientation is unstable."""
PROBE_MAX_SIDE = PLAIN_MAX_SIDE - 8.0
"""The probe uses triangles a bit smaller than the gallery's, so noise at the limit does not lose the mate's."""
SIDE_BIN = 12.0
ANGLE_BINS = 12
SIDE_MARGIN = 4.0
ANGLE_MARGIN = np.radians(10.0)
"""A probe value this close to a bin edge also looks up the neighbouring bin (a third of a bin: on
average (1 + 2/3)^6 = 21 keys per triangle order instead of 64, for a few per cent of a plain
probe's true triangle pairs)."""
TRACE_SIDE_MARGIN = 6.0
TRACE_ANGLE_MARGIN = np.radians(15.0)
"""A trace has few triangles, each of them precious: it always looks up the nearer neighbouring bin."""
FINE = kernels.FINE
"""Every index entry also keeps where in its bin each of its six invariants lies (a quarter of the bin: 2 bits
each, `fine`), so a look-up can keep only the entries near the probe's value."""
TRACE_SIDE_TOLERANCE = 10.0
TRACE_ANGLE_TOLERANCE = np.radians(25.0)
"""A trace keeps a hit only when each of the entry's invariants lies (to a quarter of a bin) within this of its
own (and in the bins it looks up). Ground truth (`bench/afis_trace_truth.py --invariants`): a trace's triangle
sides differ from its mate's by 4 px at the median and 10 px at the 90th percentile, its angles by 9 and 21
degrees; two whole bins per invariant keep 65 % of the genuine triangles and every other entry of both bins,
this tolerance 61 % of the genuine ones and 48 % of the others. At 100k, 390 traces: rank-1 0.897
-> 0.915, mates outside the vote's top 2,000 24 -> 17, search CPU p95 252 -> 221 ms (6 px and 15 degrees:
0.856; 8 and 20: 0.900; 9 and 22.5: 0.913; 12 and 30: 0.905)."""
ALL_QUARTERS = kernels.ALL_QUARTERS
"""The allowed-quarter mask (`probe_keys`) that keeps every entry of a key: a plain probe's look-ups."""
ROTATION_BINS = kernels.ROTATION_BINS
TRANSLATION_BIN = kernels.TRANSLATION_BIN
MAX_PROBE_TRIANGLES = 200
CONTENDERS = 3000
"""Only the templates with the largest rotation-consistent hit count per sqrt(triangles) (at most this
many) go through the full pose vote."""
TRACE_CONTENDERS = 20000
"""The same for a trace: its few hits tell the mate apart less well before the full pose vote."""


def _side_bins() -> int:
    return int(np.ceil(MAX_SIDE / SIDE_BIN)) + 1


KEY_SPACE = _side_bins() ** 3 * ANGLE_BINS ** 3

_COMBOS = np.array(list(itertools.product((0, 1), repeat=6)), dtype=bool)  # (64, 6)


@dataclass(frozen=True)
class Triangles:
    """Keys and first-side directions of a template's triangles.

    keys (t, r) int32 and rotation (t, r) float (radians) for r cyclic orders (1 for a gallery
    template, 3 for a probe); values (t, r, 6) the unquantised invariants; fine (t, r) where in
    their bins the invariants lie (`FINE`: 2 bits each, the first invariant lowest).
    """

    keys: np.ndarray
    rotation: np.ndarray
    values: np.ndarray
    origin: np.ndarray
    fine: np.ndarray

    @property
    def count(self) -> int:
        return int(self.keys.shape[0])

    @property
    def short_count(self) -> int:
        """Triangles whose sides are all within `PLAIN_MAX_SIDE` (what a plain probe can meet)."""
        return int((self.values[:, 0, :3].max(axis=1) <= PLAIN_MAX_SIDE).sum()) if self.count else 0


def _wrap(a: np.ndarray) -> np.ndarray:
    return np.mod(a, 2 * np.pi)


def triangles(xy: np.ndarray, theta: np.ndarray, *, probe: bool = False, whole: bool = False) -> Triangles:
    """The triangles of a template (xy in px at 500 ppi, theta radians; any frame with a fixed handedness).

    A probe's triangles have sides up to `PROBE_MAX_SIDE`, or `MAX_SIDE` with `whole` (a trace,
    whose few triangles are each worth the look-ups).
    """
    xy = np.asarray(xy, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64)
    n = len(theta)
    rotations = 3 if probe else 1
    empty = Triangles(np.zeros((0, rotations), np.int64), np.zeros((0, rotations)), np.zeros((0, rotations, 6)),
                      np.zeros((0, rotations, 2)), np.zeros((0, rotations), np.int64))
    if n < 3:
        return empty
    limit = PROBE_MAX_SIDE if probe and not whole else MAX_SIDE
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    near = (d >= MIN_SIDE) & (d <= limit)
    i, j = np.nonzero(np.triu(near, 1))
    if len(i) == 0:
        return empty
    third = near[i] & near[j] & (np.arange(n)[None, :] > j[:, None])  # (pairs, n): k > j, near both
    p, k = np.nonzero(third)
    tri = np.stack([i[p], j[p], k], axis=1)  # (t, 3), i < j < k
    if len(tri) == 0:
        return empty
    a, b, c = xy[tri[:, 0]], xy[tri[:, 1]], xy[tri[:, 2]]
    cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    sides = np.stack([d[tri[:, 0], tri[:, 1]], d[tri[:, 1], tri[:, 2]], d[tri[:, 2], tri[:, 0]]], axis=1)
    height = np.abs(cross) / sides.max(axis=1)
    keep = height >= MIN_HEIGHT
    tri, cross = tri[keep], cross[keep]
    if probe and len(tri) > MAX_PROBE_TRIANGLES:  # an evenly spread, deterministic subset bounds the search cost
        tri, cross = tri[np.linspace(0, len(tri) - 1, MAX_PROBE_TRIANGLES).astype(np.int64)], \
            cross[np.linspace(0, len(tri) - 1, MAX_PROBE_TRIANGLES).astype(np.int64)]
    # counter-clockwise order
    clockwise = cross < 0
    tri[clockwise] = tri[clockwise][:, [0, 2, 1]]
    # cyclic order starting at the longest outgoing side (gallery), or all three (probe)
    pts = xy[tri]  # (t, 3, 2)
    nxt = np.roll(pts, -1, axis=1)
    edge = nxt - pts
    length = np.hypot(edge[..., 0], edge[..., 1])  # side v_i -> v_{i+1}
    direction = np.arctan2(edge[..., 1], edge[..., 0])
    phi = _wrap(theta[tri] - direction)  # minutia direction relative to its outgoing side
    if probe:
        starts = np.broadcast_to(np.arange(3), (len(tri), 3))
    else:
        starts = np.argmax(length, axis=1)[:, None]
    order = (starts[..., None] + np.arange(3)) % 3  # (t, r, 3)
    rows = np.arange(len(tri))[:, None, None]
    values = np.concatenate([length[rows, order], phi[rows, order]], axis=-1)  # (t, r, 6)
    rotation = direction[np.arange(len(tri))[:, None], starts]
    origin = np.broadcast_to((pts.mean(axis=1) - xy.mean(axis=0))[:, None, :], (len(tri), rotations, 2))  # centroid, centred
    return Triangles(_quantise(values), rotation, values, origin, _fine(values))


def _scaled(values: np.ndarray) -> np.ndarray:
    """Invariants in bin units (sides in `SIDE_BIN`, angles in 1 / `ANGLE_BINS` turns)."""
    return np.concatenate([values[..., :3] / SIDE_BIN, values[..., 3:] / (2 * np.pi) * ANGLE_BINS], axis=-1)


def _quantise(values: np.ndarray) -> np.ndarray:
    side = np.clip((values[..., :3] / SIDE_BIN).astype(np.int64), 0, _side_bins() - 1)
    angle = np.clip((values[..., 3:] / (2 * np.pi) * ANGLE_BINS).astype(np.int64), 0, ANGLE_BINS - 1)
    return _pack(side, angle)


def _fine(values: np.ndarray) -> np.ndarray:
    """The quarter of its bin each invariant lies in, 2 bits each (the first invariant in the lowest bits)."""
    scaled = _scaled(values)
    quarter = np.clip(((scaled - np.floor(scaled)) * FINE).astype(np.int64), 0, FINE - 1)
    return (quarter << (2 * np.arange(6))).sum(axis=-1)


def _pack(side: np.ndarray, angle: np.ndarray) -> np.ndarray:
    key = np.zeros(side.shape[:-1], np.int64)
    for column in range(3):
        key = key * _side_bins() + side[..., column]
    for column in range(3):
        key = key * ANGLE_BINS + angle[..., column]
    return key


def probe_keys(values: np.ndarray, side_margin: float | None = None, angle_margin: float | None = None,
               tolerance: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keys a probe looks up for triangle invariants (m, 6): with the neighbouring bins near edges.

    Returns (keys, source, allowed): source[q] is the row of `values` that key q came from; allowed[q]
    the quarters of key q's bins whose entries are kept (bit 4 i + j: invariant i, quarter j): those
    within `tolerance` (px, radians) of the probe's value, or all of them (`ALL_QUARTERS`) without one.
    """
    m = len(values)
    if m == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.int64)
    scaled = _scaled(values)
    low = np.floor(scaled).astype(np.int64)
    frac = scaled - low
    side_margin = SIDE_MARGIN if side_margin is None else side_margin
    angle_margin = ANGLE_MARGIN if angle_margin is None else angle_margin
    margin = np.array([side_margin / SIDE_BIN] * 3 + [angle_margin / (2 * np.pi) * ANGLE_BINS] * 3)
    step = np.where(frac < margin, -1, np.where(frac > 1 - margin, 1, 0))  # (m, 6)
    # every combination of "own bin" / "neighbour bin" over the dimensions that have a neighbour
    other = low + step
    choice = np.where(_COMBOS[None, :, :], other[:, None, :], low[:, None, :])  # (m, 64, 6)
    needed = (~_COMBOS[None, :, :] | (step[:, None, :] != 0)).all(axis=2)  # a combination only uses real neighbours
    side = choice[..., :3]
    angle = np.mod(choice[..., 3:], ANGLE_BINS)
    valid = needed & (side >= 0).all(axis=2) & (side < _side_bins()).all(axis=2)
    row, combo = np.nonzero(valid)
    keys = _pack(side[row, combo], angle[row, combo])
    allowed = np.full(len(keys), ALL_QUARTERS, np.int64)
    if tolerance is not None and len(keys):
        reach = np.array([tolerance[0] / SIDE_BIN] * 3 + [tolerance[1] / (2 * np.pi) * ANGLE_BINS] * 3)
        value = scaled[row][..., None]  # (q, 6, 1), the same unwrapped frame as the bins chosen
        start = choice[row, combo][..., None] + np.arange(FINE) / FINE  # (q, 6, FINE) each quarter's start
        near = (start + 1.0 / FINE > value - reach[:, None]) & (start < value + reach[:, None])
        allowed = (near.reshape(len(keys), 6 * FINE).astype(np.int64) << np.arange(6 * FINE)).sum(axis=1)
    return keys, row, allowed


class _Entries:
    """Index entries sorted by key: template slot, first-side direction (1/256 turns), centroid (px), and
    where in its bins the triangle's invariants lie (`fine`, 2 bytes).

    The large part (`dense`) finds a key's entries through an offsets table over the whole key space
    (one look-up, no search); the small pending part keeps its keys and is searched with
    `np.searchsorted`.
    """

    keys: np.ndarray | None  #: None in the dense part (its offsets find the entries)
    offsets: np.ndarray | None  #: None in the pending part (its keys are searched)

    def __init__(self, keys: np.ndarray, slot: np.ndarray, direction: np.ndarray, centroid: np.ndarray,
                 fine: np.ndarray, *, dense: bool = False) -> None:
        order = np.argsort(keys, kind="stable")
        keys = np.ascontiguousarray(keys[order], dtype=np.int32)
        self.slot = np.ascontiguousarray(slot[order], dtype=np.int32)
        self.direction = np.ascontiguousarray(direction[order], dtype=np.uint8)
        self.centroid = np.ascontiguousarray(centroid[order], dtype=np.int16)
        self.fine = np.ascontiguousarray(fine[order], dtype=np.uint16)
        if dense:
            self.keys = None
            self.offsets = np.zeros(KEY_SPACE + 1, np.int64)
            np.cumsum(np.bincount(keys, minlength=KEY_SPACE), out=self.offsets[1:])
        else:
            self.keys, self.offsets = keys, None

    def __len__(self) -> int:
        return len(self.slot)

    def _offsets(self) -> np.ndarray:
        """The offsets table of the dense part (the one without keys)."""
        assert self.offsets is not None, "only the dense part (keys None) has offsets"
        return self.offsets

    @property
    def nbytes(self) -> int:
        table = self._offsets() if self.keys is None else self.keys
        return table.nbytes + self.slot.nbytes + self.direction.nbytes + self.centroid.nbytes + self.fine.nbytes

    def all_keys(self) -> np.ndarray:
        if self.keys is not None:
            return self.keys
        return np.repeat(np.arange(KEY_SPACE, dtype=np.int32), np.diff(self._offsets()))

    def ranges(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(start, end) of the entries of each of `keys`."""
        if self.keys is None:
            offsets = self._offsets()
            return offsets[keys], offsets[keys + 1]
        return np.searchsorted(self.keys, keys, side="left"), np.searchsorted(self.keys, keys, side="right")

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(entry rows, query index) of every entry whose key is one of `keys`."""
        start, end = self.ranges(keys)
        lengths = end - start
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        query = np.repeat(np.arange(len(keys)), lengths)
        offset = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return np.repeat(start, lengths) + offset, query


_EMPTY = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 2)), np.zeros(0, np.int64))
_DIRECTION = np.arange(256) * (2 * np.pi / 256)
_DIRECTION_COS, _DIRECTION_SIN = np.cos(_DIRECTION), np.sin(_DIRECTION)


class TriangleIndex:
    """The inverted index of gallery triangles: a large sorted part and a small sorted pending part.

    `add` appends to the pending part (re-sorted at the next search); `build` merges everything into
    the large part. Removed templates keep their entries until the owner rebuilds; the owner masks them.
    `compiled` (default: whether numba is installed) chooses the compiled vote kernel or its numpy twin.
    """

    def __init__(self) -> None:
        self._main = _Entries(*_EMPTY, dense=True)
        self._chunks: list[tuple[np.ndarray, ...]] = []
        self._pending: _Entries | None = None
        self._pending_size = 0
        self.compiled = kernels.AVAILABLE

    def __len__(self) -> int:
        return len(self._main) + self._pending_size

    @property
    def pending(self) -> int:
        return self._pending_size

    @property
    def nbytes(self) -> int:
        chunks = sum(sum(a.nbytes for a in chunk) for chunk in self._chunks)
        return self._main.nbytes + (self._pending.nbytes if self._pending is not None else 0) + chunks

    def add(self, slot: int, found: Triangles) -> None:
        if found.count == 0:
            return
        self._chunks.append((found.keys[:, 0].astype(np.int32), np.full(found.count, slot, np.int32),
                             (rotation_turns(found.rotation[:, 0])).astype(np.uint8),
                             np.round(found.origin[:, 0]).astype(np.int16), found.fine[:, 0].astype(np.uint16)))
        self._pending = None
        self._pending_size += found.count

    def _pending_part(self) -> _Entries | None:
        if self._pending is None and self._chunks:
            pending = _Entries(*(np.concatenate(column) for column in zip(*self._chunks)))
            assert pending.keys is not None  # the pending part is never dense: it keeps its keys
            self._pending = pending
            self._chunks = [(pending.keys, pending.slot, pending.direction, pending.centroid, pending.fine)]
        return self._pending

    def build(self) -> None:
        """Merge the pending entries into the large sorted part."""
        part = self._pending_part()
        if part is None:
            return
        main = self._main
        self._main = _Entries(np.concatenate([main.all_keys(), part.keys]), np.concatenate([main.slot, part.slot]),
                              np.concatenate([main.direction, part.direction]),
                              np.concatenate([main.centroid, part.centroid]), np.concatenate([main.fine, part.fine]),
                              dense=True)
        self._chunks, self._pending, self._pending_size = [], None, 0

    def votes(self, probe: Triangles, slots: int, triangle_counts: np.ndarray, *, trace: bool = False) -> np.ndarray:
        """(slots,) the pre-selection score of every template slot for a probe (see the module docstring).

        A trace looks up wider neighbourhoods of its keys (`TRACE_SIDE_MARGIN`, `TRACE_ANGLE_MARGIN`) and keeps
        the entries within `TRACE_SIDE_TOLERANCE` and `TRACE_ANGLE_TOLERANCE` of its invariants.
        """
        return self.votes_and_poses(probe, slots, triangle_counts, trace=trace, poses=False)[0]

    def votes_and_poses(self, probe: Triangles, slots: int, triangle_counts: np.ndarray, *, trace: bool = False,
                        poses: bool = True) -> tuple[np.ndarray, Poses]:
        """`votes`, and the pose of each contender's fullest pose cell (`Poses`; all zero without `poses`)."""
        if probe.count == 0 or slots == 0:
            return np.zeros(slots), Poses(np.full(slots, -1, np.int64), np.zeros((0, 5)))
        if trace:
            keys, source, allowed = probe_keys(probe.values.reshape(-1, 6), TRACE_SIDE_MARGIN, TRACE_ANGLE_MARGIN,
                                               (TRACE_SIDE_TOLERANCE, TRACE_ANGLE_TOLERANCE))
        else:
            keys, source, allowed = probe_keys(probe.values.reshape(-1, 6), SIDE_MARGIN, ANGLE_MARGIN)
        rotation = probe.rotation.reshape(-1).astype(np.float64)
        origin = probe.origin.reshape(-1, 2).astype(np.float64)
        probe_pose = (_DIRECTION, _DIRECTION_COS, _DIRECTION_SIN, rotation, np.cos(rotation), np.sin(rotation),
                      np.ascontiguousarray(origin[:, 0]), np.ascontiguousarray(origin[:, 1]), rotation_turns(rotation))
        parts = []
        for part in (self._main, self._pending_part()):
            if part is None or len(part) == 0:
                parts.append((np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                              np.zeros(0, np.int32), np.zeros(0, np.uint8), np.zeros((0, 2), np.int16),
                              np.zeros(0, np.int64), np.zeros(0, np.uint16)))
                continue
            start, end = part.ranges(keys)
            parts.append((start.astype(np.int64), end.astype(np.int64), source.astype(np.int64), part.slot,
                          part.direction, part.centroid, allowed, part.fine))
        norm = np.sqrt(np.maximum(np.asarray(triangle_counts[:slots], dtype=np.float64), 1.0))
        vote = kernels.hough_votes if (self.compiled and kernels.AVAILABLE) else kernels.hough_votes_numpy
        score, member, pose = vote(parts[0], parts[1], probe_pose, norm, TRACE_CONTENDERS if trace else CONTENDERS,
                                   poses)
        return score, Poses(member, pose)


@dataclass(frozen=True)
class Poses:
    """The pose each contender's triangles agree on: its fullest pose cell, averaged over the cell's hits.

    member (slots,): the row of `pose` of a slot, -1 when it was not a contender; pose (contenders, 5):
    hits in the cell, sums of cos and sin of their rotations, sums of their translations (x, y). A
    pose takes the probe's triangles, centred on the probe's mean minutia position, onto the
    template's, centred on its own (`triangles`).
    """

    member: np.ndarray
    pose: np.ndarray

    def alignment(self, slots: np.ndarray, probe_mean: np.ndarray,
                  template_means: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rotation (k,), shift (k, 2), valid (k,)) taking the probe's minutiae (xy as given to `triangles`)
        onto each of `slots`' minutiae: template = R(rotation) probe + shift."""
        rows = self.member[slots]
        valid = rows >= 0
        picked = self.pose[np.where(valid, rows, 0)] if len(self.pose) else np.zeros((len(slots), 5))
        count = np.maximum(picked[:, 0], 1.0)
        rotation = np.where(valid, np.arctan2(picked[:, 2], picked[:, 1]), 0.0)
        c, s = np.cos(rotation), np.sin(rotation)
        px, py = float(probe_mean[0]), float(probe_mean[1])
        shift = np.stack([picked[:, 3] / count + template_means[:, 0] - (c * px - s * py),
                          picked[:, 4] / count + template_means[:, 1] - (s * px + c * py)], axis=1)
        return rotation, shift, valid


def rotation_turns(angle: np.ndarray) -> np.ndarray:
    """Angles as 1/256 turns (0-255)."""
    return np.round(_wrap(angle) * (256 / (2 * np.pi))).astype(np.int64) % 256
