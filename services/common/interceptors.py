"""Server interceptors, one per concern, and the single table from domain errors to status codes.

- `CallLoggingInterceptor`: binds request id, state and method for structlog; logs each call's end.
- `ErrorMappingInterceptor`: turns domain errors into their status code with the core's message,
  keeps the code of a failed call to a peer, and never lets a call end in UNKNOWN; no status message
  is longer than `MAX_STATUS_MESSAGE_BYTES`.
- `CallerPolicyInterceptor`: refuses a call that the caller table (`callers.CALLERS`) does not allow to the
  certificate's state, and every method the table does not name (default deny).
- `RequestValidationInterceptor`: checks every request message, streamed ones each as it arrives, against
  the rules of its .proto (`validation`).

`create_server` puts them in that order around every servicer: tracing, call logging, error mapping, then the
caller policy and the validation, whose refusals the error mapping turns into status codes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import grpc
import structlog
from google.protobuf import any_pb2
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from opentelemetry import trace
from prum.services.common import errors
from prum.services.common.callers import CALLERS, Caller
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.tls import calling_state
from prum.services.common.tracing import current_trace_id
from prum.services.common.validation import validate

# Domain error -> status code: the only place this mapping is written.
STATUS_OF: dict[type[errors.PrumError], grpc.StatusCode] = {
    errors.InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    errors.UnknownReference: grpc.StatusCode.NOT_FOUND,
    errors.Duplicate: grpc.StatusCode.ALREADY_EXISTS,
    errors.GateClosed: grpc.StatusCode.FAILED_PRECONDITION,
    errors.NotAuthorised: grpc.StatusCode.PERMISSION_DENIED,
    errors.IdentityMismatch: grpc.StatusCode.UNAUTHENTICATED,
    errors.CapacityExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
}

REQUEST_ID_KEY = "x-request-id"
#: A status message says what was wrong and what is allowed, quoting at most a prefix of the input: 1 KB is
#: plenty, and some clients (grpc-js) stall on a trailer of tens of KB.
MAX_STATUS_MESSAGE_BYTES = 1024


def status_of(error: errors.PrumError) -> grpc.StatusCode:
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return grpc.StatusCode.INTERNAL


def _wrap_handler(handler: grpc.RpcMethodHandler,
                  wrap: Callable[[Callable[..., Any], bool, bool], Callable[..., Any]]) -> grpc.RpcMethodHandler:
    """Rebuild `handler` with its behaviour wrapped; `wrap(behaviour, streams_request, streams_response)`."""
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            wrap(handler.unary_unary, False, False), handler.request_deserializer, handler.response_serializer)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            wrap(handler.unary_stream, False, True), handler.request_deserializer, handler.response_serializer)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            wrap(handler.stream_unary, True, False), handler.request_deserializer, handler.response_serializer)
    assert handler.stream_stream is not None, "a method handler has one of its four behaviours"
    return grpc.stream_stream_rpc_method_handler(
        wrap(handler.stream_stream, True, True), handler.request_deserializer, handler.response_serializer)


class _Interceptor(grpc.ServerInterceptor):
    def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
                          handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        return _wrap_handler(handler, lambda behaviour, requests, streams: self.wrap(behaviour, streams, method,
                                                                                     requests))

    def wrap(self, behaviour: Callable[..., Any], streams: bool, method: str,
             streams_request: bool = False) -> Callable[..., Any]:
        raise NotImplementedError


def bounded(message: str, limit: int = MAX_STATUS_MESSAGE_BYTES) -> str:
    """`message` cut to at most `limit` bytes of UTF-8 (on a character boundary), marked as cut."""
    encoded = message.encode("utf-8")
    if len(encoded) <= limit:
        return message
    return encoded[:limit - 24].decode("utf-8", "ignore") + " ... (message cut)"


def _packed(detail: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(detail)
    return packed


def _abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> None:
    context.abort(code, bounded(message))


def _already_aborted(context: grpc.ServicerContext) -> bool:
    code = context.code() if hasattr(context, "code") else None
    return code is not None and code != grpc.StatusCode.OK


def details_of(error: errors.PrumError, now: datetime) -> list[Message]:
    """The google.rpc error details a domain error carries beside its message, for a client to act on without
    parsing text: the field of invalid input (`BadRequest`), when a spent capacity resets (`RetryInfo`), the state
    and category of a closed gate (`PreconditionFailure`)."""
    if isinstance(error, errors.InvalidInput) and error.field:
        return [error_details_pb2.BadRequest(field_violations=[error_details_pb2.BadRequest.FieldViolation(
            field=error.field, description=bounded(error.reason, 512))])]
    if isinstance(error, errors.CapacityExhausted) and error.resets_at is not None:
        wait = max(0.0, (error.resets_at - now).total_seconds())
        return [error_details_pb2.RetryInfo(retry_delay=Duration(seconds=int(wait), nanos=int(wait % 1 * 1e9)))]
    if isinstance(error, errors.GateClosed) and error.state:
        subject = f"{error.state}/{error.category}" if error.category else error.state
        return [error_details_pb2.PreconditionFailure(violations=[error_details_pb2.PreconditionFailure.Violation(
            type="GATE-1", subject=subject, description=bounded(str(error), 512))])]
    return []


class ErrorMappingInterceptor(_Interceptor):
    """Domain errors and peer failures become status codes with clear messages and, where a client can act on
    them, rich details (`details_of`); nothing ends UNKNOWN."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()

    def wrap(self, behaviour: Callable[..., Any], streams: bool, method: str,
             streams_request: bool = False) -> Callable[..., Any]:
        def handle(error: Exception, context: grpc.ServicerContext) -> None:
            if isinstance(error, errors.PrumError):
                code, message = status_of(error), bounded(str(error))
                details = details_of(error, self.clock.now())
                if details:
                    context.abort_with_status(rpc_status.to_status(status_pb2.Status(
                        code=code.value[0], message=message, details=[_packed(d) for d in details])))
                _abort(context, code, message)
            if isinstance(error, grpc.RpcError) and hasattr(error, "code"):
                code = error.code()
                if code in (None, grpc.StatusCode.UNKNOWN, grpc.StatusCode.OK):
                    code = grpc.StatusCode.INTERNAL
                _abort(context, code, f"a call to a peer failed: {error.details()}")
            if _already_aborted(context):
                raise error
            structlog.get_logger("prum.errors").exception("unexpected error", method=method)
            # The exception's own text stays in the state's log: it may quote the input or the code's internals.
            _abort(context, grpc.StatusCode.INTERNAL, f"internal error in {method} ({type(error).__name__}); "
                                                      f"the state's log has the details")

        if streams:
            def stream_behaviour(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                try:
                    yield from behaviour(request, context)
                except Exception as error:  # noqa: BLE001 - mapped, never swallowed
                    handle(error, context)
            return stream_behaviour

        def unary_behaviour(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                return behaviour(request, context)
            except Exception as error:  # noqa: BLE001 - mapped, never swallowed
                handle(error, context)
        return unary_behaviour


class CallLoggingInterceptor(_Interceptor):
    """Binds request id, state, method and trace id to structlog for the call; logs its end and duration."""

    def __init__(self, state: str) -> None:
        self.state = state
        self.log = structlog.get_logger("prum.calls")

    def wrap(self, behaviour: Callable[..., Any], streams: bool, method: str,
             streams_request: bool = False) -> Callable[..., Any]:
        def bind(context: grpc.ServicerContext) -> float:
            metadata = dict(context.invocation_metadata() or ())
            structlog.contextvars.clear_contextvars()
            # The server span (opened by the OTel interceptor outside this one) says whose server it is.
            trace.get_current_span().set_attribute("prum.state", self.state)
            structlog.contextvars.bind_contextvars(
                request_id=metadata.get(REQUEST_ID_KEY) or str(uuid.uuid4()), state=self.state,
                method=method, trace_id=current_trace_id())
            return time.perf_counter()

        def done(context: grpc.ServicerContext, started: float) -> None:
            code = context.code() if hasattr(context, "code") else None
            self.log.info("call", code=(code or grpc.StatusCode.OK).name,
                          ms=round((time.perf_counter() - started) * 1000, 3))
            structlog.contextvars.clear_contextvars()

        if streams:
            def stream_behaviour(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                started = bind(context)
                try:
                    yield from behaviour(request, context)
                finally:
                    done(context, started)
            return stream_behaviour

        def unary_behaviour(request: Any, context: grpc.ServicerContext) -> Any:
            started = bind(context)
            try:
                return behaviour(request, context)
            finally:
                done(context, started)
        return unary_behaviour


def _checked_first(behaviour: Callable[..., Any], streams: bool,
                   check: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[..., Any]:
    """`behaviour` run on what `check(request, context)` returns (the request, or a checked stream of it), after
    the check; for a streamed reply the check runs as the stream starts, so a refusal ends the call at once."""
    if streams:
        def stream_behaviour(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            yield from behaviour(check(request, context), context)
        return stream_behaviour
    return lambda request, context: behaviour(check(request, context), context)


class CallerPolicyInterceptor(_Interceptor):
    """Admits a call only as the caller table says (`callers.CALLERS`), before any servicer runs: a method the
    table does not name is refused, and an own-state method is refused to another state's certificate."""

    def __init__(self, state: str, callers: Mapping[str, Caller] = CALLERS) -> None:
        self.state = state
        self.callers = callers

    def wrap(self, behaviour: Callable[..., Any], streams: bool, method: str,
             streams_request: bool = False) -> Callable[..., Any]:
        caller = self.callers.get(method)
        state = self.state

        def admit(request: Any, context: grpc.ServicerContext) -> Any:
            if caller is None:
                raise errors.NotAuthorised(f"{method} has no caller policy in this federation, so nobody may call "
                                           f"it (default deny)")
            if caller is Caller.OWN_STATE:
                certified = calling_state(context)
                if certified is not None and certified != state:
                    raise errors.NotAuthorised(
                        f"{method} is for {state}'s own authorities only; the client certificate identifies "
                        f"{certified} (SEC-1, SEC-2)")
            return request
        return _checked_first(behaviour, streams, admit)


def _validated(requests: Iterator[Any]) -> Iterator[Any]:
    """A request stream whose messages are checked as the servicer reads them; a refusal names the message by
    its position (1 for the first), and the messages before it have been handed on."""
    for position, request in enumerate(requests, start=1):
        try:
            validate(request)
        except errors.InvalidInput as refusal:
            named = errors.InvalidInput(refusal.reason, field=refusal.field)
            named.args = (f"stream message {position}: {refusal}",)  # the message says which; the field stays
            raise named from None
        yield request


class RequestValidationInterceptor(_Interceptor):
    """Checks each request message against its .proto's rules (`validation.validate`) before the servicer
    sees it; a streamed request is checked message by message as the servicer reads it."""

    def wrap(self, behaviour: Callable[..., Any], streams: bool, method: str,
             streams_request: bool = False) -> Callable[..., Any]:
        def checked(request: Any, context: grpc.ServicerContext) -> Any:
            if streams_request:
                return _validated(request)
            validate(request)
            return request
        return _checked_first(behaviour, streams, checked)
