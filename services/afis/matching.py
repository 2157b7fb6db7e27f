"""The 1:1 fingerprint matcher: Minutia Cylinder-Code (MCC) with relaxation and a global check (FP-2).

Method (after Cappelli, Ferrara and Maltoni, "Minutia Cylinder-Code", IEEE TPAMI 32(12), 2010):
1. Every minutia gets a *cylinder*: a small 3-D grid centred on it and turned with its direction
   (`NS` x `NS` cells of the plane within `RADIUS` px, `ND` layers of relative direction). A cell is
   set when a neighbouring minutia lies near it with a relative direction in its layer. Binary
   cells pack into `WORDS` 64-bit words; a second bit set says which cells are *valid* (inside the
   area where the template could show minutiae: the convex hull of its minutiae grown by `MARGIN`),
   so a partial trace is compared only on what it shows.
2. Local similarity of two cylinders: 1 - |a xor b| / (|a| + |b|) (Euclidean norms of the bit
   vectors) over the cells valid in both, zero when too few cells are shared or the minutiae point
   more than 90 degrees apart. Vectorised over every pair of cylinders of a probe and of many
   candidates at once (numpy popcounts).
3. Consolidation (LSS-R): the best local pairs are relaxed against each other (pairs that agree on
   distances and angles support each other), and the mean of the best relaxed pairs is the MCC
   score. A global check follows: the candidate is aligned (rotation and translation, least
   squares on the chosen pairs, and on each of the best pairs alone), refitted on the minutiae that
   then fall together (mutual nearest neighbours within `ALIGN_DISTANCE` px and `ALIGN_ANGLE`), and
   those pairs are weighed by their local similarity, with a bonus when their types agree. A trace
   as the probe also gets the pose its minutia triangles agree on (`triangle_pose`, the pose the
   1:N pre-selection votes for): its cylinders are partial and its local similarities barely rise
   above those of chance pairs (about 0.39 against 0.3-0.45), so the LSS-R pairs often miss the mate.

The score scale, 0-100: 100 * min(1, (sum of the aligned pairs' local similarities + TYPE_BONUS *
pairs of the same type)^2 / (minutiae of the probe in the overlap * minutiae of the candidate in the
overlap)), each overlap count at least `MIN_OVERLAP`, every aligned pair weighed by the quality of the
poorer of its two minutiae (`QUALITY_REFERENCE`; see below). A template against itself scores 100
unless most of its minutiae are of poor quality (below about 55 of 100). When
either template is a partial print (an unidentified trace), the denominator is `MIN_OVERLAP` times
the geometric mean of the two overlap counts instead (`PARTIAL_EXPONENT`): what a small patch has to
show is how many minutiae agree, not which share of its few (a fifth of them spurious) do; at an
overlap of `MIN_OVERLAP` both forms agree. It brings more trace mates to `VERIFY_THRESHOLD` for a
few more impostor comparisons above it (still well below the threshold's 1e-4). The quality weight:
spurious and smudged minutiae, which chance pairs with an impostor's as readily as real ones, count
less; it raised the traces' rank-1 and cut the non-mate finalists at or above the threshold, for
traces and plain impressions alike. The measurements before and after each of these: BENCHMARKS.md
(commits 9099c04, 089f029, 2b4125d). On the synthetic population (`prum.federation.synthetic.afis`),
fingers of the same pattern class score below 10 in 99.9 % of comparisons, plain mated impressions
mostly 15-60 and partial traces 5-40; `VERIFY_THRESHOLD` (12) is where about 1 in 10,000 impostor
comparisons still scores (FMR ~ 1e-4).

The local similarities, the relaxation and the mutual-nearest-neighbour count run as numba kernels
(`kernels.local_similarity`, `kernels.relax`, `kernels.mutual_pairs`; `USE_KERNELS`), with the numpy code below as their twin (the same scores;
tested). Seeds tied in similarity go to the first pair, relaxed efficiencies are compared to five
decimals, so both paths choose the same pairs.

Coordinates are brought to 500 ppi and to a y-up frame first, so templates of any resolution compare.
No gRPC here; the probe is never stored (PUR-2).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from prum.services.afis import hashing, kernels
from prum.services.afis.templates import Template

BASE_PPI = 500
RADIUS = 70.0
NS = 8
ND = 6
SIGMA_S = 28.0 / 3.0
SIGMA_D = 2.0 * np.pi / 9.0
MU = 0.234
"""Cell threshold on the unnormalised spatial x directional contribution (MCC's mu_psi = 0.01 on the
normalised density, times sigma_s * sqrt(2 pi))."""
MARGIN = 50.0
MIN_VALID_CELLS = 0.75
MIN_NEIGHBOURS = 2
MIN_SHARED_CELLS = 0.6
CELLS = NS * NS * ND
WORDS = (CELLS + 63) // 64
_DELTA_S = 2.0 * RADIUS / NS
_DELTA_D = 2.0 * np.pi / ND
_CENTRES = (np.arange(NS) - (NS - 1) / 2.0) * _DELTA_S
_IN_RADIUS = (_CENTRES[:, None] ** 2 + _CENTRES[None, :] ** 2) <= RADIUS ** 2  # (NS, NS)
_IN_RADIUS_CELLS = int(_IN_RADIUS.sum()) * ND
_LAYERS = -np.pi + (np.arange(ND) + 0.5) * _DELTA_D

# consolidation (LSS-R) parameters, as in the MCC paper
N_P_MIN, N_P_MAX, N_P_MU, N_P_TAU = 4, 12, 20.0, 0.4
N_REL, W_R = 5, 0.5
N_SEEDS = 24
RHO_MU = (5.0, np.pi / 12, np.pi / 12)
RHO_TAU = (-1.6, -30.0, -30.0)
ALIGN_DISTANCE = 12.0
ALIGN_SLOPE = 0.05
ALIGN_ANGLE = np.radians(25.0)
OVERLAP_DISTANCE = 40.0
REFITS = 1
HYPOTHESES = 6
TYPE_BONUS = 0.3
MIN_OVERLAP = 12
PARTIAL_EXPONENT = 0.5
"""The overlap product's exponent in the score's denominator when a partial print is compared (1 otherwise)."""
QUALITY_REFERENCE = 70.0
"""An aligned pair counts min(quality of its two minutiae) / QUALITY_REFERENCE in the score (ISO/IEC 19794-2
quality 0-100; 0, "not reported", counts as QUALITY_REFERENCE): see the score scale."""

USE_KERNELS = kernels.AVAILABLE
"""Relaxation and the mutual-nearest-neighbour count run compiled (numba) when installed; False: numpy."""
_RELAX = np.array([RHO_MU[0], RHO_MU[1], RHO_MU[2], -RHO_TAU[0], -RHO_TAU[1], -RHO_TAU[2], W_R, N_REL,
                   N_P_MIN, N_P_MAX, N_P_MU, N_P_TAU], dtype=np.float64)

VERIFY_THRESHOLD = 12.0
"""Score at or above which `verify` calls two templates a match (Art 9(2), FP-2); see `score`."""


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7)."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * \
        np.exp(-x * x)
    return sign * y


_PI32, _TWO_PI32 = np.float32(np.pi), np.float32(2 * np.pi)


def _angle_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a - b wrapped to [-pi, pi) (float32 when both are)."""
    d = np.subtract(a, b)
    if d.dtype == np.float32:
        return (d + _PI32) % _TWO_PI32 - _PI32
    return (d + np.pi) % (2 * np.pi) - np.pi


