"""A national DNA file from a laboratory's CSV export: a pure parser, and the import into a `DnaFile`.

Layouts read (the delimiter is found from the header: comma, semicolon, tab or pipe):

1. One cell per locus ("wide")::

       reference,kind,D3S1358,vWA,TH01,...,Amelogenin
       NL-P-000001,person,"15,16",17/18,6 9.3,...,X Y

   A cell holds the locus's alleles separated by a comma, slash, semicolon, space, pipe or a hyphen
   between two values: ``15,16``, ``15/16``, ``15 16``, ``15-16``. One value is a homozygote; an
   empty cell means the locus was not typed.
2. Two columns per locus ("paired")::

       Sample Name;Type;D3S1358_1;D3S1358_2;vWA 1;vWA 2;...

   The allele number follows the locus after ``_``, a space, ``-`` or ``.``: ``_1``/``_2``,
   `` 1``/`` 2``, ``_a``/``_b``, also ``D3S1358 Allele 1``. A blank second allele means a homozygote.
3. One row per locus ("long", as GeneMapper exports)::

       Sample Name,Marker,Allele 1,Allele 2,Allele 3
       NL-T-7,D3S1358,15,16,

   The rows of one sample are gathered into one profile (reported at the sample's first line).

The reference column is ``reference`` (or ``ref``, ``sample``, ``sample name``, ``sample id``,
``id``); the kind column ``kind`` (or ``type``, ``category``) with ``IDENTIFIED_PERSON`` /
``UNIDENTIFIED_TRACE`` or ``person``, ``reference``, ``P`` / ``trace``, ``stain``, ``crime scene``,
``T``; without a kind column every row takes the default kind the caller gives. Locus names are
read as labs type them (`loci.canonical_locus`: ``vWA``, ``THO1``, ``Penta D``, ``Amelogenin`` ...).
Any other column (a name, a date, a kit) is ignored and listed as ignored: only the reference, the
kind and the loci are imported (DNA-1).

Values are kept as typed; the DNA file normalises them (wildcard codes, microvariants, DNA-5/DNA-6)
and checks inclusion (DNA-4). Every refused row is reported with its line number and the reason.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from prum.services.common.errors import InvalidInput, quote
from prum.services.common.reference import ReferenceKind
from prum.services.dna.loci import canonical_locus

if TYPE_CHECKING:  # pragma: no cover
    from prum.services.dna.file import DnaFile

WIDE, PAIRED, LONG = "one cell per locus", "two columns per locus", "one row per locus"
LAYOUTS = (WIDE, PAIRED, LONG)
"""The layouts `parse_lab_csv` reads (module doc)."""

_REFERENCE_NAMES = ("reference", "ref", "reference number", "sample", "sample name", "sample id", "sample_id",
                    "samplename", "id")
_KIND_NAMES = ("kind", "type", "category", "profile kind", "sample type")
_MARKER_NAMES = ("marker", "locus", "loci")
_KIND_WORDS = {
    "person": ReferenceKind.IDENTIFIED_PERSON, "reference": ReferenceKind.IDENTIFIED_PERSON,
    "identified": ReferenceKind.IDENTIFIED_PERSON, "p": ReferenceKind.IDENTIFIED_PERSON,
    "suspect": ReferenceKind.IDENTIFIED_PERSON, "convicted": ReferenceKind.IDENTIFIED_PERSON,
    "trace": ReferenceKind.UNIDENTIFIED_TRACE, "stain": ReferenceKind.UNIDENTIFIED_TRACE,
    "unidentified": ReferenceKind.UNIDENTIFIED_TRACE, "crime scene": ReferenceKind.UNIDENTIFIED_TRACE,
    "crimescene": ReferenceKind.UNIDENTIFIED_TRACE, "t": ReferenceKind.UNIDENTIFIED_TRACE,
}
_SPLIT = re.compile(r"[\s,/;|]+|(?<=[^\s,/;|\-])-(?=[^\s,/;|\-])")
_PAIRED = re.compile(r"^(?P<locus>.+?)(?:[\s_.\-]+(?:allele[\s_.\-]*)?|[\s_.\-]*allele[\s_.\-]*|\s*\()"
                     r"(?P<number>[12ab])\)?$", re.IGNORECASE)
_MAX_PAIRED_NAME = 64
_ALLELE_COLUMN = re.compile(r"allele[\s_.\-]*(?P<number>[0-9]{1,3})", re.IGNORECASE | re.ASCII)  # fullmatch


@dataclass(frozen=True, slots=True)
class LabRow:
    """One profile read from the file: the line it starts on, its reference, kind and loci as typed."""

    line: int
    reference: str
    kind: ReferenceKind
    loci: dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that is not imported: its line, its reference if one was read, and why."""

    line: int
    reference: str
    reason: str


