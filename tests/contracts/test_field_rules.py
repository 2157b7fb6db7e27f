"""The limits of every request field are written in the contracts (issue 16): each string, bytes, repeated and map
field reachable from a request has a maximum, every rule is stated in the field's comment, and the rules are sane.

The rules are the `(prum.common.v1.rules)` field option (protos/prum/common/v1/rules.proto); the validation layer
(services/common/validation.py) enforces them on every incoming request. These tests read the contracts only.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor, FileDescriptor
from prum.common.v1 import rules_pb2

PROTOS = Path(__file__).resolve().parents[2] / "protos"
PROTO_FILES = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.glob("prum/**/*.proto"))

STRINGS = (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES)
INTEGERS = frozenset({
    FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_FIXED64, FieldDescriptor.TYPE_SFIXED32, FieldDescriptor.TYPE_SFIXED64,
})
# The length a string of each form always has at most.
FORM_LENGTH = {rules_pb2.STRING_FORMAT_UUID: 36, rules_pb2.STRING_FORMAT_STATE_CODE: 2}


def file_descriptors() -> list[FileDescriptor]:
    """The generated module of every contract: prum/dna/v1/dna.proto -> prum.dna.v1.dna_pb2."""
    return [importlib.import_module(name.removesuffix(".proto").replace("/", ".") + "_pb2").DESCRIPTOR
            for name in PROTO_FILES]


def all_messages() -> Iterator[Descriptor]:
    def nested(message: Descriptor) -> Iterator[Descriptor]:
        yield message
        for inner in message.nested_types:
            yield from nested(inner)

    for file in file_descriptors():
        for message in file.message_types_by_name.values():
            yield from nested(message)


def is_map(field: FieldDescriptor) -> bool:
    return field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def rules_of(field: FieldDescriptor) -> rules_pb2.FieldRules | None:
    options = field.GetOptions()
    return options.Extensions[rules_pb2.rules] if options.HasExtension(rules_pb2.rules) else None


def request_messages() -> dict[str, Descriptor]:
    """Every message reachable from the input type of an RPC of any service, through message fields (map values
    included, map entries and google.protobuf types left out), by full name."""
    found: dict[str, Descriptor] = {}

    def walk(message: Descriptor) -> None:
        if message.full_name in found or message.full_name.startswith("google.protobuf."):
            return
        if not message.GetOptions().map_entry:
            found[message.full_name] = message
        for field in message.fields:
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                walk(field.message_type)

    for file in file_descriptors():
        for service in file.services_by_name.values():
            for method in service.methods:
                walk(method.input_type)
    return found


def missing_maximum(field: FieldDescriptor) -> list[str]:
    """What the field lacks of its maximum: strings and bytes their length, repeated fields and maps their items,
    a map's string keys their length and its string values theirs."""
    rules = rules_of(field) or rules_pb2.FieldRules()
    lacking = []
    if is_map(field):
        key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
        lacking += [] if rules.max_items else ["max_items"]
        lacking += ["max_key_length"] if key.type == FieldDescriptor.TYPE_STRING and not rules.max_key_length else []
        lacking += ["max_length"] if value.type in STRINGS and not rules.max_length else []
    elif field.is_repeated:
        lacking += [] if rules.max_items else ["max_items"]
        lacking += ["max_length"] if field.type in STRINGS and not rules.max_length else []
    elif field.type in STRINGS:
        lacking += [] if rules.max_length else ["max_length"]
    return lacking


def test_the_walk_reaches_the_requests_and_what_they_carry() -> None:
    reached = request_messages()
    assert {"prum.dna.v1.SearchRequest", "prum.dna.v1.Profile", "prum.dna.v1.Alleles", "prum.common.v1.QueryContext",
            "prum.afis.v1.Minutia", "prum.vehicle.v1.Address", "prum.supervisor.v1.JointFinding",
            "prum.contact_point.v1.InformedPerson", "prum.echo.v1.EchoRequest"} <= set(reached)
    assert not {"prum.dna.v1.Hit", "prum.common.v1.ReplyHeader", "prum.logger.v1.Checkpoint"} & set(reached)


