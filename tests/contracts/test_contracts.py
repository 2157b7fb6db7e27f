"""The contracts: generated stubs are fresh, buf lint passes, every service has its package and RPCs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_generated_stubs_are_fresh() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "protos" / "generate.py"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fresh" in result.stdout


def test_check_fails_on_a_stale_stub(tmp_path: Path) -> None:
    copy = tmp_path / "protos"
    shutil.copytree(ROOT / "protos", copy)
    stub = copy / "prum" / "dna" / "v1" / "dna_pb2.py"
    stub.write_text(stub.read_text() + "\n# edited by hand\n")
    result = subprocess.run([sys.executable, str(copy / "generate.py"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "prum/dna/v1/dna_pb2.py" in result.stdout


def test_buf_lint_passes() -> None:
    buf = shutil.which("buf") or str(Path(sys.executable).with_name("buf"))
    if not Path(buf).exists():
        pytest.fail("buf not installed: pip install -e '.[dev]' installs buf-bin")
    result = subprocess.run([buf, "lint"], cwd=ROOT / "protos", capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("module, service, rpcs", [
    ("prum.dna.v1.dna_pb2", "DnaIndexService", {"Search", "Compare", "Ingest", "Delete", "Mark", "Block"}),
    ("prum.afis.v1.afis_pb2", "AfisService", {"Search", "Ingest", "Delete"}),
    ("prum.vehicle.v1.vehicle_pb2", "VehicleRegisterService", {"Lookup", "Ingest"}),
    ("prum.logger.v1.logger_pb2", "ProtocolLoggerService", {"Append", "Query", "Export", "Verify", "Purge"}),
    ("prum.supervisor.v1.supervisor_pb2", "SupervisorService",
     {"GetReadiness", "CastCouncilVote", "RevokeReadiness", "FileDeclaration", "RequestLogs", "RunAudit",
      "OpenSubjectCase"}),
    ("prum.contact_point.v1.contact_point_pb2", "ContactPointService", {"Search", "FollowUp", "ListOfficers"}),
])
def test_each_service_offers_its_rpcs(module: str, service: str, rpcs: set[str]) -> None:
    import importlib

    descriptor = importlib.import_module(module).DESCRIPTOR.services_by_name[service]
    assert rpcs <= {m.name for m in descriptor.methods}
    assert descriptor.full_name.startswith("prum.") and ".v1." in descriptor.full_name


def test_dna_compare_streams_both_ways() -> None:
    from prum.dna.v1 import dna_pb2

    method = dna_pb2.DESCRIPTOR.services_by_name["DnaIndexService"].methods_by_name["Compare"]
    assert method.client_streaming and method.server_streaming
