"""A state compiles the fingerprint kernels before it serves, so no search waits for numba's first compile."""

from __future__ import annotations

import random

import pytest

from prum.services.afis import kernels
from prum.services.afis.gallery import Gallery
from prum.services.afis.matching import verify
from prum.services.afis.templates import TemplateKind
from prum.services.afis.warmup import _finger, _impression, compile_kernels

pytestmark = pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed: nothing to compile")


def compiled_signatures() -> dict[str, int]:
    from numba.core.registry import CPUDispatcher

    return {name: len(kernel.signatures) for name in dir(kernels)
            if isinstance(kernel := getattr(kernels, name), CPUDispatcher)}


def test_after_the_warm_up_searches_compile_nothing_new() -> None:
    compile_kernels()
    before = compiled_signatures()
    assert any(before.values())
    rng = random.Random(11)
    fingers = [_finger(rng, f"T-{i}", rng.randint(30, 70)) for i in range(40)]
    gallery = Gallery()
    gallery.add_many(fingers)
    gallery.build_index()
    for i, finger in enumerate(fingers[::4]):
        for probe in (_impression(rng, finger, f"P{i}", 0.9, TemplateKind.IDENTIFIED_PERSON),
                      _impression(rng, finger, f"Q{i}", 0.4, TemplateKind.UNIDENTIFIED_TRACE)):
            for candidate in gallery.search(probe, 3):
                verify(probe, gallery.template(candidate.reference))
    assert compiled_signatures() == before


def test_the_warm_up_finds_its_own_mates() -> None:
    """The made-up file is a real one: a full impression of a stored finger finds that finger first."""
    rng = random.Random(3)
    fingers = [_finger(rng, f"M-{i}", 50) for i in range(30)]
    gallery = Gallery()
    gallery.add_many(fingers)
    gallery.build_index()
    probe = _impression(rng, fingers[7], "PROBE", 0.9, TemplateKind.IDENTIFIED_PERSON)
    assert gallery.search(probe, 3)[0].reference == "M-7"
