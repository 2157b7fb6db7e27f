"""The shared in-process federation of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sample_federation import start_federation

from prum.federation.launcher import InProcessFederation


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessFederation]:
    running = start_federation(tmp_path_factory.mktemp("federation"))
    yield running
    running.stop()
