"""ANSI/NIST-ITL 1-2011 transactions (traditional encoding) of minutiae templates, both ways (FP-1).

So that member-state teams can bring their own data, a transaction is a Type-1 record followed, for
each template, by a Type-2 record (its reference number) and a Type-9 minutiae record with the same
IDC. What goes where:

| template | field |
|---|---|
| reference | 2.010 of the Type-2 record with the template's IDC (domain "PRUM-SIM", 1.013) |
| kind | 9.003 IMP: 0 (live-scan plain) for an identified person, 4 (latent impression) for a trace; on reading, the latent codes 4-7 and 12-15 mean a trace |
| finger_position | 9.134 FGP (0 = unknown finger) |
| width, height | 9.128 HLL, 9.129 VLL (pixels) |
| resolution_ppi | 9.130 SLC = 1 (pixels per inch), 9.131 THPS = 9.132 TVPS |
| minutiae | 9.136 NOM and 9.137 FMD: index, x, y (pixels), angle in units of 2 degrees, type (0 other, 1 ridge ending, 2 bifurcation), quality 0-100 |
| angle to the degree | 9.331 EFS MIN: x, y (units of 10 micrometres), theta in whole degrees, type (E, B, X); with 9.300 ROI (the whole image) and 9.302 FPP |

The INCITS 378 block (9.126-9.137) keeps angles in steps of 2 degrees; the EFS minutiae (9.331)
keep them to the degree, so a template written here reads back exactly (`decode(encode(t)) == t`
and `encode(decode(b)) == b` for a transaction written here). A transaction from elsewhere that has
only the INCITS block reads with its 2-degree angles; one with only the legacy (9.005-9.012) or
only the EFS fields is refused with a message naming the fields needed. Records of other types
(Type-4/14 images, ...) are skipped.

Written with the standard's layout in hand rather than on the `nistitl` package, whose generic
tagged-field model does not know the Type-9 fields and adds its own defaults; the tests check that
`nistitl` parses what this module writes, when it is installed.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date as date_type
from pathlib import Path

from prum.services.afis.templates import Minutia, MinutiaType, Template
from prum.services.common.ansi_nist import FS, GS, TAG, Fields, Subfield, tagged_record
from prum.services.common.errors import InvalidInput, quote
from prum.services.common.reference import ReferenceKind

VERSION = "0500"
DOMAIN = ("PRUM-SIM", "1.0")
MAX_PER_TRANSACTION = 99
"""IDC runs 0-99 and the Type-1 record lists every record; one IDC per template (its Type-2 and Type-9)."""

TOT_PERSON = "CPS"
"""Type of transaction for identified persons' templates (criminal tenprint / print search)."""
TOT_TRACE = "MPS"
"""Type of transaction for unidentified traces (mark-to-print search)."""

IMP_PERSON = 0  # live-scan plain
IMP_TRACE = 4  # latent impression
LATENT_IMPRESSIONS = frozenset({4, 5, 6, 7, 12, 13, 14, 15})
BINARY_RECORD_TYPES = frozenset({3, 4, 5, 6, 7, 8})
FILE_SUFFIXES = (".an2", ".eft", ".nist", ".int")

_M1_TYPE = {MinutiaType.OTHER: 0, MinutiaType.RIDGE_ENDING: 1, MinutiaType.BIFURCATION: 2}
_M1_TYPE_BACK = {v: k for k, v in _M1_TYPE.items()}
_EFS_TYPE = {MinutiaType.OTHER: "X", MinutiaType.RIDGE_ENDING: "E", MinutiaType.BIFURCATION: "B"}
_TEXT = re.compile(r"[ -~]*")  # printable ASCII without separators
_NUMBER = re.compile(r"[0-9]{1,9}", re.ASCII)  # a numeric item: ASCII digits only ("²" is a digit to str.isdigit)

@dataclass(frozen=True, slots=True)
class NistTransaction:
    """A decoded transaction: its Type-1 header and the templates it carries."""

    templates: tuple[Template, ...]
    tot: str = TOT_PERSON
    tcn: str = ""
    date: str = ""
    originating_agency: str = "PRUMSIM"
    destination_agency: str = "PRUMSIM"


# -- the traditional encoding ------------------------------------------------------------------

def _text(value: object, field: str) -> str:
    text = str(value)
    if not _TEXT.fullmatch(text):
        raise InvalidInput(f"{quote(text)} has characters a traditional-encoding field cannot carry; allowed: "
                           f"printable ASCII", field=field)
    return text


