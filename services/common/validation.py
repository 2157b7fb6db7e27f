"""The one validation layer: every request checked against the rules its .proto declares, before a servicer runs.

The rules are written beside each field in the contracts (`[(prum.common.v1.rules) = {...}]`, see
`protos/prum/common/v1/rules.proto`): required, the most characters, elements or key characters, a
string's form (UUID, state code, printable text, identifier), an integer's range. Every enum field is
also checked for a number its enum defines, and every google.protobuf.Timestamp for the range it
documents. A request that breaks a rule raises `InvalidInput` naming the field by its path
(`context.officer_id`, `profile.loci['VWA'].values[2]`) and what the field allows; the message quotes at
most a short prefix of what was sent.

The checks of a message type are compiled once from its descriptor, so a request costs one pass over
the fields that have rules or enums.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from prum.common.v1 import rules_pb2
from prum.services.common.errors import InvalidInput, quote
from prum.services.common.identity import STATE_CODE

Check = Callable[[Any, str], None]

_FORMATS: dict[int, tuple[re.Pattern[str], str]] = {
    rules_pb2.STRING_FORMAT_UUID: (
        re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", re.ASCII),
        "a UUID in its text form, e.g. '0b6c3f2e-5f1d-4c61-9d3b-2f8f5c1a7e90'"),
    rules_pb2.STRING_FORMAT_STATE_CODE: (
        STATE_CODE, "an ISO 3166 alpha-2 state code in capitals, e.g. 'NL'"),
    rules_pb2.STRING_FORMAT_TEXT: (
        re.compile(r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]*"),
        "printable text (no control characters but tab and line breaks)"),
    rules_pb2.STRING_FORMAT_IDENTIFIER: (
        re.compile(r"[^\s\x00-\x1f\x7f-\x9f]+"), "an identifier: printable characters without spaces"),
}

_INTEGER_TYPES = {
    FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_FIXED64, FieldDescriptor.TYPE_SFIXED32,
    FieldDescriptor.TYPE_SFIXED64,
}


def rules_of(field: FieldDescriptor) -> rules_pb2.FieldRules | None:
    """The rules a field declares in its .proto, or None."""
    options = field.GetOptions()
    if not options.HasExtension(rules_pb2.rules):
        return None
    return options.Extensions[rules_pb2.rules]


def _message_type(field: FieldDescriptor) -> Descriptor:
    """The message type of a message field (the stubs allow None, which only other types have)."""
    assert field.message_type is not None, field.full_name
    return field.message_type


def _enum_type(field: FieldDescriptor) -> EnumDescriptor:
    """The enum type of an enum field (the stubs allow None, which only other types have)."""
    assert field.enum_type is not None, field.full_name
    return field.enum_type


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == FieldDescriptor.TYPE_MESSAGE and _message_type(field).GetOptions().map_entry


def _is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _text_check(rules: rules_pb2.FieldRules | None, what: str = "") -> Check | None:
    """The length and form of one string (a field, an element, a map key)."""
    limit = (rules.max_key_length if what == "key" else rules.max_length) if rules else 0
    form = _FORMATS.get(rules.format) if rules else None
    if not limit and form is None:
        return None
    pattern, allowed = form if form else (None, "")

    def check(value: str, path: str) -> None:
        if limit and len(value) > limit:
            raise InvalidInput(f"{len(value):,} characters; at most {limit} allowed", field=path)
        if pattern is not None and value and not pattern.fullmatch(value):
            raise InvalidInput(f"{quote(value)} is not allowed; allowed: {allowed}", field=path)
    return check


def _bytes_check(rules: rules_pb2.FieldRules | None) -> Check | None:
    limit = rules.max_length if rules else 0
    if not limit:
        return None

    def check(value: bytes, path: str) -> None:
        if len(value) > limit:
            raise InvalidInput(f"{len(value):,} bytes; at most {limit} allowed", field=path)
    return check


def _enum_check(field: FieldDescriptor) -> Check:
    enum = _enum_type(field)
    defined = frozenset(enum.values_by_number)
    names = ", ".join(v.name for v in enum.values if v.number != 0)

    def check(value: int, path: str) -> None:
        if value not in defined:
            raise InvalidInput(f"{value} is not a number of {enum.name}; allowed: {names}", field=path)
    return check


def _integer_check(rules: rules_pb2.FieldRules | None) -> Check | None:
    if rules is None or not (rules.HasField("min_value") or rules.HasField("max_value")):
        return None
    low = rules.min_value if rules.HasField("min_value") else None
    high = rules.max_value if rules.HasField("max_value") else None
    allowed = (f"{low} to {high}" if low is not None and high is not None
               else f"at least {low}" if low is not None else f"at most {high}")

    def check(value: int, path: str) -> None:
        if (low is not None and value < low) or (high is not None and value > high):
            raise InvalidInput(f"{value} is out of range; allowed: {allowed}", field=path)
    return check


#: The range google.protobuf.Timestamp documents: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
TIMESTAMP_SECONDS = (-62_135_596_800, 253_402_300_799)


def _timestamp_check(value: Any, path: str) -> None:
    low, high = TIMESTAMP_SECONDS
    if not low <= value.seconds <= high or not 0 <= value.nanos <= 999_999_999:
        raise InvalidInput(f"seconds {value.seconds}, nanos {value.nanos} is not a time; allowed: "
                           f"0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z", field=path)


def _element_check(field: FieldDescriptor, rules: rules_pb2.FieldRules | None) -> Check | None:
    """The check of one value of `field` (the field itself, or one element of a repeated field)."""
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        full_name = _message_type(field).full_name
        if full_name == "google.protobuf.Timestamp":
            return _timestamp_check
        if full_name in _COMPILING:  # a type that contains itself: look its check up when it runs
            return lambda value, path: _CHECKERS[full_name](value, path)
        nested = checker(_message_type(field))
        return nested if nested is not _NOTHING else None
    if field.type == FieldDescriptor.TYPE_STRING:
        return _text_check(rules)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return _bytes_check(rules)
    if field.type == FieldDescriptor.TYPE_ENUM:
        return _enum_check(field)
    if field.type in _INTEGER_TYPES:
        return _integer_check(rules)
    return None


def _missing(value: Any) -> bool:
    """An unset value: empty (a blank string too), zero, or an empty repeated field or map."""
    return not value.strip() if isinstance(value, str) else not value


def _each_entry(key_check: Check | None, value_check: Check | None) -> Check:
    """The check of every entry of a map. Paths (`loci['VWA']`) cost more than the checks, so the entries are
    checked under a blank path first, and only a refused map again entry by entry under each entry's path."""
    def named(entries: Any, path: str) -> None:
        for key, value in entries.items():
            where = f"{path}[{quote(key, 40)}]"
            if key_check:
                key_check(key, f"{where} (key)")
            if value_check:
                value_check(value, where)

    def each(entries: Any, path: str) -> None:
        try:
            for key, value in entries.items():
                if key_check:
                    key_check(key, "")
                if value_check:
                    value_check(value, "")
        except InvalidInput:
            named(entries, path)
            raise
    return each


