"""Synthetic fingerprints as minutiae: master fingers and their impressions (FP-1), deterministic per seed.

A *master finger* is the finger itself: a pattern class, a ridge orientation field and 50-90 minutiae
over the whole fingertip. An *impression* is what one capture of it yields as a template: a plain
impression (about 30-60 minutiae at 500 ppi) or a partial, latent-like trace.

The model, in short:
- Orientation field: the zero-pole model of Sherlock and Monro (the ridge orientation turns by half
  the angle around each core and back around each delta) for loops, whorls and tented arches, and a
  smooth bump field for plain arches; a weak random low-frequency term on top, so no two fingers of
  a class have the same flow. Classes are drawn with their natural frequencies (left loop 33.8 %,
  right loop 31.7 %, whorl 27.9 %, arch 3.7 %, tented arch 2.9 %, as in NIST Special Database 4).
- Minutiae: spread over the fingertip with a minimum spacing of 2 ridges (Poisson-disc), each
  direction along the local ridge orientation (either way along the ridge), ridge endings 55 %,
  bifurcations 42 %, other 3 %, an intrinsic clarity that sets its quality and its drop-out risk.
- Impressions: the finger placed with a random rotation and translation; the skin's non-linear
  (elastic) distortion modelled as in Cappelli, Maio and Maltoni (2001): a rigid core where the
  finger presses, and an outer ring that drifts and turns with a smooth fall-off; a random smooth
  displacement field on top; the contact area (an ellipse) cuts what is seen; minutiae drop out
  (more often when unclear), spurious ones appear along the ridge flow, positions and directions
  get noise, endings and bifurcations are sometimes confused.
- Traces: a small patch of a finger (a latent mark) with larger noise, more drop-out and more
  spurious minutiae, at least `MIN_TRACE_MINUTIAE` minutiae, finger position unknown (0).

Why impostors are not trivial: every finger of a class shares the class's flow (the same singular
points in similar places), so the directions of its minutiae agree with those of other fingers of
the class much more than chance; a matcher must use the minutiae's relative positions, not just
their directions. `impostor_pairs` in the tests and the evaluation compare such fingers.

All randomness comes from the numpy Generator passed in: the same seed gives the same templates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from prum.services.afis.templates import Minutia, MinutiaType, Template
from prum.services.common.reference import ReferenceKind

PATTERN_CLASSES: tuple[str, ...] = ("left_loop", "right_loop", "whorl", "arch", "tented_arch")
PATTERN_SHARES: tuple[float, ...] = (0.338, 0.317, 0.279, 0.037, 0.029)
"""Natural frequencies of the pattern classes (NIST Special Database 4)."""

BASE_PPI = 500
IMAGE_WIDTH, IMAGE_HEIGHT = 416, 512
"""A plain impression at 500 ppi: about 21 x 26 mm."""

MIN_TRACE_MINUTIAE = 12
"""A generated trace keeps at least this many minutiae (more than the 8 a search needs)."""

RIDGE_PERIOD = 9.0
"""Pixels between ridges at 500 ppi (about 0.46 mm)."""

_FINGER_A, _FINGER_B = 200.0, 270.0  # semi-axes of the fingertip (px at 500 ppi)


@dataclass(frozen=True)
class ImpressionStyle:
    """How an impression is taken: placement, distortion, noise, drop-out, spurious minutiae."""

    rotation_deg: float = 20.0
    translation_px: float = 25.0
    distortion_px: float = 7.0
    distortion_turn_deg: float = 3.0
    position_noise_px: float = 2.0
    angle_noise_deg: float = 6.0
    dropout: float = 0.12
    spurious_mean: float = 3.0
    type_flip: float = 0.08
    contact_a: tuple[float, float] = (150.0, 185.0)
    contact_b: tuple[float, float] = (195.0, 240.0)


PLAIN = ImpressionStyle()
"""A plain (flat) impression, as on a live-scan tenprint."""

LATENT = ImpressionStyle(rotation_deg=45.0, translation_px=0.0, distortion_px=9.0, distortion_turn_deg=4.0,
                         position_noise_px=3.0, angle_noise_deg=9.0, dropout=0.22, spurious_mean=4.0,
                         type_flip=0.15)
"""A latent mark: placed anyhow, smudged; cut to a patch by `trace_impression`."""


@dataclass(frozen=True)
class MasterFinger:
    """One synthetic finger: its pattern class, orientation field and minutiae (math frame, y up, px at 500 ppi).

    minutiae columns: x, y, direction (radians), type (MinutiaType value), clarity 0-1.
    """

    pattern: str
    finger_position: int
    cores: np.ndarray
    deltas: np.ndarray
    arch: tuple[float, float, float]
    waves: np.ndarray
    minutiae: np.ndarray = field(repr=False)

    def orientation(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Ridge orientation (radians, modulo pi) at points of the finger."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        theta = np.zeros(np.broadcast(x, y).shape)
        for cx, cy in self.cores:
            theta += 0.5 * np.arctan2(y - cy, x - cx)
        for dx, dy in self.deltas:
            theta -= 0.5 * np.arctan2(y - dy, x - dx)
        if self.pattern == "arch":
            height, spread, base = self.arch
            bump = np.exp(-x ** 2 / (2 * spread ** 2))
            rise = 1.0 / (1.0 + np.exp(-(y - base) / 25.0))
            theta = np.arctan(-height * x / spread ** 2 * bump * rise)
        for amplitude, wx, wy, phase in self.waves:
            theta += amplitude * np.sin(wx * x + wy * y + phase)
        return theta


def _singular_points(rng: np.random.Generator, pattern: str) -> tuple[np.ndarray, np.ndarray]:
    u = rng.uniform
    if pattern in ("left_loop", "right_loop"):
        side = -1.0 if pattern == "left_loop" else 1.0
        core = np.array([u(-40, 40), u(10, 80)])
        delta = core + np.array([side * u(80, 150), -u(90, 150)])
        return core[None], delta[None]
    if pattern == "whorl":
        centre = np.array([u(-30, 30), u(10, 70)])
        offset = np.array([u(5, 25), u(-15, 15)])
        cores = np.stack([centre - offset, centre + offset])
        deltas = np.array([[centre[0] - u(100, 160), centre[1] - u(90, 150)],
                           [centre[0] + u(100, 160), centre[1] - u(90, 150)]])
        return cores, deltas
    if pattern == "tented_arch":
        core = np.array([u(-25, 25), u(0, 60)])
        return core[None], (core + np.array([u(-10, 10), -u(40, 80)]))[None]
    return np.zeros((0, 2)), np.zeros((0, 2))


def _poisson_disc(rng: np.random.Generator, count: int, spacing: float) -> np.ndarray:
    """Up to `count` points in the fingertip ellipse, no two closer than `spacing` (greedy dart throwing)."""
    tries = 4 * count
    radius = np.sqrt(rng.random(tries))
    angle = rng.uniform(0, 2 * np.pi, tries)
    points = np.stack([_FINGER_A * radius * np.cos(angle), _FINGER_B * radius * np.sin(angle)], axis=1)
    kept: list[int] = []
    limit = spacing * spacing
    xs, ys = points[:, 0].tolist(), points[:, 1].tolist()
    for index in range(tries):
        x, y = xs[index], ys[index]
        if all((x - xs[k]) ** 2 + (y - ys[k]) ** 2 >= limit for k in kept):
            kept.append(index)
            if len(kept) == count:
                break
    return points[kept]


def master_finger(rng: np.random.Generator, *, pattern: str | None = None,
                  finger_position: int | None = None) -> MasterFinger:
    """A random finger: class by natural frequency (unless given), flow, and 50-90 minutiae over the tip."""
    if pattern is None:
        pattern = PATTERN_CLASSES[int(rng.choice(len(PATTERN_CLASSES), p=PATTERN_SHARES))]
    elif pattern not in PATTERN_CLASSES:
        raise ValueError(f"unknown pattern {pattern!r}; allowed: {', '.join(PATTERN_CLASSES)}")
    position = int(rng.integers(1, 11)) if finger_position is None else int(finger_position)
    cores, deltas = _singular_points(rng, pattern)
    arch = (float(rng.uniform(40, 90)), float(rng.uniform(60, 100)), float(rng.uniform(-40, 40)))
    waves = np.stack([rng.normal(0, 0.07, 3), *(rng.normal(0, 1, (2, 3)) * 2 * np.pi / rng.uniform(250, 450, 3)),
                      rng.uniform(0, 2 * np.pi, 3)], axis=1)
    count = int(np.clip(rng.normal(68, 10), 48, 95))
    points = _poisson_disc(rng, count, 2 * RIDGE_PERIOD)
    n = len(points)
    master = MasterFinger(pattern, position, cores, deltas, arch, waves, np.zeros((0, 5)))
    direction = master.orientation(points[:, 0], points[:, 1]) + np.pi * rng.integers(0, 2, n)
    kinds = rng.choice([MinutiaType.RIDGE_ENDING.value, MinutiaType.BIFURCATION.value, MinutiaType.OTHER.value],
                       size=n, p=[0.55, 0.42, 0.03])
    clarity = rng.beta(5, 2, n)
    minutiae = np.column_stack([points, np.mod(direction, 2 * np.pi), kinds, clarity])
    return MasterFinger(pattern, position, cores, deltas, arch, waves, minutiae)


def _distort(rng: np.random.Generator, style: ImpressionStyle, centre: np.ndarray):
    """A displacement function for one capture: rigid where pressed, drifting outside (elastic skin)."""
    turn = np.radians(rng.normal(0, style.distortion_turn_deg))
    shift = rng.normal(0, style.distortion_px, 2)
    inner, outer = rng.uniform(40, 80), rng.uniform(170, 230)
    bumps = rng.normal(0, style.distortion_px / 3, (3, 2))
    bump_at = rng.uniform(-150, 150, (3, 2))
    cos_t, sin_t = np.cos(turn), np.sin(turn)

    def displace(points: np.ndarray) -> np.ndarray:
        rel = points - centre
        r = np.hypot(rel[:, 0], rel[:, 1])
        t = np.clip((r - inner) / (outer - inner), 0, 1)
        weight = t * t * (3 - 2 * t)
        moved = np.stack([cos_t * rel[:, 0] - sin_t * rel[:, 1], sin_t * rel[:, 0] + cos_t * rel[:, 1]], axis=1)
        drift = (moved + shift - rel) * weight[:, None]
        for amount, at in zip(bumps, bump_at):
            d2 = ((points - at) ** 2).sum(axis=1)
            drift += amount * np.exp(-d2 / (2 * 90.0 ** 2))[:, None]
        return points + drift

    return displace


@dataclass(frozen=True)
class _Capture:
    points: np.ndarray  # image frame, float px at 500 ppi, y down
    angles: np.ndarray  # radians, counter-clockwise as seen
    kinds: np.ndarray
    quality: np.ndarray


def _capture(rng: np.random.Generator, master: MasterFinger, style: ImpressionStyle, centre_in_finger: np.ndarray,
             image_centre: np.ndarray) -> tuple[_Capture, Callable[[np.ndarray], np.ndarray]]:
    """Place, distort and observe every minutia of the finger; returns them and the finger->image map."""
    rotation = np.radians(rng.uniform(-style.rotation_deg, style.rotation_deg))
    displace = _distort(rng, style, centre_in_finger)
    cos_r, sin_r = np.cos(rotation), np.sin(rotation)

    def to_image(points: np.ndarray) -> np.ndarray:
        moved = displace(points) - centre_in_finger
        rotated = np.stack([cos_r * moved[:, 0] - sin_r * moved[:, 1], sin_r * moved[:, 0] + cos_r * moved[:, 1]],
                           axis=1)
        return np.stack([image_centre[0] + rotated[:, 0], image_centre[1] - rotated[:, 1]], axis=1)

    m = master.minutiae
    here = to_image(m[:, :2])
    ahead = to_image(m[:, :2] + 6.0 * np.stack([np.cos(m[:, 2]), np.sin(m[:, 2])], axis=1))
    angles = np.arctan2(-(ahead[:, 1] - here[:, 1]), ahead[:, 0] - here[:, 0])
    return _Capture(here, angles, m[:, 3].astype(int), m[:, 4]), to_image


def _observe(rng: np.random.Generator, master: MasterFinger, capture: _Capture, to_image, style: ImpressionStyle,
             inside, region_area: float, region_sampler) -> list[tuple[float, float, float, int, float]]:
    """Noise, drop-out, type confusion and spurious minutiae on the minutiae inside the seen region."""
    keep = inside(capture.points)
    clarity = capture.quality
    lost = rng.random(len(clarity)) < style.dropout * (1.6 - clarity)
    keep &= ~lost
    points = capture.points[keep] + rng.normal(0, style.position_noise_px, (int(keep.sum()), 2))
    angles = capture.angles[keep] + np.radians(rng.normal(0, style.angle_noise_deg, int(keep.sum())))
    kinds = capture.kinds[keep].copy()
    flip = (rng.random(len(kinds)) < style.type_flip) & (kinds != MinutiaType.OTHER.value)
    kinds[flip] = 3 - kinds[flip]
    quality = np.clip(100 * clarity[keep] + rng.normal(0, 8, len(kinds)), 5, 100)
    found = [(float(x), float(y), float(a), int(k), float(q)) for (x, y), a, k, q in zip(points, angles, kinds, quality)]
    # spurious minutiae along the ridge flow: sample in the finger frame, map like real ones
    spurious = int(rng.poisson(style.spurious_mean * region_area / (np.pi * 170 * 215)))
    if spurious:
        where = region_sampler(spurious)  # finger frame
        direction = master.orientation(where[:, 0], where[:, 1]) + np.pi * rng.integers(0, 2, spurious)
        here = to_image(where)
        ahead = to_image(where + 6.0 * np.stack([np.cos(direction), np.sin(direction)], axis=1))
        seen = inside(here)
        fake_angles = np.arctan2(-(ahead[:, 1] - here[:, 1]), ahead[:, 0] - here[:, 0])
        for (x, y), a, ok in zip(here, fake_angles, seen):
            if ok:
                kind = int(rng.choice([1, 2]))
                found.append((float(x), float(y), float(a), kind, float(rng.uniform(10, 60))))
    return found


def _template(reference: str, kind: ReferenceKind, finger_position: int, width: int, height: int, ppi: int,
              found: Sequence[tuple[float, float, float, int, float]], rng: np.random.Generator) -> Template:
    scale = ppi / BASE_PPI
    order = rng.permutation(len(found))  # extraction order is arbitrary
    minutiae = []
    for index in order:
        x, y, a, k, q = found[index]
        px, py = round(x * scale), round(y * scale)
        if 0 <= px < width and 0 <= py < height:
            minutiae.append(Minutia(px, py, round(np.degrees(a)) % 360, MinutiaType(k), round(q)))
    return Template(reference, kind, finger_position, width, height, ppi, tuple(minutiae))


def impression(rng: np.random.Generator, master: MasterFinger, reference: str, *,
               kind: ReferenceKind = ReferenceKind.IDENTIFIED_PERSON, style: ImpressionStyle = PLAIN,
               resolution_ppi: int = BASE_PPI) -> Template:
    """A plain impression of the finger (416 x 512 px at 500 ppi, scaled for other resolutions)."""
    centre = rng.normal(0, style.translation_px / 2, 2).clip(-style.translation_px, style.translation_px)
    centre = centre + np.array([0.0, 20.0])
    image_centre = np.array([IMAGE_WIDTH / 2, IMAGE_HEIGHT / 2]) + rng.normal(0, 6, 2)
    capture, to_image = _capture(rng, master, style, centre, image_centre)
    a, b = rng.uniform(*style.contact_a), rng.uniform(*style.contact_b)

    def inside(points: np.ndarray) -> np.ndarray:
        rel = (points - image_centre) / np.array([a, b])
        on_image = (points[:, 0] >= 2) & (points[:, 0] < IMAGE_WIDTH - 2) & (points[:, 1] >= 2) & \
                   (points[:, 1] < IMAGE_HEIGHT - 2)
        return ((rel ** 2).sum(axis=1) <= 1.0) & on_image

    def sample(count: int) -> np.ndarray:
        r, t = np.sqrt(rng.random(count)), rng.uniform(0, 2 * np.pi, count)
        return centre + np.stack([a * r * np.cos(t), b * r * np.sin(t)], axis=1)

    found = _observe(rng, master, capture, to_image, style, inside, np.pi * a * b, sample)
    scale = resolution_ppi / BASE_PPI
    return _template(reference, kind, master.finger_position, round(IMAGE_WIDTH * scale),
                     round(IMAGE_HEIGHT * scale), resolution_ppi, found, rng)


def trace_impression(rng: np.random.Generator, master: MasterFinger, reference: str, *,
                     style: ImpressionStyle = LATENT, resolution_ppi: int = BASE_PPI,
                     patch_radius: tuple[float, float] = (95.0, 150.0), tries: int = 50) -> Template:
    """A partial, latent-like trace: an elliptic patch of the finger, noisier, finger unknown (0)."""
    for attempt in range(tries):
        grow = 1.0 + 0.03 * attempt
        ra = rng.uniform(*patch_radius) * grow
        rb = ra * rng.uniform(0.7, 1.0)
        spot = np.array([rng.uniform(-0.55, 0.55) * _FINGER_A, rng.uniform(-0.5, 0.6) * _FINGER_B])
        margin = 24.0
        width = int(2 * max(ra, rb) + 2 * margin)
        height = width
        image_centre = np.array([width / 2, height / 2])
        capture, to_image = _capture(rng, master, style, spot, image_centre)
        tilt = rng.uniform(0, np.pi)
        ct, st = np.cos(tilt), np.sin(tilt)

        def inside(points: np.ndarray, ra: float = ra, rb: float = rb, c: np.ndarray = image_centre,
                   w: int = width, h: int = height, ct: float = ct, st: float = st) -> np.ndarray:
            rel = points - c
            u = (ct * rel[:, 0] + st * rel[:, 1]) / ra
            v = (-st * rel[:, 0] + ct * rel[:, 1]) / rb
            on_image = (points[:, 0] >= 0) & (points[:, 0] < w) & (points[:, 1] >= 0) & (points[:, 1] < h)
            return (u * u + v * v <= 1.0) & on_image

        def sample(count: int, ra: float = ra, rb: float = rb, spot: np.ndarray = spot) -> np.ndarray:
            r, t = np.sqrt(rng.random(count)), rng.uniform(0, 2 * np.pi, count)
            return spot + np.stack([ra * r * np.cos(t), ra * r * np.sin(t)], axis=1)

        found = _observe(rng, master, capture, to_image, style, inside, np.pi * ra * rb, sample)
        if len(found) >= MIN_TRACE_MINUTIAE:
            scale = resolution_ppi / BASE_PPI
            return _template(reference, ReferenceKind.UNIDENTIFIED_TRACE, 0, max(64, round(width * scale)),
                             max(64, round(height * scale)), resolution_ppi, found, rng)
    raise ValueError(f"could not cut a trace with {MIN_TRACE_MINUTIAE} minutiae from this finger in {tries} tries")


def population(rng: np.random.Generator, size: int, *, prefix: str = "P") -> Iterator[tuple[MasterFinger, Template]]:
    """`size` fingers with one plain impression each, references `<prefix>000001`, ... (a national file)."""
    for number in range(1, size + 1):
        master = master_finger(rng)
        yield master, impression(rng, master, f"{prefix}{number:06d}")


def mated_probe(rng: np.random.Generator, master: MasterFinger, reference: str, *, trace: bool = False,
                resolution_ppi: int = BASE_PPI) -> Template:
    """Another capture of the same finger: a plain impression of a person, or a partial trace."""
    if trace:
        return trace_impression(rng, master, reference, resolution_ppi=resolution_ppi)
    return impression(rng, master, reference, resolution_ppi=resolution_ppi)