@dataclass(slots=True)
class LabFile:
    """What `parse_lab_csv` read: the layout, the profiles, the refused rows, the ignored columns."""

    layout: str
    delimiter: str
    rows: list[LabRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ImportReport:
    """Outcome of `import_lab_file`: profiles stored, and every refused row by line."""

    layout: str
    accepted: int
    rejected: list[RowError]
    ignored_columns: list[str]

    def as_dict(self) -> dict[str, object]:
        return {"layout": self.layout, "accepted": self.accepted,
                "rejected": [{"line": e.line, "reference": e.reference, "reason": e.reason} for e in self.rejected],
                "ignored_columns": self.ignored_columns}


def split_alleles(cell: str) -> list[str]:
    """The allele values of one cell: '15,16', '15/16', '15 16', '15-16' -> ['15', '16']; '' -> []."""
    return [value for value in _SPLIT.split(cell.strip()) if value]


def parse_kind(value: str, line_field: str = "kind") -> ReferenceKind:
    """A profile kind as labs write it (see the module doc); InvalidInput otherwise."""
    word = " ".join(value.strip().lower().replace("_", " ").split())
    if word in _KIND_WORDS:
        return _KIND_WORDS[word]
    try:
        return ReferenceKind.parse(value, field=line_field)
    except InvalidInput:
        raise InvalidInput(f"{quote(value)} is not a profile kind; allowed: person, reference, P, IDENTIFIED_PERSON "
                           f"(identified person) or trace, stain, crime scene, T, UNIDENTIFIED_TRACE (DNA-2)",
                           field=line_field) from None


def _key(name: str) -> str:
    return " ".join(name.strip().lower().replace("_", " ").split())


def _find(header: list[str], names: Iterable[str]) -> int | None:
    wanted = {_key(name) for name in names}
    return next((i for i, name in enumerate(header) if _key(name) in wanted), None)


def _locus(name: str) -> str | None:
    try:
        return canonical_locus(name.strip())
    except InvalidInput:
        return None


def _sniff(text: str) -> str:
    first = text.splitlines()[0] if text else ""
    counts = {delimiter: first.count(delimiter) for delimiter in (",", ";", "\t", "|")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def parse_lab_csv(source: str | Iterable[str], *, default_kind: ReferenceKind | str | None = None) -> LabFile:
    """Read a lab export (text, or lines) in any of the layouts of the module doc.

    Raises InvalidInput when the header names no reference column or no locus at all, or when the
    file has no kind column and no default kind is given; row problems are reported in `errors`.
    """
    text = source if isinstance(source, str) else "".join(source)
    text = text.lstrip("\ufeff")
    delimiter = _sniff(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput("the file is empty; expected a header line naming the reference and the loci",
                           field="file") from None
    reference_at = _find(header, _REFERENCE_NAMES)
    if reference_at is None:
        raise InvalidInput(f"no reference column in the header {quote(delimiter.join(header))}; name one of: "
                           f"{', '.join(_REFERENCE_NAMES)}", field="file")
    kind_at = _find(header, _KIND_NAMES)
    default = None if default_kind is None else parse_kind(str(default_kind.name if isinstance(
        default_kind, ReferenceKind) else default_kind))
    if kind_at is None and default is None:
        raise InvalidInput("the file has no kind column (kind/type: person or trace); give a default kind",
                           field="kind")
    marker_at = _find(header, _MARKER_NAMES)
    allele_columns = [(i, int(m.group("number"))) for i, name in enumerate(header)
                      if (m := _ALLELE_COLUMN.fullmatch(name.strip()))]
    if marker_at is not None and allele_columns:
        return _parse_long(reader, header, delimiter, reference_at, kind_at, marker_at, allele_columns, default)
    single: dict[int, str] = {}
    paired: dict[str, dict[str, int]] = {}
    ignored: list[str] = []
    for i, name in enumerate(header):
        if i in (reference_at, kind_at):
            continue
        locus = _locus(name)
        if locus is not None:
            single[i] = locus
            continue
        # A column name longer than any locus pair's is not one: _PAIRED takes time quadratic in the length.
        match = _PAIRED.match(name.strip()) if len(name.strip()) <= _MAX_PAIRED_NAME else None
        locus = _locus(match.group("locus")) if match else None
        if locus is not None and match is not None:
            paired.setdefault(locus, {})[match.group("number").lower()] = i
        elif name.strip():
            ignored.append(name.strip())
    if not single and not paired:
        raise InvalidInput(f"no locus column in the header {quote(delimiter.join(header))}; name loci as labs do (D3S1358, vWA, TH01 ...) "
                           f"or as pairs D3S1358_1, D3S1358_2", field="file")
    twice = set(single.values()) & set(paired)
    if twice or len(set(single.values())) != len(single):
        repeated = sorted(twice | {locus for locus in single.values() if list(single.values()).count(locus) > 1})
        raise InvalidInput(f"loci given by more than one column: {', '.join(repeated)}", field="file")
    layout = PAIRED if paired and not single else WIDE
    result = LabFile(layout, delimiter, ignored_columns=ignored)
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        reference = record[reference_at].strip() if reference_at < len(record) else ""
        try:
            if len(record) > len(header):
                raise InvalidInput(f"{len(record)} cells for {len(header)} columns (a cell with a comma needs "
                                   f"quotes, or use / between alleles)")
            record = record + [""] * (len(header) - len(record))
            if not reference:
                raise InvalidInput("no reference number")
            kind = parse_kind(record[kind_at]) if kind_at is not None and record[kind_at].strip() else default
            if kind is None:
                raise InvalidInput("no kind (person or trace)", field="kind")
            loci: dict[str, list[str]] = {}
            for i, locus in single.items():
                values = split_alleles(record[i])
                if values:
                    loci[locus] = values
            for locus, columns in paired.items():
                values = [record[i].strip() for _, i in sorted(columns.items())]
                values = [v for v in values if v]
                if values:
                    loci[locus] = values
            if reference in seen:
                raise InvalidInput(f"reference {quote(reference)} appears twice in the file (first at line {seen[reference]})")
            seen[reference] = line
            result.rows.append(LabRow(line, reference, kind, loci))
        except InvalidInput as error:
            result.errors.append(RowError(line, reference, str(error)))
    return result


def _parse_long(reader: Iterable[list[str]], header: list[str], delimiter: str, reference_at: int,
                kind_at: int | None, marker_at: int, allele_columns: list[tuple[int, int]],
                default: ReferenceKind | None) -> LabFile:
    used = {reference_at, marker_at, *(i for i, _ in allele_columns)} | ({kind_at} if kind_at is not None else set())
    result = LabFile(LONG, delimiter, ignored_columns=[name.strip() for i, name in enumerate(header)
                                                        if i not in used and name.strip()])
    samples: dict[str, tuple[int, ReferenceKind | None, dict[str, list[str]], list[str]]] = {}
    line_of = getattr(reader, "line_num", None)
    for number, record in enumerate(reader, start=2):
        line = reader.line_num if line_of is not None else number  # type: ignore[attr-defined]
        if not any(cell.strip() for cell in record):
            continue
        record = record + [""] * (len(header) - len(record))
        reference = record[reference_at].strip()
        if not reference:
            result.errors.append(RowError(line, "", "no sample name / reference number"))
            continue
        first_line, kind, loci, problems = samples.setdefault(reference, (line, None, {}, []))
        if kind_at is not None and record[kind_at].strip():
            try:
                kind = parse_kind(record[kind_at])
            except InvalidInput as error:
                problems.append(f"line {line}: {error}")
            samples[reference] = (first_line, kind, loci, problems)
        locus = _locus(record[marker_at])
        if locus is None:
            problems.append(f"line {line}: marker {quote(record[marker_at].strip())} is not a locus of the annex or the ESS")
            continue
        if locus in loci:
            problems.append(f"line {line}: marker {locus} given twice for this sample")
            continue
        values = [record[i].strip() for i, _ in sorted(allele_columns, key=lambda c: c[1]) if record[i].strip()]
        if values:
            loci[locus] = values
    for reference, (line, kind, loci, problems) in samples.items():
        kind = kind or default
        if problems:
            result.errors.append(RowError(line, reference, "; ".join(problems)))
        elif kind is None:
            result.errors.append(RowError(line, reference, "kind: no kind (person or trace)"))
        else:
            result.rows.append(LabRow(line, reference, kind, loci))
    return result


def read_lab_csv(path: str | Path, *, default_kind: ReferenceKind | str | None = None) -> LabFile:
    """`parse_lab_csv` of a file (UTF-8, a byte-order mark allowed; Latin-1 when it is not UTF-8)."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return parse_lab_csv(text, default_kind=default_kind)


def import_lab_file(file: DnaFile, parsed: LabFile, *, chunk: int = 10_000,
                    progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Store the parsed profiles in a DNA file, `chunk` rows a transaction; every row the parser or the
    file refuses is reported with its line (the file's reasons: DNA-4 inclusion, malformed values,
    a reference already stored ...). `progress(done, total)` is called after each chunk."""
    rejected = list(parsed.errors)
    accepted = 0
    rows = parsed.rows
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        report = file.ingest_many((row.reference, row.kind, row.loci) for row in part)
        accepted += report.accepted
        rejected.extend(RowError(part[position - 1].line, reference or part[position - 1].reference, reason)
                        for position, reference, reason in report.rejections)
        if progress is not None:
            progress(min(start + chunk, len(rows)), len(rows))
    rejected.sort(key=lambda error: error.line)
    return ImportReport(parsed.layout, accepted, rejected, parsed.ignored_columns)