def _pack(cells: np.ndarray) -> np.ndarray:
    """(..., CELLS) bool -> (..., WORDS) uint64."""
    padded = np.zeros(cells.shape[:-1] + (WORDS * 64,), dtype=bool)
    padded[..., :CELLS] = cells
    return np.packbits(padded, axis=-1, bitorder="little").view(np.uint64)


def _hull(points: np.ndarray) -> np.ndarray:
    """Convex hull (counter-clockwise) of 2-D points, Andrew's monotone chain."""
    order = np.lexsort((points[:, 1], points[:, 0]))
    pts = points[order].tolist()
    if len(pts) < 3:
        return np.asarray(pts)

    def half(seq: list[list[float]]) -> list[list[float]]:
        chain: list[list[float]] = []
        for p in seq:
            while len(chain) >= 2 and ((chain[-1][0] - chain[-2][0]) * (p[1] - chain[-2][1])
                                       - (chain[-1][1] - chain[-2][1]) * (p[0] - chain[-2][0])) <= 0:
                chain.pop()
            chain.append(p)
        return chain

    lower, upper = half(pts), half(pts[::-1])
    return np.asarray(lower[:-1] + upper[:-1])


def _inside_grown_hull(hull: np.ndarray, points: np.ndarray, margin: float) -> np.ndarray:
    """Whether points lie within `margin` of the convex polygon (approximately: offset edges)."""
    if len(hull) < 3:
        centre = hull.mean(axis=0)
        return np.hypot(*(points - centre).T) <= margin + 1e-9
    start, end = hull, np.roll(hull, -1, axis=0)
    edge = end - start
    length = np.hypot(edge[:, 0], edge[:, 1])
    normal = np.stack([-edge[:, 1], edge[:, 0]], axis=1) / length[:, None]  # inward for a ccw polygon
    signed = (points[:, None, 0] - start[:, 0]) * normal[:, 0] + (points[:, None, 1] - start[:, 1]) * normal[:, 1]
    return (signed >= -margin).all(axis=-1)


