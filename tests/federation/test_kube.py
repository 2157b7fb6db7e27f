"""`prum kube render`: manifests per state, certificates that name the Services, and the node they start.

Also what makes the manifests start on a cluster (issue 19): the pods' security contexts, gRPC probes on the node's
plaintext health-only port, a Job per state that loads its national files (`prum kube load`), the OpenTelemetry
Collector the nodes send their spans to, and `kubernetes-validate --strict` on every rendered object and on
deploy/k8s."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent import futures
from pathlib import Path

import grpc
import kubernetes_validate
import pytest
import yaml
from cryptography import x509
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.federation.cli.app import app
from prum.federation.runtime.kube import HEALTH_PORT, OTLP_ENDPOINT, PORT, WORKDIR, service_address
from prum.federation.runtime.processes import health_of
from prum.services.common.server import open_channel
from prum.services.common.tls import TlsMaterial
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
#: The Kubernetes version the manifests target (kubernetes-validate's schemas).
KUBERNETES = "1.32"

FEDERATION = """
[federation]
name = "kube"
[defaults]
dna_profiles = 10
[[state]]
code = "DE"
[[state]]
code = "NL"
[[state]]
code = "FR"
ready = ["VEHICLE"]
"""

runner = CliRunner()


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    federation_file = tmp_path / "federation.toml"
    federation_file.write_text(FEDERATION)
    out = tmp_path / "k8s"
    result = runner.invoke(app, ["kube", "render", "-f", str(federation_file), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["states"] == ["DE", "NL", "FR"] and summary["objects"] == 4 + 3 * 7
    return out


def objects(out: Path) -> list[dict]:
    return [item for item in yaml.safe_load_all((out / "federation.yaml").read_text()) if item]


def state_objects(out: Path) -> list[dict]:
    return [item for item in objects(out) if "prum/state" in item["metadata"]["labels"]]


def test_each_state_gets_its_own_namespace_and_objects(rendered: Path) -> None:
    by_namespace: dict[str, list[str]] = {}
    for item in objects(rendered):
        namespace = item["metadata"]["name"] if item["kind"] == "Namespace" else item["metadata"]["namespace"]
        by_namespace.setdefault(namespace, []).append(item["kind"])
    assert sorted(by_namespace) == ["prum-de", "prum-fr", "prum-nl", "prum-observability"]
    assert by_namespace.pop("prum-observability") == ["Namespace", "ConfigMap", "Deployment", "Service"]
    for kinds in by_namespace.values():
        # No PodDisruptionBudget: one replica on a ReadWriteOnce volume, a budget would block every drain.
        assert kinds == ["Namespace", "Secret", "ConfigMap", "PersistentVolumeClaim", "Deployment", "Service", "Job"]


def test_a_state_holds_only_its_own_key_and_runs_its_own_node(rendered: Path) -> None:
    for item in state_objects(rendered):
        state = item["metadata"]["labels"]["prum/state"]
        if item["kind"] == "Secret":
            assert sorted(item["stringData"]) == sorted(["ca.pem", f"{state}.pem", f"{state}.key"])
        if item["kind"] == "Deployment":
            spec = item["spec"]
            assert spec["replicas"] == 1  # SQLite stores: one writer
            container = spec["template"]["spec"]["containers"][0]
            assert container["command"] == ["python", "-m", "prum.federation.runtime.node", "--workdir", WORKDIR,
                                            "--state", state, "--listen", f"0.0.0.0:{PORT}", "--log-stdout",
                                            "--health-port", str(HEALTH_PORT), "--trace-exporter", "otlp"]
            assert spec["selector"]["matchLabels"] == spec["template"]["metadata"]["labels"]
        if item["kind"] == "Service":
            assert [p["port"] for p in item["spec"]["ports"]] == [PORT]  # peers only: never the plaintext port
            assert item["spec"]["selector"]["prum/state"] == state


def test_peers_are_addressed_by_service_names_that_the_certificates_cover(rendered: Path) -> None:
    run = json.loads((rendered / "run.json").read_text())
    assert run["federation"]["federation"]["name"] == "kube"
    for code, entry in run["states"].items():
        host = entry["address"].rsplit(":", 1)[0]
        assert entry["address"] == service_address(code) == f"node.prum-{code.lower()}.svc.cluster.local:{PORT}"
        certificate = x509.load_pem_x509_certificate((rendered / "pki" / f"{code}.pem").read_bytes())
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        patterns = names.get_values_for_type(x509.DNSName)
        # A wildcard covers exactly one leftmost label (RFC 6125), as gRPC's TLS checks it.
        assert any(p.startswith("*.") and host.split(".", 1)[1] == p[2:] for p in patterns), (host, patterns)
        others = [f"prum-{c.lower()}." for c in run["states"] if c != code]
        assert not any(other in p for p in patterns for other in others)  # no state answers for another


def test_render_refuses_to_replace_a_pki(rendered: Path) -> None:
    result = runner.invoke(app, ["kube", "render", "--out", str(rendered)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "already holds a federation PKI" in result.output


#: What every pod of the rendered manifests must run with (the issue 19 kind run: without fsGroup the node cannot
#: create its folder on a fresh volume nor read the Secret's files). Written out here, not imported, so a change to
#: the pod spec fails this test.
POD_SECURITY = {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                "fsGroupChangePolicy": "OnRootMismatch", "seccompProfile": {"type": "RuntimeDefault"}}
CONTAINER_SECURITY = {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                      "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                      "readOnlyRootFilesystem": True, "seccompProfile": {"type": "RuntimeDefault"}}


def pod_specs(out: Path) -> list[tuple[str, dict]]:
    return [(f"{item['metadata']['namespace']}/{item['kind']}/{item['metadata']['name']}",
             item["spec"]["template"]["spec"]) for item in objects(out) if item["kind"] in ("Deployment", "Job")]


def test_every_pod_runs_as_non_root_on_a_read_only_root(rendered: Path) -> None:
    specs = pod_specs(rendered)
    assert len(specs) == 1 + 3 * 2  # the collector; per state the node and its load Job
    for name, spec in specs:
        assert spec["securityContext"] == POD_SECURITY, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec.get("initContainers", []) + spec["containers"]:
            assert container["securityContext"] == CONTAINER_SECURITY, (name, container["name"])
            assert container["resources"]["requests"] and container["resources"]["limits"], (name, container["name"])
        mounts = {m["mountPath"]: m["name"] for c in spec["containers"] for m in c.get("volumeMounts", [])}
        volumes = {v["name"]: v for v in spec["volumes"]}
        if "prum" in name.split("/")[0] and "observability" not in name:
            assert volumes[mounts["/tmp"]]["emptyDir"], name  # the only writable place besides the volume
            # The Secret's files: root:10001 mode 0440 with fsGroup, readable by the node's group only.
            assert volumes["pki"]["secret"]["defaultMode"] == 0o440, name
    for item in objects(rendered):
        if item["kind"] == "Namespace":
            assert item["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_node_writes_only_to_its_volume_and_tmp_where_numba_finds_the_images_kernels(rendered: Path) -> None:
    for item in state_objects(rendered):
        if item["kind"] != "Deployment":
            continue
        spec = item["spec"]["template"]["spec"]
        node = spec["containers"][0]
        env = {e["name"]: e["value"] for e in node["env"]}
        writable = {m["mountPath"] for m in node["volumeMounts"] if not m.get("readOnly")}
        assert writable == {WORKDIR, "/tmp"}
        assert {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}} in spec["volumes"]
        # numba uses a cache folder only if it can write there: the node seeds the image's compiled kernels into
        # the image's NUMBA_CACHE_DIR under /tmp (jit.seed_numba_cache), so the manifest must not move it.
        assert "NUMBA_CACHE_DIR" not in env and "initContainers" not in spec
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == OTLP_ENDPOINT == (
            "http://otel-collector.prum-observability.svc.cluster.local:4317")


def test_probes_check_grpc_health_on_the_plaintext_health_port(rendered: Path) -> None:
    for item in state_objects(rendered):
        if item["kind"] != "Deployment":
            continue
        node = item["spec"]["template"]["spec"]["containers"][0]
        assert {p["containerPort"] for p in node["ports"]} == {PORT, HEALTH_PORT}
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert node[probe]["grpc"] == {"port": HEALTH_PORT}, probe  # Kubernetes' native gRPC probe
        startup = node["startupProbe"]
        # A cold node took up to ~80 s to open its port while numba compiled (three at once): leave room.
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 180


def test_a_job_per_state_loads_its_national_files_with_its_own_certificate(rendered: Path) -> None:
    jobs = [item for item in state_objects(rendered) if item["kind"] == "Job"]
    assert [job["metadata"]["labels"]["prum/state"] for job in jobs] == ["DE", "NL", "FR"]
    for job in jobs:
        state = job["metadata"]["labels"]["prum/state"]
        assert job["metadata"]["namespace"] == f"prum-{state.lower()}"
        assert job["spec"]["backoffLimit"] >= 1 and job["spec"]["ttlSecondsAfterFinished"] > 0
        spec = job["spec"]["template"]["spec"]
        assert spec["restartPolicy"] == "Never"
        container = spec["containers"][0]
        assert container["command"][:7] == ["prum", "kube", "load", "--workdir", WORKDIR, "--state", state]
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["pki"]["secret"]["secretName"] == "prum-pki"  # this namespace's: the state's own key only


def test_the_nodes_send_their_spans_to_a_collector_in_its_own_namespace(rendered: Path) -> None:
    collector = [item for item in objects(rendered) if item["metadata"].get("namespace") == "prum-observability"]
    config = yaml.safe_load(next(i for i in collector if i["kind"] == "ConfigMap")["data"]["collector.yaml"])
    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["debug"]
    service = next(i for i in collector if i["kind"] == "Service")
    assert service["metadata"]["name"] == "otel-collector" and service["spec"]["ports"][0]["port"] == 4317


def test_every_rendered_object_and_deploy_k8s_pass_kubernetes_validate_strict(rendered: Path) -> None:
    """`kubernetes-validate --strict` for the version the manifests target, as a library call."""
    documents = [(str(rendered / "federation.yaml"), item) for item in objects(rendered)]
    kustomization = yaml.safe_load((ROOT / "deploy" / "k8s" / "kustomization.yaml").read_text())
    for path in sorted((ROOT / "deploy" / "k8s").glob("*.yaml")):
        if path.name != "kustomization.yaml":  # kustomize's own file, no Kubernetes object: its resources are
            assert path.name in kustomization["resources"], path
            documents += [(str(path), item) for item in yaml.safe_load_all(path.read_text()) if item]
    assert len(documents) == 25 + 3
    for where, item in documents:
        try:
            kubernetes_validate.validate(item, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as error:
            raise AssertionError(f"{where}: {item['kind']} {item['metadata']['name']}: {error.message}") from error


def test_validation_catches_a_misspelt_field(rendered: Path) -> None:
    deployment = next(item for item in state_objects(rendered) if item["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["securityContext"]["fsGroupChangePolcy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP gRPC receiver, as the OpenTelemetry Collector's: keeps the services that sent spans."""

    def __init__(self) -> None:
        self.services: set[str] = set()
        self.spans = 0

    def Export(self, request: trace_service_pb2.ExportTraceServiceRequest,
               context: grpc.ServicerContext) -> trace_service_pb2.ExportTraceServiceResponse:
        for resource_spans in request.resource_spans:
            self.services.update(a.value.string_value for a in resource_spans.resource.attributes
                                 if a.key == "service.name")
            self.spans += sum(len(scope.spans) for scope in resource_spans.scope_spans)
        return trace_service_pb2.ExportTraceServiceResponse()


