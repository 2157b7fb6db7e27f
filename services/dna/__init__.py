"""The DNA file of a state (Art 2-4, 2008/616 annex chapter 1): the pure core, without gRPC.

- `loci`: the annex and ESS locus lists, canonical names, the DNA-7 microvariant tables (data).
- `profile`: normalising what labs enter (DNA-3, DNA-5..DNA-7) and inclusion (DNA-4).
- `matching`: `compare`, the matching rules and match classes (DNA-8, DNA-9).
- `index`: the reference pair index (locus pairs within 5 groups, ARCHITECTURE.md).
- `encoding`: profiles as rows of small allele codes; the rules over codes (vectorised).
- `block_index`: `BlockIndex`, the production index (exact, selective, compact); `kernels`: its
  optional compiled (numba) per-query steps.
- `file`: `DnaFile`, the national file in SQLite with the index in memory (ACC-1, ACC-2, PUR-2).
- `lab_export`: a national file from a laboratory's CSV export.
"""

from prum.services.common.store import IngestReport
from prum.services.dna.block_index import BLOCKS, BlockIndex
from prum.services.dna.encoding import ProfileMatrix
from prum.services.dna.file import DnaFile, DnaHit, FileStats, StoredProfile
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
from prum.services.dna.profile import WILDCARD, NormalisedProfile, check_inclusion, normalize_profile

__all__ = [
    "AMELOGENIN",
    "ANNEX_LOCI",
    "BLOCKS",
    "ESS_ADDED",
    "ESS_LOCI",
    "ESS_ORIGINAL",
    "KNOWN_LOCI",
    "LOCUS_GROUPS",
    "MATCH_CLASSES",
    "MICROVARIANT_NEIGHBOURS",
    "PENTANUCLEOTIDE_LOCI",
    "STR_LOCI",
    "WILDCARD",
    "BlockIndex",
    "DnaFile",
    "DnaHit",
    "FileStats",
    "IngestReport",
    "LocusPairIndex",
    "Match",
    "NormalisedProfile",
    "ProfileMatrix",
    "StoredProfile",
    "allele_neighbours",
    "canonical_locus",
    "check_inclusion",
    "compare",
    "normalize_profile",
]
