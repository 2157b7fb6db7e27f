"""The loci of the Prüm DNA exchange, as data (DNA-3), and the microvariant tables (DNA-7).

Everything that a later reading of the 2008/616 annex may correct lives here: the locus lists,
the spellings laboratories use for them, which loci are pentanucleotide, and the neighbour tables
by which a microvariant matches. The matching code reads these tables; it hard-codes none of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from prum.services.common.errors import InvalidInput, quote

AMELOGENIN = "AMEL"
"""Canonical name of the sex marker: kept in a profile (X/Y), never compared nor counted (DNA-8)."""

ESS_ORIGINAL: tuple[str, ...] = ("VWA", "TH01", "D21S11", "FGA", "D8S1179", "D3S1358", "D18S51")
"""The 7 loci of the original European Standard Set; a person profile needs 6 of them (DNA-4)."""

ESS_ADDED: tuple[str, ...] = ("D1S1656", "D2S441", "D10S1248", "D12S391", "D22S1045")
"""The 5 loci added to the ESS in 2009 (Council Resolution 2009/C 296/01)."""

ESS_LOCI: tuple[str, ...] = ESS_ORIGINAL + ESS_ADDED
"""The extended European Standard Set: 12 loci."""

ANNEX_LOCI: tuple[str, ...] = (
    "VWA", "TH01", "D21S11", "FGA", "D8S1179", "D3S1358", "D18S51", AMELOGENIN,
    "TPOX", "CSF1PO", "D13S317", "D7S820", "D5S818", "D16S539", "D2S1338", "D19S433",
    "PENTA_D", "PENTA_E", "FES", "F13A1", "F13B", "SE33", "CD4", "GABA",
)
"""The 24 Interpol loci of the 2008/616 annex (chapter 1, 1.1), amelogenin among them (DNA-3)."""

STR_LOCI: tuple[str, ...] = tuple(name for name in ANNEX_LOCI if name != AMELOGENIN) + ESS_ADDED
"""Every comparable locus: the 23 annex STR loci and the 5 added ESS loci (28; amelogenin apart)."""

KNOWN_LOCI: tuple[str, ...] = STR_LOCI + (AMELOGENIN,)
"""Every locus a profile may carry, in the order used for display and generated profiles."""

PENTANUCLEOTIDE_LOCI: frozenset[str] = frozenset({"PENTA_D", "PENTA_E", "CD4"})
"""Loci with a 5-base repeat: microvariants x.1 to x.4 (DNA-7). All other STR loci repeat 4 bases."""


def repeat_length(locus: str) -> int:
    """Bases per repeat of a canonical STR locus: 5 for Penta D, Penta E and CD4, else 4 (DNA-7)."""
    return 5 if locus in PENTANUCLEOTIDE_LOCI else 4


# DNA-7, as data. For a repeat length, each microvariant fraction maps to the values it matches,
# written as (repeat offset, fraction): (0, 0) is the whole repeat x itself, (1, 0) is x+1.
# This is the "immediate neighbours" reading quoted in RULES.md DNA-7, not yet confirmed against the
# official annex text; the other reading ("x.n matches x and x+1") would be, for 4 bases:
#   {1: ((0, 0), (0, 1), (1, 0)), 2: ((0, 0), (0, 2), (1, 0)), 3: ((0, 0), (0, 3), (1, 0))}.
# The relation is used symmetrically: b matches a when b is in a's row or a is in b's row, so a
# whole repeat x matches x.1 and (x-1).3 (for 4 bases) because those rows name it.
MICROVARIANT_NEIGHBOURS: Mapping[int, Mapping[int, tuple[tuple[int, int], ...]]] = MappingProxyType({
    4: MappingProxyType({
        1: ((0, 0), (0, 1), (0, 2)),
        2: ((0, 1), (0, 2), (0, 3)),
        3: ((0, 2), (0, 3), (1, 0)),
    }),
    5: MappingProxyType({
        1: ((0, 0), (0, 1), (0, 2)),
        2: ((0, 1), (0, 2), (0, 3)),
        3: ((0, 2), (0, 3), (0, 4)),
        4: ((0, 3), (0, 4), (1, 0)),
    }),
})


def _squash(name: str) -> str:
    """Upper case without separators: 'Penta-D' -> 'PENTAD', 'vWA' -> 'VWA', 'FES/FPS' -> 'FESFPS'."""
    return re.sub(r"[^0-9A-Z]", "", name.upper())


# Spellings laboratories type, squashed, to the canonical name. Canonical names map to themselves.
_ALIASES: dict[str, str] = {
    "VWA31": "VWA", "VWA31A": "VWA", "HUMVWA": "VWA", "HUMVWA31A": "VWA",
    "THO1": "TH01", "HUMTH01": "TH01", "HUMTHO1": "TH01",
    "HUMFIBRA": "FGA", "FIBRA": "FGA", "FGAFIBRA": "FGA",
    "CSF1P0": "CSF1PO", "HUMCSF1PO": "CSF1PO",
    "HUMTPOX": "TPOX",
    "PENTAD": "PENTA_D", "PENTAE": "PENTA_E",
    "FESFPS": "FES", "HUMFESFPS": "FES",
    "F13A01": "F13A1", "HUMF13A01": "F13A1", "HUMF13A1": "F13A1",
    "HUMF13B": "F13B",
    "ACTBP2": "SE33", "SE33ACTBP2": "SE33",
    "AMELOGENIN": AMELOGENIN, "AMELO": AMELOGENIN,
    "GABRB3": "GABA",
    "HUMCD4": "CD4",
}
for _name in KNOWN_LOCI:
    _ALIASES[_squash(_name)] = _name
del _name
LOCUS_ALIASES: Mapping[str, str] = MappingProxyType(_ALIASES)
"""Squashed spelling (upper case, no separators) to canonical locus name."""

# The canonical names and their usual mixed-case forms, looked up before squashing (speed only).
_EXACT: dict[str, str] = {name: name for name in KNOWN_LOCI}
_EXACT.update({"vWA": "VWA", "Penta D": "PENTA_D", "Penta E": "PENTA_E", "Amelogenin": AMELOGENIN})


def canonical_locus(name: str) -> str:
    """The canonical spelling of a locus name as labs type it (DNA-3).

    'vWA' -> 'VWA', 'THO1' -> 'TH01', 'penta-d' -> 'PENTA_D', 'Amelogenin' -> 'AMEL'.
    Raises InvalidInput (field = the name given) for a locus outside the annex and the ESS.
    """
    exact = _EXACT.get(name) if isinstance(name, str) else None
    if exact is not None:
        return exact
    if not isinstance(name, str):
        raise InvalidInput(f"a locus name must be text, not {type(name).__name__}", field="loci")
    canonical = LOCUS_ALIASES.get(_squash(name))
    if canonical is None:
        # The name is the field when it is short and printable; a long one is quoted, cut (`quote`), in the text.
        raise InvalidInput(
            f"locus {quote(name)} is not a locus of the 2008/616 annex nor of the ESS (DNA-3); "
            f"allowed: {', '.join(KNOWN_LOCI)}", field=name if len(name) <= 40 and name.isprintable() else "loci")
    return canonical
