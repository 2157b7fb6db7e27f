"""Lab CSV exports: the three layouts, row errors by line, import into a DNA file."""

from __future__ import annotations

from pathlib import Path

import pytest
from prum.services.common.errors import InvalidInput
from prum.services.common.reference import ReferenceKind
from prum.services.dna import DnaFile
from prum.services.dna.lab_export import (
    LONG,
    PAIRED,
    WIDE,
    import_lab_file,
    parse_lab_csv,
    read_lab_csv,
    split_alleles,
)

LOCI = ("D3S1358", "vWA", "TH01", "D21S11", "FGA", "D8S1179", "D18S51")
VALUES = ("15,16", "17/18", "6 9.3", "29-30", "21/22", "13 14", "12/16")


@pytest.mark.parametrize("cell, alleles", [
    ("15,16", ["15", "16"]), ("15/16", ["15", "16"]), ("15 16", ["15", "16"]), ("15;16", ["15", "16"]),
    ("15-16", ["15", "16"]), ("9.3-10", ["9.3", "10"]), (" 15 , 16 ", ["15", "16"]), ("15", ["15"]),
    ("OL", ["OL"]), ("", []), ("-2", ["-2"]),
])
def test_alleles_in_one_cell(cell, alleles):
    assert split_alleles(cell) == alleles


def test_one_cell_per_locus_with_errors_reported_by_line():
    text = ("reference,kind,name," + ",".join(LOCI) + "\n"
            "NL-P-1,person,Jan," + ",".join(f'"{v}"' for v in VALUES) + "\n"
            "NL-T-2,stain,," + ",".join(["15", "17", "", "29", "21", "13", "12"]) + "\n"
            ",trace,," + ",".join(["15"] * 7) + "\n"
            "NL-P-1,person,," + ",".join(["15"] * 7) + "\n"
            "NL-P-3,martian,," + ",".join(["15"] * 7) + "\n"
            "\n"
            "NL-P-4,P,,15,16,17,18,19,20,21,22\n")
    parsed = parse_lab_csv(text)
    assert parsed.layout == WIDE and parsed.delimiter == "," and parsed.ignored_columns == ["name"]
    assert [(r.line, r.reference, r.kind) for r in parsed.rows] == [
        (2, "NL-P-1", ReferenceKind.IDENTIFIED_PERSON), (3, "NL-T-2", ReferenceKind.UNIDENTIFIED_TRACE)]
    assert parsed.rows[0].loci["VWA"] == ["17", "18"] and parsed.rows[0].loci["TH01"] == ["6", "9.3"]
    assert "TH01" not in parsed.rows[1].loci  # an empty cell: locus not typed
    errors = {e.line: e.reason for e in parsed.errors}
    assert set(errors) == {4, 5, 6, 8}
    assert "no reference" in errors[4] and "twice in the file (first at line 2)" in errors[5]
    assert "martian" in errors[6] and "allowed: person" in errors[6] and "cells for" in errors[8]


def test_two_columns_per_locus_semicolon_and_blank_second_allele():
    header = ";".join(f"{locus}_{n}" for locus in LOCI for n in (1, 2))
    row = ";".join(["15", "16", "17", "", "6", "9.3", "29", "30", "21", "22", "13", "14", "12", "16"])
    parsed = parse_lab_csv(f"Sample Name;Type;{header}\nA-1;trace;{row}\n")
    assert parsed.layout == PAIRED and parsed.delimiter == ";"
    [row] = parsed.rows
    assert row.reference == "A-1" and row.kind is ReferenceKind.UNIDENTIFIED_TRACE
    assert row.loci["VWA"] == ["17"] and row.loci["D3S1358"] == ["15", "16"]


def test_one_row_per_locus_gathers_samples():
    text = ("Sample Name,Marker,Allele 1,Allele 2,Allele 3\n"
            "S1,D3S1358,15,16,\nS1,vWA,17,,\nS2,TH01,6,9.3,10\nS1,XYZ,1,2,\nS3,TH01,6,,\nS3,TH01,7,,\n")
    parsed = parse_lab_csv(text, default_kind="trace")
    assert parsed.layout == LONG
    assert [(r.line, r.reference, r.loci) for r in parsed.rows] == [(4, "S2", {"TH01": ["6", "9.3", "10"]})]
    assert {(e.line, e.reference) for e in parsed.errors} == {(2, "S1"), (6, "S3")}


def test_headers_that_cannot_be_read_are_refused():
    with pytest.raises(InvalidInput, match="no reference column"):
        parse_lab_csv("name,D3S1358\nx,15\n", default_kind="person")
    with pytest.raises(InvalidInput, match="no locus column"):
        parse_lab_csv("reference,kind,name\nx,person,y\n")
    with pytest.raises(InvalidInput, match="no kind column"):
        parse_lab_csv("reference,D3S1358\nx,15\n")
    with pytest.raises(InvalidInput, match="more than one column"):
        parse_lab_csv("reference,kind,vWA,VWA\nx,person,1,2\n")


def test_import_reports_the_files_refusals_with_their_lines(tmp_path: Path):
    rows = [",".join(["NL-P-1", "person", *[f'"{v}"' for v in VALUES]]),
            ",".join(["NL-T-2", "trace", "15", "17", "6", "", "", "", ""]),          # 3 loci: DNA-4
            ",".join(["NL-T-3", "trace", "15", "17", "6", "29", "21", "13", "12.34"]),  # malformed value
            ",".join(["NL-P-OLD", "person", *[f'"{v}"' for v in VALUES]])]            # already stored
    path = tmp_path / "export.csv"
    path.write_text("reference,kind," + ",".join(LOCI) + "\n" + "\n".join(rows) + "\n", encoding="utf-8-sig")
    with DnaFile(tmp_path / "dna.db") as file:
        file.ingest("NL-P-OLD", "IDENTIFIED_PERSON", dict(zip(LOCI, map(split_alleles, VALUES))))
        report = import_lab_file(file, read_lab_csv(path), chunk=2)
        assert report.accepted == 1 and file.get("NL-P-1").profile["TH01"] == ("6", "9.3")
        assert [(e.line, e.reference) for e in report.rejected] == [(3, "NL-T-2"), (4, "NL-T-3"), (5, "NL-P-OLD")]
        reasons = [e.reason for e in report.rejected]
        assert "DNA-4" in reasons[0] and "malformed" in reasons[1] and "already in the DNA file" in reasons[2]