@dataclass(frozen=True)
class Encoded:
    """A template prepared for matching: one cylinder per minutia (500 ppi, y up).

    xy (n, 2) float32, theta (n,) float32 radians, bits and mask (n, WORDS) uint64 (an invalid
    cylinder, with too few valid cells or neighbours, has an empty mask and no bits), kinds (n,) the
    minutia types, quality (n,) uint8 their qualities 0-100 (0: not reported, as in `Batch`); partial: the
    template is an unidentified trace (see the score scale).
    """

    xy: np.ndarray
    theta: np.ndarray
    bits: np.ndarray
    mask: np.ndarray
    kinds: np.ndarray
    quality: np.ndarray
    partial: bool = False

    @property
    def minutiae(self) -> int:
        return int(self.theta.shape[0])


def normalised_minutiae(template: Template) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions at 500 ppi in a y-up frame (px), directions (radians) and types of a template's minutiae."""
    scale = BASE_PPI / template.resolution_ppi
    array = np.array([(m.x, m.y, m.angle, m.type) for m in template.minutiae], dtype=np.float64)
    xy = np.stack([array[:, 0] * scale, -array[:, 1] * scale], axis=1)
    return xy, np.radians(array[:, 2]), array[:, 3].astype(np.int8)


def encode(template: Template) -> Encoded:
    """The cylinders of a template (step 1 of the module docstring)."""
    quality = np.array([m.quality for m in template.minutiae], dtype=np.uint8)
    encoded = encode_minutiae(*normalised_minutiae(template), quality)
    return replace(encoded, partial=template.is_trace) if template.is_trace else encoded


def encode_minutiae(xy: np.ndarray, theta: np.ndarray, kinds: np.ndarray, quality: np.ndarray) -> Encoded:
    n = len(theta)
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    offset = xy[None, :, :] - xy[:, None, :]  # [i, j] = p_j - p_i
    # neighbour j in the frame of minutia i (rotate by -theta_i)
    qx = cos_t[:, None] * offset[..., 0] + sin_t[:, None] * offset[..., 1]
    qy = -sin_t[:, None] * offset[..., 0] + cos_t[:, None] * offset[..., 1]
    distance = np.hypot(qx, qy)
    near = (distance <= RADIUS + 3 * SIGMA_S) & ~np.eye(n, dtype=bool)
    gx = np.exp(-((_CENTRES[None, None, :] - qx[..., None]) ** 2) / (2 * SIGMA_S ** 2))  # (n, n, NS)
    gy = np.exp(-((_CENTRES[None, None, :] - qy[..., None]) ** 2) / (2 * SIGMA_S ** 2))
    gx *= near[..., None]
    dtheta = _angle_diff(theta[None, :], theta[:, None])  # theta_j - theta_i
    diff = _angle_diff(_LAYERS[None, None, :], dtheta[..., None])  # (n, n, ND)
    scale = 1.0 / (SIGMA_D * np.sqrt(2.0))
    gd = 0.5 * (_erf((diff + _DELTA_D / 2) * scale) - _erf((diff - _DELTA_D / 2) * scale))
    spatial = (gx[:, :, :, None] * gy[:, :, None, :]).reshape(n, n, NS * NS)  # (i, j, cell)
    values = np.matmul(spatial.transpose(0, 2, 1), gd)  # (i, cell, layer)
    cells_on = (values > MU).reshape(n, NS, NS, ND)
    # validity: inside the radius and inside the grown convex hull of the minutiae
    hull = _hull(xy)
    cx = xy[:, 0, None, None] + cos_t[:, None, None] * _CENTRES[:, None] - sin_t[:, None, None] * _CENTRES[None, :]
    cy = xy[:, 1, None, None] + sin_t[:, None, None] * _CENTRES[:, None] + cos_t[:, None, None] * _CENTRES[None, :]
    inside = _inside_grown_hull(hull, np.stack([cx, cy], axis=-1).reshape(-1, 2), MARGIN).reshape(n, NS, NS)
    valid_cells = inside & _IN_RADIUS[None]
    valid = (valid_cells.sum(axis=(1, 2)) * ND >= MIN_VALID_CELLS * _IN_RADIUS_CELLS) & \
        ((distance <= RADIUS + 3 * SIGMA_S).sum(axis=1) - 1 >= MIN_NEIGHBOURS)
    mask_cells = np.broadcast_to(valid_cells[..., None], (n, NS, NS, ND)) & valid[:, None, None, None]
    cells_on &= mask_cells
    return Encoded(xy.astype(np.float32), theta.astype(np.float32), _pack(cells_on.reshape(n, CELLS)),
                   _pack(mask_cells.reshape(n, CELLS)), np.asarray(kinds, dtype=np.int8),
                   np.asarray(quality, dtype=np.uint8))


