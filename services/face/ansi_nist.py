"""ANSI/NIST-ITL 1-2011 Type-10 (facial image) records of face templates, both ways (P2-FACE-1), traditional encoding.

So that member-state teams can bring their own faces, a transaction is a Type-1 record followed, for each template,
by a Type-2 record (its reference number) and a Type-10 record with the same IDC. What goes where:

| template | field |
|---|---|
| reference | 2.010 of the Type-2 record with the template's IDC (domain "PRUM-SIM", 1.013) |
| (image type) | 10.003 IMT = FACE |
| width, height | 10.006 HLL, 10.007 VLL (pixels); 10.008 SLC = 0, 10.009 THPS = 10.010 TVPS = 1 (aspect ratio only) |
| yaw_degrees | 10.020 POS = F (full face frontal) at 0, A (angled) otherwise; 10.021 POA = the yaw, -90 to 90 |
| quality | 10.024 SQM: quality value, algorithm vendor 0000, product 0 |
| kind, features | 10.200 (user-defined): PERSON or TRACE, the dimension, the vector as base64 of little-endian float32 |
| (the image) | 10.999 DATA: empty, 10.011 CGA = NONE |

The standard's Type-10 carries the image and no template; the simulator holds embeddings only (no face-recognition
model runs here to make one from an image), so the embedding travels in a user-defined field and DATA is empty. A
record from elsewhere without 10.200 is refused with a message saying so (its image would need the sending state's
own model). `decode(encode(t))` gives the template back exactly; the tests check that the `nistitl` package parses
what this module writes, and that a record nistitl writes reads back.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Sequence
from datetime import date as date_type

import numpy as np
from prum.services.common.ansi_nist import FS, GS, TAG, tagged_record
from prum.services.common.errors import InvalidInput, quote
from prum.services.common.reference import ReferenceKind
from prum.services.face.templates import DIMENSION, FaceTemplate

VERSION = "0500"
DOMAIN = ("PRUM-SIM", "1.0")
MAX_PER_TRANSACTION = 49  # IDC 0-99, two records (Type-2, Type-10) each: 1.003 lists 1 + 2 x 49 records
TOT = "FRS"  #: a facial recognition search transaction
KIND_CODE = {ReferenceKind.IDENTIFIED_PERSON: "PERSON", ReferenceKind.UNIDENTIFIED_TRACE: "TRACE"}
KIND_OF_CODE = {v: k for k, v in KIND_CODE.items()}



def _records(data: bytes) -> Iterator[tuple[int, dict[int, list[list[str]]]]]:
    """(record type, fields) for each tagged record, read by its LEN (a binary 10.999 DATA may hold any bytes)."""
    offset = 0
    while offset < len(data):
        match = TAG.match(data, offset)
        digits = re.match(rb"[0-9]+", data[match.end():match.end() + 12]) if match else None
        if match is None or int(match.group(2)) != 1 or digits is None:
            raise InvalidInput(f"no tagged record with its length field at byte {offset}; allowed: traditional "
                               f"encoding, each record starting with N.001:LEN", field="transaction")
        record_type, length = int(match.group(1)), int(digits.group())
        if length <= 0 or offset + length > len(data) or data[offset + length - 1:offset + length] != FS:
            raise InvalidInput(f"a Type-{record_type} record claims {length} bytes, the transaction has "
                               f"{len(data) - offset} left or the record does not end with FS", field="transaction")
        chunk = data[offset:offset + length - 1]
        fields: dict[int, list[list[str]]] = {}
        data_tag = f"{record_type}.999:".encode()
        binary_at = chunk.find(GS + data_tag)
        if binary_at >= 0:  # DATA is binary and last: never split it on separators
            fields[999] = [[chunk[binary_at + 1 + len(data_tag):].decode("latin-1")]]
            chunk = chunk[:binary_at]
        for raw in chunk.split(GS):
            tag = TAG.match(raw)
            if tag is None or int(tag.group(1)) != record_type:
                raise InvalidInput(f"malformed field {raw[:20]!r} in a Type-{record_type} record", field="transaction")
            fields[int(tag.group(2))] = [sub.split("\x1f") for sub in raw[tag.end():].decode("latin-1").split("\x1e")]
        yield record_type, fields
        offset += length


def _one(fields: dict[int, list[list[str]]], tag: int, record: str) -> str:
    try:
        return fields[tag][0][0]
    except (KeyError, IndexError):
        raise InvalidInput(f"{record} has no field {tag}", field="transaction") from None


def _number(text: str, what: str) -> int:
    if not re.fullmatch(r"-?[0-9]{1,9}", text, re.ASCII):
        raise InvalidInput(f"{what} {quote(text)} is not a whole number", field="transaction")
    return int(text)


def encode_transaction(templates: Sequence[FaceTemplate], *, tcn: str = "", date: str | None = None,
                       agency: str = "PRUMSIM") -> bytes:
    """One transaction (traditional encoding) carrying 1-49 face templates; date is YYYYMMDD (today when None)."""
    templates = list(templates)
    if not 1 <= len(templates) <= MAX_PER_TRANSACTION:
        raise InvalidInput(f"a transaction carries 1-{MAX_PER_TRANSACTION} face templates, not {len(templates)}; "
                           f"write several transactions", field="templates")
    day = date or date_type.today().strftime("%Y%m%d")
    if not re.fullmatch(r"[0-9]{8}", day):
        raise InvalidInput(f"date {quote(day)} is not YYYYMMDD", field="date")
    for name, text in (("tcn", tcn), ("agency", agency)):
        if not re.fullmatch(r"[ -~]*", text):
            raise InvalidInput(f"{quote(text)}; allowed: printable ASCII", field=name)
    contents = [["1", str(2 * len(templates))]]
    for idc in range(len(templates)):
        contents += [["2", f"{idc:02d}"], ["10", f"{idc:02d}"]]
    parts = [tagged_record(1, [(2, [[VERSION]]), (3, contents), (4, [[TOT]]), (5, [[day]]), (7, [[agency]]),
                         (8, [[agency]]), (9, [[tcn]]), (11, [["00.00"]]), (12, [["00.00"]]), (13, [list(DOMAIN)])])]
    for idc, t in enumerate(templates):
        vector = base64.b64encode(np.asarray(t.features, dtype="<f4").tobytes()).decode("ascii")
        parts.append(tagged_record(2, [(2, [[f"{idc:02d}"]]), (10, [[t.reference]])]))
        parts.append(tagged_record(10, [
            (2, [[f"{idc:02d}"]]), (3, [["FACE"]]), (4, [[agency]]), (5, [[day]]), (6, [[str(t.width)]]),
            (7, [[str(t.height)]]), (8, [["0"]]), (9, [["1"]]), (10, [["1"]]), (11, [["NONE"]]), (12, [["GRAY"]]),
            (20, [["F" if t.yaw_degrees == 0 else "A"]]), (21, [[str(t.yaw_degrees)]]),
            (24, [[str(t.quality), "0000", "0"]]), (200, [[KIND_CODE[t.kind], str(DIMENSION), vector]]),
            (999, [[""]])]))
    return b"".join(parts)


def decode_transaction(data: bytes) -> list[FaceTemplate]:
    """The face templates of a transaction; records of other types are skipped."""
    references: dict[str, str] = {}
    faces: list[tuple[str, dict[int, list[list[str]]]]] = []
    for number, (record_type, fields) in enumerate(_records(data)):
        if number == 0 and record_type != 1:
            raise InvalidInput("a transaction starts with its Type-1 record", field="transaction")
        if record_type == 2:
            references[_one(fields, 2, "a Type-2 record")] = _one(fields, 10, "a Type-2 record (2.010 reference)")
        elif record_type == 10:
            faces.append((_one(fields, 2, "a Type-10 record"), fields))
    templates = []
    for idc, fields in faces:
        where = f"the Type-10 record with IDC {idc}"
        if _one(fields, 3, where) != "FACE":
            continue  # a scar, mark or tattoo image (10.003 SMT)
        if 200 not in fields:
            raise InvalidInput(f"{where} has no 10.200 face template; allowed: records written by this simulator "
                               f"(an image alone needs the sending state's face-recognition model)",
                               field="transaction")
        kind, dimension, vector = (fields[200][0] + ["", "", ""])[:3]
        if kind not in KIND_OF_CODE or dimension != str(DIMENSION):
            raise InvalidInput(f"{where}: 10.200 says {quote(kind)}, {quote(dimension)}; allowed: PERSON or TRACE, "
                               f"{DIMENSION}", field="transaction")
        try:
            features = np.frombuffer(base64.b64decode(vector, validate=True), dtype="<f4")
        except ValueError:
            raise InvalidInput(f"{where}: 10.200's vector is not base64", field="transaction") from None
        if idc not in references:
            raise InvalidInput(f"{where} has no Type-2 record with its reference (2.010)", field="transaction")
        templates.append(FaceTemplate.make(
            references[idc], KIND_OF_CODE[kind], features, _number(fields[24][0][0], "10.024 quality"),
            _number(_one(fields, 6, where), "10.006 HLL"), _number(_one(fields, 7, where), "10.007 VLL"),
            _number(fields.get(21, [["0"]])[0][0], "10.021 POA"), f"{where} ({references[idc]})"))
    return templates
