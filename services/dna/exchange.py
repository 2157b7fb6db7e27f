"""The DNA file's part in automated exchange (Art 3 search, Art 4 comparison), without gRPC or the seam.

The query a search carries, and what the log records of it and of the hits supplied (the references
and the matching profiles, DNA-10). `prum.services.dna.plugin` plugs them into the exchange.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prum.services.common.errors import NotAuthorised
from prum.services.common.reference import ReferenceKind
from prum.services.dna.file import DnaHit


@dataclass(frozen=True)
class DnaQuery:
    """One profile searched (Art 3) or compared (Art 4): its reference, its kind and its loci as given."""

    reference: str
    kind: ReferenceKind
    loci: Mapping[str, Sequence[str]]


def hit_record(hit: DnaHit) -> dict[str, Any]:
    return {"reference": hit.reference, "kind": hit.kind.name, "match_class": hit.match.match_class,
            "loci_compared": hit.match.loci_compared, "loci_matched": hit.match.loci_matched,
            "profile": {locus: list(alleles) for locus, alleles in hit.profile.items()},
            "contested": hit.contested}


def query_record(reference: str, kind: ReferenceKind, loci: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """What the log keeps of a received query profile (Art 30: the data supplied)."""
    return {"reference": reference, "kind": kind.name, "loci": {k: list(v) for k, v in loci.items()}}


def check_comparison_consent(state: str, partners: frozenset[str], requesting_state: str) -> None:
    """Art 4 comparisons only by mutual agreement (DNA-11): the agreement is recorded in the federation file."""
    if requesting_state not in partners:
        agreed = ", ".join(sorted(partners)) or "none"
        raise NotAuthorised(f"{state} has no Art 4 agreement with {requesting_state}; states {state} compares "
                            f"with: {agreed}")
