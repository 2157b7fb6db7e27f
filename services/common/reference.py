"""Reference numbers of the national files: the one form every file keeps them in (DNA-1, FP-1).

A reference number identifies an item of a file to the federation and nothing else: no name or other personal
data fits the form.
"""

from __future__ import annotations

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
