"""The shared in-process federation of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sample_federation import start_federation

from prum.federation.runtime.launcher import InProcessFederation


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessFederation]:
    running = start_federation(tmp_path_factory.mktemp("federation"))
    yield running
    running.stop()


@pytest.fixture()
def fresh(tmp_path: Path) -> Iterator[InProcessFederation]:
    """A federation of its own for a test that changes readiness or stops a state."""
    running = start_federation(tmp_path)
    yield running
    running.stop()