@dataclass
class Batch:
    """Candidates padded to one size for vectorised scoring: (K, m, ...) arrays; count = minutiae of each.

    Padding minutiae lie far away, have no cylinder bits and type 0. partial (K,) bool: the
    candidate is an unidentified trace (all False when not given); quality (K, m) uint8 the minutiae's
    qualities (0, not reported, when not given).
    """

    xy: np.ndarray
    theta: np.ndarray
    bits: np.ndarray
    mask: np.ndarray
    kinds: np.ndarray
    count: np.ndarray
    partial: np.ndarray = field(default=None)  # type: ignore[arg-type]  # None only until __post_init__
    quality: np.ndarray = field(default=None)  # type: ignore[arg-type]  # None only until __post_init__

    def __post_init__(self) -> None:
        if self.partial is None:
            self.partial = np.zeros(len(self.count), bool)
        if self.quality is None:
            self.quality = np.zeros(self.theta.shape, np.uint8)

    @classmethod
    def of(cls, encoded: list[Encoded]) -> Batch:
        k = len(encoded)
        m = max([e.minutiae for e in encoded] + [1])
        batch = cls(np.full((k, m, 2), 1e6, np.float32), np.zeros((k, m), np.float32),
                    np.zeros((k, m, WORDS), np.uint64), np.zeros((k, m, WORDS), np.uint64), np.zeros((k, m), np.int8),
                    np.zeros(k, np.int64))
        for row, e in enumerate(encoded):
            c = e.minutiae
            batch.xy[row, :c], batch.theta[row, :c], batch.bits[row, :c], batch.mask[row, :c] = \
                e.xy, e.theta, e.bits, e.mask
            batch.kinds[row, :c] = e.kinds
            batch.count[row] = c
            batch.partial[row] = e.partial
            batch.quality[row, :c] = e.quality
        return batch

    def rows(self, rows: np.ndarray) -> Batch:
        return Batch(self.xy[rows], self.theta[rows], self.bits[rows], self.mask[rows], self.kinds[rows],
                     self.count[rows], self.partial[rows], self.quality[rows])


def _popcount(words: np.ndarray) -> np.ndarray:
    return np.bitwise_count(words).sum(axis=-1, dtype=np.int32)


def _unpack(words: np.ndarray) -> np.ndarray:
    """(..., WORDS) uint64 -> (..., CELLS) float32 of 0/1."""
    bits = np.unpackbits(words.view(np.uint8), axis=-1, bitorder="little")[..., :CELLS]
    return bits.astype(np.float32)


def local_similarity(probe: Encoded, batch: Batch) -> np.ndarray:
    """(K, n_probe, m) local similarities of every probe cylinder with every candidate cylinder.

    Compared on the probe's valid cells (a candidate's own bits are confined to its valid cells).
    The popcounts are dot products of 0/1 vectors, so one matrix product does them all:
    |b & probe_mask| and |b & a| give |a|, |b| and |a xor b| on the shared cells.
    """
    k, m = batch.theta.shape
    n = probe.minutiae
    if USE_KERNELS:
        return kernels.local_similarity(probe.bits, probe.mask, np.cos(probe.theta), np.sin(probe.theta), batch.bits,
                                        np.cos(batch.theta), np.sin(batch.theta))
    stacked = _unpack(np.concatenate([probe.bits, probe.mask]))  # (2n, CELLS)
    gallery = _unpack(batch.bits.reshape(k * m, WORDS))  # (k*m, CELLS)
    products = stacked @ gallery.T  # (2n, k*m)
    both = products[:n].reshape(n, k, m).transpose(1, 0, 2)
    nb = products[n:].reshape(n, k, m).transpose(1, 0, 2)
    na = stacked[:n].sum(axis=1)[None, :, None]
    nx = np.maximum(na + nb - 2 * both, 0)
    norm = np.sqrt(na) + np.sqrt(nb)
    with np.errstate(divide="ignore", invalid="ignore"):
        sim = np.where(norm > 0, 1.0 - np.sqrt(nx) / norm, 0.0).astype(np.float32)
    # directions more than 90 degrees apart: cos(difference) < 0
    cos_diff = np.cos(probe.theta)[None, :, None] * np.cos(batch.theta)[:, None, :] + \
        np.sin(probe.theta)[None, :, None] * np.sin(batch.theta)[:, None, :]
    sim[cos_diff < 0] = 0.0
    return sim


