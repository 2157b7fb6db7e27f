"""Compile the AFIS kernels before a state serves fingerprint searches.

numba compiles a kernel on its first call: seconds on a fresh machine, a fraction of a second from
its on-disk cache. A first compile inside a search would hold that search (and those queued behind
it) past the caller's deadline, so the AFIS service runs `compile_kernels()` when it starts: a plain
and a trace search on a small made-up file, once per process. Without numba it returns at once.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from prum.services.afis import kernels
from prum.services.afis.gallery import Gallery
from prum.services.afis.templates import Minutia, MinutiaType, Template, TemplateKind

_lock = threading.Lock()
_compiled = False


def _template(rng: np.random.Generator, reference: str, count: int, kind: TemplateKind) -> Template:
    xy = rng.uniform(40, 360, (count, 2)).round().astype(int)
    angle = rng.integers(0, 360, count)
    minutiae = tuple(Minutia(int(x), int(y), int(a), MinutiaType.RIDGE_ENDING, 60) for (x, y), a in zip(xy, angle))
    return Template(reference, kind, 0 if kind is TemplateKind.UNIDENTIFIED_TRACE else 1, 400, 400, 500, minutiae)


def compile_kernels() -> float:
    """Compile (or load) every AFIS kernel once per process; the seconds it took (0.0 when already done)."""
    global _compiled
    if not kernels.AVAILABLE:
        return 0.0
    with _lock:
        if _compiled:
            return 0.0
        began = time.perf_counter()
        rng = np.random.default_rng(19794)
        gallery = Gallery()
        gallery.add_many([_template(rng, f"W{i}", 40, TemplateKind.IDENTIFIED_PERSON) for i in range(12)])
        gallery.build_index()
        gallery.add(_template(rng, "W-pending", 40, TemplateKind.IDENTIFIED_PERSON))
        gallery.search(_template(rng, "Q1", 40, TemplateKind.IDENTIFIED_PERSON))
        gallery.search(_template(rng, "Q2", 16, TemplateKind.UNIDENTIFIED_TRACE))
        _compiled = True
        return time.perf_counter() - began
