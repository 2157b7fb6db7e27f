"""Requests for every RPC of every prum service, built by hypothesis from the descriptors, and the check of
what a running federation answers to them (issue 16: "no INTERNAL or UNKNOWN for any input").

Used by `tests/contracts/test_fuzz_rpcs.py` (a bounded, reproducible run in CI) and by `bench/fuzz_rpcs.py`
(the same generator run for longer, with figures per RPC).

What is generated, per request message type, from its descriptor (`draw_message`):
- strings: short odd ones (empty, lower-case or padded state codes, a UUID, digits of other scripts such as
  "٣" and "１２", control and format characters, right-to-left marks, emoji, SQL and path fragments), any
  text without surrogates, and long runs of one unit up to 100,000 characters;
- integers: each type's bounds and their neighbours, 0, -1, and anything in range; floats with NaN and
  infinities; bytes up to 100 KB;
- enums: every defined number and undefined ones (-1, 99, 2**31 - 1, -2**31);
- times (google.protobuf.Timestamp): the edges of the range a Timestamp allows and anything in it, now
  and a few years ago, and beyond the range (`OUT_OF_RANGE_TIMESTAMPS`);
- messages: absent, empty or filled, to a depth of 3; repeated fields and maps empty, of a few items, or
  long (hundreds to thousands of small items); a oneof with any one member set;
- "almost valid" requests (`valid_request`): a request the state accepts (a DNA search with a QueryContext
  whose request id is a fresh uuid4, an officer's search at the NCP, a log query ...) with one field, at
  any depth, replaced by a generated value or cleared (`mutate`), so the input gets past the first check.

Streaming RPCs get a list of such messages (client streaming and bidi), and every reply of a server stream
is read. `call` sends one request and returns its `Outcome`; `check_outcome` is the contract: the status is
OK or a client error of `ALLOWED_CODES`, its message at most `MAX_DETAILS_BYTES` of UTF-8.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import prum
from google.protobuf import message_factory, text_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "federation"))
from prum.afis.v1 import afis_pb2
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import core_data_pb2
from prum.dna.v1 import dna_pb2
from prum.echo.v1 import echo_pb2
from prum.logger.v1 import logger_pb2
from prum.router.v1 import core_data_relay_pb2 as relay_pb2
from prum.supervisor.v1 import supervisor_pb2 as sv_pb2
from prum.vehicle.v1 import vehicle_pb2
from sample_federation import DONOR, officer_search, profile

Draw = Callable[[st.SearchStrategy[Any]], Any]

TARGET = "NL"
"""The state whose server the fuzzing calls; DE is the peer whose certificate it also uses."""
PEER = "DE"

OK = grpc.StatusCode.OK
ALLOWED_CODES = frozenset({
    OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.OUT_OF_RANGE,
})
"""What a defined method may answer to any input: OK or a documented client error; never INTERNAL, UNKNOWN,
UNIMPLEMENTED (nor a deadline, a hang or a dropped connection)."""
MAX_DETAILS_BYTES = 1024
"""A status message is at most 1 KB of UTF-8 (`interceptors.MAX_STATUS_MESSAGE_BYTES`)."""
CALL_TIMEOUT_S = 30.0
TIMESTAMP = "google.protobuf.Timestamp"
MIN_SECONDS, MAX_SECONDS = -62_135_596_800, 253_402_300_799
"""The range of a Timestamp (0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, its .proto says)."""
OUT_OF_RANGE_TIMESTAMPS = True
"""Whether Timestamps outside that range (and nanos outside 0..999,999,999) are generated too. The validation
layer refuses them (810e407; before, they reached `wire.moment` and ended INTERNAL); `bench/fuzz_rpcs.py
--in-range-timestamps` turns them off to fuzz what gets past it."""
MAX_STREAM_REPLIES = 2000
MAX_DEPTH = 3


# -- the RPCs ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rpc:
    """One method of a prum service, callable without its generated stub."""

    method: MethodDescriptor

    @property
    def path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def name(self) -> str:
        return f"{self.method.containing_service.name}.{self.method.name}"

    @property
    def request_class(self) -> type[Message]:
        return message_factory.GetMessageClass(self.method.input_type)

    @property
    def response_class(self) -> type[Message]:
        return message_factory.GetMessageClass(self.method.output_type)

    @property
    def streams_requests(self) -> bool:
        return self.method.client_streaming

    @property
    def streams_replies(self) -> bool:
        return self.method.server_streaming


def all_rpcs() -> list[Rpc]:
    """Every method of every service in the generated modules prum.<svc>.v1.*_pb2, in a fixed order."""
    rpcs: dict[str, Rpc] = {}
    for package in sorted(info.name for info in pkgutil.iter_modules(prum.__path__) if info.ispkg):
        try:
            version = importlib.import_module(f"prum.{package}.v1")
        except ModuleNotFoundError:
            continue
        for module_info in sorted(pkgutil.iter_modules(version.__path__), key=lambda m: m.name):
            if not module_info.name.endswith("_pb2"):
                continue
            module = importlib.import_module(f"prum.{package}.v1.{module_info.name}")
            for service in module.DESCRIPTOR.services_by_name.values():
                for method in service.methods:
                    rpc = Rpc(method)
                    rpcs[rpc.path] = rpc
    return [rpcs[path] for path in sorted(rpcs)]


# -- values of one field -------------------------------------------------------------------------------

ODD_STRINGS = (
    "", " ", "\t", "NL", "DE", "FR", "LU", "XX", "nl", " NL", "NL\n", "N", "NLD", "EU", "GR", "EL",
    "00000000-0000-0000-0000-000000000000", "not-a-uuid", "NL-P-1", "NL-P-2", "DE-NCP-01", "NL-NCP-01",
    "NL-NCP-03", "D3S1358", "VWA", "vWA", "AMEL", "Penta D", "*", "?", "%", "_", "OL", "99", "0", "1",
    "٣", "١٧", "۱۸", "१७", "１２", "²", "17.٣", "9.3", "12.34", "-2", "1e3", "0x10", "NaN", "inf",
    "\x00", "\x00NL", "\x1b[31m", "\u202eLN", "\ufeffNL", "\u200bNL", "\u2028", "a\u0301", "ß", "İ", "ﬀ",
    "\U0001f642", "\U000e0001", "' OR 1=1 --", "'; DROP TABLE profile; --", "../../etc/passwd", "%s%n",
    "{}", "[]", "null", "2026-02-30", "9999-12-31", "0000-00-00", "WVWZZZ1JZXW386752", "1M8GDM9AXKP042788",
    "12-BDF-3", "AB 123 CD",
)
LONG_UNITS = ("1", "9", "0", "D", "é", "٣", "\x00", " ", "A1", "\U0001f642", "\u202e", "NL-", "x")


def long_text(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


def texts(small: bool = False) -> st.SearchStrategy[str]:
    """Odd strings; long ones (1,000 to 100,000 characters) unless `small`."""
    options: list[st.SearchStrategy[str]] = [
        st.sampled_from(ODD_STRINGS),
        st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=24),
        st.text(alphabet=st.characters(categories=("Cc", "Cf", "Zs", "Zl", "Zp")), min_size=1, max_size=8),
        st.text(alphabet=st.characters(categories=("Nd", "No", "Nl")), min_size=1, max_size=8),
    ]
    if not small:
        options.append(st.builds(long_text, st.sampled_from(LONG_UNITS),
                                 st.sampled_from((1_000, 4_301, 5_000, 20_000, 100_000))))
    return st.one_of(options)


def byte_strings(small: bool = False) -> st.SearchStrategy[bytes]:
    options: list[st.SearchStrategy[bytes]] = [st.binary(max_size=32), st.sampled_from((b"", b"\xff" * 8))]
    if not small:
        options.append(st.builds(lambda n: b"\x00" * n, st.sampled_from((1_000, 100_000))))
    return st.one_of(options)


_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-2**31, 2**31 - 1), FieldDescriptor.TYPE_SINT32: (-2**31, 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-2**31, 2**31 - 1), FieldDescriptor.TYPE_INT64: (-2**63, 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-2**63, 2**63 - 1), FieldDescriptor.TYPE_SFIXED64: (-2**63, 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1), FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1), FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def integers(low: int, high: int) -> st.SearchStrategy[int]:
    edges = sorted({v for v in (low, low + 1, -1, 0, 1, 2, 10, 99, 1000, 86_400, 600_001, 2**31 - 1,
                                2**32 - 1, 2**53 + 1, high - 1, high) if low <= v <= high})
    return st.one_of(st.sampled_from(edges), st.integers(low, high))


def enum_numbers(field: FieldDescriptor) -> st.SearchStrategy[int]:
    defined = sorted(field.enum_type.values_by_number)
    return st.one_of(st.sampled_from(defined), st.sampled_from((-1, max(defined) + 1, 99, 2**31 - 1, -2**31)))


def timestamps() -> st.SearchStrategy[Timestamp]:
    """Times at the edges of the range and anywhere in it; beyond it too with `OUT_OF_RANGE_TIMESTAMPS`."""
    now = int(time.time())
    seconds = integers(MIN_SECONDS, MAX_SECONDS)
    seconds = st.one_of(seconds, st.sampled_from((now, now - 86_400, now + 86_400, now - 3 * 365 * 86_400)))
    nanos = st.one_of(st.sampled_from((0, 999_999_999)), st.integers(0, 999_999_999))
    if OUT_OF_RANGE_TIMESTAMPS:
        seconds = st.one_of(seconds, st.sampled_from((-2**63, 2**63 - 1, MIN_SECONDS - 1, MAX_SECONDS + 1)))
        nanos = st.one_of(nanos, st.sampled_from((-1, 10**9, -2**31, 2**31 - 1)))
    return st.builds(Timestamp, seconds=seconds, nanos=nanos)


def scalars(field: FieldDescriptor, small: bool = False) -> st.SearchStrategy[Any]:
    """Values of one non-message field (one element of a repeated field)."""
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return texts(small)
    if kind == FieldDescriptor.TYPE_BYTES:
        return byte_strings(small)
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_ENUM:
        return enum_numbers(field)
    if kind == FieldDescriptor.TYPE_DOUBLE:
        return st.floats(allow_nan=True, allow_infinity=True)
    if kind == FieldDescriptor.TYPE_FLOAT:
        return st.floats(allow_nan=True, allow_infinity=True, width=32)
    low, high = _INT_RANGES[kind]
    return integers(low, high)


# -- whole messages --------------------------------------------------------------------------------------


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def draw_message(draw: Draw, descriptor: Descriptor, depth: int = 0, small: bool = False) -> Message:
    """A message of `descriptor` with any of its fields set to generated values (see the module doc)."""
    if descriptor.full_name == TIMESTAMP:
        return draw(timestamps())
    message = message_factory.GetMessageClass(descriptor)()
    oneofs_done: set[str] = set()
    for field in descriptor.fields:
        if field.containing_oneof is not None:
            if field.containing_oneof.name in oneofs_done or not draw(st.booleans()):
                continue
            oneofs_done.add(field.containing_oneof.name)
        elif not draw(st.integers(0, 3)):  # a field left at its default one time in four
            continue
        set_field(draw, message, field, depth, small)
    return message


def _many(draw: Draw, small: bool) -> int:
    """How many items a repeated field or map gets: usually a few, sometimes hundreds or thousands."""
    if small:
        return draw(st.integers(0, 2))
    return draw(st.one_of(st.integers(0, 3), st.sampled_from((300, 3000))))


def set_field(draw: Draw, message: Message, field: FieldDescriptor, depth: int, small: bool) -> None:
    """Give `field` of `message` a generated value (replacing what it held)."""
    name = field.name
    if _is_map(field):
        entries = getattr(message, name)
        entries.clear()
        key_field = field.message_type.fields_by_name["key"]
        value_field = field.message_type.fields_by_name["value"]
        count = _many(draw, small)
        many = count > 3
        for i in range(count):
            if many:  # distinct small keys, small values: a long map, not a huge one
                key: Any = f"K{i}" if key_field.type == FieldDescriptor.TYPE_STRING else i
            else:
                key = draw(scalars(key_field, small))
            if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                entries[key].CopyFrom(_sub_message(draw, value_field, depth, small or many))
            else:
                entries[key] = draw(scalars(value_field, small or many))
        return
    if field.is_repeated:
        values = getattr(message, name)
        del values[:]
        count = _many(draw, small)
        many = count > 3
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            item = _sub_message(draw, field, depth, small or many)
            for _ in range(count):
                values.add().CopyFrom(item if many else _sub_message(draw, field, depth, small))
        else:
            if many:
                values.extend([draw(scalars(field, True))] * count)
            else:
                values.extend(draw(scalars(field, small)) for _ in range(count))
        return
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if depth >= MAX_DEPTH or draw(st.integers(0, 4)) == 0:
            message.ClearField(name)  # a missing sub-message
        elif field.message_type.full_name == TIMESTAMP:
            getattr(message, name).CopyFrom(draw(timestamps()))
        else:
            getattr(message, name).CopyFrom(_sub_message(draw, field, depth, small))
        return
    setattr(message, name, draw(scalars(field, small)))


def _sub_message(draw: Draw, field: FieldDescriptor, depth: int, small: bool) -> Message:
    if field.message_type.full_name == TIMESTAMP:
        return draw(timestamps())
    if depth + 1 >= MAX_DEPTH:
        return message_factory.GetMessageClass(field.message_type)()
    return draw_message(draw, field.message_type, depth + 1, small)


# -- almost valid requests ---------------------------------------------------------------------------------


def _now() -> Timestamp:
    stamp = Timestamp()
    stamp.GetCurrentTime()
    return stamp


def query_context(as_state: str) -> common_pb2.QueryContext:
    """A context the target accepts from `as_state`: a fresh uuid4 request id, the officer's fields filled in."""
    return common_pb2.QueryContext(
        request_id=str(uuid.uuid4()), requesting_state=as_state, requested_state=TARGET,
        officer_id=f"{as_state}-NCP-01", ordering_officer_id=f"{as_state}-NCP-02", reason="homicide, art. 3 search",
        case_reference=f"{as_state}-2026-0001", sent_at=_now())