def _psi(v: np.ndarray, mu: float, tau: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(np.clip(tau * (v - mu), -60, 60)))


@dataclass
class Relaxed:
    """The LSS-R state of K candidates: MCC score and the seed pairs with their relaxed strengths."""

    mcc: np.ndarray
    lam: np.ndarray
    ia: np.ndarray
    ib: np.ndarray
    order: np.ndarray
    take: np.ndarray

    def rows(self, rows: np.ndarray) -> Relaxed:
        return Relaxed(self.mcc[rows], self.lam[rows], self.ia[rows], self.ib[rows], self.order[rows], self.take[rows])


def relax(probe: Encoded, batch: Batch, sim: np.ndarray) -> Relaxed:
    """LSS-R (step 3, first half): the MCC score of each candidate, 0-1."""
    k, n, m = sim.shape
    seeds = min(N_SEEDS, n * m)
    if USE_KERNELS:
        return Relaxed(*kernels.relax(np.ascontiguousarray(sim, dtype=np.float32), probe.xy, probe.theta, batch.xy,
                                      batch.theta, batch.count.astype(np.int64), seeds, _RELAX))
    flat = sim.reshape(k, n * m)
    top = np.argsort(-flat, axis=1, kind="stable")[:, :seeds]  # ties to the first pair, as the kernel
    gamma = np.take_along_axis(flat, top, axis=1)  # (k, s)
    ia, ib = top // m, top % m
    rows = np.arange(k)[:, None]
    ax, ay, at = probe.xy[ia, 0], probe.xy[ia, 1], probe.theta[ia]
    bx, by, bt = batch.xy[rows, ib, 0], batch.xy[rows, ib, 1], batch.theta[rows, ib]
    at, bt = at.astype(np.float32), bt.astype(np.float32)
    da = np.hypot(ax[:, :, None] - ax[:, None, :], ay[:, :, None] - ay[:, None, :])
    db = np.hypot(bx[:, :, None] - bx[:, None, :], by[:, :, None] - by[:, None, :])
    d1 = np.abs(da - db)
    d2 = np.abs(_angle_diff(_angle_diff(at[:, :, None], at[:, None, :]), _angle_diff(bt[:, :, None], bt[:, None, :])))
    ra = np.arctan2(ay[:, None, :] - ay[:, :, None], ax[:, None, :] - ax[:, :, None])
    rb = np.arctan2(by[:, None, :] - by[:, :, None], bx[:, None, :] - bx[:, :, None])
    d3 = np.abs(_angle_diff(_angle_diff(at[:, :, None], ra), _angle_diff(bt[:, :, None], rb)))
    rho = _psi(d1, RHO_MU[0], -RHO_TAU[0]) * _psi(d2, RHO_MU[1], -RHO_TAU[1]) * _psi(d3, RHO_MU[2], -RHO_TAU[2])
    same = (ia[:, :, None] == ia[:, None, :]) | (ib[:, :, None] == ib[:, None, :])
    rho[same] = 0.0
    lam = gamma.astype(np.float32)
    rho = rho.astype(np.float32)
    weight = (1.0 - W_R) / max(1, seeds - 1)
    for _ in range(N_REL):
        lam = W_R * lam + weight * np.einsum("kij,kj->ki", rho, lam)
    smallest = np.minimum(probe.minutiae, batch.count).astype(float)
    n_p = np.round(N_P_MIN + (N_P_MAX - N_P_MIN) / (1 + np.exp(-N_P_TAU * (smallest - N_P_MU)))).astype(int)
    n_p = np.clip(n_p, 1, seeds)
    efficiency = np.floor(lam / np.maximum(gamma, 1e-9) * 1e5 + 0.5)  # 5 decimals: equal ties on both paths
    order = np.argsort(-efficiency, axis=1, kind="stable")
    ranked = np.take_along_axis(lam, order, axis=1)
    take = np.arange(seeds)[None, :] < n_p[:, None]
    mcc = (ranked * take).sum(axis=1) / n_p
    return Relaxed(mcc, lam, ia, ib, order, take)


