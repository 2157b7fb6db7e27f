"""Compiled kernels of the AFIS search (numba), each with a numpy twin that gives the same results.

The triangle pre-selection (`prum.services.afis.hashing`) turns a probe into thousands of index
look-ups and hundreds of thousands of hits per search at 10k templates; each hit votes for its
template and for the pose (rotation and translation) it implies. In numpy that is a sort of every
hit's (template, pose cell) code; compiled, it is three passes over the hits with small counters
(`hough_votes`). The 1:1 scorer's pairwise loops (`mutual_pairs`) are compiled the same way.

`AVAILABLE` says whether numba is installed; without it (or with PRUM_AFIS_NO_NUMBA=1 in the
environment) callers use the numpy twins, and the tests check that both agree exactly: the
kernels use only + - * / floor and comparisons on float64 values prepared by numpy (no
transcendental functions of their own), so rounding is the same on both paths.
Compiled code is cached beside this module (numba's `cache=True`). No gRPC here.
"""

from __future__ import annotations

import numpy as np
from prum.services.common.jit import compiler

AVAILABLE, njit = compiler("PRUM_AFIS_NO_NUMBA")


ROTATION_BINS = 12
TRANSLATION_BIN = 50.0
SHIFT_CELLS = 64
"""Translation cells per axis (64 x 50 px covers +-1600 px at 500 ppi)."""
CELLS = ROTATION_BINS * SHIFT_CELLS * SHIFT_CELLS
_TWO_PI = 2.0 * np.pi
_HALF_SECTOR = 256 // (2 * ROTATION_BINS)


# -- the pose of one hit (shared by both paths: plain arithmetic on float64) -------------------------

@njit(cache=True, nogil=True)
def _cell(turn: float, tx: float, ty: float, shift: float) -> int:
    rb = int(np.floor(turn * (ROTATION_BINS / _TWO_PI) + shift)) % ROTATION_BINS
    xb = int(np.floor(tx / TRANSLATION_BIN + shift)) + SHIFT_CELLS // 2
    yb = int(np.floor(ty / TRANSLATION_BIN + shift)) + SHIFT_CELLS // 2
    xb = min(max(xb, 0), SHIFT_CELLS - 1)
    yb = min(max(yb, 0), SHIFT_CELLS - 1)
    return (rb * SHIFT_CELLS + xb) * SHIFT_CELLS + yb