def _template(reference: str, trace: bool = False) -> afis_pb2.Template:
    minutiae = [afis_pb2.Minutia(x=40 + 23 * i % 400, y=60 + 37 * i % 380, angle=(47 * i) % 360,
                                 type=1 + i % 2, quality=60 + i % 40) for i in range(24)]
    return afis_pb2.Template(
        reference=reference, kind=afis_pb2.TEMPLATE_KIND_UNIDENTIFIED_TRACE if trace else
        afis_pb2.TEMPLATE_KIND_IDENTIFIED_PERSON, finger_position=afis_pb2.FINGER_POSITION_RIGHT_INDEX,
        width=500, height=500, resolution_ppi=500, minutiae=minutiae)


def _vehicle_record(vin: str, plate: str) -> vehicle_pb2.VehicleRecord:
    address = vehicle_pb2.Address(street="Lange Voorhout 1", postal_code="2514 EA", city="Den Haag", country="NL")
    return vehicle_pb2.VehicleRecord(
        vehicle=vehicle_pb2.Vehicle(vin=vin, registration_number=plate, make="Volkswagen", model="Golf",
                                    colour="blue", category="M1", first_registration_date="2003-05-12",
                                    status=vehicle_pb2.VEHICLE_STATUS_REGISTERED),
        holders=[vehicle_pb2.Holder(role=vehicle_pb2.HOLDER_ROLE_OWNER, person=vehicle_pb2.NaturalPerson(
            surname="de Vries", first_names="Anna", date_of_birth="1981-02-03", address=address))],
        registrations=[vehicle_pb2.Registration(registration_number=plate,
                                                valid_from=Timestamp(seconds=1_052_697_600))])


