"""The server factory and mutual TLS (SEC-1): port 0, health, reflection, foreign CAs refused; the plaintext
health-only server for probes."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from prum.federation.runtime.pki import FederationPki
from prum.services.common.server import create_health_server, create_server, open_channel


@pytest.fixture(scope="module")
def pki() -> FederationPki:
    return FederationPki.create(["NL", "DE"])


@pytest.fixture()
def server(pki: FederationPki):
    server, port = create_server("127.0.0.1:0", [], state="NL", tls=pki.material_for("NL"))
    server.start()
    yield port
    server.stop(0).wait()


def test_factory_binds_a_free_port_and_serves_health(pki: FederationPki, server: int) -> None:
    assert server > 0
    with open_channel(f"127.0.0.1:{server}", pki.material_for("DE")) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_a_caller_that_expects_a_state_is_refused_by_another_states_server(pki: FederationPki, server: int) -> None:
    """SEC-1 the other way round: a peer checks that the server it reached is the state it meant to reach (a port
    another state took over after a restart must not answer for it)."""
    health = health_pb2.HealthCheckRequest(service="")
    with open_channel(f"127.0.0.1:{server}", pki.material_for("DE"), state="NL") as channel:
        assert health_pb2_grpc.HealthStub(channel).Check(health, timeout=5).status == \
            health_pb2.HealthCheckResponse.SERVING
    with open_channel(f"127.0.0.1:{server}", pki.material_for("DE"), state="DE") as channel:
        with pytest.raises(grpc.RpcError) as refused:
            health_pb2_grpc.HealthStub(channel).Check(health, timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_two_servers_on_port_zero_get_different_ports(pki: FederationPki) -> None:
    first, port_a = create_server("127.0.0.1:0", [], state="NL", tls=pki.material_for("NL"))
    second, port_b = create_server("127.0.0.1:0", [], state="DE", tls=pki.material_for("DE"))
    assert port_a != port_b
    first.stop(0)
    second.stop(0)


def test_reflection_lists_the_health_service(pki: FederationPki, server: int) -> None:
    with open_channel(f"127.0.0.1:{server}", pki.material_for("DE")) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                            timeout=5)
        names = {s.name for r in replies for s in r.list_services_response.service}
    assert "grpc.health.v1.Health" in names


def test_client_certificate_from_another_ca_is_refused(server: int) -> None:
    impostor = FederationPki.create(["DE"], name="Rogue CA")
    with open_channel(f"127.0.0.1:{server}", impostor.material_for("DE")) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_client_without_certificate_is_refused(pki: FederationPki, server: int) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=pki.ca_pem)
    with grpc.secure_channel(f"127.0.0.1:{server}", credentials) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_state_code_travels_in_the_certificate(pki: FederationPki) -> None:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    cert = x509.load_pem_x509_certificate(pki.material_for("DE").cert_pem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "DE"
    assert cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "DE"


def test_bad_state_code_is_refused_by_the_pki() -> None:
    with pytest.raises(ValueError, match="alpha-2"):
        FederationPki.create(["Germany"])


def test_drain_waits_for_a_handler_that_outlives_the_grace_period(pki: FederationPki) -> None:
    """A call cancelled at stop is over for its client, but its handler runs on; a state closes its
    stores only after `drain` saw every handler return."""
    import threading
    import time

    from prum.echo.v1 import echo_pb2, echo_pb2_grpc
    from prum.services.common.server import ServiceBinding, drain
    from prum.services.echo.servicer import EchoServicer

    started, finished = threading.Event(), threading.Event()

    class SlowEcho(EchoServicer):
        def Echo(self, request, context):  # type: ignore[no-untyped-def]
            started.set()
            time.sleep(1.0)  # e.g. a search, then its log append
            finished.set()
            return super().Echo(request, context)

    server, port = create_server("127.0.0.1:0", [ServiceBinding(
        "prum.echo.v1.EchoService", SlowEcho(), echo_pb2_grpc.add_EchoServiceServicer_to_server)],
        state="NL", tls=pki.material_for("NL"))
    server.start()
    with open_channel(f"127.0.0.1:{port}", pki.material_for("DE")) as channel:
        call = echo_pb2_grpc.EchoServiceStub(channel).Echo.future(echo_pb2.EchoRequest(payload=b"x"), timeout=10)
        assert started.wait(5)
        server.stop(0).wait()  # no grace: the call is cancelled for the client at once
        assert not finished.is_set()
        with pytest.raises(grpc.RpcError):
            call.result()
    assert drain(server, timeout_s=10)
    assert finished.is_set()


def test_the_health_only_server_answers_in_plaintext_what_the_mtls_server_reports(pki: FederationPki) -> None:
    """For Kubernetes' gRPC probes (no client certificate): the same HealthServicer, nothing else, so a state that
    stops shows NOT_SERVING there too, and no data service or reflection is reachable without mTLS."""
    server, port = create_server("127.0.0.1:0", [], state="NL", tls=pki.material_for("NL"))
    probes, probe_port = create_health_server("127.0.0.1:0", server.health)  # type: ignore[attr-defined]
    server.start()
    probes.start()
    check = health_pb2.HealthCheckRequest(service="")
    try:
        with open_channel(f"127.0.0.1:{probe_port}") as plain:
            health = health_pb2_grpc.HealthStub(plain)
            assert health.Check(check, timeout=5).status == health_pb2.HealthCheckResponse.SERVING
            with pytest.raises(grpc.RpcError) as refused:
                list(reflection_pb2_grpc.ServerReflectionStub(plain).ServerReflectionInfo(
                    iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5))
            assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
            server.health.enter_graceful_shutdown()  # type: ignore[attr-defined]  # as the node does on SIGTERM
            assert health.Check(check, timeout=5).status == health_pb2.HealthCheckResponse.NOT_SERVING
        with open_channel(f"127.0.0.1:{port}") as plain:  # the state's own port stays mTLS only
            with pytest.raises(grpc.RpcError) as refused:
                health_pb2_grpc.HealthStub(plain).Check(check, timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop(0).wait()
        probes.stop(0).wait()
