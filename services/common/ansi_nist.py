"""The traditional encoding of ANSI/NIST-ITL 1-2011 that every record type shares: the separators, a field's tag,
and one tagged-field record with its length field. The AFIS (Type-9) and facial-image (Type-10) modules build their
records with it; what goes into each field is theirs.
"""

from __future__ import annotations

import re

FS, GS, RS, US = b"\x1c", b"\x1d", b"\x1e", b"\x1f"
#: A field's tag: record type, field number.
TAG = re.compile(rb"([0-9]{1,3})\.([0-9]{1,9}):")

Item = str
Subfield = list[Item]
Fields = list[tuple[int, list[Subfield]]]


def tagged_record(record_type: int, fields: Fields) -> bytes:
    """One tagged-field record; its N.001 LEN counts every byte of it, its own digits and FS included. Items are
    ASCII (the callers check what a field may carry before)."""
    body = GS.join(f"{record_type}.{tag:03d}:".encode() + RS.join(US.join(i.encode("ascii") for i in sub)
                                                                 for sub in subfields)
                   for tag, subfields in fields)
    length = 0
    while True:
        head = f"{record_type}.001:{length}".encode() + GS
        total = len(head) + len(body) + 1
        if total == length:
            return head + body + FS
        length = total
