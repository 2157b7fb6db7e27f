"""The facial-image core without gRPC: templates (P2-FACE-1), the exact 1:N search and its cap (P2-FACE-2), the
offence table (P2-FACE-4), the synthetic population's score distributions, and the federation file's `face`
settings."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from prum.federation.runtime.topology import FederationFileError, parse_federation
from prum.federation.synthetic.face import (
    Case,
    captures,
    enrolment_fidelity,
    identities,
    population,
    probe,
    probe_fidelity,
    template,
    twin_of,
)
from prum.services.common.errors import Duplicate, InvalidInput, NotAuthorised
from prum.services.common.reference import ReferenceKind
from prum.services.face.exchange import FaceFile, FaceLimits, FaceQuery, candidates_record, search_candidates
from prum.services.face.gallery import FaceGallery
from prum.services.face.offences import Offence, check_offence
from prum.services.face.plugin import PLUGIN
from prum.services.face.templates import DIMENSION, FaceTemplate


def unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal(DIMENSION).astype(np.float32)
    return v / np.linalg.norm(v)


def test_invalid_templates_are_refused_with_field_and_allowed_values() -> None:
    """P2-FACE-1: a fixed-length unit vector, quality and image metadata, a reference number and the kind."""
    rng = np.random.default_rng(1)
    good = FaceTemplate.make("NL-FACE-1", "IDENTIFIED_PERSON", unit(rng), 80, 480, 600, 5)
    assert good.kind is ReferenceKind.IDENTIFIED_PERSON and good.features.shape == (DIMENSION,)
    assert not good.features.flags.writeable
    cases = [
        (dict(features=unit(rng)[:128]), "features: 128 values; allowed: exactly 512"),
        (dict(features=unit(rng) * 2), "allowed: L2-normalised"),
        (dict(features=np.full(DIMENSION, np.nan)), "allowed: finite values"),
        (dict(quality=101), "quality: 101; allowed: 0 to 100"),
        (dict(width=10), "width: 10; allowed: 32 to 8000"),
        (dict(yaw_degrees=120), "yaw_degrees: 120; allowed: -90 to 90"),
        (dict(reference="Jan Jansen"), "not a reference number"),
        (dict(kind="SUSPECT"), "allowed: IDENTIFIED_PERSON, UNIDENTIFIED_TRACE"),
    ]
    for change, message in cases:
        fields = dict(reference="NL-FACE-1", kind="IDENTIFIED_PERSON", features=unit(rng), quality=80, width=480,
                      height=600, yaw_degrees=0, **{})
        fields.update(change)
        with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
            FaceTemplate.make(**fields)  # type: ignore[arg-type]


def test_the_search_is_exact_best_first_and_capped() -> None:
    """P2-FACE-2: the candidate list is the true top `limit` of the file (against brute force), above the threshold."""
    rng = np.random.default_rng(2)
    gallery = FaceGallery(initial_capacity=8)  # grows as templates arrive
    templates = [template(f"NL-{i}", unit(rng), 80) for i in range(500)]
    assert gallery.add_many(templates) == 500
    probe_vector = unit(rng)
    probe_template = template("DE-1", probe_vector, 80, ReferenceKind.UNIDENTIFIED_TRACE)
    brute = sorted(((float(t.features @ probe_vector), t.reference) for t in templates), reverse=True)
    found = gallery.search(probe_template, 10)
    assert [c.reference for c in found] == [r for _, r in brute[:10]]
    assert [c.score for c in found] == pytest.approx([s for s, _ in brute[:10]], abs=1e-5)
    assert gallery.search(probe_template, 10, threshold=1.0) == []
    with pytest.raises(Duplicate):
        gallery.add(templates[3])
    assert gallery.remove("NL-0") and not gallery.remove("NL-0") and len(gallery) == 499
    assert "NL-0" not in {c.reference for c in gallery.search(probe_template, 499)}
    assert gallery.template("NL-499").reference == "NL-499"  # the last row moved into the removed one's place


def test_a_file_search_honours_its_cap_threshold_and_minimum_quality() -> None:
    rng = np.random.default_rng(3)
    gallery = FaceGallery()
    gallery.add_many(template(f"NL-{i}", unit(rng), 80) for i in range(50))
    query = FaceQuery(template("DE-1", unit(rng), 50, ReferenceKind.UNIDENTIFIED_TRACE), Offence.ROBBERY)
    found = search_candidates(FaceFile(gallery, FaceLimits(max_candidates=4, threshold=-1.0)), query)
    assert len(found.candidates) == 4
    record = candidates_record(found)
    assert record["verified"] == [] and len(record["candidates"]) == 4  # nothing is a match before P2-FACE-3
    assert search_candidates(FaceFile(gallery), query).candidates == []  # impostors stay under 0.3
    with pytest.raises(InvalidInput, match="probe.quality: 50; allowed: at least 60"):
        search_candidates(FaceFile(gallery, FaceLimits(min_quality=60)), query)
    with pytest.raises(InvalidInput, match="allowed: 1 to 100"):
        FaceLimits(max_candidates=0)


def test_only_offences_punishable_by_at_least_one_year_are_searched() -> None:
    """P2-FACE-4: the plug-in refuses before anything leaves, the file refuses again."""
    assert check_offence(Offence.ROBBERY, "x") is Offence.ROBBERY
    for minor in (Offence.SHOPLIFTING, Offence.TRAFFIC_OFFENCE, Offence.PUBLIC_ORDER_MINOR):
        with pytest.raises(NotAuthorised, match="P2-FACE-4"):
            check_offence(minor, "x")
    rng = np.random.default_rng(4)
    query = FaceQuery(template("DE-1", unit(rng), 50), Offence.SHOPLIFTING)
    with pytest.raises(NotAuthorised, match="allowed: HOMICIDE"):
        PLUGIN.validate(query)
    with pytest.raises(NotAuthorised, match="refused by the requested state"):
        search_candidates(FaceFile(FaceGallery()), query)


def test_the_synthetic_scores_follow_the_published_shapes() -> None:
    """Impostors ~ N(0, 1/sqrt(512)); genuine scores about N(0.62, 0.10), lower after an age gap or at low quality;
    twins score well above impostors (federation/synthetic/face.py's docstring)."""
    rng = np.random.default_rng(5)
    ids = identities(rng, 2000)
    impostor = np.sum(ids[:1000] * ids[1000:], axis=1)
    assert abs(impostor.mean()) < 0.01 and impostor.std() == pytest.approx(1 / np.sqrt(DIMENSION), rel=0.1)
    enrolled_fidelity = enrolment_fidelity(rng, 2000)
    enrolled = captures(rng, ids, enrolled_fidelity)
    means = {}
    for case in Case:
        probes = captures(rng, ids, probe_fidelity(rng, enrolled_fidelity, case))
        genuine = np.sum(enrolled * probes, axis=1)
        means[case] = genuine.mean()
        assert genuine.mean() == pytest.approx(case.genuine_mean, abs=0.03)
    assert means[Case.NORMAL] > means[Case.AGE_GAP] > means[Case.LOW_QUALITY]
    assert float(twin_of(rng, ids[0]) @ ids[0]) == pytest.approx(0.70, abs=1e-4)
    low = probe(rng, ids[0], "DE-1", Case.LOW_QUALITY)
    assert low.kind is ReferenceKind.UNIDENTIFIED_TRACE and 10 <= low.quality <= 35
    pairs = list(population(np.random.default_rng(6), 3, "NL-F-"))
    assert [t.reference for _, t in pairs] == ["NL-F-000000", "NL-F-000001", "NL-F-000002"]
    assert [t.reference for _, t in population(np.random.default_rng(6), 3, "NL-F-")] == [
        t.reference for _, t in pairs]


FEDERATION = """
[federation]
name = "f"
[defaults]
face = {{ threshold = 0.4 }}
[[state]]
code = "DE"
{de}
[[state]]
code = "NL"
"""


def test_face_settings_are_read_with_the_rules_defaults_and_wrong_ones_refused() -> None:
    """P2-FACE-2 (U): the candidate cap defaults to 10, a federation-file setting; unknown keys refused."""
    federation = parse_federation(tomllib.loads(FEDERATION.format(de="face = { max_candidates = 3 }")))
    assert federation.state("DE").face_limits == FaceLimits(3, 0.4, 20)
    assert federation.state("NL").face_limits == FaceLimits(10, 0.4, 20)
    assert "FACE" in federation.state("NL").ready
    assert parse_federation(federation.to_file_data()) == federation
    for bad, message in (("face = { max_candidates = 0 }", "max_candidates: 0; allowed: 1 to 100"),
                         ("face = { threshold = 2 }", "threshold: 2; allowed: -1 to 1"),
                         ("face = { colour = 1 }", "unknown key")):
        with pytest.raises(FederationFileError, match=message):
            parse_federation(tomllib.loads(FEDERATION.format(de=bad)))
