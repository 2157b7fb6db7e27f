"""External states: the federation file declares a state prum does not start (`external = true`, its `address`);
`prum pki issue XX --out DIR` gives its team a certificate from the federation CA, and `prum up` treats its node as a
peer, and so does a scenario (`[scenario] pki`, the CA's folder). Here a prum node started separately, with that
certificate only, stands in for the team's own."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from sample_federation import DONOR, officer_search, profile
from typer.testing import CliRunner

from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import contact_point_pb2_grpc as cp_pb2_grpc
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.federation.cli.app import app
from prum.federation.runtime.launcher import build_state
from prum.federation.runtime.processes import read_run
from prum.federation.runtime.topology import Federation, FederationFileError, load_federation, parse_federation
from prum.federation.scenario.spec import load_scenario
from prum.services.common.clock import SystemClock
from prum.services.common.server import open_channel
from prum.services.common.tls import TlsMaterial

runner = CliRunner()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_external_state_needs_its_address() -> None:
    with pytest.raises(FederationFileError, match="an external state needs the \"host:port\""):
        parse_federation({"state": [{"code": "DE"}, {"code": "LU", "external": True}]})
    with pytest.raises(FederationFileError, match="external: 'yes'; allowed: true or false"):
        parse_federation({"state": [{"code": "DE"}, {"code": "LU", "external": "yes", "address": "h:1"}]})
    spec = parse_federation({"state": [{"code": "DE"}, {"code": "LU", "external": True, "address": "127.0.0.1:1"}]})
    assert spec.state("LU").external and not spec.state("DE").external
    assert parse_federation(spec.to_file_data()) == spec


def test_prum_up_treats_an_external_state_as_a_peer(tmp_path: Path) -> None:
    workdir, certificates = tmp_path / "run", tmp_path / "lu-team"
    issued = runner.invoke(app, ["pki", "issue", "LU", "--workdir", str(workdir), "--out", str(certificates),
                                 "--json"])
    assert issued.exit_code == 0, issued.output
    assert {p.name for p in certificates.iterdir()} == {"ca.pem", "LU.pem", "LU.key"}
    assert (workdir / "pki" / "ca.key").stat().st_mode & 0o077 == 0

    address = f"127.0.0.1:{free_port()}"
    federation_file = tmp_path / "federation.toml"
    federation_file.write_text(f"""
[federation]
name = "with an external state"
deadline_ms = 1500
[defaults]
dna_profiles = 0
[[state]]
code = "DE"
[[state]]
code = "NL"
[[state]]
code = "LU"
external = true
address = "{address}"
""")
    spec = load_federation(federation_file)
    # The LU team's node: started on its own, with nothing of prum's PKI but its own certificate and the CA's.
    lu_tls = TlsMaterial.load(certificates, "LU")
    node = build_state(spec.state("LU"), spec, lu_tls, tmp_path / "lu-node", {}, SystemClock(), address=address)
    node.server.start()
    try:
        with open_channel(address, lu_tls) as channel:
            loaded = dna_pb2_grpc.DnaIndexServiceStub(channel).Ingest(
                iter([dna_pb2.IngestRequest(profile=profile("LU-P-1", DONOR))]), timeout=10)
            assert loaded.accepted == 1
        started = runner.invoke(app, ["up", "-f", str(federation_file), "--workdir", str(workdir), "--json"])
        try:
            assert started.exit_code == 0, started.output
            rows = {row["state"]: row for row in json.loads(started.stdout)}
            assert set(rows) == {"DE", "NL", "LU"} and rows["LU"]["pid"] is None and rows["LU"]["address"] == address
            assert not (workdir / "pki" / "LU.key").exists()  # prum never held the external state's key
            status = {r["state"]: r for r in json.loads(runner.invoke(
                app, ["status", "--workdir", str(workdir), "--as", "DE", "--json"]).stdout)}
            assert (status["LU"]["health"], status["LU"]["process"]) == ("SERVING", "external")

            run = read_run(workdir)
            with open_channel(run["states"]["DE"]["address"], TlsMaterial.load(workdir / "pki", "DE")) as channel:
                reply = cp_pb2_grpc.ContactPointServiceStub(channel).Search(officer_search(DONOR), timeout=10)
            results = {r.state: cp_pb2.ResultStatus.Name(r.status).removeprefix("RESULT_STATUS_") for r in reply.results}
            assert results == {"NL": "NO_HIT", "LU": "HIT"}
            lu_side = node.log.query(request_id=reply.request_id)
            assert {(e.kind.name, e.requesting_state) for e in lu_side} == {("AUTOMATED_RECEIPT", "DE"),
                                                                            ("AUTOMATED_SUPPLY", "DE")}
            refused = runner.invoke(app, ["restart", "LU", "--workdir", str(workdir)])
            assert refused.exit_code != 0 and "external" in refused.output
        finally:
            stopped = runner.invoke(app, ["down", "--workdir", str(workdir), "--json"])
        assert stopped.exit_code == 0, stopped.output
        assert node.server.wait_for_termination(0.1) is True  # timed out: prum down left the team's node running
    finally:
        node.server.stop(0).wait()
        node.close()


def test_a_scenario_treats_an_external_state_as_a_peer(tmp_path: Path) -> None:
    workdir, certificates = tmp_path / "ca", tmp_path / "lu-team"
    assert runner.invoke(app, ["pki", "issue", "LU", "--workdir", str(workdir), "--out", str(certificates)]
                         ).exit_code == 0
    address = f"127.0.0.1:{free_port()}"
    scenario = tmp_path / "external.toml"
    scenario.write_text(f"""