def _person(reference: str) -> cp_pb2.PersonalData:
    return cp_pb2.PersonalData(reference=reference, surname="de Vries", first_names="Anna",
                               date_of_birth="1981-02-03", nationality="NL")


def _informed() -> cp_pb2.InformedPerson:
    return cp_pb2.InformedPerson(surname="Jansen", first_names="Piet", date_of_birth="1990-01-01",
                                 place_of_birth="Utrecht", circumstances="known for violence at matches")


def _officer(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = dict(officer_id=f"{TARGET}-NCP-01", ordering_officer_id=f"{TARGET}-NCP-02",
                                     reason="homicide, art. 3 search", case_reference=f"{TARGET}-2026-0001")
    return {**fields, **overrides}


def _core_data_case(ctx: common_pb2.QueryContext) -> core_data_pb2.OpenCoreDataCaseRequest:
    """A core-data request as the requested state receives it (Art 47): for a hit its log does not show, so it is
    refused as NOT_FOUND, a client error."""
    return core_data_pb2.OpenCoreDataCaseRequest(
        context=ctx, category=common_pb2.CATEGORY_DNA, reference=f"{TARGET}-P-1", original_request_id=str(uuid.uuid4()),
        offence_code="0200", facts="burglary series; the trace was found at the third break-in")


def _core_data_decision(ctx: common_pb2.QueryContext) -> core_data_pb2.DeliverCoreDataRequest:
    return core_data_pb2.DeliverCoreDataRequest(
        context=ctx, reply_id=str(uuid.uuid4()), status=core_data_pb2.CORE_DATA_STATUS_REFUSED,
        reason="not proportionate", decided_at=_now())


def valid_requests(rpc: Rpc, as_state: str) -> list[Message]:
    """Requests of `rpc` the target state accepts (or refuses only for the state of its files) from `as_state`'s
    certificate; [] when the method's request has nothing to get right (the empty message is valid)."""
    tag = uuid.uuid4().hex[:8].upper()
    trace = dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE
    person = dna_pb2.PROFILE_KIND_IDENTIFIED_PERSON
    ctx = query_context(as_state)
    month_ago = Timestamp(seconds=_now().seconds - 30 * 86_400)
    by_name: dict[str, Callable[[], list[Message]]] = {
        "DnaIndexService.Search": lambda: [dna_pb2.SearchRequest(context=ctx, profile=profile(f"{as_state}-T-1",
                                                                                              DONOR, trace))],
        "DnaIndexService.Compare": lambda: [dna_pb2.CompareRequest(context=ctx, profile=profile(
            f"{as_state}-T-1", DONOR, trace)), dna_pb2.CompareRequest(profile=profile(f"{as_state}-T-2", DONOR, trace))],
        "DnaIndexService.Ingest": lambda: [dna_pb2.IngestRequest(profile=profile(f"{TARGET}-F-{tag}", DONOR, person))],
        "DnaIndexService.Delete": lambda: [dna_pb2.DeleteRequest(reference=f"{TARGET}-P-2")],
        "DnaIndexService.Mark": lambda: [dna_pb2.MarkRequest(reference=f"{TARGET}-P-1", contested=True,
                                                             note="the data subject contests the profile")],
        "DnaIndexService.Block": lambda: [dna_pb2.BlockRequest(reference=f"{TARGET}-P-1", blocked=False)],
        "AfisService.Search": lambda: [afis_pb2.SearchRequest(context=ctx, probe=_template(f"{as_state}-T-1", True),
                                                              max_candidates=5)],
        "AfisService.Ingest": lambda: [afis_pb2.IngestRequest(template=_template(f"{TARGET}-F-{tag}"))],
        "AfisService.Delete": lambda: [afis_pb2.DeleteRequest(reference=f"{TARGET}-F-1")],
        "VehicleRegisterService.Lookup": lambda: [vehicle_pb2.LookupRequest(context=ctx, vin="WVWZZZ1JZ3W386752",
                                                                            at=_now())],
        "VehicleRegisterService.Ingest": lambda: [vehicle_pb2.IngestRequest(
            record=_vehicle_record("WVWZZZ1JZ3W386752", "12-BDF-3"))],
        "ProtocolLoggerService.Append": lambda: [logger_pb2.AppendRequest(entry=logger_pb2.Entry(
            kind=logger_pb2.ENTRY_KIND_NON_AUTOMATED_SUPPLY, message_type=logger_pb2.MESSAGE_TYPE_INFORMATION,
            category=common_pb2.CATEGORY_DNA, side=logger_pb2.SIDE_REQUESTING, logging_state=TARGET,
            requesting_state=TARGET, requested_state=PEER, request_id=str(uuid.uuid4()),
            officer_id=f"{TARGET}-NCP-01", ordering_officer_id=f"{TARGET}-NCP-02", reason="Art 14 supply",
            data_supplied='{"event":"final"}', outcome=logger_pb2.OUTCOME_NO_HIT))],
        "ProtocolLoggerService.Query": lambda: [logger_pb2.QueryRequest(
            kind=logger_pb2.ENTRY_KIND_AUTOMATED_RECEIPT, category=common_pb2.CATEGORY_DNA, since=month_ago,
            until=_now(), limit=10)],
        "ProtocolLoggerService.Export": lambda: [logger_pb2.ExportRequest(since=month_ago, until=_now())],
        "ProtocolLoggerService.Purge": lambda: [logger_pb2.PurgeRequest(dry_run=True)],
        "ProtocolLoggerService.ListCheckpoints": lambda: [logger_pb2.ListCheckpointsRequest(limit=5)],
        "SupervisorService.GetReadiness": lambda: [sv_pb2.GetReadinessRequest(state=PEER,
                                                                              category=common_pb2.CATEGORY_DNA)],
        "SupervisorService.RecordStep": lambda: [sv_pb2.RecordStepRequest(
            state=TARGET, category=common_pb2.CATEGORY_DNA, step=sv_pb2.READINESS_STEP_DECLARATIONS_FILED)],
        "SupervisorService.CastCouncilVote": lambda: [sv_pb2.CastCouncilVoteRequest(
            subject_state="LU", category=common_pb2.CATEGORY_DNA, voting_state=TARGET, vote=sv_pb2.VOTE_IN_FAVOUR)],
        "SupervisorService.RevokeReadiness": lambda: [sv_pb2.RevokeReadinessRequest(
            state=TARGET, category=common_pb2.CATEGORY_FINGERPRINT, reason="evaluation found gaps")],
        "SupervisorService.ShareReadinessChange": lambda: [sv_pb2.ShareReadinessChangeRequest(
            origin_state=as_state, step=sv_pb2.RecordStepRequest(
                state=as_state, category=common_pb2.CATEGORY_DNA, step=sv_pb2.READINESS_STEP_DECLARATIONS_FILED))],
        "SupervisorService.RunPilot": lambda: [sv_pb2.RunPilotRequest(
            state=TARGET, category=common_pb2.CATEGORY_DNA, peer_state=PEER, queries=[sv_pb2.PilotQuery(
                search=officer_search(DONOR, f"{TARGET}-PILOT-{tag}", **_officer(reason="pilot")),
                expected=cp_pb2.RESULT_STATUS_NO_HIT)])],
        "SupervisorService.FileDeclaration": lambda: [sv_pb2.FileDeclarationRequest(declaration=sv_pb2.Declaration(
            state=TARGET, kind=sv_pb2.DECLARATION_KIND_CONTACT_POINT, category=common_pb2.CATEGORY_DNA,
            text="NCP: Dienst Landelijke Informatieorganisatie, Zoetermeer"))],
        "SupervisorService.ListDeclarations": lambda: [sv_pb2.ListDeclarationsRequest(state=TARGET)],
        "SupervisorService.ShareDeclaration": lambda: [sv_pb2.ShareDeclarationRequest(
            origin_state=as_state, declaration=sv_pb2.Declaration(
                state=as_state, kind=sv_pb2.DECLARATION_KIND_NATIONAL_FILE, category=common_pb2.CATEGORY_DNA,
                text="national DNA file", filed_at=_now()))],
        "SupervisorService.OpenJointCase": lambda: [sv_pb2.OpenJointCaseRequest(
            partner_state=PEER, kind=sv_pb2.JOINT_CASE_KIND_AUDIT, subject="sample check of DNA supplies",
            request_id=str(uuid.uuid4()))],
        "SupervisorService.AddJointFinding": lambda: [sv_pb2.AddJointFindingRequest(case_id=str(uuid.uuid4()),
                                                                                    text="logged both sides")],
        "SupervisorService.CloseJointCase": lambda: [sv_pb2.CloseJointCaseRequest(case_id=str(uuid.uuid4()),
                                                                                  conclusion="lawful")],
        "SupervisorService.ShareJointCase": lambda: [sv_pb2.ShareJointCaseRequest(
            origin_state=as_state, joint_case=sv_pb2.JointCase(
                id=f"JC-{as_state}-{tag}", kind=sv_pb2.JOINT_CASE_KIND_AUDIT, states=[as_state, TARGET],
                subject="sample check", opened_at=_now(), status=sv_pb2.JOINT_CASE_STATUS_OPEN))],
        "SupervisorService.RequestLogs": lambda: [sv_pb2.RequestLogsRequest(since=month_ago, until=_now())],
        "SupervisorService.RunAudit": lambda: [sv_pb2.RunAuditRequest(sample_size=5, seed=7)],
        "SupervisorService.OpenSubjectCase": lambda: [sv_pb2.OpenSubjectCaseRequest(subject_case=sv_pb2.SubjectCase(
            kind=sv_pb2.SUBJECT_CASE_KIND_INFORMATION, description="what DNA data of mine was supplied?",
            reference=f"{TARGET}-P-1", category=common_pb2.CATEGORY_DNA))],
        "ContactPointService.Search": lambda: [
            officer_search(DONOR, f"{TARGET}-CS-{tag}", **_officer()),
            cp_pb2.SearchRequest(**_officer(category=common_pb2.CATEGORY_VEHICLE,  # type: ignore[arg-type]
                                            vehicle=cp_pb2.VehicleKey(vin="WVWZZZ1JZ3W386752"), deadline_ms=2000)),
            cp_pb2.SearchRequest(**_officer(category=common_pb2.CATEGORY_FINGERPRINT,  # type: ignore[arg-type]
                                            template=_template(f"{TARGET}-T-{tag}", True), deadline_ms=2000))],
        "ContactPointService.FollowUp": lambda: [cp_pb2.FollowUpRequest(
            **_officer(category=common_pb2.CATEGORY_DNA, requested_state=PEER,  # type: ignore[arg-type]
                       reference=f"{PEER}-P-1", original_request_id=str(uuid.uuid4())))],
        "ContactPointService.AnswerFollowUp": lambda: [cp_pb2.AnswerFollowUpRequest(
            context=ctx, category=common_pb2.CATEGORY_DNA, reference=f"{TARGET}-P-1",
            original_request_id=str(uuid.uuid4()))],
        "ContactPointService.SendInformation": lambda: [cp_pb2.SendInformationRequest(
            **_officer(requested_state=PEER, purpose=cp_pb2.INFORMATION_PURPOSE_MAJOR_EVENT,  # type: ignore[arg-type]
                       event="European football final", persons=[_informed()],
                       conditions=["use only for policing the event"]))],
        "ContactPointService.ReceiveInformation": lambda: [cp_pb2.ReceiveInformationRequest(
            context=ctx, purpose=cp_pb2.INFORMATION_PURPOSE_MAJOR_EVENT, event="European football final",
            persons=[_informed()], conditions=["use only for policing the event"],
            purpose_ends_at=Timestamp(seconds=_now().seconds + 7 * 86_400))],
        "ContactPointService.CloseInformation": lambda: [cp_pb2.CloseInformationRequest(
            information_id=str(uuid.uuid4()))],
        "ContactPointService.RegisterPersons": lambda: [cp_pb2.RegisterPersonsRequest(person=_person(
            f"{TARGET}-P-{tag}"))],
        "CoreDataService.RequestCoreData": lambda: [core_data_pb2.RequestCoreDataRequest(
            **_officer(category=common_pb2.CATEGORY_FINGERPRINT, requested_state=PEER,  # type: ignore[arg-type]
                       reference=f"{PEER}-F-1", original_request_id=str(uuid.uuid4()), offence_code="0300",
                       facts="a fingerprint on the detonator", confirmation=core_data_pb2.MatchConfirmation(
                           confirmed_by=f"{TARGET}-FP-EXPERT-1", confirmed_at=_now())))],
        "CoreDataService.OpenCoreDataCase": lambda: [_core_data_case(ctx)],
        "CoreDataService.DeliverCoreData": lambda: [_core_data_decision(common_pb2.QueryContext(
            request_id=str(uuid.uuid4()), requesting_state=TARGET, requested_state=as_state, officer_id="NL-NCP-01",
            ordering_officer_id="NL-NCP-02", reason="core data", sent_at=_now()))],
        "CoreDataService.DecideCoreData": lambda: [core_data_pb2.DecideCoreDataRequest(
            officer_id=f"{TARGET}-NCP-01", case_id=str(uuid.uuid4()), decision=core_data_pb2.CORE_DATA_DECISION_REFUSE,
            reason="not proportionate")],
        "CoreDataService.ListCoreDataCases": lambda: [core_data_pb2.ListCoreDataCasesRequest(overdue_only=True)],
        "CoreDataService.RegisterCoreDetails": lambda: [core_data_pb2.RegisterCoreDetailsRequest(details=[
            core_data_pb2.CoreDetails(reference=f"{TARGET}-P-1", aliases=["Anna V."], place_of_birth="Utrecht",
                                      gender="female", collected_on="2024-11-02", collected_at="Politie Utrecht",
                                      offence="burglary", case_number="NL-2024-771")])],
        "CoreDataRelayService.RelayCoreDataRequest": lambda: [relay_pb2.RelayCoreDataRequestRequest(
            request=_core_data_case(ctx))],
        "CoreDataRelayService.RelayCoreDataDecision": lambda: [relay_pb2.RelayCoreDataDecisionRequest(
            decision=_core_data_decision(common_pb2.QueryContext(
                request_id=str(uuid.uuid4()), requesting_state=PEER if as_state == TARGET else TARGET,
                requested_state=as_state, officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02",
                reason="core data", sent_at=_now())))],
        "CoreDataRelayService.ListRelayedCoreData": lambda: [relay_pb2.ListRelayedCoreDataRequest(state=TARGET)],
        "EchoService.Echo": lambda: [echo_pb2.EchoRequest(payload=b"ping")],
    }
    make = by_name.get(rpc.name)
    return make() if make is not None else []


def _paths(message: Message, prefix: tuple[Any, ...] = (), depth: int = 0) -> list[tuple[Any, ...]]:
    """Where a mutation may land: every field of `message`, set or not, and the fields of its set sub-messages,
    of the first element of repeated messages and of each map value (one path = a tuple of steps)."""
    paths: list[tuple[Any, ...]] = []
    for field in message.DESCRIPTOR.fields:
        here = (*prefix, field.name)
        paths.append(here)
        if depth >= MAX_DEPTH or field.type != FieldDescriptor.TYPE_MESSAGE or \
                field.message_type.full_name == TIMESTAMP:  # a time is one value: `set_field` draws it whole
            continue
        value = getattr(message, field.name)
        if _is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            for key in list(value)[:4]:
                if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                    paths += _paths(value[key], (*here, ("key", key)), depth + 1)
        elif field.is_repeated:
            if len(value):
                paths += _paths(value[0], (*here, ("index", 0)), depth + 1)
        elif message.HasField(field.name):
            paths += _paths(value, here, depth + 1)
    return paths


def mutate(draw: Draw, request: Message) -> Message:
    """`request` with one field (at any depth) given a generated value, or cleared."""
    mutated = type(request)()
    mutated.CopyFrom(request)
    path = draw(st.sampled_from(_paths(mutated)))
    holder: Any = mutated
    for step in path[:-1]:
        if isinstance(step, tuple):
            holder = holder[step[1]]
        else:
            holder = getattr(holder, step)
    field = holder.DESCRIPTOR.fields_by_name[path[-1]]
    action = draw(st.sampled_from(("replace", "replace", "replace", "clear", "one element")))
    if action == "clear":
        holder.ClearField(field.name)
    elif action == "one element" and field.is_repeated and not _is_map(field) and len(getattr(holder, field.name)):
        values = getattr(holder, field.name)
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            values[0].CopyFrom(draw_message(draw, field.message_type, 1))
        else:
            values[0] = draw(scalars(field))
    elif action == "one element" and _is_map(field):
        key_field = field.message_type.fields_by_name["key"]
        value_field = field.message_type.fields_by_name["value"]
        entries = getattr(holder, field.name)
        key = draw(scalars(key_field))
        if value_field.type == FieldDescriptor.TYPE_MESSAGE:
            entries[key].CopyFrom(draw_message(draw, value_field.message_type, 1))
        else:
            entries[key] = draw(scalars(value_field))
    else:
        set_field(draw, holder, field, 1, False)
    return mutated


def draw_requests(draw: Draw, rpc: Rpc, as_state: str) -> list[Message]:
    """The request messages of one call (one, or a stream of them): generated from the descriptor, almost valid
    (the valid request, or stream, with one message mutated), or valid as it is."""
    valid = valid_requests(rpc, as_state)
    how = draw(st.sampled_from(("generated", "almost valid", "almost valid", "valid")))
    if rpc.streams_requests:
        if how == "generated":
            return [draw_message(draw, rpc.method.input_type) for _ in range(draw(st.integers(0, 4)))]
        stream = valid or [rpc.request_class()]
        if how == "almost valid":
            position = draw(st.integers(0, len(stream) - 1))
            stream = [*stream[:position], mutate(draw, stream[position]), *stream[position + 1:]]
            stream += [draw_message(draw, rpc.method.input_type) for _ in range(draw(st.integers(0, 1)))]
        return stream
    if how == "generated":
        return [draw_message(draw, rpc.method.input_type)]
    base = draw(st.sampled_from(valid)) if valid else rpc.request_class()
    if how == "almost valid" and base.DESCRIPTOR.fields:
        return [mutate(draw, base)]
    return [base]


def timestamp_paths(message: Message, prefix: tuple[Any, ...] = (), depth: int = 0) -> list[tuple[Any, ...]]:
    """The Timestamp fields of `message` (set or not) and of its set sub-messages, as `mutate`'s paths."""
    paths: list[tuple[Any, ...]] = []
    for field in message.DESCRIPTOR.fields:
        if field.type != FieldDescriptor.TYPE_MESSAGE or _is_map(field) or depth >= MAX_DEPTH:
            continue
        here = (*prefix, field.name)
        if field.message_type.full_name == TIMESTAMP:
            paths.append(here if not field.is_repeated else (*here, ("index", 0)))
        elif field.is_repeated:
            if len(getattr(message, field.name)):
                paths += timestamp_paths(getattr(message, field.name)[0], (*here, ("index", 0)), depth + 1)
        elif message.HasField(field.name):
            paths += timestamp_paths(getattr(message, field.name), here, depth + 1)
    return paths


def with_time(request: Message, path: tuple[Any, ...], stamp: Timestamp) -> Message:
    """`request` with the Timestamp at `path` set to `stamp` (a repeated one gets it as its first element)."""
    changed = type(request)()
    changed.CopyFrom(request)
    holder: Any = changed
    for step in path[:-1]:
        holder = holder[step[1]] if isinstance(step, tuple) else getattr(holder, step)
    last = path[-1]
    if isinstance(last, tuple):
        if len(holder) == 0:
            holder.add()
        holder[0].CopyFrom(stamp)
    else:
        getattr(holder, last).CopyFrom(stamp)
    return changed


# -- sending, and what counts as a good answer ---------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What the server answered to one call."""

    code: grpc.StatusCode
    details: str
    replies: int
    seconds: float


def call(channel: grpc.Channel, rpc: Rpc, requests: list[Message], timeout: float = CALL_TIMEOUT_S) -> Outcome:
    """Send one call of `rpc` on `channel` (every reply of a stream read); its status, never an exception."""
    serialize = rpc.request_class.SerializeToString
    deserialize = rpc.response_class.FromString
    started = time.perf_counter()
    replies = 0
    try:
        if rpc.streams_requests and rpc.streams_replies:
            stream = channel.stream_stream(rpc.path, serialize, deserialize)(iter(requests), timeout=timeout)
            replies = _drain(stream)
        elif rpc.streams_requests:
            channel.stream_unary(rpc.path, serialize, deserialize)(iter(requests), timeout=timeout)
            replies = 1
        elif rpc.streams_replies:
            replies = _drain(channel.unary_stream(rpc.path, serialize, deserialize)(requests[0], timeout=timeout))
        else:
            channel.unary_unary(rpc.path, serialize, deserialize)(requests[0], timeout=timeout)
            replies = 1
    except grpc.RpcError as error:
        return Outcome(error.code(), error.details() or "", replies, time.perf_counter() - started)  # type: ignore[attr-defined]
    return Outcome(OK, "", replies, time.perf_counter() - started)


def _drain(stream: Iterator[Message]) -> int:
    count = 0
    for _ in stream:
        count += 1
        if count >= MAX_STREAM_REPLIES:
            stream.cancel()  # type: ignore[attr-defined]
            break
    return count


def problems(outcome: Outcome) -> list[str]:
    """What is wrong with an answer (empty when it keeps the contract)."""
    found = []
    if outcome.code not in ALLOWED_CODES:
        found.append(f"status {outcome.code.name}")
    size = len(outcome.details.encode("utf-8"))
    if size > MAX_DETAILS_BYTES:
        found.append(f"a status message of {size:,} bytes")
    return found


def describe(requests: list[Message], limit: int = 600) -> str:
    """A short picture of the requests for a failure message (long strings cut)."""
    text = " | ".join(text_format.MessageToString(r, as_one_line=True)[:limit] for r in requests)
    return text[:2 * limit]


def serving(channel: grpc.Channel, service: str = "") -> bool:
    """A health check on `channel`: the server (or one of its services) is SERVING."""
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def start(workdir: Path) -> Any:
    """The sample federation of the end-to-end tests (DE, NL, FR, LU with a few DNA profiles), with the Prüm II
    router, so that the router's RPCs are fuzzed too (at the router, `channel_key`)."""
    from sample_federation import start_federation

    return start_federation(workdir, topology="router")


def channel_key(rpc: Rpc, certificate: str) -> str:
    """Which channel an RPC is fuzzed on: the router's methods at the router, every other one at `TARGET`'s server;
    `certificate` "own" (TARGET's) or "peer" (PEER's)."""
    served_by_router = rpc.method.containing_service.full_name.startswith("prum.router.v1.")
    return f"router-{certificate}" if served_by_router else certificate
