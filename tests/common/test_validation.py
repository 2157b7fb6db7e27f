"""The validation layer reads each field's rules from the contracts and refuses what breaks them, naming the field."""

from __future__ import annotations

import uuid

import pytest
from prum.common.v1 import common_pb2
from prum.dna.v1 import dna_pb2
from prum.services.common.errors import InvalidInput
from prum.services.common.validation import rules_of, validate


def context(**overrides: object) -> common_pb2.QueryContext:
    fields: dict[str, object] = dict(request_id=str(uuid.uuid4()), requesting_state="DE", requested_state="NL",
                                     officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02",
                                     reason="homicide, art. 3 search", case_reference="DE-2026-1")
    fields.update(overrides)
    return common_pb2.QueryContext(**fields)  # type: ignore[arg-type]


def refusal(message: object) -> str:
    with pytest.raises(InvalidInput) as refused:
        validate(message)  # type: ignore[arg-type]
    text = str(refused.value)
    assert len(text.encode("utf-8")) < 400, text  # short, whatever was sent
    return text


def limit(message: type, field: str) -> int:
    rules = rules_of(message.DESCRIPTOR.fields_by_name[field])  # type: ignore[attr-defined]
    assert rules is not None
    return int(rules.max_length or rules.max_items)


def test_a_well_formed_context_passes() -> None:
    validate(context())
    validate(context(ordering_officer_id="", case_reference="", request_id=str(uuid.uuid4()).upper()))


@pytest.mark.parametrize("field", ["request_id", "requesting_state", "requested_state", "officer_id", "reason"])
def test_a_missing_required_field_is_named(field: str) -> None:
    assert refusal(context(**{field: ""})).startswith(f"{field}: is required")


def test_a_blank_reason_is_missing() -> None:
    assert refusal(context(reason="  \t ")).startswith("reason: is required")


@pytest.mark.parametrize("field, value, allowed", [
    ("request_id", "fr-1", "a UUID"),
    ("request_id", "0b6c3f2e5f1d4c619d3b2f8f5c1a7e90", "a UUID"),  # 32 hex digits without hyphens
    ("requesting_state", "nl", "state code"),
    ("requested_state", "N1", "state code"),
    ("officer_id", "DE NCP 01", "identifier"),
    ("officer_id", "DE-NCP-01\x00", "identifier"),
    ("reason", "homicide\x1b[31m", "printable text"),
])
def test_a_field_of_the_wrong_form_says_what_is_allowed(field: str, value: str, allowed: str) -> None:
    text = refusal(context(**{field: value}))
    assert text.startswith(f"{field}: ") and allowed in text


def test_a_long_value_is_refused_with_its_size_and_the_limit_never_echoed() -> None:
    most = limit(common_pb2.QueryContext, "reason")
    validate(context(reason="x" * most))
    text = refusal(context(reason="y" * 100_000))
    assert text == f"reason: 100,000 characters; at most {most} allowed"


def test_a_long_value_of_the_wrong_form_is_quoted_by_a_short_prefix() -> None:
    text = refusal(context(officer_id="DE NCP " * 8))  # within the length limit, but with spaces
    assert "'DE NCP DE NCP" in text and len(text) < 300


def test_nested_fields_are_named_by_their_path() -> None:
    request = dna_pb2.SearchRequest(context=context(officer_id=""), profile=dna_pb2.Profile(reference="X"))
    assert refusal(request).startswith("context.officer_id: is required")


def test_a_missing_context_is_named() -> None:
    assert refusal(dna_pb2.SearchRequest(profile=dna_pb2.Profile(reference="X"))).startswith("context: is required")


def test_an_enum_number_its_enum_does_not_define_is_named() -> None:
    request = dna_pb2.SearchRequest(context=context(), profile=dna_pb2.Profile(reference="X", kind=99))
    text = refusal(request)
    assert text.startswith("profile.kind: 99 is not a number of ProfileKind")
    assert "PROFILE_KIND_IDENTIFIED_PERSON" in text and "UNSPECIFIED" not in text


def test_a_map_key_too_long_is_refused_without_echoing_it() -> None:
    rules = rules_of(dna_pb2.Profile.DESCRIPTOR.fields_by_name["loci"])
    assert rules is not None and rules.max_key_length
    request = dna_pb2.SearchRequest(context=context(), profile=dna_pb2.Profile(
        reference="X", kind=dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE,
        loci={"L" * 100_000: dna_pb2.Alleles(values=["12", "13"])}))
    text = refusal(request)
    assert text.startswith("profile.loci['LLLL") and f"at most {rules.max_key_length} allowed" in text


def test_too_many_entries_are_refused() -> None:
    most = limit(dna_pb2.Profile, "loci")
    loci = {f"L{i}": dna_pb2.Alleles(values=["12", "13"]) for i in range(most + 1)}
    request = dna_pb2.SearchRequest(context=context(), profile=dna_pb2.Profile(
        reference="X", kind=dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE, loci=loci))
    assert refusal(request) == f"profile.loci: {most + 1:,} entries; at most {most} allowed"


def test_raw_bytes_of_a_generic_handler_have_no_rules() -> None:
    validate(b"\x00" * 10)


@pytest.mark.parametrize("seconds, nanos", [(253_402_300_800, 0), (-62_135_596_801, 0), (0, -1), (0, 1_000_000_000)])
def test_a_timestamp_outside_the_range_protobuf_documents_is_refused(seconds: int, nanos: int) -> None:
    message = context()
    message.sent_at.seconds, message.sent_at.nanos = seconds, nanos
    assert refusal(message).startswith(f"sent_at: seconds {seconds}, nanos {nanos} is not a time; allowed: 0001")
    message.sent_at.seconds, message.sent_at.nanos = 253_402_300_799, 999_999_999
    validate(message)