[scenario]
name = "an external LU"
pki = "{workdir / 'pki'}"

[federation]
deadline_ms = 1500
[defaults]
dna_profiles = 20
vehicles = 10
fingerprints = 6
[[state]]
code = "DE"
[[state]]
code = "NL"
[[state]]
code = "LU"
external = true
address = "{address}"

[[step]]
do = "search"
name = "LU answers like any peer"
planted = "trace on no national file"
expect = {{ LU = "NO_HIT", NL = "NO_HIT" }}

[[step]]
do = "partition"
name = "DE and LU cut"
between = ["DE", "LU"]

[[step]]
do = "search"
name = "LU unreachable from DE only"
planted = "trace on no national file"
expect = {{ LU = "UNAVAILABLE", NL = "NO_HIT" }}

[[step]]
do = "search"
name = "NL still reaches LU"
planted = "trace on no national file"
from = "NL"
expect = {{ LU = "NO_HIT", DE = "NO_HIT" }}
""")
    spec = load_federation_of(scenario)
    node = build_state(spec.state("LU"), spec, TlsMaterial.load(certificates, "LU"), tmp_path / "lu-node", {},
                       SystemClock(), address=address)
    node.server.start()
    try:
        result = runner.invoke(app, ["scenario", "run", str(scenario), "--json", "--workdir", str(tmp_path / "run")])
        report = json.loads(result.stdout)
        assert result.exit_code == 0, [(s["name"], s["message"]) for s in report["steps"] if not s["ok"]]
        assert len(node.log.query()) == 4  # LU's own log: the two searches that reached it, receipt and supply each
    finally:
        node.server.stop(0).wait()
        node.close()
    scenario.write_text(scenario.read_text().replace(f'pki = "{workdir / "pki"}"\n', ""))
    missing = runner.invoke(app, ["scenario", "run", str(scenario)])
    assert missing.exit_code == 2 and "[scenario].pki: required, since LU is external" in missing.output


def load_federation_of(path: Path) -> Federation:
    return load_scenario(path).federation


def test_kube_render_refuses_an_external_state_before_writing_anything(tmp_path: Path) -> None:
    from prum.federation.runtime.kube import render

    spec = parse_federation({"state": [{"code": "DE"}, {"code": "LU", "external": True, "address": "lu.example:443"}]})
    with pytest.raises(ValueError, match="states LU are external"):
        render(spec, tmp_path / "k8s")
    assert not (tmp_path / "k8s").exists()


def test_a_team_keeps_its_key_and_gets_its_certificate_from_a_csr(tmp_path: Path) -> None:
    """External states: the team makes its key and a certificate signing request; `prum pki issue XX --csr` signs it
    with the federation CA for the state's code (ca.pem and XX.pem written, no key; the certificate carries the
    team's public key and names the state as every peer checks, SEC-1); a request naming another state is
    refused."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from prum.federation.cli.app import app
    from prum.federation.runtime.pki import FederationPki
    from typer.testing import CliRunner

    key = ec.generate_private_key(ec.SECP256R1())

    def request(code: str) -> Path:
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, code),
                                        x509.NameAttribute(NameOID.COMMON_NAME, code)]))
               .sign(key, hashes.SHA256()))
        path = tmp_path / f"{code}.csr"
        path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
        return path

    runner = CliRunner()
    out = tmp_path / "lu-certs"
    result = runner.invoke(app, ["pki", "issue", "LU", "--workdir", str(tmp_path / "run"), "--csr",
                                 str(request("LU")), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["LU.pem", "ca.pem"]  # the key stays with the team
    certificate = x509.load_pem_x509_certificate((out / "LU.pem").read_bytes())
    assert certificate.public_key().public_numbers() == key.public_key().public_numbers()
    assert certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "LU"
    authority = FederationPki.load_authority(tmp_path / "run" / "pki")
    assert authority is not None
    authority.ca_cert.public_key().verify(certificate.signature, certificate.tbs_certificate_bytes,  # type: ignore[call-arg,union-attr]
                                          ec.ECDSA(certificate.signature_hash_algorithm))  # type: ignore[arg-type]
    refused = runner.invoke(app, ["pki", "issue", "LU", "--workdir", str(tmp_path / "run"), "--csr",
                                  str(request("BE")), "--out", str(tmp_path / "other")])
    assert refused.exit_code == 2 and "names BE" in refused.output
