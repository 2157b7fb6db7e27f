"""The DNA file's part in automated exchange (Art 3 search, Art 4 comparison), without gRPC.

Turns the file's hits into a `Supply`: the reply for the caller and the data the log records of it
(the references and the matching profiles supplied, DNA-10).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prum.services.common.errors import NotAuthorised
from prum.services.dna.file import DnaFile, DnaHit
from prum.services.dna.profile import ProfileKind
from prum.services.exchange.file_managing import Supply


def hit_record(hit: DnaHit) -> dict[str, Any]:
    return {"reference": hit.reference, "kind": hit.kind.name, "match_class": hit.match.match_class,
            "loci_compared": hit.match.loci_compared, "loci_matched": hit.match.loci_matched,
            "profile": {locus: list(alleles) for locus, alleles in hit.profile.items()},
            "contested": hit.contested}


def search_supply(file: DnaFile, loci: Mapping[str, Sequence[str]], kind: ProfileKind) -> Supply:
    """Art 3: one profile against the file. The query is matched and then forgotten (PUR-2)."""
    hits = file.search(loci, query_kind=kind)
    return Supply(result=hits, hit_count=len(hits), data={"hits": [hit_record(h) for h in hits]})


def query_record(reference: str, kind: ProfileKind, loci: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """What the log keeps of a received query profile (Art 30: the data supplied)."""
    return {"reference": reference, "kind": kind.name, "loci": {k: list(v) for k, v in loci.items()}}


def check_comparison_consent(state: str, partners: frozenset[str], requesting_state: str) -> None:
    """Art 4 comparisons only by mutual agreement (DNA-11): the agreement is recorded in the federation file."""
    if requesting_state not in partners:
        agreed = ", ".join(sorted(partners)) or "none"
        raise NotAuthorised(f"{state} has no Art 4 agreement with {requesting_state}; states {state} compares "
                            f"with: {agreed}")
