"""The DNA file of a state (Art 2-4, 2008/616 annex chapter 1): the pure core, without gRPC.

- `loci`: the annex and ESS locus lists, canonical names, the DNA-7 microvariant tables (data).
- `profile`: normalising what labs enter (DNA-3, DNA-5..DNA-7) and inclusion (DNA-4).
- `matching`: `compare`, the matching rules and match classes (DNA-8, DNA-9).
- `index`: the exact candidate index (locus pairs within 5 groups).
- `file`: `DnaFile`, the national file in SQLite with the index in memory (ACC-1, ACC-2, PUR-2).
"""

from prum.services.dna.file import DnaFile, DnaHit, FileStats, IngestReport, StoredProfile
from prum.services.dna.index import LOCUS_GROUPS, LocusPairIndex
from prum.services.dna.loci import (
    AMELOGENIN,
    ANNEX_LOCI,
    ESS_ADDED,
    ESS_LOCI,
    ESS_ORIGINAL,
    KNOWN_LOCI,
    MICROVARIANT_NEIGHBOURS,
    PENTANUCLEOTIDE_LOCI,
    STR_LOCI,
    canonical_locus,
)
from prum.services.dna.matching import MATCH_CLASSES, Match, allele_neighbours, compare
from prum.services.dna.profile import (
    WILDCARD,
    NormalisedProfile,
    ProfileKind,
    check_inclusion,
    normalize_profile,
)

__all__ = [
    "AMELOGENIN", "ANNEX_LOCI", "ESS_ADDED", "ESS_LOCI", "ESS_ORIGINAL", "KNOWN_LOCI", "LOCUS_GROUPS",
    "MATCH_CLASSES", "MICROVARIANT_NEIGHBOURS", "PENTANUCLEOTIDE_LOCI", "STR_LOCI", "WILDCARD",
    "DnaFile", "DnaHit", "FileStats", "IngestReport", "LocusPairIndex", "Match", "NormalisedProfile",
    "ProfileKind", "StoredProfile", "allele_neighbours", "canonical_locus", "check_inclusion", "compare",
    "normalize_profile",
]
