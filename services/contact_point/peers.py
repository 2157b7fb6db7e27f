"""The NCP's transport to its peers over gRPC and mutual TLS: one channel per peer, a deadline on every call.

A search goes to the RPC its category's wire names (`prum.services.categories`), with no per-category
code here. A peer's status code becomes a per-state result status here, in one table; nothing a peer
answers turns into UNKNOWN. The supervisors' calls to each other ride on the same channels.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import grpc
from opentelemetry.sdk.trace import TracerProvider
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import contact_point_pb2_grpc as cp_pb2_grpc
from prum.services.categories import CATEGORIES, CategoryWire
from prum.services.common.category import Category
from prum.services.common.interceptors import REQUEST_ID_KEY
from prum.services.common.server import open_channel
from prum.services.common.tls import TlsMaterial
from prum.services.common.wire import CATEGORY_TO_PROTO, timestamp
from prum.services.contact_point.wire import (
    INFORMATION_PURPOSE_TO_PROTO,
    informed_person_to_proto,
    personal_data_from_proto,
)
from prum.services.exchange.context import QueryContext, ReplyHeader
from prum.services.exchange.follow_up import PersonalData
from prum.services.exchange.information import InformationPurpose, InformedPerson
from prum.services.exchange.requesting import PeerAnswer, ResultStatus
from prum.services.exchange.wire import context_to_proto, header_from_proto
from prum.supervisor.v1 import supervisor_pb2, supervisor_pb2_grpc

STATUS_OF_CODE: dict[grpc.StatusCode, ResultStatus] = {
    grpc.StatusCode.FAILED_PRECONDITION: ResultStatus.NOT_READY,
    grpc.StatusCode.UNAVAILABLE: ResultStatus.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: ResultStatus.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED: ResultStatus.UNAVAILABLE,
}


def answer_of_error(error: grpc.RpcError) -> PeerAnswer:
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNAVAILABLE
    detail = error.details() if hasattr(error, "details") else str(error)
    return PeerAnswer(STATUS_OF_CODE.get(code, ResultStatus.REFUSED), code.name, detail or "")


class GrpcPeers:
    """Channels to the peers of one state, keyed by state code; `directory` maps a state to "host:port".

    The directory is read on every call: when a peer's address changes, or its `generation(state)` does (a
    directory of published addresses has one: the peer's process started anew), the old channel is closed and
    a fresh one opened, so a restarted peer is reached at once, without the reconnect backoff its old channel
    built up while it was down."""

    def __init__(self, directory: Mapping[str, str], tls: TlsMaterial | None,
                 tracer_provider: TracerProvider | None = None,
                 wires: Mapping[Category, CategoryWire[Any, Any]] | None = None) -> None:
        # Kept by reference: a launcher fills it in as the peers' servers bind their ports.
        self.directory = directory
        self.wires = wires if wires is not None else {c: r.wire for c, r in CATEGORIES.items()}
        self.tls = tls
        self.tracer_provider = tracer_provider
        self._channels: dict[str, tuple[tuple[Any, ...], grpc.Channel]] = {}
        self._lock = threading.Lock()

    def _where(self, state: str) -> tuple[str, tuple[Any, ...]]:
        """(address, what identifies the peer's current process there); KeyError when no address is known."""
        try:
            address = self.directory[state]
        except KeyError as error:
            raise KeyError(f"no address known for state {state}") from error
        generation = getattr(self.directory, "generation", None)
        return address, (address, *(generation(state) if generation is not None else ()))

    def channel(self, state: str) -> grpc.Channel:
        with self._lock:
            address, key = self._where(state)
            held = self._channels.get(state)
            if held is not None and held[0] == key:
                return held[1]
            if held is not None:
                held[1].close()  # the peer moved or started anew: its calls on the old channel are lost anyway
            channel = open_channel(address, self.tls, self.tracer_provider, state=state)
            self._channels[state] = (key, channel)
            return channel

    def close(self) -> None:
        with self._lock:
            for _, channel in self._channels.values():
                channel.close()
            self._channels.clear()

    def ask(self, category: Category, context: QueryContext, query: Any, timeout_s: float) -> PeerAnswer[Any]:
        """One search of one peer's data service, by the RPC its category's wire names (`PeerTransport`)."""
        wire = self.wires[category]
        try:
            channel = self.channel(context.requested_state)
        except KeyError as error:
            return PeerAnswer(ResultStatus.UNAVAILABLE, "UNAVAILABLE", str(error.args[0]))
        request = wire.peer_request(context_to_proto(context), query)
        method = wire.method
        call = channel.unary_unary(  # type: ignore[call-arg]  # _registered_method: not in types-grpcio
            f"/{method.containing_service.full_name}/{method.name}",
            request_serializer=type(request).SerializeToString, response_deserializer=wire.reply_type.FromString,
            _registered_method=True)  # as the generated stubs call it
        try:
            reply: Any = call(request, timeout=timeout_s, metadata=((REQUEST_ID_KEY, context.request_id),))
        except grpc.RpcError as error:
            return answer_of_error(error)
        items = wire.items(reply)
        return PeerAnswer(ResultStatus.HIT if items else ResultStatus.NO_HIT, "OK", "", header_from_proto(reply.header),
                          items)

    def follow_up(self, context: QueryContext, category: Category, reference: str, original_request_id: str,
                  timeout_s: float) -> tuple[ReplyHeader, PersonalData]:
        """FOL-1 to the peer's NCP; a refusal keeps the peer's status code (the interceptor passes it on)."""
        reply = cp_pb2_grpc.ContactPointServiceStub(self.channel(context.requested_state)).AnswerFollowUp(
            cp_pb2.AnswerFollowUpRequest(context=context_to_proto(context), category=CATEGORY_TO_PROTO[category],
                                         reference=reference, original_request_id=original_request_id),
            timeout=timeout_s, metadata=((REQUEST_ID_KEY, context.request_id),))
        return header_from_proto(reply.header), personal_data_from_proto(reply.person)

    def send_information(self, context: QueryContext, purpose: InformationPurpose, event: str,
                         persons: tuple[InformedPerson, ...], conditions: tuple[str, ...],
                         purpose_ends_at: datetime | None, timeout_s: float) -> tuple[ReplyHeader, str, datetime]:
        """Art 13-16 to the peer's NCP; a refusal keeps the peer's status code."""
        reply = cp_pb2_grpc.ContactPointServiceStub(self.channel(context.requested_state)).ReceiveInformation(
            cp_pb2.ReceiveInformationRequest(
                context=context_to_proto(context), purpose=INFORMATION_PURPOSE_TO_PROTO[purpose], event=event,
                persons=[informed_person_to_proto(p) for p in persons], conditions=list(conditions),
                purpose_ends_at=timestamp(purpose_ends_at)),
            timeout=timeout_s, metadata=((REQUEST_ID_KEY, context.request_id),))
        return header_from_proto(reply.header), reply.information_id, reply.delete_after.ToDatetime(tzinfo=UTC)


#: The peer-facing supervisor call that carries each kind of change.
_SHARE_METHOD = {supervisor_pb2.ShareReadinessChangeRequest: "ShareReadinessChange",  # GATE-2
                 supervisor_pb2.ShareDeclarationRequest: "ShareDeclaration",  # DEC-1
                 supervisor_pb2.ShareJointCaseRequest: "ShareJointCase"}  # AUD-1


def share_with_supervisors(peers: GrpcPeers, states: list[str], change: Any, timeout_s: float) -> list[str]:
    """Tell every listed state's supervisor of a change in parallel: a readiness change, a declaration or a
    joint case, by the type of `change`. The states not reached within the deadline are returned, never
    waited for longer."""
    method = _SHARE_METHOD[type(change)]

    def tell(state: str) -> str | None:
        try:
            stub = supervisor_pb2_grpc.SupervisorServiceStub(peers.channel(state))
            getattr(stub, method)(change, timeout=timeout_s)
        except (grpc.RpcError, KeyError):
            return state
        return None

    if not states:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(states)), thread_name_prefix="readiness") as pool:
        return sorted(state for state in pool.map(tell, states) if state)


