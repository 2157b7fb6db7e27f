"""Fixtures both halves' tests share: the simulated clock and the protocol log of the state under test (its code
is the test module's `OWN_STATE`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from exchange_fakes import NOW
from prum.services.common.clock import SimulatedClock
from prum.services.logger import ProtocolLog


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW)


@pytest.fixture
def log(request: pytest.FixtureRequest) -> Iterator[ProtocolLog]:
    log = ProtocolLog(":memory:", request.module.OWN_STATE)
    yield log
    log.close()