@dataclass
class Pose:
    """One alignment hypothesis per candidate from outside the MCC stage (the triangle votes' pose,
    `hashing.Poses.alignment`): candidate = R(rotation) probe + shift; valid False: none."""

    rotation: np.ndarray
    shift: np.ndarray
    valid: np.ndarray

    def rows(self, rows: np.ndarray) -> Pose:
        return Pose(self.rotation[rows], self.shift[rows], self.valid[rows])


def align(probe: Encoded, batch: Batch, sim: np.ndarray, relaxed: Relaxed, pose: Pose | None = None) -> np.ndarray:
    """The global check (step 3, second half): the 0-100 score of each candidate.

    Hypotheses: the LSS-R pairs' fit and each of the best relaxed pairs alone (`HYPOTHESES`), and
    the `pose` of each candidate when given.
    """
    k = len(relaxed.mcc)
    if k == 0:
        return np.zeros(0)
    lam, ia, ib, order, take = relaxed.lam, relaxed.ia, relaxed.ib, relaxed.order, relaxed.take
    seeds = lam.shape[1]
    rows = np.arange(k)[:, None]
    # global check: fit one rotation + translation on the chosen pairs, then refit on the minutiae
    # that fall together (mutual nearest neighbours), and count them
    chosen = np.take_along_axis(order, np.arange(seeds)[None, :], axis=1)
    weight_p = take * np.take_along_axis(lam, chosen, axis=1).clip(min=1e-6)
    src = probe.xy[np.take_along_axis(ia, chosen, axis=1)]  # (k, s, 2)
    dst = batch.xy[rows, np.take_along_axis(ib, chosen, axis=1)]
    rotation, shift = _fit(src, dst, weight_p)
    # more hypotheses: each of the best relaxed pairs on its own (when the chosen set is wrong)
    best = np.argsort(-lam, axis=1)[:, :HYPOTHESES - 1]
    ha, hb = np.take_along_axis(ia, best, axis=1), np.take_along_axis(ib, best, axis=1)
    turn = batch.theta[rows, hb] - probe.theta[ha]
    a_xy, b_xy = probe.xy[ha], batch.xy[rows, hb]
    c, s_ = np.cos(turn), np.sin(turn)
    single_shift = b_xy - np.stack([c * a_xy[..., 0] - s_ * a_xy[..., 1], s_ * a_xy[..., 0] + c * a_xy[..., 1]], axis=-1)
    rotation = np.concatenate([rotation[:, None], turn], axis=1)  # (k, h)
    shift = np.concatenate([shift[:, None, :], single_shift], axis=1)
    valid = np.ones(rotation.shape, bool)
    if pose is not None:
        rotation = np.concatenate([rotation, pose.rotation[:, None]], axis=1)
        shift = np.concatenate([shift, pose.shift[:, None, :]], axis=1)
        valid = np.concatenate([valid, pose.valid[:, None]], axis=1)
    return _score_hypotheses(probe, batch, sim, rotation, shift, valid)


def pose_counts(probe: Encoded, batch: Batch, pose: Pose) -> np.ndarray:
    """(k,) the minutiae that fall together when each candidate is aligned on its `pose` and refitted
    (`REFITS`), 0 where the pose is not valid: a cheap test, without cylinders, of which candidates
    the full global check should see (the 1:N search of a trace)."""
    k = len(batch.count)
    if k == 0 or probe.minutiae == 0:
        return np.zeros(k, np.int64)
    owner = np.arange(k)
    matched, _, _, pairs = _align_count(probe, batch, owner, pose.rotation, pose.shift)
    for _ in range(REFITS):
        pa, pb_, pw = pairs
        rotation, shift = _fit(probe.xy[pa], batch.xy[owner[:, None], pb_], pw)
        matched, _, _, pairs = _align_count(probe, batch, owner, rotation, shift)
    return np.where(pose.valid, matched, 0)