def _parse_fields(record: bytes, record_type: int) -> dict[int, list[Subfield]]:
    if not record.endswith(FS):
        raise InvalidInput(f"a Type-{record_type} record does not end with the FS separator", field="transaction")
    fields: dict[int, list[Subfield]] = {}
    for raw in record[:-1].split(GS):
        match = TAG.match(raw)
        if match is None or int(match.group(1)) != record_type:
            raise InvalidInput(f"malformed field {raw[:20]!r} in a Type-{record_type} record; allowed: "
                               f"'{record_type}.NNN:value'", field="transaction")
        content = raw[match.end():].decode("latin-1")
        fields[int(match.group(2))] = [sub.split("\x1f") for sub in content.split("\x1e")]
    return fields


def _split_records(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(record type, bytes) for every record; binary records (types 3-8) take their type from 1.003."""
    offset, position, contents = 0, 0, None
    while offset < len(data):
        match = TAG.match(data, offset)
        if match:
            record_type = int(match.group(1))
            digits = re.match(rb"[0-9]+", data[match.end():match.end() + 12])
            if int(match.group(2)) != 1 or not digits:
                raise InvalidInput(f"record {position + 1} does not start with its length field "
                                   f"{record_type}.001", field="transaction")
            length = int(digits.group())
        else:
            if contents is None or position >= len(contents) or len(data) - offset < 4:
                raise InvalidInput(f"cannot read record {position + 1}: neither a tagged nor a listed binary "
                                   f"record", field="transaction")
            record_type = contents[position]
            (length,) = struct.unpack(">I", data[offset:offset + 4])
        if length <= 0 or offset + length > len(data):
            raise InvalidInput(f"record {position + 1} (Type-{record_type}) claims {length} bytes, the "
                               f"transaction has {len(data) - offset} left", field="transaction")
        chunk = data[offset:offset + length]
        if position == 0:
            if record_type != 1:
                raise InvalidInput("a transaction starts with its Type-1 record", field="transaction")
            contents = [1] + [_number(sub[0], "1.003 record type") for sub in _parse_fields(chunk, 1).get(3, [])[1:]]
        yield record_type, chunk
        offset += length
        position += 1
    if contents is not None and position != len(contents):
        raise InvalidInput(f"1.003 lists {len(contents)} records, the transaction has {position}",
                           field="transaction")


# -- templates <-> records ------------------------------------------------------------------------

def _to_units(pixels: int, ppi: int) -> int:
    """Pixels to units of 10 micrometres (EFS)."""
    return round(pixels * 2540 / ppi)


def _to_pixels(units: int, ppi: int) -> int:
    return round(units * ppi / 2540)


def _type9(template: Template, idc: int) -> bytes:
    ppi = template.resolution_ppi
    fmd = [[str(i), str(m.x), str(m.y), str(m.angle // 2), str(_M1_TYPE[m.type]), str(m.quality)]
           for i, m in enumerate(template.minutiae, start=1)]
    efs = [[str(_to_units(m.x, ppi)), str(_to_units(m.y, ppi)), str(m.angle), _EFS_TYPE[m.type]]
           for m in template.minutiae]
    fields: Fields = [
        (2, [[f"{idc:02d}"]]),
        (3, [[str(IMP_TRACE if template.is_trace else IMP_PERSON)]]),
        (4, [["U"]]),
        (126, [["27", "513", "0000"]]),
        (127, [["NONE", "0"]]),
        (128, [[str(template.width)]]),
        (129, [[str(template.height)]]),
        (130, [["1"]]),
        (131, [[str(ppi)]]),
        (132, [[str(ppi)]]),
        (133, [["0"]]),
        (134, [[str(template.finger_position)]]),
        (136, [[str(len(template.minutiae))]]),
        (137, fmd),
        (300, [[str(_to_units(template.width, ppi)), str(_to_units(template.height, ppi)), "0", "0"]]),
        (302, [[str(template.finger_position)]]),
        (331, efs),
    ]
    return tagged_record(9, fields)


def _type2(template: Template, idc: int) -> bytes:
    return tagged_record(2, [(2, [[f"{idc:02d}"]]), (10, [[template.reference]])])


def _one(fields: dict[int, list[Subfield]], tag: int, what: str, record: str) -> str:
    try:
        return fields[tag][0][0]
    except (KeyError, IndexError):
        raise InvalidInput(f"{record} has no {what} field (.{tag:03d})", field="transaction") from None


def _number(text: str, what: str) -> int:
    if not _NUMBER.fullmatch(text):
        raise InvalidInput(f"{what} {quote(text)} is not a number; allowed: 1 to 9 ASCII digits", field="transaction")
    return int(text)


def _template_from(fields: dict[int, list[Subfield]], reference: str, idc: int) -> Template:
    where = f"Type-9 record {idc}"
    if 137 not in fields:
        present = [tag for tag in (12, 331) if tag in fields]
        raise InvalidInput(f"{where} has no INCITS 378 minutiae (9.126-9.137)"
                           + (f"; it has only {', '.join(f'9.{t:03d}' for t in present)}" if present else "")
                           + "; allowed: a Type-9 record with 9.128 HLL, 9.129 VLL, 9.131 THPS, 9.134 FGP and "
                             "9.137 FMD", field="transaction")

    def get(tag: int, what: str) -> int:
        try:
            return _number(fields[tag][0][0], what)
        except (KeyError, IndexError):
            raise InvalidInput(f"{where} lacks 9.{tag:03d} ({what}); allowed: a Type-9 record with 9.128 HLL, "
                               f"9.129 VLL, 9.131 THPS, 9.134 FGP and 9.137 FMD", field="transaction") from None

    width, height, ppi = get(128, "HLL"), get(129, "VLL"), get(131, "THPS")
    scale = get(130, "SLC") if 130 in fields else 1
    if scale == 2:  # pixels per centimetre
        ppi = round(ppi * 2.54)
    elif scale != 1:
        raise InvalidInput(f"{where}: 9.130 SLC {scale} gives no resolution; allowed: 1 (ppi) or 2 (ppcm)",
                           field="transaction")
    impression = get(3, "IMP")
    kind = ReferenceKind.UNIDENTIFIED_TRACE if impression in LATENT_IMPRESSIONS else ReferenceKind.IDENTIFIED_PERSON
    fmd = fields[137]
    degrees: list[int] | None = None
    if 331 in fields and len(fields[331]) == len(fmd):
        degrees = []
        for record, efs in zip(fmd, fields[331]):
            theta = _number(efs[2], "EFS theta") if len(efs) > 2 else -1
            coarse = 2 * _number(record[3], "minutia angle") if len(record) > 3 else -9
            if abs((theta - coarse + 180) % 360 - 180) > 2:
                degrees = None  # EFS and INCITS disagree: trust the INCITS block
                break
            degrees.append(theta)
    minutiae = []
    for position, item in enumerate(fmd):
        if len(item) != 6:
            raise InvalidInput(f"{where}: minutia {position + 1} of 9.137 has {len(item)} items; allowed: 6 "
                               f"(index, x, y, angle, type, quality)", field="transaction")
        _index, x, y, angle, m1, quality = (_number(v, "9.137 item") for v in item)
        if m1 not in _M1_TYPE_BACK:
            raise InvalidInput(f"{where}: minutia type {m1} in 9.137; allowed: 0 (other), 1 (ridge ending), "
                               f"2 (bifurcation)", field="transaction")
        minutiae.append(Minutia(x, y, degrees[position] if degrees is not None else 2 * angle,
                                _M1_TYPE_BACK[m1], quality))
    return Template(reference, kind, get(134, "FGP"), width, height, ppi, tuple(minutiae))


# -- public API ----------------------------------------------------------------------------------

def encode_transaction(templates: Sequence[Template], *, tot: str | None = None, tcn: str = "",
                       date: str | None = None, originating_agency: str = "PRUMSIM",
                       destination_agency: str = "PRUMSIM") -> bytes:
    """One ANSI/NIST-ITL transaction (traditional encoding) carrying 1-99 templates.

    tot defaults to "CPS" when every template is a person's and "MPS" when every one is a trace (a
    mix needs an explicit tot); date is YYYYMMDD (today when None).
    """
    templates = list(templates)
    if not 1 <= len(templates) <= MAX_PER_TRANSACTION:
        raise InvalidInput(f"a transaction carries 1-{MAX_PER_TRANSACTION} templates, not {len(templates)} "
                           f"(one IDC each); write several transactions", field="templates")
    for template in templates:
        if not isinstance(template, Template):
            raise InvalidInput(f"{quote(template)} is not a Template", field="templates")
    if tot is None:
        kinds = {t.kind for t in templates}
        if len(kinds) > 1:
            raise InvalidInput("the templates mix persons and traces; pass tot explicitly", field="tot")
        tot = TOT_TRACE if kinds == {ReferenceKind.UNIDENTIFIED_TRACE} else TOT_PERSON
    day = date or date_type.today().strftime("%Y%m%d")
    if not re.fullmatch(r"[0-9]{8}", day):
        raise InvalidInput(f"date {quote(day)} is not YYYYMMDD", field="date")
    contents = [["1", str(2 * len(templates))]]
    for idc in range(len(templates)):
        contents += [["2", f"{idc:02d}"], ["9", f"{idc:02d}"]]
    header: Fields = [
        (2, [[VERSION]]), (3, contents), (4, [[_text(tot, "tot")]]), (5, [[day]]),
        (7, [[_text(destination_agency, "destination_agency")]]), (8, [[_text(originating_agency, "originating_agency")]]),
        (9, [[_text(tcn, "tcn")]]), (11, [["00.00"]]), (12, [["00.00"]]), (13, [list(DOMAIN)]),
    ]
    parts = [tagged_record(1, header)]
    for idc, template in enumerate(templates):
        parts += [_type2(template, idc), _type9(template, idc)]
    return b"".join(parts)


def decode_transaction(data: bytes) -> NistTransaction:
    """The templates of one ANSI/NIST-ITL transaction (traditional encoding); InvalidInput if malformed.

    Each Type-9 record becomes a template; its reference number is 2.010 of the Type-2 record with
    the same IDC, or "<TCN>-<IDC>" when there is none.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise InvalidInput("a transaction is bytes", field="transaction")
    data = bytes(data)
    header: dict[int, list[Subfield]] | None = None
    references: dict[int, str] = {}
    minutiae_records: list[tuple[int, dict[int, list[Subfield]]]] = []
    for record_type, chunk in _split_records(data):
        if record_type == 1:
            header = _parse_fields(chunk, 1)
        elif record_type in (2, 9):
            fields = _parse_fields(chunk, record_type)
            idc = _number(_one(fields, 2, "IDC", f"Type-{record_type} record"), "IDC")
            if record_type == 2:
                if 10 in fields:
                    references[idc] = fields[10][0][0]
            else:
                minutiae_records.append((idc, fields))
    if header is None:
        raise InvalidInput("the transaction is empty; it starts with its Type-1 record", field="transaction")
    tcn = header.get(9, [[""]])[0][0]
    templates = []
    for idc, fields in minutiae_records:
        reference = references.get(idc) or (f"{tcn}-{idc:02d}" if tcn else "")
        if not reference:
            raise InvalidInput(f"Type-9 record {idc} has no reference number: no Type-2 record with 2.010 and no "
                               f"1.009 TCN", field="transaction")
        templates.append(_template_from(fields, reference, idc))
    if not templates:
        raise InvalidInput("the transaction has no Type-9 minutiae record", field="transaction")

    def first(tag: int) -> str:
        return header.get(tag, [[""]])[0][0]

    return NistTransaction(tuple(templates), tot=first(4), tcn=tcn, date=first(5),
                           originating_agency=first(8), destination_agency=first(7))


