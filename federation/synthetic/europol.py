"""Europol's synthetic third-country data (P2-EUROPOL-2): DNA profiles and fingerprint templates that third
countries gave Europol, generated like the states' files (`prum.federation.synthetic.dna`, `.afis`), each taken
into one of Europol's analysis work files with evaluation codes (EUR-1), deterministic with a seed.

    data = third_country_data(federation.federation.europol, seed=2024)
    load(federation.europol, data)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from prum.federation.runtime.europol import EuropolNode
from prum.federation.runtime.topology import EuropolSpec
from prum.federation.synthetic.afis import MasterFinger, population
from prum.federation.synthetic.dna import random_profile
from prum.services.afis.templates import Template
from prum.services.common.category import Category
from prum.services.common.reference import ReferenceKind
from prum.services.europol.evaluation import Evaluation, InformationReliability, SourceReliability

#: Europol's analysis work files of the synthetic data, each for the data of one third country.
FILES = ("AWF-TC-US", "AWF-TC-UA", "AWF-TC-RS")


@dataclass(frozen=True)
class ThirdCountryData:
    """What `load` puts into Europol's files: DNA rows, templates (with the fingers they came from, to make
    mated probes), and each item's evaluation."""

    profiles: list[tuple[str, ReferenceKind, dict[str, list[str]]]]
    templates: list[Template]
    masters: list[MasterFinger]
    evaluations: dict[str, Evaluation]


def _evaluation(rng: np.random.Generator, file: str) -> Evaluation:
    return Evaluation(SourceReliability("ABCD"[int(rng.integers(0, 4))]),
                      InformationReliability(str(int(rng.integers(1, 5)))), file)


def third_country_data(spec: EuropolSpec, seed: int = 2024) -> ThirdCountryData:
    rng = np.random.default_rng(seed)
    profiles: list[tuple[str, ReferenceKind, dict[str, list[str]]]] = []
    evaluations: dict[str, Evaluation] = {}
    for i in range(spec.dna_profiles):
        kind = ReferenceKind.UNIDENTIFIED_TRACE if i % 4 == 3 else ReferenceKind.IDENTIFIED_PERSON
        reference = f"XP-D-{i + 1:06d}"
        profiles.append((reference, kind, random_profile(rng, kind=kind)))
        evaluations[reference] = _evaluation(rng, FILES[i % len(FILES)])
    pairs = list(population(rng, spec.fingerprints, prefix="XP-F-"))
    for i, (_, template) in enumerate(pairs):
        evaluations[template.reference] = _evaluation(rng, FILES[i % len(FILES)])
    return ThirdCountryData(profiles, [t for _, t in pairs], [m for m, _ in pairs], evaluations)


def load(node: EuropolNode, data: ThirdCountryData) -> int:
    """Open Europol's files (those not open yet), take every item in with its codes; returns the items taken."""
    for file in sorted({e.file for e in data.evaluations.values()} - set(node.files.file_ids())):
        node.files.open_file(file)
    report = node.dna.ingest_many(data.profiles)
    if report.rejections:
        raise ValueError(f"Europol's DNA file refused {report.rejections[:3]}")
    if data.templates:
        node.gallery.add_many(data.templates)
    categories = {reference: Category.DNA for reference, _, _ in data.profiles}
    categories.update((t.reference, Category.FINGERPRINT) for t in data.templates)
    return node.files.add_many((reference, categories[reference], evaluation)
                               for reference, evaluation in data.evaluations.items())
