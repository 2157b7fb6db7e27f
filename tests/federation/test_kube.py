"""`prum kube render`: manifests per state, certificates that name the Services, and the node they start."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from typer.testing import CliRunner

from prum.federation.cli.app import app
from prum.federation.runtime.kube import PORT, WORKDIR, service_address
from prum.federation.runtime.processes import health_of
from prum.services.common.tls import TlsMaterial

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
    assert summary["states"] == ["DE", "NL", "FR"] and summary["objects"] == 18
    return out


def objects(out: Path) -> list[dict]:
    return [item for item in yaml.safe_load_all((out / "federation.yaml").read_text()) if item]


def test_each_state_gets_its_own_namespace_and_objects(rendered: Path) -> None:
    by_state: dict[str, list[str]] = {}
    for item in objects(rendered):
        namespace = item["metadata"]["name"] if item["kind"] == "Namespace" else item["metadata"]["namespace"]
        by_state.setdefault(namespace, []).append(item["kind"])
    assert sorted(by_state) == ["prum-de", "prum-fr", "prum-nl"]
    for kinds in by_state.values():
        assert kinds == ["Namespace", "Secret", "ConfigMap", "PersistentVolumeClaim", "Deployment", "Service"]


def test_a_state_holds_only_its_own_key_and_runs_its_own_node(rendered: Path) -> None:
    for item in objects(rendered):
        state = item["metadata"]["labels"]["prum/state"]
        if item["kind"] == "Secret":
            assert sorted(item["stringData"]) == sorted(["ca.pem", f"{state}.pem", f"{state}.key"])
        if item["kind"] == "Deployment":
            spec = item["spec"]
            assert spec["replicas"] == 1  # SQLite stores: one writer
            container = spec["template"]["spec"]["containers"][0]
            assert container["command"] == ["python", "-m", "prum.federation.runtime.node", "--workdir", WORKDIR,
                                            "--state", state, "--listen", f"0.0.0.0:{PORT}", "--log-stdout"]
            assert spec["selector"]["matchLabels"] == spec["template"]["metadata"]["labels"]
        if item["kind"] == "Service":
            assert item["spec"]["ports"][0]["port"] == PORT
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


def test_the_node_of_a_manifest_serves_on_its_listen_address(rendered: Path, tmp_path: Path) -> None:
    """What the container runs, on loopback: run.json names the Service; the process binds --listen."""
    workdir = tmp_path / "pod"
    workdir.mkdir()
    shutil.copytree(rendered / "pki", workdir / "pki")
    shutil.copy(rendered / "run.json", workdir / "run.json")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    node = subprocess.Popen([sys.executable, "-m", "prum.federation.runtime.node", "--workdir", str(workdir), "--state",
                             "NL", "--listen", f"127.0.0.1:{port}", "--log-stdout"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        tls = TlsMaterial.load(workdir / "pki", "DE")
        deadline = time.monotonic() + 60
        health = "UNAVAILABLE"
        while time.monotonic() < deadline and node.poll() is None:
            health = health_of(f"127.0.0.1:{port}", tls, 0.5)
            if health == "SERVING":
                break
            time.sleep(0.2)
        assert health == "SERVING"
    finally:
        node.send_signal(signal.SIGTERM)
        try:
            output, _ = node.communicate(timeout=30)
        except subprocess.TimeoutExpired:  # never leave a server behind
            node.kill()
            output, _ = node.communicate()
    assert node.returncode == 0
    lines = [json.loads(line) for line in output.decode().splitlines() if line.startswith("{")]
    serving = next(line for line in lines if line.get("event") == "state serving")
    assert serving["address"] == service_address("NL") and serving["listen"] == f"127.0.0.1:{port}"
    assert not (workdir / "NL" / "prum.log").exists()  # logs go to stdout in a container