def test_the_node_of_a_manifest_serves_health_in_plaintext_loads_through_the_job_and_sends_spans_over_otlp(
        rendered: Path, tmp_path: Path) -> None:
    """What the container runs, on loopback: run.json names the Service; the process binds --listen, answers
    health without a certificate on --health-port (and nothing else there), is loaded by `prum kube load` as the
    Job does, and sends its spans to a collector over OTLP."""
    workdir = tmp_path / "pod"
    workdir.mkdir()
    shutil.copytree(rendered / "pki", workdir / "pki")
    shutil.copy(rendered / "run.json", workdir / "run.json")
    port, health_port, otlp_port = free_port(), free_port(), free_port()
    collector = Collector()
    receiver = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, receiver)
    receiver.add_insecure_port(f"127.0.0.1:{otlp_port}")
    receiver.start()
    node = subprocess.Popen([sys.executable, "-m", "prum.federation.runtime.node", "--workdir", str(workdir), "--state",
                             "NL", "--listen", f"127.0.0.1:{port}", "--log-stdout", "--health-port", str(health_port),
                             "--trace-exporter", "otlp"],
                            env={**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{otlp_port}",
                                 "OTEL_BSP_SCHEDULE_DELAY": "200"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        tls = TlsMaterial.load(workdir / "pki", "NL")
        deadline = time.monotonic() + 120
        health = "UNAVAILABLE"
        while time.monotonic() < deadline and node.poll() is None:
            health = health_of(f"127.0.0.1:{port}", tls, 0.5)
            if health == "SERVING":
                break
            time.sleep(0.2)
        assert health == "SERVING"
        with open_channel(f"127.0.0.1:{health_port}") as plain:  # no certificate: what the kubelet's probe does
            reply = health_pb2_grpc.HealthStub(plain).Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            dna_health = health_pb2_grpc.HealthStub(plain).Check(
                health_pb2.HealthCheckRequest(service="prum.dna.v1.DnaIndexService"), timeout=2)
            assert dna_health.status == health_pb2.HealthCheckResponse.SERVING  # the mTLS server's servicer
            with pytest.raises(grpc.RpcError) as refused:  # data services stay on the mTLS port
                dna_pb2_grpc.DnaIndexServiceStub(plain).GetFileStats(dna_pb2.GetFileStatsRequest(), timeout=2)
            assert refused.value.code() is grpc.StatusCode.UNIMPLEMENTED
        with open_channel(f"127.0.0.1:{port}") as plain:  # and the mTLS port takes no plaintext
            with pytest.raises(grpc.RpcError) as refused:
                health_pb2_grpc.HealthStub(plain).Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
            assert refused.value.code() is grpc.StatusCode.UNAVAILABLE

        load = ["kube", "load", "--workdir", str(workdir), "--state", "NL", "--wait", "10",
                "--address", f"127.0.0.1:{port}"]
        first = runner.invoke(app, load)
        assert first.exit_code == 0, first.output
        loaded = json.loads(first.output.splitlines()[-1])
        assert loaded["event"] == "national files loaded"
        assert loaded["dna_profiles"]["accepted"] >= 10 and loaded["dna_profiles"]["rejected"] == 0
        assert loaded["vehicles"]["accepted"] > 0
        again = json.loads(runner.invoke(app, load).output.splitlines()[-1])  # a Job retried loads nothing twice
        assert again["dna_profiles"] == {"accepted": 0, "rejected": loaded["dna_profiles"]["accepted"]}
    finally:
        node.send_signal(signal.SIGTERM)
        try:
            output, _ = node.communicate(timeout=30)
        except subprocess.TimeoutExpired:  # never leave a server behind
            node.kill()
            output, _ = node.communicate()
        receiver.stop(0)
    assert node.returncode == 0, output.decode()[-2000:]
    lines = [json.loads(line) for line in output.decode().splitlines() if line.startswith("{")]
    serving = next(line for line in lines if line.get("event") == "state serving")
    assert serving["address"] == service_address("NL") and serving["listen"] == f"127.0.0.1:{port}"
    assert serving["health_port"] == health_port and serving["trace_exporter"] == "otlp"
    assert not (workdir / "NL" / "prum.log").exists()  # logs go to stdout in a container
    assert not (workdir / "NL" / "traces.jsonl").exists()  # spans go to the collector
    assert collector.services == {"prum-nl"} and collector.spans > 0


def test_load_gives_up_when_the_node_never_serves(rendered: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "job"
    workdir.mkdir()
    shutil.copytree(rendered / "pki", workdir / "pki")
    shutil.copy(rendered / "run.json", workdir / "run.json")
    started = time.monotonic()
    result = runner.invoke(app, ["kube", "load", "--workdir", str(workdir), "--state", "DE", "--wait", "1",
                                 "--address", f"127.0.0.1:{free_port()}"])
    assert result.exit_code == 1 and "gave up after 1 s: UNAVAILABLE" in result.output
    assert time.monotonic() - started < 15