def test_every_string_bytes_repeated_and_map_field_of_a_request_has_its_maximum() -> None:
    lacking = [f"{field.full_name}: {', '.join(missing)}"
               for message in request_messages().values() for field in message.fields
               if (missing := missing_maximum(field))]
    assert not lacking, "request fields without their maximum:\n  " + "\n  ".join(lacking)


# -- the comments -------------------------------------------------------------------------------------------------


@functools.cache
def leading_comments() -> dict[str, str]:
    """The leading comment of every field of every contract, by the field's full name (protoc's source info)."""
    import tempfile

    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "contracts.binpb"
        args = ["protoc", f"--proto_path={PROTOS}", f"--proto_path={well_known}", "--include_source_info",
                f"--descriptor_set_out={out}", *PROTO_FILES]
        assert protoc.main(args) == 0, "protoc failed"
        files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    comments: dict[str, str] = {}

    def collect(by_path: dict[tuple[int, ...], str], messages: Iterable[descriptor_pb2.DescriptorProto],
                prefix: str, path: tuple[int, ...]) -> None:
        """A message's fields sit at path + (2, j), its nested messages at path + (3, k); the file's messages at
        (4, i)."""
        for i, message in enumerate(messages):
            name = f"{prefix}.{message.name}"
            here = (*path, i)
            for j, field in enumerate(message.field):
                comments[f"{name}.{field.name}"] = by_path.get((*here, 2, j), "")
            collect(by_path, message.nested_type, name, (*here, 3))

    for file in files:
        locations = {tuple(location.path): location.leading_comments for location in file.source_code_info.location}
        collect(locations, file.message_type, file.package, (4,))
    return comments


def numbers_in(text: str) -> set[int]:
    """The whole numbers a comment states, written with or without thousands separators ("4,000,000"), and with a
    minus sign ("-90 to 90"; a hyphen before a digit, as in "P2-FACE-4", also counts the number without it)."""
    text = re.sub(r"(?<=\d)[,_ ](?=\d{3}\b)", "", text)
    return {int(n) for n in re.findall(r"\d+", text)} | {int(n) for n in re.findall(r"-\d+", text)}


def stated_rules(rules: rules_pb2.FieldRules) -> tuple[bool, list[int]]:
    numbers = [value for value in (rules.max_length, rules.max_items, rules.max_key_length) if value]
    numbers += [rules.min_value] if rules.HasField("min_value") else []
    numbers += [rules.max_value] if rules.HasField("max_value") else []
    return rules.required, numbers


def ruled_fields() -> Iterator[tuple[FieldDescriptor, rules_pb2.FieldRules]]:
    for message in all_messages():
        for field in message.fields:
            rules = rules_of(field)
            if rules is not None:
                yield field, rules


def test_the_comment_of_every_ruled_field_states_its_rules() -> None:
    """A Go or Java developer reading only the .proto sees each limit: every number of the rules appears in the
    field's leading comment, and "Required" for a required field."""
    comments = leading_comments()
    unstated = []
    for field, rules in ruled_fields():
        comment = comments.get(field.full_name, "")
        required, numbers = stated_rules(rules)
        missing = [str(n) for n in numbers if n not in numbers_in(comment)]
        missing += ["Required"] if required and "Required" not in comment else []
        if missing:
            unstated.append(f"{field.full_name}: {', '.join(missing)} not in its comment {comment.strip()!r}")
    assert not unstated, "rules not stated in the field's comment:\n  " + "\n  ".join(unstated)


def test_the_comments_are_read_from_the_contracts() -> None:
    comments = leading_comments()
    assert "Required; a UUID (36 characters)." in comments["prum.common.v1.QueryContext.request_id"]
    assert numbers_in("at most 4,000,000 characters and 12 items") == {4_000_000, 12}