def _cells_numpy(turn: np.ndarray, tx: np.ndarray, ty: np.ndarray, shift: float) -> np.ndarray:
    rb = np.floor(turn * (ROTATION_BINS / _TWO_PI) + shift).astype(np.int64) % ROTATION_BINS
    xb = np.clip(np.floor(tx / TRANSLATION_BIN + shift).astype(np.int64) + SHIFT_CELLS // 2, 0, SHIFT_CELLS - 1)
    yb = np.clip(np.floor(ty / TRANSLATION_BIN + shift).astype(np.int64) + SHIFT_CELLS // 2, 0, SHIFT_CELLS - 1)
    return (rb * SHIFT_CELLS + xb) * SHIFT_CELLS + yb


# -- Hough votes of the triangle index -----------------------------------------------------------------

FINE = 4
"""An index entry's `fine` code: the quarter of its bin each of its six invariants lies in (2 bits each, the
first invariant lowest); a key's allowed-quarter mask has one bit per invariant and quarter (bit 4 i + j)."""
ALL_QUARTERS = (1 << (6 * FINE)) - 1
"""The allowed-quarter mask that keeps every entry of a key (a plain probe's look-ups)."""


def _quarters() -> np.ndarray:
    """For every `fine` code, the bits of its invariants' quarters in an allowed-quarter mask."""
    code = np.arange(1 << 12)
    spread = np.zeros(1 << 12, np.int64)
    for invariant in range(6):
        spread |= 1 << (FINE * invariant + ((code >> (2 * invariant)) & 3))
    return spread


QUARTERS = _quarters()


@njit(cache=True, nogil=True)
def _kept(allowed: int, fine: int, quarters: np.ndarray) -> bool:
    """Whether an entry lies within the probe's tolerance: each of its invariants' quarters is allowed."""
    spread = quarters[fine]
    return (allowed & spread) == spread


def within(allowed: np.ndarray, fine: np.ndarray) -> np.ndarray:
    """`_kept` for arrays: whether each entry (`fine` code) lies in its key's `allowed` quarters."""
    spread = QUARTERS[fine]
    return (allowed & spread) == spread


@njit(cache=True, nogil=True)
def _count(starts: np.ndarray, ends: np.ndarray, rows: np.ndarray, slot: np.ndarray, direction: np.ndarray,
           allowed: np.ndarray, fine: np.ndarray, quarters: np.ndarray, turn: np.ndarray, counts: np.ndarray) -> None:
    """Hits per template and coarse rotation (`ROTATION_BINS` sectors of 1/256 turns, two grids staggered
    by half a sector): integer arithmetic only. Entries outside the key's allowed quarters are no hits."""
    for q in range(starts.shape[0]):
        base = turn[rows[q]]
        mask = allowed[q]
        every = mask == ALL_QUARTERS
        for e in range(starts[q], ends[q]):
            if not every and not _kept(mask, fine[e], quarters):
                continue
            d = (np.int64(direction[e]) - base) & 255
            s = slot[e]
            counts[s, (d * ROTATION_BINS) >> 8] += 1
            counts[s, ROTATION_BINS + ((((d + _HALF_SECTOR) & 255) * ROTATION_BINS) >> 8)] += 1


@njit(cache=True, nogil=True)
def _scatter(starts: np.ndarray, ends: np.ndarray, rows: np.ndarray, slot: np.ndarray, direction: np.ndarray,
             centroid: np.ndarray, allowed: np.ndarray, fine: np.ndarray, quarters: np.ndarray, member: np.ndarray,
             fill: np.ndarray, codes: np.ndarray, dir_angle: np.ndarray, dir_cos: np.ndarray, dir_sin: np.ndarray,
             rotation: np.ndarray, rot_cos: np.ndarray, rot_sin: np.ndarray, px: np.ndarray, py: np.ndarray,
             source: np.ndarray, offset: int, nrows: int) -> None:
    for q in range(starts.shape[0]):
        r = rows[q]
        mask = allowed[q]
        every = mask == ALL_QUARTERS
        cr, sr, ar, x, y = rot_cos[r], rot_sin[r], rotation[r], px[r], py[r]
        for e in range(starts[q], ends[q]):
            m = member[slot[e]]
            if m < 0 or (not every and not _kept(mask, fine[e], quarters)):
                continue
            if source.shape[0]:
                source[fill[m]] = (e + offset) * nrows + r
            d = direction[e]
            turn = dir_angle[d] - ar
            if turn < 0.0:
                turn += _TWO_PI
            c = dir_cos[d] * cr + dir_sin[d] * sr
            s = dir_sin[d] * cr - dir_cos[d] * sr
            tx = centroid[e, 0] - (c * x - s * y)
            ty = centroid[e, 1] - (s * x + c * y)
            at = fill[m]
            codes[at, 0] = _cell(turn, tx, ty, 0.0)
            codes[at, 1] = _cell(turn, tx, ty, 0.5)
            fill[m] = at + 1


@njit(cache=True, nogil=True)
def hough_votes(main: tuple, pending: tuple, probe: tuple, norm: np.ndarray, contenders: int,
                poses: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best pose cluster of every template slot divided by `norm` (see `hashing.TriangleIndex.votes`).

    main / pending: (starts, ends, rows, slot, direction, centroid, allowed, fine) of each index part: the
    entry range of every probe key, the probe row it came from, the entries' template slots, first-side
    directions (1/256 turns) and centroids, each key's allowed quarters and the entries' quarters (an
    entry outside its key's allowed quarters is no hit: `hashing.probe_keys`). probe: (dir_angle, dir_cos, dir_sin) of the 256
    directions and (rotation, cos, sin, x, y, rotation in 1/256 turns) of every probe row.

    Pass 1 counts each template's hits per coarse rotation; the `contenders` templates with the
    largest rotation peak per `norm` go on. Pass 2 writes their hits' pose cells (rotation and
    translation, two staggered grids) per template; pass 3 finds each one's fullest cell (the first
    to reach the largest count, hits in order, grid 0 before grid 1 for each hit) and sums the poses
    of the hits in it.

    Returns (score, member, pose): score (slots,); member (slots,) the row of `pose` of each
    contender, -1 for the others; pose (contenders, 5): hits in the fullest cell, and the sums of
    cos and sin of their rotations and of their translations x and y (the mean pose of the cell:
    `hashing.Poses`); without `poses`, all zero.
    """
    slots = norm.shape[0]
    dir_angle, dir_cos, dir_sin, rotation, rot_cos, rot_sin, px, py, turn = probe
    counts = np.zeros((slots, 2 * ROTATION_BINS), np.uint16)  # a template gets far fewer than 65,536 hits
    _count(main[0], main[1], main[2], main[3], main[4], main[6], main[7], QUARTERS, turn, counts)
    _count(pending[0], pending[1], pending[2], pending[3], pending[4], pending[6], pending[7], QUARTERS, turn, counts)
    hits = np.zeros(slots, np.int64)
    peak = np.zeros(slots, np.int64)
    for s in range(slots):
        total = 0
        best = 0
        for b in range(2 * ROTATION_BINS):
            value = counts[s, b]
            if b < ROTATION_BINS:
                total += value
            best = max(best, value)
        hits[s] = total
        peak[s] = best
    member = np.full(slots, -1, np.int64)
    score = np.zeros(slots)
    threshold = _contender_threshold(peak, norm, contenders)
    chosen = 0
    for s in range(slots):
        if peak[s] >= 2 and peak[s] / norm[s] >= threshold:
            member[s] = chosen
            chosen += 1
    if chosen == 0:
        return score, member, np.zeros((0, 5))
    fill = np.zeros(chosen + 1, np.int64)
    owners = np.empty(chosen, np.int64)
    for s in range(slots):
        m = member[s]
        if m >= 0:
            owners[m] = s
            fill[m + 1] = hits[s]
    for m in range(chosen):
        fill[m + 1] += fill[m]
    bounds = fill.copy()
    codes = np.empty((fill[chosen], 2), np.int32)
    source = np.empty(fill[chosen] if poses else 0, np.int64)
    nrows = rotation.shape[0]
    main_size = main[3].shape[0]
    _scatter(main[0], main[1], main[2], main[3], main[4], main[5], main[6], main[7], QUARTERS, member, fill, codes,
             dir_angle, dir_cos, dir_sin, rotation, rot_cos, rot_sin, px, py, source, 0, nrows)
    _scatter(pending[0], pending[1], pending[2], pending[3], pending[4], pending[5], pending[6], pending[7], QUARTERS,
             member, fill, codes, dir_angle, dir_cos, dir_sin, rotation, rot_cos, rot_sin, px, py, source, main_size,
             nrows)
    histogram = np.zeros((2, CELLS), np.int32)
    pose = np.zeros((chosen, 5))
    peaks = np.zeros((chosen, 2), np.int64)
    for m in range(chosen):
        top = 0
        peak_grid = 0
        peak_cell = 0
        for h in range(bounds[m], bounds[m + 1]):
            for grid in range(2):
                cell = codes[h, grid]
                value = histogram[grid, cell] + 1
                histogram[grid, cell] = value
                if value > top:
                    top = value
                    peak_grid = grid
                    peak_cell = cell
        for h in range(bounds[m], bounds[m + 1]):
            histogram[0, codes[h, 0]] = 0
            histogram[1, codes[h, 1]] = 0
        score[owners[m]] = top / norm[owners[m]]
        peaks[m, 0] = peak_grid
        peaks[m, 1] = peak_cell
    if poses:
        _peak_poses(codes, source, bounds, peaks, nrows, main[4], main[5], pending[4], pending[5], dir_cos, dir_sin,
                    rot_cos, rot_sin, px, py, pose)
    return score, member, pose


@njit(cache=True, nogil=True)
def _peak_poses(codes: np.ndarray, source: np.ndarray, bounds: np.ndarray, peaks: np.ndarray, nrows: int,
                main_direction: np.ndarray, main_centroid: np.ndarray, pending_direction: np.ndarray,
                pending_centroid: np.ndarray, dir_cos: np.ndarray, dir_sin: np.ndarray, rot_cos: np.ndarray,
                rot_sin: np.ndarray, px: np.ndarray, py: np.ndarray, pose: np.ndarray) -> None:
    """Pose sums of the hits in each contender's fullest cell (`hough_votes`), hits in order."""
    main_size = main_direction.shape[0]
    for m in range(bounds.shape[0] - 1):
        grid, cell = peaks[m, 0], peaks[m, 1]
        for h in range(bounds[m], bounds[m + 1]):
            if codes[h, grid] != cell:
                continue
            e = source[h] // nrows
            r = source[h] - e * nrows
            if e < main_size:
                d, gx, gy = main_direction[e], main_centroid[e, 0], main_centroid[e, 1]
            else:
                d = pending_direction[e - main_size]
                gx, gy = pending_centroid[e - main_size, 0], pending_centroid[e - main_size, 1]
            cosine = dir_cos[d] * rot_cos[r] + dir_sin[d] * rot_sin[r]
            sine = dir_sin[d] * rot_cos[r] - dir_cos[d] * rot_sin[r]
            pose[m, 0] += 1.0
            pose[m, 1] += cosine
            pose[m, 2] += sine
            pose[m, 3] += gx - (cosine * px[r] - sine * py[r])
            pose[m, 4] += gy - (sine * px[r] + cosine * py[r])


@njit(cache=True, nogil=True)
def _contender_threshold(counts: np.ndarray, norm: np.ndarray, contenders: int) -> float:
    """The `contenders`-th largest counts / norm (0 when there are fewer slots)."""
    slots = counts.shape[0]
    if slots <= contenders:
        return 0.0
    raw = np.empty(slots)
    for s in range(slots):
        raw[s] = counts[s] / norm[s]
    return np.partition(raw, slots - contenders)[slots - contenders]


def hough_votes_numpy(main: tuple, pending: tuple, probe: tuple, norm: np.ndarray, contenders: int,
                      poses: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The numpy twin of `hough_votes` (the same results)."""
    slots = norm.shape[0]
    dir_angle, dir_cos, dir_sin, rotation, rot_cos, rot_sin, px, py, turn = probe
    row_parts: list[np.ndarray] = []
    owner_parts: list[np.ndarray] = []
    gdir_parts: list[np.ndarray] = []
    gxy_parts: list[np.ndarray] = []
    for starts, ends, rows, slot, direction, centroid, allowed, fine in (main, pending):
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            continue
        offset = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        e = np.repeat(starts, lengths) + offset
        kept = within(np.repeat(allowed, lengths), fine[e])
        e = e[kept]
        row_parts.append(np.repeat(rows, lengths)[kept])
        owner_parts.append(slot[e].astype(np.int64))
        gdir_parts.append(direction[e].astype(np.int64))
        gxy_parts.append(centroid[e].astype(np.float64))
    score = np.zeros(slots)
    if not owner_parts:
        return score, np.full(slots, -1, np.int64), np.zeros((0, 5))
    row, owner = np.concatenate(row_parts), np.concatenate(owner_parts)
    gdir, gxy = np.concatenate(gdir_parts), np.concatenate(gxy_parts)
    d = (gdir - turn[row]) & 255
    first = np.bincount(owner * ROTATION_BINS + ((d * ROTATION_BINS) >> 8), minlength=slots * ROTATION_BINS)
    second = np.bincount(owner * ROTATION_BINS + ((((d + _HALF_SECTOR) & 255) * ROTATION_BINS) >> 8),
                         minlength=slots * ROTATION_BINS)
    peak = np.maximum(first.reshape(slots, ROTATION_BINS).max(axis=1), second.reshape(slots, ROTATION_BINS).max(axis=1))
    if slots <= contenders:
        threshold = 0.0
    else:
        threshold = np.partition(peak / norm, slots - contenders)[slots - contenders]
    member = (peak >= 2) & (peak / norm >= threshold)
    rows_of = np.where(member, np.cumsum(member) - 1, -1).astype(np.int64)
    keep = member[owner]
    row, owner, gdir, gxy = row[keep], owner[keep], gdir[keep], gxy[keep]
    turn = dir_angle[gdir] - rotation[row]
    turn = np.where(turn < 0.0, turn + _TWO_PI, turn)
    c = dir_cos[gdir] * rot_cos[row] + dir_sin[gdir] * rot_sin[row]
    s = dir_sin[gdir] * rot_cos[row] - dir_cos[gdir] * rot_sin[row]
    x, y = px[row], py[row]
    tx = gxy[:, 0] - (c * x - s * y)
    ty = gxy[:, 1] - (s * x + c * y)
    cells = []
    for shift in (0.0, 0.5):
        cells.append(_cells_numpy(turn, tx, ty, shift))
        code = np.sort(owner * CELLS + cells[-1])
        if len(code) == 0:
            continue
        starts = np.flatnonzero(np.concatenate([[True], code[1:] != code[:-1]]))
        runs = np.diff(np.append(starts, len(code)))
        who = code[starts] // CELLS
        first = np.flatnonzero(np.concatenate([[True], who[1:] != who[:-1]]))
        peak = np.maximum.reduceat(runs, first)
        score[who[first]] = np.maximum(score[who[first]], peak)
    pose = np.zeros((int(member.sum()), 5))
    if len(owner) and poses:
        # the fullest cell as the kernel finds it: the first (hits in order, grid 0 then 1) to reach the largest count
        cell = np.stack(cells, axis=1).reshape(-1)  # hit 0 grid 0, hit 0 grid 1, hit 1 grid 0, ...
        grid = np.tile(np.arange(2), len(owner))
        who = np.repeat(owner, 2)
        group = (who * 2 + grid) * CELLS + cell
        order = np.argsort(group, kind="stable")
        ordered = group[order]
        starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
        occurrence = np.empty(len(group), np.int64)
        occurrence[order] = np.arange(len(group)) - np.repeat(starts, np.diff(np.append(starts, len(group))))
        largest = np.zeros(slots, np.int64)
        np.maximum.at(largest, who, occurrence)
        reached = np.flatnonzero(occurrence == largest[who])
        _, first = np.unique(who[reached], return_index=True)
        at = reached[first]
        peak_grid = np.zeros(slots, np.int64)
        peak_cell = np.zeros(slots, np.int64)
        peak_grid[who[at]], peak_cell[who[at]] = grid[at], cell[at]
        inside = np.where(peak_grid[owner] == 0, cells[0], cells[1]) == peak_cell[owner]
        target = rows_of[owner[inside]]
        for column, values in enumerate((np.ones(len(owner)), c, s, tx, ty)):
            pose[:, column] = np.bincount(target, weights=values[inside], minlength=len(pose))
    return score / norm, rows_of, pose


# -- the 1:1 scorer (matching.py): LSS-R relaxation and the mutual nearest minutiae of the global check --

@njit(cache=True, nogil=True)
def _angle_diff(a: float, b: float) -> float:
    return (a - b + np.pi) % _TWO_PI - np.pi


@njit(cache=True, nogil=True)
def _psi(v: float, mu: float, tau: float) -> float:
    x = tau * (v - mu)
    x = min(max(x, -60.0), 60.0)
    return 1.0 / (1.0 + np.exp(x))


@njit(cache=True, nogil=True)
def relax(sim: np.ndarray, axy: np.ndarray, ath: np.ndarray, bxy: np.ndarray, bth: np.ndarray, count: np.ndarray,
          seeds: int, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                  np.ndarray]:
    """`matching.relax` (LSS-R) for K candidates: (mcc, lam, ia, ib, order, take); params as `matching._RELAX`.

    The seeds are the `seeds` largest local similarities of each candidate, ties to the first pair.
    """
    k, n, m = sim.shape
    mu1, mu2, mu3, tau1, tau2, tau3, w_r, rounds = params[0], params[1], params[2], params[3], params[4], params[5], \
        params[6], int(params[7])
    p_min, p_max, p_mu, p_tau = params[8], params[9], params[10], params[11]
    mcc = np.zeros(k)
    lam_out = np.zeros((k, seeds), np.float32)
    ia = np.zeros((k, seeds), np.int64)
    ib = np.zeros((k, seeds), np.int64)
    order_out = np.zeros((k, seeds), np.int64)
    take = np.zeros((k, seeds), np.bool_)
    weight = (1.0 - w_r) / max(1, seeds - 1)
    rho = np.zeros((seeds, seeds))
    top = np.zeros(seeds, np.int64)
    value = np.zeros(seeds)
    lam = np.zeros(seeds)
    nxt = np.zeros(seeds)
    for c in range(k):
        # the seeds: insertion into a sorted list (largest first; an equal value goes after)
        filled = 0
        for f in range(n * m):
            v = sim[c, f // m, f % m]
            if filled == seeds and v <= value[seeds - 1]:
                continue
            at = filled if filled < seeds else seeds - 1
            while at > 0 and value[at - 1] < v:
                if at < seeds:
                    value[at] = value[at - 1]
                    top[at] = top[at - 1]
                at -= 1
            value[at] = v
            top[at] = f
            if filled < seeds:
                filled += 1
        for s in range(seeds):
            ia[c, s] = top[s] // m
            ib[c, s] = top[s] % m
        for i in range(seeds):  # rho is computed once per unordered pair: distances and turns are symmetric
            rho[i, i] = 0.0
            pa, pb = ia[c, i], ib[c, i]
            for j in range(i + 1, seeds):
                qa, qb = ia[c, j], ib[c, j]
                if pa == qa or pb == qb:
                    rho[i, j] = 0.0
                    rho[j, i] = 0.0
                    continue
                ax = np.float64(axy[qa, 0]) - axy[pa, 0]
                ay = np.float64(axy[qa, 1]) - axy[pa, 1]
                bx = np.float64(bxy[c, qb, 0]) - bxy[c, pb, 0]
                by = np.float64(bxy[c, qb, 1]) - bxy[c, pb, 1]
                d1 = abs(np.sqrt(ax * ax + ay * ay) - np.sqrt(bx * bx + by * by))
                d2 = abs(_angle_diff(_angle_diff(ath[pa], ath[qa]), _angle_diff(bth[c, pb], bth[c, qb])))
                shared = _psi(d1, mu1, tau1) * _psi(d2, mu2, tau2)
                ra = np.arctan2(ay, ax)
                rb = np.arctan2(by, bx)
                d3 = abs(_angle_diff(_angle_diff(ath[pa], ra), _angle_diff(bth[c, pb], rb)))
                rho[i, j] = shared * _psi(d3, mu3, tau3)
                d3 = abs(_angle_diff(_angle_diff(ath[qa], ra + np.pi), _angle_diff(bth[c, qb], rb + np.pi)))
                rho[j, i] = shared * _psi(d3, mu3, tau3)
        for s in range(seeds):
            lam[s] = value[s]
        for _ in range(rounds):
            for i in range(seeds):
                total = 0.0
                for j in range(seeds):
                    total += rho[i, j] * lam[j]
                nxt[i] = w_r * lam[i] + weight * total
            for i in range(seeds):
                lam[i] = nxt[i]
        smallest = min(n, count[c])
        n_p = int(np.round(p_min + (p_max - p_min) / (1.0 + np.exp(-p_tau * (smallest - p_mu)))))
        n_p = min(max(n_p, 1), seeds)
        efficiency = np.empty(seeds)
        for s in range(seeds):
            efficiency[s] = -np.floor(lam[s] / max(value[s], 1e-9) * 1e5 + 0.5)  # 5 decimals: equal ties on both paths
            lam_out[c, s] = lam[s]
        order = np.argsort(efficiency, kind="mergesort")
        total = 0.0
        for s in range(seeds):
            order_out[c, s] = order[s]
            if s < n_p:
                take[c, s] = True
                total += lam[order[s]]
        mcc[c] = total / n_p
    return mcc, lam_out, ia, ib, order_out, take


@njit(cache=True, nogil=True)
def mutual_pairs(axy: np.ndarray, ac: np.ndarray, as_: np.ndarray, bxy: np.ndarray, bc: np.ndarray, bs: np.ndarray,
                 bcount: np.ndarray, owner: np.ndarray, c: np.ndarray, s: np.ndarray, shift: np.ndarray,
                 tolerance2: float, cos_tolerance: float,
                 overlap2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`matching._align_count` for H hypotheses (float32 like its numpy path): matched, overlap of
    the probe and of the candidate, the candidate minutia nearest to each probe minutia and whether
    the two are mutual nearest neighbours within the tolerances. A candidate's padding (minutiae past
    `bcount`, far away) is skipped: it never falls near a probe minutia."""
    h = owner.shape[0]
    n = axy.shape[0]
    m_all = bxy.shape[1]
    matched = np.zeros(h, np.int64)
    overlap_a = np.zeros(h, np.int64)
    overlap_b = np.zeros(h, np.int64)
    nearest_b = np.zeros((h, n), np.int64)
    mutual = np.zeros((h, n), np.bool_)
    px = np.empty(n, np.float32)
    py = np.empty(n, np.float32)
    uc = np.empty(n, np.float32)
    us = np.empty(n, np.float32)
    best_a = np.empty(m_all, np.float32)
    arg_a = np.empty(m_all, np.int64)
    near_b = np.zeros(m_all, np.bool_)
    best_b = np.empty(n, np.float32)
    inf = np.float32(np.inf)
    for q in range(h):
        k = owner[q]
        m = min(m_all, bcount[k])
        cq, sq = c[q], s[q]
        for i in range(n):
            px[i] = cq * axy[i, 0] - sq * axy[i, 1] + shift[q, 0]
            py[i] = sq * axy[i, 0] + cq * axy[i, 1] + shift[q, 1]
            uc[i] = cq * ac[i] - sq * as_[i]
            us[i] = sq * ac[i] + cq * as_[i]
        for j in range(m):
            best_a[j] = inf
            arg_a[j] = 0
            near_b[j] = False
        overlap = 0
        for i in range(n):
            best = inf
            arg = 0
            near = False
            for j in range(m):
                dx = px[i] - bxy[k, j, 0]
                dy = py[i] - bxy[k, j, 1]
                d2 = dx ** 2 + dy ** 2
                if d2 <= overlap2:
                    near = True
                    near_b[j] = True
                if uc[i] * bc[k, j] + us[i] * bs[k, j] >= cos_tolerance:
                    if d2 < best:
                        best = d2
                        arg = j
                    if d2 < best_a[j]:
                        best_a[j] = d2
                        arg_a[j] = i
            if best == inf:  # as the numpy path: the first padding minutia of an agreeing direction, if any
                for j in range(m, m_all):
                    if uc[i] * bc[k, j] + us[i] * bs[k, j] >= cos_tolerance:
                        arg = j
                        break
            nearest_b[q, i] = arg
            best_b[i] = best
            overlap += near
        overlap_a[q] = overlap
        count = 0
        for j in range(m):
            count += near_b[j]
        overlap_b[q] = count
        total = 0
        for i in range(n):
            if arg_a[nearest_b[q, i]] == i and best_b[i] <= tolerance2:
                mutual[q, i] = True
                total += 1
        matched[q] = total
    return matched, overlap_a, overlap_b, nearest_b, mutual


@njit(cache=True, nogil=True, inline="always")
def _popcount64(x: np.uint64) -> np.uint64:
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(cache=True, nogil=True)
def local_similarity(abits: np.ndarray, amask: np.ndarray, ac: np.ndarray, as_: np.ndarray, bbits: np.ndarray,
                     bc: np.ndarray, bs: np.ndarray) -> np.ndarray:
    """`matching.local_similarity`: (K, n, m) similarities of the probe's cylinders with every candidate's.

    Popcounts of the packed bits (no unpacking), float32 arithmetic as on the numpy path; pairs whose
    directions are more than 90 degrees apart are 0 and skipped.
    """
    n, words = abits.shape
    k, m, _ = bbits.shape
    out = np.zeros((k, n, m), np.float32)
    na = np.zeros(n, np.float32)
    root_a = np.zeros(n, np.float32)
    for i in range(n):
        total = 0
        for w in range(words):
            total += _popcount64(abits[i, w])
        na[i] = np.float32(total)
        root_a[i] = np.sqrt(na[i])
    zero = np.float32(0.0)
    one = np.float32(1.0)
    two = np.float32(2.0)
    for c in range(k):
        for j in range(m):
            for i in range(n):
                if ac[i] * bc[c, j] + as_[i] * bs[c, j] < zero:
                    continue
                both = 0
                nb = 0
                for w in range(words):
                    b = bbits[c, j, w]
                    both += _popcount64(abits[i, w] & b)
                    nb += _popcount64(amask[i, w] & b)
                fb = np.float32(nb)
                nx = max(na[i] + fb - two * np.float32(both), zero)
                norm = root_a[i] + np.sqrt(fb)
                if norm > zero:
                    out[c, i, j] = one - np.sqrt(nx) / norm
    return out
