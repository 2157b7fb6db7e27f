"""Europol's evaluation codes (EUR-1), without gRPC: how reliable the source of an item is (A-D) and how reliable
the item itself (1-4), with the analysis work file it belongs to. They travel with every item Europol supplies."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from prum.services.common.errors import InvalidInput, quote

#: What a file id may be: an identifier like the contract's (`Evaluation.file`, at most 64 characters).
MAX_FILE_ID = 64


class SourceReliability(StrEnum):
    """A: no doubt about the source; B: mostly reliable; C: mostly unreliable; D: cannot be assessed."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class InformationReliability(StrEnum):
    """1: accuracy not in doubt; 2: known personally to the source; 3: corroborated; 4: cannot be corroborated.
    The member names carry a prefix (a name cannot be a digit); the values are the codes."""

    R1 = "1"
    R2 = "2"
    R3 = "3"
    R4 = "4"


@dataclass(frozen=True)
class Evaluation:
    """The codes of one item (EUR-1) and its analysis work file (EUR-2)."""

    source: SourceReliability
    information: InformationReliability
    file: str

    @classmethod
    def parse(cls, source: str, information: str, file: str) -> Evaluation:
        """From the codes as written ("B", "2"); InvalidInput naming what is allowed."""
        if source not in SourceReliability.__members__:
            raise InvalidInput(f"{quote(source)}; allowed: A, B, C, D (EUR-1)", field="source")
        if str(information) not in {r.value for r in InformationReliability}:
            raise InvalidInput(f"{quote(information)}; allowed: 1, 2, 3, 4 (EUR-1)", field="information")
        if not file or len(file) > MAX_FILE_ID or not file.isprintable() or " " in file:
            raise InvalidInput(f"{quote(file)}; allowed: an identifier of 1 to {MAX_FILE_ID} characters",
                               field="file")
        return cls(SourceReliability(source), InformationReliability(str(information)), file)

    @property
    def code(self) -> str:
        """The two codes as one, e.g. "B2"."""
        return f"{self.source.value}{self.information.value}"