def _score_hypotheses(probe: Encoded, batch: Batch, sim: np.ndarray, rotation: np.ndarray, shift: np.ndarray,
                      valid: np.ndarray) -> np.ndarray:
    """(k,) the best score of each candidate over its hypotheses (k, h): align, refit, count, weigh."""
    k, h = rotation.shape
    rotation, shift = rotation.reshape(-1), shift.reshape(-1, 2)
    owner = np.repeat(np.arange(k), h)
    matched, overlap_a, overlap_b, pairs = _align_count(probe, batch, owner, rotation, shift)
    for _ in range(REFITS):
        pa, pb_, pw = pairs
        rotation, shift = _fit(probe.xy[pa], batch.xy[owner[:, None], pb_], pw)
        matched, overlap_a, overlap_b, pairs = _align_count(probe, batch, owner, rotation, shift)
    pa, pb_, pw = pairs
    pair = (pw > 0.5) * _pair_quality(probe, batch, owner, pa, pb_)
    local = sim[owner[:, None], pa, pb_] * pair
    same_type = (probe.kinds[pa] == batch.kinds[owner[:, None], pb_]) * pair
    weighted = (local.sum(axis=1)).reshape(k, h)
    typed = same_type.sum(axis=1).reshape(k, h)
    matched, overlap_a, overlap_b = matched.reshape(k, h), overlap_a.reshape(k, h), overlap_b.reshape(k, h)
    overlap = np.maximum(overlap_a, MIN_OVERLAP) * np.maximum(overlap_b, MIN_OVERLAP)
    partial = probe.partial | batch.partial[:, None]  # (k, 1): a trace on either side
    value = (weighted + TYPE_BONUS * typed) ** 2 / np.where(partial, MIN_OVERLAP ** (2 - 2 * PARTIAL_EXPONENT) *
                                                           overlap ** PARTIAL_EXPONENT, overlap)
    value = np.where(valid, value, 0.0)
    return 100.0 * np.clip(value.max(axis=1), 0.0, 1.0)


