"""Compile the fingerprint matcher's kernels before a state serves (see `prum.services.dna.warmup`).

numba compiles the triangle vote and the 1:1 scorer's kernels on their first call: seconds to tens
of seconds on a fresh machine, then loaded from the on-disk cache. `compile_kernels()` runs, once
per process, the searches and verifications of a small made-up file: full impressions and partial
traces of its own fingers (mates: every voting and scoring path) and an unrelated finger.
"""

from __future__ import annotations

import math
import random

from prum.services.afis import kernels
from prum.services.afis.gallery import Gallery
from prum.services.afis.matching import verify
from prum.services.afis.templates import Minutia, MinutiaType, Template
from prum.services.common.jit import once_per_process
from prum.services.common.reference import ReferenceKind

SIZE = 500


def _finger(rng: random.Random, reference: str, count: int) -> Template:
    minutiae = [Minutia(rng.randrange(40, SIZE - 40), rng.randrange(40, SIZE - 40), rng.randrange(360),
                        rng.choice((MinutiaType.RIDGE_ENDING, MinutiaType.BIFURCATION)), rng.randrange(40, 100))
                for _ in range(count)]
    return Template(reference, ReferenceKind.IDENTIFIED_PERSON, 1 + len(reference) % 10, SIZE, SIZE, 500,
                    tuple(minutiae))


def _impression(rng: random.Random, finger: Template, reference: str, keep: float, kind: ReferenceKind) -> Template:
    """The finger again: turned by a few degrees, shifted, jittered, some minutiae lost (a trace: a patch)."""
    turn = math.radians(rng.uniform(-15, 15))
    dx, dy = rng.uniform(-20, 20), rng.uniform(-20, 20)
    cx = cy = SIZE / 2
    moved = []
    for m in finger.minutiae:
        if rng.random() > keep:
            continue
        x = cx + (m.x - cx) * math.cos(turn) - (m.y - cy) * math.sin(turn) + dx + rng.gauss(0, 2)
        y = cy + (m.x - cx) * math.sin(turn) + (m.y - cy) * math.cos(turn) + dy + rng.gauss(0, 2)
        if 0 <= x < SIZE and 0 <= y < SIZE:
            moved.append(Minutia(int(x), int(y), (m.angle + round(math.degrees(turn))) % 360, m.type, m.quality))
    position = 0 if kind is ReferenceKind.UNIDENTIFIED_TRACE else finger.finger_position
    return Template(reference, kind, position, SIZE, SIZE, 500, tuple(moved))


def _exercise() -> None:
    rng = random.Random(2008)
    fingers = [_finger(rng, f"WARM-{i:03d}", rng.randint(35, 60)) for i in range(60)]
    gallery = Gallery()
    gallery.add_many(fingers[:50])
    gallery.build_index()
    gallery.add_many(fingers[50:])  # added after the index was built: the pending part
    for i, finger in enumerate(fingers[::6]):
        full = _impression(rng, finger, f"WARM-P{i}", 0.85, ReferenceKind.IDENTIFIED_PERSON)
        trace = _impression(rng, finger, f"WARM-T{i}", 0.45, ReferenceKind.UNIDENTIFIED_TRACE)
        for probe in (full, trace, _finger(rng, f"WARM-U{i}", 40)):
            for candidate in gallery.search(probe, 5):
                verify(probe, gallery.template(candidate.reference))


compile_kernels = once_per_process(kernels.AVAILABLE, _exercise)
"""Compile (or load from the cache) the AFIS kernels, once per process; the seconds it took (0.0 after)."""
