"""Error mapping: domain errors get their status code and message, a peer's failure keeps its code,
and nothing a servicer raises ends as UNKNOWN."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from prum.services.common import errors
from prum.services.common.interceptors import STATUS_OF
from prum.services.common.callers import Caller
from prum.services.common.server import ServiceBinding, create_server, open_channel


class _PeerFailure(grpc.RpcError):
    """What a stub raises when a call to a peer fails."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


RAISED: dict[str, Exception] = {
    "invalid": errors.InvalidInput("has 4 loci; at least 6 are needed", field="profile.loci"),
    "gate": errors.GateClosed("LU is not ready for DNA exchange", state="LU", category="DNA"),
    "officer": errors.NotAuthorised("officer 'X' is not specially authorised"),
    "identity": errors.IdentityMismatch("the client certificate identifies state DE"),
    "quota": errors.CapacityExhausted("daily capacity spent",
                                      resets_at=datetime.now(timezone.utc) + timedelta(hours=2)),
    "peer": _PeerFailure(grpc.StatusCode.DEADLINE_EXCEEDED, "peer too slow"),
    "peer_unknown": _PeerFailure(grpc.StatusCode.UNKNOWN, "peer crashed"),
    "bug": ZeroDivisionError("division by zero"),
}


def _raise(request: bytes, context: grpc.ServicerContext) -> bytes:
    raise RAISED[request.decode()]


def _raise_streaming(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
    yield b"first"
    raise RAISED[request.decode()]


class _Handlers(grpc.GenericRpcHandler):
    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        if details.method == "/test.Errors/Unary":
            return grpc.unary_unary_rpc_method_handler(_raise)
        if details.method == "/test.Errors/Stream":
            return grpc.unary_stream_rpc_method_handler(_raise_streaming)
        return None


@pytest.fixture(scope="module")
def channel() -> Iterator[grpc.Channel]:
    binding = ServiceBinding("test.Errors", _Handlers(), lambda handlers, server: server.add_generic_rpc_handlers(
        (handlers,)), callers={"/test.Errors/Unary": Caller.MEMBER, "/test.Errors/Stream": Caller.MEMBER})
    server, port = create_server("127.0.0.1:0", [binding], state="NL")
    server.start()
    with open_channel(f"127.0.0.1:{port}") as channel:
        yield channel
    server.stop(0)


@pytest.mark.parametrize("case, code, text", [
    ("invalid", grpc.StatusCode.INVALID_ARGUMENT, "profile.loci: has 4 loci"),
    ("gate", grpc.StatusCode.FAILED_PRECONDITION, "LU is not ready"),
    ("officer", grpc.StatusCode.PERMISSION_DENIED, "not specially authorised"),
    ("identity", grpc.StatusCode.UNAUTHENTICATED, "identifies state DE"),
    ("quota", grpc.StatusCode.RESOURCE_EXHAUSTED, "daily capacity"),
    ("peer", grpc.StatusCode.DEADLINE_EXCEEDED, "peer too slow"),
    ("peer_unknown", grpc.StatusCode.INTERNAL, "peer crashed"),
    ("bug", grpc.StatusCode.INTERNAL, "ZeroDivisionError"),
])
def test_errors_are_mapped_never_unknown(channel: grpc.Channel, case: str, code: grpc.StatusCode, text: str) -> None:
    unary = channel.unary_unary("/test.Errors/Unary")
    with pytest.raises(grpc.RpcError) as failure:
        unary(case.encode(), timeout=5)
    assert failure.value.code() == code
    assert text in failure.value.details()
    stream = channel.unary_stream("/test.Errors/Stream")
    with pytest.raises(grpc.RpcError) as failure:
        list(stream(case.encode(), timeout=5))
    assert failure.value.code() == code


def test_every_domain_error_has_a_status_code() -> None:
    kinds = {cls for cls in vars(errors).values()
             if isinstance(cls, type) and issubclass(cls, errors.PrumError) and cls is not errors.PrumError}
    assert kinds == set(STATUS_OF)


def _details(error: grpc.RpcError) -> list[object]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:  # no details sent
        return []
    assert status.message == error.details()
    unpacked = []
    for packed in status.details:
        for kind in (error_details_pb2.BadRequest, error_details_pb2.RetryInfo, error_details_pb2.PreconditionFailure):
            if packed.Is(kind.DESCRIPTOR):
                detail = kind()
                packed.Unpack(detail)
                unpacked.append(detail)
    return unpacked


def test_refusals_carry_rich_details_a_client_can_act_on(channel: grpc.Channel) -> None:
    """google.rpc details beside the message: the field of invalid input, when a capacity resets, the state and
    category of a closed gate."""
    unary = channel.unary_unary("/test.Errors/Unary")
    found = {}
    for case in ("invalid", "quota", "gate", "officer"):
        with pytest.raises(grpc.RpcError) as failure:
            unary(case.encode(), timeout=5)
        found[case] = _details(failure.value)
    (bad,) = found["invalid"]
    assert [(v.field, v.description) for v in bad.field_violations] == [
        ("profile.loci", "has 4 loci; at least 6 are needed")]
    (retry,) = found["quota"]
    assert 7100 < retry.retry_delay.seconds <= 7200
    (gate,) = found["gate"]
    assert [(v.type, v.subject) for v in gate.violations] == [("GATE-1", "LU/DNA")]
    assert found["officer"] == []  # nothing to act on beyond the message