#: What a supervisor lists for another state's catch-up: the call, its request for `state`, the listed fields.
_FETCH = {
    "declarations": ("ListDeclarations", lambda state: supervisor_pb2.ListDeclarationsRequest(state=state),
                     ("declarations",)),  # DEC-1: `state`'s declarations in force
    "readiness": ("GetReadiness", lambda state: supervisor_pb2.GetReadinessRequest(state=state),
                  ("readiness", "votes")),  # GATE-2: `state`'s own readiness rows; GATE-1: its votes
    "joint_cases": ("ListJointCases", lambda state: supervisor_pb2.ListJointCasesRequest(),
                    ("joint_cases",)),  # AUD-1: the joint cases `state`'s DPA holds with the caller's
}


def fetch_from_supervisor(peers: GrpcPeers, state: str, what: str, timeout_s: float) -> list[Any]:
    """What `state`'s supervisor lists for a catch-up (`what`: declarations, readiness, joint_cases); raises
    grpc.RpcError or KeyError if it cannot be reached."""
    method, request, fields = _FETCH[what]
    stub = supervisor_pb2_grpc.SupervisorServiceStub(peers.channel(state))
    reply = getattr(stub, method)(request(state), timeout=timeout_s)
    return [item for field in fields for item in getattr(reply, field)]
