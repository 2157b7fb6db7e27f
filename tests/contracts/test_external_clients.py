"""The contracts as clients the project did not write see them: grpc-js (Node) and `buf curl` (issue 16).

Runs tests/contracts/external/run_external_clients.py, which starts a federation (`prum up`), runs the same
cases with the Node client, buf curl and grpcio, and fails on any row that differs from what is expected.
It needs Node and `npm install` in tests/contracts/external/, which a fresh machine installing through pip
alone does not have: the test is skipped there, saying why.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXTERNAL = Path(__file__).resolve().parent / "external"


@pytest.mark.slow
def test_external_clients_agree_with_the_contracts() -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the grpc-js client cannot run")
    if not (EXTERNAL / "node_modules").is_dir():
        pytest.skip(f"no node_modules in {EXTERNAL}: run `npm install` there to check the grpc-js client")
    result = subprocess.run([sys.executable, str(EXTERNAL / "run_external_clients.py")],
                            check=False, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