# -- sanity ------------------------------------------------------------------------------------------------------


def insane(field: FieldDescriptor, rules: rules_pb2.FieldRules) -> list[str]:
    """What is wrong with a field's rules: a limit on a field it does not apply to, a range upside down, a
    required field that cannot always be set, a form whose length the maximum contradicts."""
    problems = []
    mapped = is_map(field)
    key = field.message_type.fields_by_name["key"] if mapped else None
    value = field.message_type.fields_by_name["value"] if mapped else field
    textual = value.type == FieldDescriptor.TYPE_STRING or (key is not None and key.type == FieldDescriptor.TYPE_STRING)
    if rules.max_items and not field.is_repeated:
        problems.append("max_items on a field that is neither repeated nor a map")
    if rules.max_key_length and not (key is not None and key.type == FieldDescriptor.TYPE_STRING):
        problems.append("max_key_length on a field that is not a map with string keys")
    if rules.max_length and value.type not in STRINGS:
        problems.append("max_length on a field whose values are neither strings nor bytes")
    if rules.format and not textual:
        problems.append("a format on a field without strings")
    if rules.format not in rules_pb2.StringFormat.values():
        problems.append(f"format {rules.format} is not a StringFormat")
    if rules.format in FORM_LENGTH and value.type == FieldDescriptor.TYPE_STRING \
            and rules.max_length != FORM_LENGTH[rules.format]:
        problems.append(f"max_length {rules.max_length} for a form that is {FORM_LENGTH[rules.format]} characters")
    if (rules.HasField("min_value") or rules.HasField("max_value")) and field.type not in INTEGERS:
        problems.append("an integer range on a field that is not an integer")
    if rules.HasField("min_value") and rules.HasField("max_value") and rules.min_value > rules.max_value:
        problems.append(f"min_value {rules.min_value} > max_value {rules.max_value}")
    if rules.required and field.type == FieldDescriptor.TYPE_BOOL:
        problems.append("required on a bool: it could only be true")
    if rules.required and field.containing_oneof is not None:
        problems.append(f"required inside oneof {field.containing_oneof.name}: its other members could never be set")
    return problems


def test_the_rules_are_sane() -> None:
    problems = [f"{field.full_name}: {problem}" for field, rules in ruled_fields() for problem in insane(field, rules)]
    assert not problems, "\n  ".join(["rules that make no sense:", *problems])


def test_rules_are_only_written_on_fields_that_requests_can_carry() -> None:
    """A rule on a response-only message is enforced nowhere: it would only mislead a reader."""
    reached = request_messages()
    stray = sorted({field.containing_type.full_name for field, _ in ruled_fields()} - set(reached))
    assert not stray, f"messages with rules that no request carries: {stray}"


@pytest.mark.parametrize("field, rules, problem", [
    ("prum.dna.v1.DeleteRequest.reference", rules_pb2.FieldRules(max_items=3), "max_items"),
    ("prum.dna.v1.Profile.kind", rules_pb2.FieldRules(format=rules_pb2.STRING_FORMAT_TEXT), "format"),
    ("prum.logger.v1.QueryRequest.limit", rules_pb2.FieldRules(min_value=10, max_value=1), "min_value 10"),
    ("prum.common.v1.QueryContext.request_id",
     rules_pb2.FieldRules(max_length=64, format=rules_pb2.STRING_FORMAT_UUID), "36 characters"),
    ("prum.vehicle.v1.LookupRequest.vin", rules_pb2.FieldRules(required=True), "oneof"),
])
def test_the_sanity_check_finds_what_it_looks_for(field: str, rules: rules_pb2.FieldRules, problem: str) -> None:
    message_name, _, name = field.rpartition(".")
    descriptor = next(m for m in all_messages() if m.full_name == message_name).fields_by_name[name]
    assert any(problem in found for found in insane(descriptor, rules))
