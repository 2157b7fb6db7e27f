"""Reference data of the national files: the one form every file keeps reference numbers in, and the one
marking of whether an item belongs to an identified person or comes from an unidentified trace (DNA-1/2, FP-1).

A reference number identifies an item of a file to the federation and nothing else: no name or other personal
data fits the form. DNA profiles and fingerprint templates carry the same marking (`ReferenceKind`).
"""

from __future__ import annotations

import enum
import re

from prum.services.common.errors import InvalidInput, quote

REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")
REFERENCE_TEXT = "1 to 64 letters, digits and . _ : / -, starting with a letter or digit"


def check_reference(reference: object, rule: str, field: str = "reference") -> str:
    """A reference number as a file keeps it; InvalidInput naming `field` and the `rule` (e.g. "DNA-1") otherwise."""
    if not isinstance(reference, str) or not REFERENCE.fullmatch(reference):
        raise InvalidInput(f"{quote(reference)} is not a reference number; allowed: {REFERENCE_TEXT} (a reference "
                           f"number only, no names or other personal data: {rule})", field=field)
    return reference


class ReferenceKind(enum.Enum):
    """Whether an item of reference data (a DNA profile, a fingerprint template) belongs to an identified person
    or comes from an unidentified trace, which the Decision requires to be recognisable as such (DNA-2, FP-1)."""

    IDENTIFIED_PERSON = "identified_person"
    UNIDENTIFIED_TRACE = "unidentified_trace"

    @classmethod
    def parse(cls, value: object, field: str = "kind") -> ReferenceKind:
        """A ReferenceKind from itself or its name or value in any case, with or without a contract's enum prefix
        (PROFILE_KIND_, TEMPLATE_KIND_); InvalidInput naming `field` otherwise."""
        if isinstance(value, ReferenceKind):
            return value
        if isinstance(value, str):
            key = value.strip().upper().removeprefix("PROFILE_KIND_").removeprefix("TEMPLATE_KIND_")
            if key in cls.__members__:
                return cls[key]
        raise InvalidInput(f"kind {quote(value)} is not a kind of reference data; allowed: "
                           f"{', '.join(cls.__members__)} (DNA-2, FP-1)", field=field)
