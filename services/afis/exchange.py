"""The fingerprint file's part in automated exchange (Art 9, FP-2, FP-3), without gRPC or the seam.

The requested state spends one search of the requesting state's daily capacity for the probe's kind
(persons or traces), refusing with the time it resets when it is spent, and returns at most as many
candidates as the requesting state accepts. The probe is searched and forgotten (PUR-2). The
requesting state's own matcher then decides which candidates are hits (Art 9(2), FP-2).
`prum.services.afis.plugin` plugs these into the exchange.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prum.services.afis.capacity import CapacityGrant, CapacityLedger
from prum.services.afis.gallery import Candidate, Gallery
from prum.services.afis.matching import verify
from prum.services.afis.templates import Template


@dataclass(frozen=True)
class FingerprintQuery:
    """A probe, and the most candidates the requesting state accepts for verification (FP-3; 0: the default)."""

    probe: Template
    max_candidates: int = 0


@dataclass(frozen=True)
class FingerprintFile:
    """What a fingerprint search reads and spends: the state's gallery and its capacity ledger (FP-3)."""

    gallery: Gallery
    ledger: CapacityLedger


@dataclass(frozen=True)
class CandidateList:
    candidates: list[tuple[Candidate, Template]]
    grant: CapacityGrant


def template_record(template: Template) -> dict[str, Any]:
    """What the log keeps of a template (the data supplied: Art 30)."""
    return {"reference": template.reference, "kind": template.kind.name, "finger_position": template.finger_position,
            "width": template.width, "height": template.height, "resolution_ppi": template.resolution_ppi,
            "minutiae": [[m.x, m.y, m.angle, int(m.type), m.quality] for m in template.minutiae]}


def candidates_record(found: CandidateList) -> dict[str, Any]:
    """What the log keeps of a candidate list supplied (references, scores and templates)."""
    return {"candidates": [{"reference": c.reference, "score": c.score, "template": template_record(t)}
                           for c, t in found.candidates]}


def search_candidates(file: FingerprintFile, requesting_state: str, probe: Template,
                      max_candidates: int) -> CandidateList:
    """One search of `requesting_state`'s capacity for the probe's kind, or `CapacityExhausted`; the capacity is
    given back if the search itself fails."""
    grant = file.ledger.acquire(requesting_state, probe.kind)
    try:
        limit = file.ledger.candidate_limit(requesting_state, max_candidates or None)
        found = file.gallery.search(probe, limit)
    except BaseException:
        file.ledger.release(grant)
        raise
    return CandidateList([(candidate, file.gallery.template(candidate.reference)) for candidate in found], grant)


def verify_candidates(probe: Template, candidates: list[Template]) -> list[tuple[Template, float]]:
    """Art 9(2), FP-2: the requesting state's own matcher decides; only verified candidates are hits."""
    verified = []
    for candidate in candidates:
        value, match = verify(probe, candidate)
        if match:
            verified.append((candidate, value))
    return verified
