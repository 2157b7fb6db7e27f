"""The serving stack (issue 18): each method's handler wrapped once, calls logged when they fail or are slow (all
at DEBUG) with the call's fields on every line written during the call, and traces sampled parent-based."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import grpc
import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prum.echo.v1 import echo_pb2, echo_pb2_grpc
from prum.federation.runtime.topology import FederationFileError, parse_federation
from prum.services.common.interceptors import REQUEST_ID_KEY, ServingStack
from prum.services.common.logs import configure_logging, reset_logging
from prum.services.common.server import ServiceBinding, create_server
from prum.services.common.tracing import sampler_of
from prum.services.echo.servicer import EchoServicer

SAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
NOT_SAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"


class _LoggingEcho(EchoServicer):
    """An echo whose servicer writes a line of its own, as a core does."""

    def Echo(self, request: echo_pb2.EchoRequest, context: grpc.ServicerContext) -> echo_pb2.EchoResponse:
        structlog.get_logger("prum.test").info("echoing", size=len(request.payload))
        return super().Echo(request, context)


def _serve(provider: TracerProvider | None = None, slow_call_ms: float = 1000.0
           ) -> tuple[grpc.Server, grpc.Channel]:
    binding = ServiceBinding("prum.echo.v1.EchoService", _LoggingEcho(),
                             echo_pb2_grpc.add_EchoServiceServicer_to_server)
    server, port = create_server("127.0.0.1:0", [binding], state="NL", tracer_provider=provider,
                                 slow_call_ms=slow_call_ms)
    server.start()
    return server, grpc.insecure_channel(f"127.0.0.1:{port}")


@pytest.fixture()
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream, json=True)
    yield stream
    reset_logging()


def _read(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_methods_handler_is_wrapped_once_not_per_call() -> None:
    stack = ServingStack("NL")
    looked_up = []

    def continuation(details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        looked_up.append(details.method)
        return grpc.unary_unary_rpc_method_handler(lambda request, context: request)

    class Details(grpc.HandlerCallDetails):
        method = "/prum.echo.v1.EchoService/Echo"
        invocation_metadata = ()

    first = stack.intercept_service(continuation, Details())
    again = [stack.intercept_service(continuation, Details()) for _ in range(3)]
    assert looked_up == ["/prum.echo.v1.EchoService/Echo"]
    assert all(handler is first for handler in again)


def test_a_successful_call_writes_no_call_line_but_a_core_line_carries_the_calls_fields(lines: io.StringIO) -> None:
    server, channel = _serve()
    with channel:
        echo_pb2_grpc.EchoServiceStub(channel).Echo(echo_pb2.EchoRequest(payload=b"x"), timeout=5,
                                                    metadata=((REQUEST_ID_KEY, "req-42"),))
    server.stop(0).wait()
    written = _read(lines)
    assert [line["event"] for line in written] == ["echoing"]
    assert written[0]["request_id"] == "req-42" and written[0]["state"] == "NL"
    assert written[0]["method"] == "/prum.echo.v1.EchoService/Echo"


def test_a_failed_call_is_logged_with_its_code_and_fields(lines: io.StringIO) -> None:
    server, channel = _serve()
    with channel, pytest.raises(grpc.RpcError) as refused:
        echo_pb2_grpc.EchoServiceStub(channel).Echo(echo_pb2.EchoRequest(payload=b"x" * (1024 * 1024 + 1)),
                                                    timeout=5, metadata=((REQUEST_ID_KEY, "req-43"),))
    server.stop(0).wait()
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    (call,) = [line for line in _read(lines) if line["event"] == "call"]
    assert call["code"] == "INVALID_ARGUMENT" and call["level"] == "warning"
    assert call["request_id"] == "req-43" and call["state"] == "NL" and call["method"].endswith("/Echo")


def test_a_slow_call_is_logged_and_at_debug_every_call(lines: io.StringIO) -> None:
    server, channel = _serve(slow_call_ms=0.0)
    with channel:
        echo_pb2_grpc.EchoServiceStub(channel).Echo(echo_pb2.EchoRequest(payload=b"x"), timeout=5)
    server.stop(0).wait()
    assert [line["event"] for line in _read(lines)] == ["echoing", "slow call"]

    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream, json=True)
    server, channel = _serve()
    with channel:
        echo_pb2_grpc.EchoServiceStub(channel).Echo(echo_pb2.EchoRequest(payload=b"x"), timeout=5)
    server.stop(0).wait()
    (call,) = [line for line in _read(stream) if line["event"] == "call"]
    assert call["code"] == "OK" and call["level"] == "debug" and call["request_id"]  # one made for the call


def _traced(ratio: float, traceparent: str | None) -> list[dict[str, object]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler_of(ratio))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    server, channel = _serve(provider)
    with channel:
        echo_pb2_grpc.EchoServiceStub(channel).Echo(
            echo_pb2.EchoRequest(payload=b"x"), timeout=5,
            metadata=(("traceparent", traceparent),) if traceparent else ())
    server.stop(0).wait()
    return [json.loads(span.to_json()) for span in exporter.get_finished_spans()]


def test_traces_are_sampled_parent_based() -> None:
    (span,) = _traced(1.0, None)
    assert span["kind"] == "SpanKind.SERVER" and span["name"] == "prum.echo.v1.EchoService/Echo"
    assert span["attributes"]["prum.state"] == "NL" and span["attributes"]["rpc.grpc.status_code"] == 0
    assert _traced(0.0, None) == []  # a trace starting here, at ratio 0: not recorded
    (followed,) = _traced(0.0, SAMPLED)  # the caller recorded it: so does this state
    assert followed["context"]["trace_id"] == "0x0af7651916cd43dd8448eb211c80319c"
    assert followed["parent_id"] == "0xb7ad6b7169203331"
    assert _traced(1.0, NOT_SAMPLED) == []  # the caller did not: neither does this state


@pytest.mark.parametrize("ratio", [1.5, -0.1, "all", True])
def test_the_federation_files_sample_ratio_is_checked(ratio: object) -> None:
    data = {"federation": {"trace_sample_ratio": ratio}, "state": [{"code": "NL"}, {"code": "DE"}]}
    with pytest.raises(FederationFileError, match=r"trace_sample_ratio: .*allowed: 0.0 to 1.0"):
        parse_federation(data)
    data["federation"] = {"trace_sample_ratio": 0.01}
    assert parse_federation(data).trace_sample_ratio == 0.01