def _pair_quality(probe: Encoded, batch: Batch, owner: np.ndarray, pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """(rows, n) the weight of each probe minutia's pair in the score: the lower of the two minutiae's
    qualities over `QUALITY_REFERENCE` (a quality of 0, not reported, counts as the reference)."""
    mine, theirs = probe.quality[pa], batch.quality[owner[:, None], pb]
    return np.minimum(np.where(mine > 0, mine, QUALITY_REFERENCE),
                      np.where(theirs > 0, theirs, QUALITY_REFERENCE)) / QUALITY_REFERENCE


def _fit(src: np.ndarray, dst: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least-squares rotation angle (k,) and translation (k, 2) taking src onto dst."""
    w = weight / np.maximum(weight.sum(axis=1, keepdims=True), 1e-12)
    cs = (src * w[..., None]).sum(axis=1)
    cd = (dst * w[..., None]).sum(axis=1)
    a = src - cs[:, None, :]
    b = dst - cd[:, None, :]
    cross = (w * (a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0])).sum(axis=1)
    dot = (w * (a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1])).sum(axis=1)
    angle = np.arctan2(cross, dot)
    c, s = np.cos(angle), np.sin(angle)
    shift = cd - np.stack([c * cs[:, 0] - s * cs[:, 1], s * cs[:, 0] + c * cs[:, 1]], axis=1)
    return angle, shift


def _align_count(probe: Encoded, batch: Batch, owner: np.ndarray, rotation: np.ndarray, shift: np.ndarray,
                 tolerance: float = ALIGN_DISTANCE, angle_tolerance: float = ALIGN_ANGLE):
    """Mutual nearest minutiae within tolerance after the transform: counts and the pairs (for a refit)."""
    k = len(rotation)
    if USE_KERNELS:
        matched, overlap_a, overlap_b, nearest_b, mutual = kernels.mutual_pairs(
            probe.xy, np.cos(probe.theta), np.sin(probe.theta), batch.xy, np.cos(batch.theta), np.sin(batch.theta),
            batch.count.astype(np.int64), owner.astype(np.int64), np.cos(rotation).astype(np.float32),
            np.sin(rotation).astype(np.float32), np.ascontiguousarray(shift, dtype=np.float32), np.float32(tolerance ** 2),
            np.float32(np.cos(angle_tolerance)), np.float32(OVERLAP_DISTANCE ** 2))
        weight = mutual.astype(np.float64) + 1e-9
        return matched, overlap_a, overlap_b, (np.broadcast_to(np.arange(probe.minutiae), nearest_b.shape), nearest_b,
                                               weight)
    c = np.cos(rotation).astype(np.float32)[:, None]
    s = np.sin(rotation).astype(np.float32)[:, None]
    ax, ay = probe.xy[None, :, 0], probe.xy[None, :, 1]
    px = c * ax - s * ay + shift[:, 0, None].astype(np.float32)
    py = s * ax + c * ay + shift[:, 1, None].astype(np.float32)
    pc, ps = np.cos(probe.theta)[None, :], np.sin(probe.theta)[None, :]
    uc, us = c * pc - s * ps, s * pc + c * ps  # probe directions turned
    gxy = batch.xy[owner]
    gc, gs = np.cos(batch.theta[owner]), np.sin(batch.theta[owner])
    d2 = (px[:, :, None] - gxy[:, None, :, 0]) ** 2 + (py[:, :, None] - gxy[:, None, :, 1]) ** 2
    agree = uc[:, :, None] * gc[:, None, :] + us[:, :, None] * gs[:, None, :] >= np.float32(np.cos(angle_tolerance))
    cost = np.where(agree, d2, np.float32(np.inf))
    nearest_b = np.argmin(cost, axis=2)  # (k, n)
    nearest_a = np.argmin(cost, axis=1)  # (k, m)
    rows = np.arange(k)[:, None]
    best = np.take_along_axis(cost, nearest_b[:, :, None], axis=2)[..., 0]
    mutual = (nearest_a[rows, nearest_b] == np.arange(cost.shape[1])[None, :]) & (best <= tolerance ** 2)
    matched = mutual.sum(axis=1)
    near = d2 <= OVERLAP_DISTANCE ** 2
    overlap_a = near.any(axis=2).sum(axis=1)
    overlap_b = near.any(axis=1).sum(axis=1)
    weight = mutual.astype(np.float64) + 1e-9
    return matched, overlap_a, overlap_b, (np.broadcast_to(np.arange(cost.shape[1]), nearest_b.shape), nearest_b, weight)


def score_batch(probe: Encoded, batch: Batch, *, keep: int | None = None, pose: Pose | None = None) -> np.ndarray:
    """The 0-100 score of a probe against every candidate of a batch.

    With `keep`, only the `keep` candidates with the best MCC score get the global check (the others
    score 0): the 1:N search's second stage for a plain probe. `pose` (one hypothesis per candidate,
    from the triangle votes: `triangle_pose`) is one more hypothesis of the global check.
    """
    k = len(batch.count)
    if probe.minutiae == 0 or k == 0:
        return np.zeros(k)
    sim = local_similarity(probe, batch)
    relaxed = relax(probe, batch, sim)
    if keep is None or keep >= k:
        return align(probe, batch, sim, relaxed, pose)
    best = np.argpartition(-relaxed.mcc, keep - 1)[:keep]
    scores = np.zeros(k)
    scores[best] = align(probe, batch.rows(best), sim[best], relaxed.rows(best), None if pose is None else
                         pose.rows(best))
    return scores


def triangle_pose(probe: Encoded, candidate: Encoded) -> Pose:
    """The pose the triangles of a trace and of one candidate agree on, as the 1:N pre-selection finds it
    for that candidate (`hashing.TriangleIndex.votes_and_poses`): so a trace's 1:1 score is the score
    its search gives."""
    index = hashing.TriangleIndex()
    found = hashing.triangles(candidate.xy, candidate.theta)
    index.add(0, found)
    probe_triangles = hashing.triangles(probe.xy, probe.theta, probe=True, whole=True)
    _, poses = index.votes_and_poses(probe_triangles, 1, np.array([float(found.count)]), trace=True)
    means = np.asarray(candidate.xy, dtype=np.float64).mean(axis=0)[None, :] if candidate.minutiae else \
        np.zeros((1, 2))
    return Pose(*poses.alignment(np.zeros(1, np.int64), np.asarray(probe.xy, dtype=np.float64).mean(axis=0), means))


def score(probe: Template | Encoded, candidate: Template | Encoded) -> float:
    """The 1:1 score of two templates, 0-100: 0 unrelated, above `VERIFY_THRESHOLD` a match (FP-2).

    A trace as the probe also gets the pose its triangles agree on as a hypothesis (`triangle_pose`),
    as in its 1:N search.
    """
    a = probe if isinstance(probe, Encoded) else encode(probe)
    b = candidate if isinstance(candidate, Encoded) else encode(candidate)
    pose = triangle_pose(a, b) if a.partial and a.minutiae and b.minutiae else None
    return float(score_batch(a, Batch.of([b]), pose=pose)[0])


def verify(probe: Template, candidate: Template, threshold: float = VERIFY_THRESHOLD) -> tuple[float, bool]:
    """The requesting state's own check of one candidate (Art 9(2), FP-2): (score, whether it is a match)."""
    value = score(probe, candidate)
    return value, value >= threshold