def write_templates(templates: Iterable[Template], directory: str | Path, *, per_file: int = 50,
                    prefix: str = "afis", date: str | None = None) -> list[Path]:
    """Write templates as ANSI/NIST transactions (`<prefix>-00001.an2`, ...), persons and traces apart."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    if not 1 <= per_file <= MAX_PER_TRANSACTION:
        raise InvalidInput(f"per_file {per_file}; allowed: 1-{MAX_PER_TRANSACTION}", field="per_file")
    by_kind: dict[ReferenceKind, list[Template]] = {}
    for template in templates:
        by_kind.setdefault(template.kind, []).append(template)
    paths: list[Path] = []
    for kind in ReferenceKind:
        batch = by_kind.get(kind, [])
        for start in range(0, len(batch), per_file):
            path = folder / f"{prefix}-{len(paths) + 1:05d}.an2"
            path.write_bytes(encode_transaction(batch[start:start + per_file], tcn=f"{prefix}-{len(paths) + 1:05d}",
                                                date=date))
            paths.append(path)
    return paths


def read_templates(path: str | Path) -> list[Template]:
    """The templates of one transaction file, or of every *.an2/*.eft/*.nist/*.int file in a folder (sorted)."""
    source = Path(path)
    files = sorted(p for p in source.iterdir() if p.suffix.lower() in FILE_SUFFIXES) if source.is_dir() else [source]
    templates: list[Template] = []
    for file in files:
        try:
            templates.extend(decode_transaction(file.read_bytes()).templates)
        except InvalidInput as error:
            raise InvalidInput(f"{file.name}: {error}", field=error.field) from None
    return templates
