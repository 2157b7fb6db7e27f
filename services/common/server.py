"""The one place that builds a gRPC server of the federation.

    server, port = create_server("127.0.0.1:0", [binding, ...], state="NL", tls=material)
    server.start()

Every server gets the same serving stack (`interceptors.ServingStack`: tracing, call fields and call log,
error mapping, caller policy, request validation, wrapped once per method), health with a status per
service, reflection, mutual TLS when `tls` is given, and the options below. `create_health_server` builds the
plaintext, health-only companion that probes without a client certificate use (`node --health-port`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.sdk.trace import TracerProvider
from prum.services.common.callers import CALLERS, Caller
from prum.services.common.interceptors import SLOW_CALL_MS, ServingStack
from prum.services.common.tls import TlsMaterial, server_name

MAX_MESSAGE_BYTES = 32 * 1024 * 1024

SERVER_OPTIONS: list[tuple[str, Any]] = [
    # Art 4 comparison batches and AFIS candidate lists with templates exceed gRPC's 4 MiB default.
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # Two servers must never share a port: with SO_REUSEPORT, port 0 could hand out a port in use.
    ("grpc.so_reuseport", 0),
    # Peers keep channels open between bursts of searches: ping idle links every 30 s so a state that
    # vanished (process killed, pod evicted) is noticed, and accept clients' pings at that rate.
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
]


@dataclass(frozen=True)
class ServiceBinding:
    """One servicer to serve: its full service name (for health and reflection) and its add function."""

    name: str
    servicer: Any
    add: Callable[[Any, grpc.Server], None]
    #: Who may call the methods of a service the federation's table (`callers.CALLERS`) does not name, by full
    #: method name: a member-state team's own service, a test's. Without an entry a method is refused.
    callers: Mapping[str, Caller] = field(default_factory=dict)


def create_server(
    address: str,
    services: Sequence[ServiceBinding],
    *,
    state: str,
    tls: TlsMaterial | None = None,
    max_workers: int = 16,
    tracer_provider: TracerProvider | None = None,
    slow_call_ms: float = SLOW_CALL_MS,
) -> tuple[grpc.Server, int]:
    """Build (not start) a server for `services` on `address`; returns it with the port it bound.

    Pass port 0 (`127.0.0.1:0`) to bind a free port. Without `tls` the server listens in
    plaintext, which only member-state teams debugging one service locally should use.
    """
    callers = {**CALLERS, **{m: c for b in services for m, c in b.callers.items() if m not in CALLERS}}
    interceptors: list[grpc.ServerInterceptor] = [
        ServingStack(state, callers, tracer_provider=tracer_provider, slow_call_ms=slow_call_ms)]
    executor = futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=f"prum-{state}")
    server = grpc.server(
        executor,
        interceptors=interceptors,
        options=SERVER_OPTIONS,
    )
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for binding in services:
        binding.add(binding.servicer, server)
        health_servicer.set(binding.name, health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        [b.name for b in services] + [health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    port = server.add_secure_port(address, tls.server_credentials()) if tls else server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"could not bind {address}")
    server.health = health_servicer  # type: ignore[attr-defined]  # for graceful shutdown: set NOT_SERVING first
    server.handlers = executor  # type: ignore[attr-defined]  # for `drain`: handlers still running after stop
    return server, port


def create_health_server(address: str, health_servicer: health.HealthServicer) -> tuple[grpc.Server, int]:
    """Build (not start) a plaintext server on `address` that serves only grpc.health.v1, answered by
    `health_servicer`, the HealthServicer of a state's mTLS server (`server.health`): so it reports what that
    server reports, NOT_SERVING during a graceful shutdown included.

    For probes that cannot present a client certificate (Kubernetes' `grpc:` probes); no data service, no
    reflection and no serving stack listen here, so every other method is UNIMPLEMENTED and peers stay on mTLS.
    """
    executor = futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="prum-health")
    server = grpc.server(executor, options=[("grpc.so_reuseport", 0)])
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"could not bind {address}")
    return server, port


def drain(server: grpc.Server, timeout_s: float = 10.0) -> bool:
    """After `server.stop(grace).wait()`: wait at most `timeout_s` until the handlers still running return.

    A call cancelled at the end of the grace period is over for its client, but its handler thread runs
    on to its end (a search, a log append). Closing the state's stores under it would fail that append
    with a closed database; so a state drains its handlers first. True when every handler returned.
    """
    executor = getattr(server, "handlers", None)
    if executor is None:
        return True
    waiter = threading.Thread(target=executor.shutdown, kwargs={"wait": True, "cancel_futures": True},
                              name="prum-drain", daemon=True)
    waiter.start()
    waiter.join(timeout_s)
    return not waiter.is_alive()


CHANNEL_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    # A peer that is down must fail fast (UNAVAILABLE), not wait for the next reconnect attempt.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
    # Each channel its own subchannels: grpc-python otherwise shares them (and their reconnect backoff)
    # between channels of equal target and arguments, and a fresh channel to a restarted peer would
    # inherit the backoff of the old one.
    ("grpc.use_local_subchannel_pool", 1),
]


def open_channel(target: str, tls: TlsMaterial | None = None,
                 tracer_provider: TracerProvider | None = None, state: str | None = None) -> grpc.Channel:
    """A channel to a peer's service, over mTLS with this state's certificate when `tls` is given.

    With `state`, the TLS handshake also checks that the server's certificate is that state's (its name
    `tls.server_name(state)`), whatever address it answers on: a port another state took over after a restart
    is refused (UNAVAILABLE), never answered by the wrong state (SEC-1)."""
    options = CHANNEL_OPTIONS
    if tls is not None and state is not None:
        options = [*CHANNEL_OPTIONS, ("grpc.ssl_target_name_override", server_name(state))]
    channel = (grpc.secure_channel(target, tls.channel_credentials(), options=options) if tls
               else grpc.insecure_channel(target, options=options))
    if tracer_provider is not None:
        # OTel's interceptor speaks its own grpcext API, so it wraps the channel with its own helper.
        from opentelemetry.instrumentation.grpc import client_interceptor, intercept_channel

        channel = intercept_channel(channel, client_interceptor(tracer_provider=tracer_provider))
    return channel