def _each_element(element: Check) -> Check:
    """The check of every element of a repeated field; as for maps, paths (`values[2]`) only for a refusal."""
    def each(values: Any, path: str) -> None:
        try:
            for value in values:
                element(value, "")
        except InvalidInput:
            for index, value in enumerate(values):
                element(value, f"{path}[{index}]")
            raise
    return each


def _field_check(field: FieldDescriptor) -> Check | None:
    """The whole check of one field of a message, or None when the field has nothing to check."""
    rules = rules_of(field)
    required = bool(rules and rules.required)
    name = field.name
    repeated = _is_repeated(field)
    each: Check | None = None
    if _is_map(field):
        key_check = _text_check(rules, "key") if _message_type(field).fields_by_name["key"].type == \
            FieldDescriptor.TYPE_STRING else None
        value_check = _element_check(_message_type(field).fields_by_name["value"], rules)
        if key_check or value_check:
            each = _each_entry(key_check, value_check)
    elif repeated:
        element = _element_check(field, rules)
        if element is not None:
            each = _each_element(element)
    else:
        each = _element_check(field, rules)
    max_items = rules.max_items if rules and repeated else 0
    if not (required or max_items or each):
        return None
    has_presence = field.type == FieldDescriptor.TYPE_MESSAGE and not repeated
    what = "given at least once" if repeated else "set"
    if field.type == FieldDescriptor.TYPE_ENUM and not repeated:
        what = "set; allowed: " + ", ".join(v.name for v in _enum_type(field).values if v.number != 0)

    def check(message: Message, prefix: str) -> None:
        if has_presence and not message.HasField(name):
            if required:
                raise InvalidInput(f"is required and must be {what}", field=prefix + name)
            return
        value = getattr(message, name)
        if required and not has_presence and _missing(value):
            raise InvalidInput(f"is required and must be {what}", field=prefix + name)
        if max_items and len(value) > max_items:
            raise InvalidInput(f"{len(value):,} entries; at most {max_items} allowed", field=prefix + name)
        if each is not None:
            each(value, prefix + name)
    return check


def _NOTHING(message: Any, path: str) -> None:
    """The check of a message type with nothing to check."""


_CHECKERS: dict[str, Check] = {}
_COMPILING: set[str] = set()


def checker(descriptor: Descriptor) -> Check:
    """The compiled check of a message type: `check(message, path)` raises `InvalidInput` on the first broken
    rule; `path` is the field path of the message itself ("" for a request)."""
    found = _CHECKERS.get(descriptor.full_name)
    if found is not None:
        return found
    _COMPILING.add(descriptor.full_name)
    try:
        checks = [c for c in (_field_check(f) for f in descriptor.fields) if c is not None]
    finally:
        _COMPILING.discard(descriptor.full_name)
    if not checks:
        _CHECKERS[descriptor.full_name] = _NOTHING
        return _NOTHING

    def check(message: Any, path: str) -> None:
        prefix = f"{path}." if path else ""
        for field_check in checks:
            field_check(message, prefix)
    _CHECKERS[descriptor.full_name] = check
    return check


def validate(message: Message | object) -> None:
    """Raise `InvalidInput` naming the first field of `message` that breaks its rules. A request that is not a
    protobuf message (raw bytes of a generic handler) has no rules."""
    descriptor = getattr(message, "DESCRIPTOR", None)
    if descriptor is not None:
        checker(descriptor)(message, "")
