"""`prum kube render` of a router federation (Prüm II): the central router as its own Deployment and Service in its
own namespace, with its own certificate only, the states' contact points pointed at it through run.json, every
object passing `kubernetes-validate --strict`; and the router process as its pod runs it (`--listen`, the plaintext
health port for the kubelet's probes)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import kubernetes_validate
import pytest
from cryptography import x509
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prum.federation.cli.app import app
from prum.federation.runtime.kube import (
    HEALTH_PORT,
    PORT,
    ROUTER_RESOURCES,
    WORKDIR,
    router_address,
    service_address,
)
from prum.federation.runtime.processes import health_of
from prum.router.v1 import router_pb2, router_pb2_grpc
from prum.services.common.server import open_channel
from prum.services.common.tls import TlsMaterial
from test_kube import CONTAINER_SECURITY, KUBERNETES, POD_SECURITY, free_port, objects, runner

FEDERATION = """
[federation]
name = "kube-router"
topology = "router"
[defaults]
dna_profiles = 10
[[state]]
code = "DE"
[[state]]
code = "NL"
"""


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    federation_file = tmp_path / "federation.toml"
    federation_file.write_text(FEDERATION)
    out = tmp_path / "k8s"
    result = runner.invoke(app, ["kube", "render", "-f", str(federation_file), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["objects"] == 4 + 2 * 7 + 6 and summary["router"] == router_address()
    return out


def router_objects(out: Path) -> list[dict]:
    return [item for item in objects(out) if item["metadata"].get("labels", {}).get("prum/router") == "EU"]


def test_the_router_gets_its_own_namespace_deployment_service_and_certificate(rendered: Path) -> None:
    found = router_objects(rendered)
    assert [item["kind"] for item in found] == ["Namespace", "Secret", "ConfigMap", "PersistentVolumeClaim",
                                                "Deployment", "Service"]
    assert {item["metadata"].get("namespace", item["metadata"]["name"]) for item in found} == {"prum-eu"}
    secret, deployment, service = (next(i for i in found if i["kind"] == kind)
                                   for kind in ("Secret", "Deployment", "Service"))
    assert sorted(secret["stringData"]) == ["EU.key", "EU.pem", "ca.pem"]  # no state's key
    spec = deployment["spec"]
    assert deployment["metadata"]["name"] == "router" and spec["replicas"] == 1
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", "prum.federation.runtime.node", "--workdir", WORKDIR, "--state",
                                    "EU", "--listen", f"0.0.0.0:{PORT}", "--log-stdout", "--health-port",
                                    str(HEALTH_PORT), "--trace-exporter", "otlp"]
    assert {container[p]["grpc"]["port"] for p in ("startupProbe", "readinessProbe", "livenessProbe")} == {HEALTH_PORT}
    assert pod["securityContext"] == POD_SECURITY and container["securityContext"] == CONTAINER_SECURITY
    assert pod["automountServiceAccountToken"] is False
    assert container["resources"] == ROUTER_RESOURCES  # measured: it compiles no kernel and keeps no data
    assert service["metadata"]["name"] == "router" and [p["port"] for p in service["spec"]["ports"]] == [PORT]
    assert service["spec"]["selector"] == spec["selector"]["matchLabels"] == spec["template"]["metadata"]["labels"]
    namespace = found[0]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    # The states keep no Secret of the router's: each still holds its own key only.
    for item in objects(rendered):
        if item["kind"] == "Secret" and item not in found:
            assert not any(name.startswith("EU.") for name in item["stringData"])


def test_the_states_reach_the_router_at_its_service_which_its_certificate_covers(rendered: Path) -> None:
    run = json.loads((rendered / "run.json").read_text())
    assert run["router"] == {"address": router_address()} == {"address": f"router.prum-eu.svc.cluster.local:{PORT}"}
    assert run["states"]["DE"]["address"] == service_address("DE")
    certificate = x509.load_pem_x509_certificate((rendered / "pki" / "EU.pem").read_bytes())
    patterns = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName)
    assert "*.prum-eu.svc.cluster.local" in patterns and not any("prum-de" in p for p in patterns)
    # Every ConfigMap (the states' and the router's) carries this run.json: the states' nodes read the router there.
    for item in objects(rendered):
        if item["kind"] == "ConfigMap" and item["metadata"]["name"] == "prum-run":
            assert json.loads(item["data"]["run.json"])["router"] == run["router"]


def test_every_object_of_a_router_federation_passes_kubernetes_validate_strict(rendered: Path) -> None:
    for item in objects(rendered):
        try:
            kubernetes_validate.validate(item, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as error:
            raise AssertionError(f"{item['kind']} {item['metadata']['name']}: {error.message}") from error


def test_the_router_pod_serves_health_in_plaintext_and_its_service_over_mtls(rendered: Path, tmp_path: Path) -> None:
    """What the router's container runs, on loopback: it binds --listen, answers the probes' health check without a
    certificate, and serves RouterService over mTLS (its log empty: nothing routed yet)."""
    workdir = tmp_path / "pod"
    workdir.mkdir()
    (workdir / "pki").mkdir()
    for name in ("ca.pem", "EU.pem", "EU.key"):  # what its Secret holds
        shutil.copy(rendered / "pki" / name, workdir / "pki" / name)
    shutil.copy(rendered / "run.json", workdir / "run.json")
    port, health_port = free_port(), free_port()
    router = subprocess.Popen([sys.executable, "-m", "prum.federation.runtime.node", "--workdir", str(workdir),
                               "--state", "EU", "--listen", f"127.0.0.1:{port}", "--log-stdout", "--health-port",
                               str(health_port), "--trace-exporter", "none"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        tls = TlsMaterial.load(workdir / "pki", "EU")
        deadline = time.monotonic() + 120
        health = "UNAVAILABLE"
        while time.monotonic() < deadline and router.poll() is None:
            health = health_of(f"127.0.0.1:{port}", tls, 0.5)
            if health == "SERVING":
                break
            time.sleep(0.2)
        assert health == "SERVING"
        with open_channel(f"127.0.0.1:{health_port}") as plain:  # the kubelet's probe: no certificate
            reply = health_pb2_grpc.HealthStub(plain).Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            with pytest.raises(grpc.RpcError) as refused:  # the router's service stays on the mTLS port
                router_pb2_grpc.RouterServiceStub(plain).GetRouterStats(router_pb2.GetRouterStatsRequest(), timeout=2)
            assert refused.value.code() is grpc.StatusCode.UNIMPLEMENTED
        with open_channel(f"127.0.0.1:{port}", tls) as secure:
            stats = router_pb2_grpc.RouterServiceStub(secure).GetRouterStats(router_pb2.GetRouterStatsRequest(),
                                                                              timeout=5)
            assert list(stats.stats) == []
    finally:
        router.send_signal(signal.SIGTERM)
        try:
            output, _ = router.communicate(timeout=30)
        except subprocess.TimeoutExpired:  # never leave a server behind
            router.kill()
            output, _ = router.communicate()
    assert router.returncode == 0, output.decode()[-2000:]
    lines = [json.loads(line) for line in output.decode().splitlines() if line.startswith("{")]
    serving = next(line for line in lines if line.get("event") == "router serving")
    assert serving["address"] == router_address() and serving["listen"] == f"127.0.0.1:{port}"
    assert any(line.get("event") == "router stopping" for line in lines)
    assert not (workdir / "router" / "prum.log").exists()  # logs go to stdout in a container
