"""Numbers no fingerprint system writes (issue 16): ASCII digits only, bounded, and every refusal an InvalidInput
(before: ValueError, OverflowError and AssertionError escaped the core)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from prum.federation.synthetic.afis import impression, master_finger
from prum.services.afis import ansi_nist
from prum.services.afis.ansi_nist import decode_transaction, encode_transaction
from prum.services.afis.templates import Template, validate_template
from prum.services.common.ansi_nist import FS, GS, RS, US
from prum.services.common.errors import InvalidInput


@pytest.fixture(scope="module")
def template() -> Template:
    rng = np.random.default_rng(5)
    return impression(rng, master_finger(rng), "NL-P1")


def records(data: bytes) -> list[tuple[int, dict[int, list[list[str]]]]]:
    return [(kind, ansi_nist._parse_fields(chunk, kind)) for kind, chunk in ansi_nist._split_records(data)]


def record(kind: int, fields: dict[int, list[list[str]]]) -> bytes:
    """One tagged-field record in Latin-1 (as a reader decodes it), its length field recomputed."""
    body = GS.join(f"{kind}.{tag:03d}:".encode() + RS.join(
        US.join(item.encode("latin-1") for item in sub) for sub in subfields)
        for tag, subfields in sorted(fields.items()) if tag != 1)
    length = 0
    while True:
        head = f"{kind}.001:{length}".encode() + GS
        if len(head) + len(body) + 1 == length:
            return head + body + FS
        length = len(head) + len(body) + 1


def rebuilt(parts: list[tuple[int, dict[int, list[list[str]]]]]) -> bytes:
    """The records again (any field may be changed before)."""
    return b"".join(record(kind, fields) for kind, fields in parts)


def changed(template: Template, kind: int, tag: int, value: list[list[str]]) -> bytes:
    parts = records(encode_transaction([template], date="20260105"))
    for record_type, fields in parts:
        if record_type == kind:
            fields[tag] = value
    return rebuilt(parts)


def refused(data: bytes) -> str:
    with pytest.raises(InvalidInput) as caught:
        decode_transaction(data)
    assert len(str(caught.value)) < 600
    return str(caught.value)


def test_the_helpers_rebuild_a_transaction_exactly(template: Template) -> None:
    data = encode_transaction([template], date="20260105")
    assert rebuilt(records(data)) == data


@pytest.mark.parametrize("digit", ["\xb2", "\xb9"])  # superscript two and one: Latin-1, and str.isdigit() says yes
def test_a_superscript_digit_is_not_a_number(template: Template, digit: str) -> None:
    """_number checked str.isdigit(), true for '²', then int() raised ValueError."""
    data = changed(template, 9, 128, [[digit]])
    assert digit.encode("latin-1") in data
    assert "is not a number" in refused(data)


def test_a_number_of_thousands_of_digits_is_refused(template: Template) -> None:
    """int() of 5,000 digits raises ValueError; 20 digits passed as a width and overflowed numpy."""
    assert "1 to 9 ASCII digits" in refused(changed(template, 9, 128, [["1" * 5000]]))
    fmd = records(encode_transaction([template]))[2][1][137]
    fmd[0][1] = "9" * 20  # the first minutia's x
    assert "1 to 9 ASCII digits" in refused(changed(template, 9, 137, fmd))


def test_a_record_list_with_no_number_is_refused(template: Template) -> None:
    """1.003's record types went through int() unchecked."""
    assert "1.003 record type" in refused(changed(template, 1, 3, [["1", "2"], ["x", "00"], ["9", "00"]]))


def test_an_empty_transaction_is_refused() -> None:
    """An AssertionError before."""
    assert "empty" in refused(b"")


def test_a_minutia_beyond_32_bits_is_out_of_range(template: Template) -> None:
    """numpy's int64 conversion raised OverflowError before the coordinate's own range was checked."""
    fields = {"reference": "NL-P1", "kind": "IDENTIFIED_PERSON", "finger_position": 1, "width": 500,
              "height": 500, "resolution_ppi": 500,
              "minutiae": [(2 ** 70, 10, 0, 1, 50)] + [tuple(m) for m in template.minutiae[1:]]}
    with pytest.raises(InvalidInput, match=r"minutiae\[0\]\.x: .*out of range"):
        validate_template(fields)
    with pytest.raises(InvalidInput, match="width: .*out of range"):
        validate_template({**fields, "minutiae": template.minutiae, "width": -2 ** 40})


def test_a_long_reference_is_quoted_cut(template: Template) -> None:
    with pytest.raises(InvalidInput) as caught:
        template.with_reference("R" * 100_000)
    assert len(str(caught.value)) < 600 and "(100,000 characters)" in str(caught.value)


def test_a_long_text_field_is_refused_quickly(template: Template) -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidInput) as caught:
        encode_transaction([template], tcn="\x01" * 100_000)
    assert len(str(caught.value)) < 600 and time.perf_counter() - started < 1
