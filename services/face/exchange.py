"""The facial-image file's part in automated exchange (Art 20, P2-FACE-2, P2-FACE-4), without gRPC or the seam.

The requested state searches only for an offence punishable by at least one year (P2-FACE-4, checked again here:
a requesting state's own check is not trusted), only with a probe of at least its minimum quality, and supplies
at most its candidate cap (P2-FACE-2, U: default 10) of candidates scoring at least its threshold. The probe is
searched and forgotten (PUR-2). Nothing supplied is a match yet: the requesting state's officer confirms or
rejects each candidate (P2-FACE-3, `prum.services.face.confirmation`), so the logged supply lists the
candidates with no verified reference. `prum.services.face.plugin` plugs these into the exchange.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prum.services.common.errors import InvalidInput
from prum.services.face.gallery import Candidate, FaceGallery
from prum.services.face.offences import Offence, check_offence
from prum.services.face.templates import FaceTemplate, template_record

#: P2-FACE-2 (U): the most candidates a search returns, by default (federation file `face.max_candidates`).
DEFAULT_MAX_CANDIDATES = 10
#: The least cosine score a candidate needs, by default (`face.threshold`): about 7 standard deviations of the
#: impostor distribution of 512-d embeddings (N(0, 1/sqrt(512)) = 0.044), so an impostor almost never appears.
DEFAULT_THRESHOLD = 0.3
#: The least quality of a probe the file searches with, by default (`face.min_quality`, P2-QUAL-1 U).
DEFAULT_MIN_QUALITY = 20
#: What the federation file may set the cap to at most (the contract's bound for a candidate list).
MAX_CANDIDATES_LIMIT = 100


@dataclass(frozen=True)
class FaceLimits:
    """A requested state's settings for facial-image searches (federation file `face`)."""

    max_candidates: int = DEFAULT_MAX_CANDIDATES
    threshold: float = DEFAULT_THRESHOLD
    min_quality: int = DEFAULT_MIN_QUALITY

    def __post_init__(self) -> None:
        if not 1 <= self.max_candidates <= MAX_CANDIDATES_LIMIT:
            raise InvalidInput(f"{self.max_candidates}; allowed: 1 to {MAX_CANDIDATES_LIMIT}", field="max_candidates")
        if not -1.0 <= self.threshold <= 1.0:
            raise InvalidInput(f"{self.threshold}; allowed: -1 to 1 (a cosine score)", field="threshold")
        if not 0 <= self.min_quality <= 100:
            raise InvalidInput(f"{self.min_quality}; allowed: 0 to 100", field="min_quality")


@dataclass(frozen=True)
class FaceQuery:
    """A probe and the offence the search is made for (P2-FACE-4)."""

    probe: FaceTemplate
    offence: Offence


@dataclass(frozen=True)
class FaceFile:
    """What a facial-image search reads: the state's gallery and its limits."""

    gallery: FaceGallery
    limits: FaceLimits = field(default_factory=FaceLimits)


@dataclass(frozen=True)
class FaceCandidates:
    """A candidate list supplied: each candidate with its template, best first."""

    candidates: list[tuple[Candidate, FaceTemplate]]


def query_record(query: FaceQuery) -> dict[str, Any]:
    """What the log keeps of a query, on both sides (Art 30: the data supplied, and the offence stated)."""
    return {"offence": query.offence.name, "probe": template_record(query.probe)}


def candidates_record(found: FaceCandidates) -> dict[str, Any]:
    """What the log keeps of a candidate list supplied: references, scores and templates, and no verified reference:
    a face candidate is no match until the requesting state's officer confirms it (P2-FACE-3)."""
    return {"candidates": [{"reference": c.reference, "score": c.score, "template": template_record(t)}
                           for c, t in found.candidates],
            "verified": []}


def search_candidates(file: FaceFile, query: FaceQuery) -> FaceCandidates:
    """The requested state's search: offence and quality checked, at most the cap, at least the threshold."""
    check_offence(query.offence, "refused by the requested state")
    if query.probe.quality < file.limits.min_quality:
        raise InvalidInput(f"{query.probe.quality}; allowed: at least {file.limits.min_quality} for a search of this "
                           f"file (P2-QUAL-1)", field="probe.quality")
    found = file.gallery.search(query.probe, file.limits.max_candidates, file.limits.threshold)
    return FaceCandidates([(candidate, file.gallery.template(candidate.reference)) for candidate in found])
