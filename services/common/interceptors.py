"""The serving stack: one server interceptor that puts every concern around every servicer, built once per
method, and the single table from domain errors to status codes.

Around each call, outermost first:
- tracing: a server span continuing the caller's W3C trace context, when a tracer provider is given; its
  sampler decides (`tracing.create_tracer_provider`), and an unsampled call costs a context switch only;
- the call's fields for log lines (request id, state, method, trace id): one context variable, which
  `logs.add_call_fields` reads whenever a line is written during the call; the call itself is logged when
  it fails or is slow, and every call when the log level is DEBUG;
- error mapping: domain errors become their status code with the core's message and, where a client can act
  on them, rich details; the code of a failed call to a peer is kept; nothing ends UNKNOWN; no status message
  is longer than `MAX_STATUS_MESSAGE_BYTES`;
- caller policy: a call the caller table (`callers.CALLERS`) does not allow to the certificate's state is
  refused, and so is every method the table does not name (default deny);
- request validation: every request message, streamed ones each as it arrives, against its .proto's rules.

grpc-python calls a server's interceptors on every call and rebuilds the handler each time; this one keeps the
wrapped handler of each method, so a call pays for the concerns and nothing else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc
import structlog
from google.protobuf import any_pb2
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prum.services.common import errors, logs
from prum.services.common.callers import CALLERS, Caller
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.tls import calling_state
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
    errors.CaseClosed: grpc.StatusCode.FAILED_PRECONDITION,
}

REQUEST_ID_KEY = "x-request-id"
TRACEPARENT_KEY = "traceparent"
#: A status message says what was wrong and what is allowed, quoting at most a prefix of the input: 1 KB is
#: plenty, and some clients (grpc-js) stall on a trailer of tens of KB.
MAX_STATUS_MESSAGE_BYTES = 1024
#: A call that takes longer than this is logged even when it succeeds (milliseconds).
SLOW_CALL_MS = 1000.0


def status_of(error: errors.PrumError) -> grpc.StatusCode:
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return grpc.StatusCode.INTERNAL


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


def _already_aborted(context: grpc.ServicerContext) -> bool:
    code = context.code() if hasattr(context, "code") else None
    return code is not None and code != grpc.StatusCode.OK


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


@dataclass(frozen=True)
class Method:
    """What the stack knows of one method before any call: its names and who may call it."""

    name: str  # the full method name, "/prum.dna.v1.DnaIndexService/Search"
    span_name: str  # as OpenTelemetry's gRPC instrumentation names it, "prum.dna.v1.DnaIndexService/Search"
    service: str
    rpc: str
    caller: Caller | None
    streams_request: bool
    streams_response: bool


class ServingStack(grpc.ServerInterceptor):
    """The one interceptor of every server (`server.create_server`): tracing, call fields and call log, error
    mapping, caller policy and request validation around each servicer, wrapped once per method."""

    def __init__(self, state: str, callers: Mapping[str, Caller] = CALLERS, *,
                 tracer_provider: trace.TracerProvider | None = None, clock: Clock | None = None,
                 slow_call_ms: float = SLOW_CALL_MS) -> None:
        self.state = state
        self.callers = callers
        self.tracer = tracer_provider.get_tracer("prum.server") if tracer_provider is not None else None
        self.clock = clock or SystemClock()
        self.slow_call_s = slow_call_ms / 1000
        self.log = structlog.get_logger("prum.calls")
        self.errors_log = structlog.get_logger("prum.errors")
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}
        self._lock = threading.Lock()

    def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
                          handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        name = handler_call_details.method
        handler = self._handlers.get(name)
        if handler is not None:
            return handler
        inner = continuation(handler_call_details)
        if inner is None:
            return None  # no such method: gRPC answers UNIMPLEMENTED
        with self._lock:
            return self._handlers.setdefault(name, self._wrap_handler(name, inner))

    # -- built once per method -------------------------------------------------------------------------------

    def _wrap_handler(self, name: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        service, _, rpc = name.lstrip("/").partition("/")
        streams_request, streams_response = handler.request_streaming, handler.response_streaming
        method = Method(name, name.lstrip("/"), service, rpc, self.callers.get(name), streams_request,
                        streams_response)
        behaviour = (handler.unary_unary or handler.unary_stream or handler.stream_unary
                     or handler.stream_stream)
        assert behaviour is not None, "a method handler has one of its four behaviours"
        wrapped = self._streaming(method, behaviour) if streams_response else self._unary(method, behaviour)
        make = {(False, False): grpc.unary_unary_rpc_method_handler,
                (False, True): grpc.unary_stream_rpc_method_handler,
                (True, False): grpc.stream_unary_rpc_method_handler,
                (True, True): grpc.stream_stream_rpc_method_handler}[(streams_request, streams_response)]
        return make(wrapped, handler.request_deserializer, handler.response_serializer)

    def _unary(self, method: Method, behaviour: Callable[..., Any]) -> Callable[..., Any]:
        def unary(request: Any, context: grpc.ServicerContext) -> Any:
            call = self._begin(method, context)
            try:
                return behaviour(self._admitted(method, request, context), context)
            except Exception as error:  # mapped to a status (or re-raised), never swallowed
                self._refuse(method, error, context)
                raise  # _refuse aborts; this is for a checker that cannot see it
            finally:
                self._end(call, context)
        return unary

    def _streaming(self, method: Method, behaviour: Callable[..., Any]) -> Callable[..., Any]:
        def streaming(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            call = self._begin(method, context)
            try:
                yield from behaviour(self._admitted(method, request, context), context)
            except Exception as error:  # mapped to a status (or re-raised), never swallowed
                self._refuse(method, error, context)
                raise
            finally:
                self._end(call, context)
        return streaming

    # -- per call ------------------------------------------------------------------------------------------

    def _begin(self, method: Method, context: grpc.ServicerContext) -> _Call:
        request_id = traceparent = None
        for key, value in context.invocation_metadata() or ():
            if key == REQUEST_ID_KEY:
                request_id = value
            elif key == TRACEPARENT_KEY:
                traceparent = value
        span = trace_token = None
        if self.tracer is not None:
            parent = propagate.extract({TRACEPARENT_KEY: traceparent}) if traceparent else None
            span = self.tracer.start_span(method.span_name, context=parent, kind=SpanKind.SERVER)
            if span.is_recording():
                span.set_attributes({"rpc.system": "grpc", "rpc.service": method.service, "rpc.method": method.rpc,
                                     "prum.state": self.state})
            trace_token = otel_context.attach(trace.set_span_in_context(span))
        fields = logs.CallFields(str(request_id) if request_id else "", self.state, method.name)
        return _Call(method, time.perf_counter(), fields, logs.CALL.set(fields), span, trace_token)

    def _admitted(self, method: Method, request: Any, context: grpc.ServicerContext) -> Any:
        """The request once the caller policy admitted the call and the request met its contract's rules."""
        if method.caller is None:
            raise errors.NotAuthorised(f"{method.name} has no caller policy in this federation, so nobody may call "
                                       f"it (default deny)")
        if method.caller is Caller.OWN_STATE:
            certified = calling_state(context)
            if certified is not None and certified != self.state:
                raise errors.NotAuthorised(
                    f"{method.name} is for {self.state}'s own authorities only; the client certificate identifies "
                    f"{certified} (SEC-1, SEC-2)")
        if method.streams_request:
            return _validated(request)
        validate(request)
        return request

    def _refuse(self, method: Method, error: Exception, context: grpc.ServicerContext) -> None:
        """Abort the call with the status `error` maps to (this raises)."""
        if isinstance(error, errors.PrumError):
            code, message = status_of(error), bounded(str(error))
            details = details_of(error, self.clock.now())
            if details:
                context.abort_with_status(rpc_status.to_status(status_pb2.Status(
                    code=code.value[0], message=message, details=[_packed(d) for d in details])))
            context.abort(code, message)
        if isinstance(error, grpc.RpcError) and hasattr(error, "code"):
            code = error.code()
            if code in (None, grpc.StatusCode.UNKNOWN, grpc.StatusCode.OK):
                code = grpc.StatusCode.INTERNAL
            context.abort(code, bounded(f"a call to a peer failed: {error.details()}"))
        if _already_aborted(context):
            return  # an abort the servicer or this stack made: it stands
        self.errors_log.exception("unexpected error", method=method.name)
        # The exception's own text stays in the state's log: it may quote the input or the code's internals.
        context.abort(grpc.StatusCode.INTERNAL, f"internal error in {method.name} ({type(error).__name__}); the "
                                                f"state's log has the details")

    def _end(self, call: _Call, context: grpc.ServicerContext) -> None:
        elapsed = time.perf_counter() - call.started
        code = (context.code() if hasattr(context, "code") else None) or grpc.StatusCode.OK
        try:
            if code is not grpc.StatusCode.OK:
                self.log.warning("call", code=code.name, ms=round(elapsed * 1000, 3))
            elif elapsed > self.slow_call_s:
                self.log.warning("slow call", code=code.name, ms=round(elapsed * 1000, 3))
            elif logs.enabled("debug"):
                self.log.debug("call", code=code.name, ms=round(elapsed * 1000, 3))
        finally:
            if call.span is not None:
                if call.span.is_recording():
                    call.span.set_attribute("rpc.grpc.status_code", code.value[0])
                    if code is not grpc.StatusCode.OK:
                        call.span.set_status(Status(StatusCode.ERROR, f"{code.name}"))
                call.span.end()
                otel_context.detach(call.trace_token)
            logs.CALL.reset(call.fields_token)


@dataclass
class _Call:
    method: Method
    started: float
    fields: logs.CallFields
    fields_token: Any
    span: trace.Span | None
    trace_token: Any
