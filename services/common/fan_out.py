"""One search asked of several states under one deadline, and the per-state outcome it ends in (no gRPC).

Both fan-outs of the federation use it: a requesting contact point's to its peers (the mesh) and the Prüm II
router's to the states it routes to. Each state's call runs in the pool in a copy of the caller's context (so
the trace and the log fields follow it); a state that has not answered by the deadline (plus a short grace for
calls whose own gRPC deadline fired to report back) is DEADLINE_EXCEEDED, never waited for longer.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from enum import StrEnum
from typing import TypeVar

K = TypeVar("K")
R = TypeVar("R")

#: Grace after the fan-out deadline for calls whose own gRPC deadline has already fired to report back.
DEADLINE_GRACE_S = 0.25


class ResultStatus(StrEnum):
    """The outcome of a search in one requested state, as an officer's results and the router's log name it."""

    HIT = "HIT"
    NO_HIT = "NO_HIT"
    NOT_READY = "NOT_READY"
    UNAVAILABLE = "UNAVAILABLE"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
    REFUSED = "REFUSED"
    #: Neither an answer nor a failed link: a transport raised, or a reply could not be read or verified. A bug,
    #: here or at the peer; the code is INTERNAL and the detail names it.
    FAILED = "FAILED"
    #: Facial images: candidates came back, none a match until an officer of the requesting state confirms one
    #: (P2-FACE-3). Only the requesting contact point gives it; a requested state or the router answers HIT.
    CANDIDATES = "CANDIDATES"


def fan_out(pool: ThreadPoolExecutor, states: Iterable[K], ask: Callable[[K, float], R], deadline_ms: int,
            late: Callable[[K], R]) -> dict[K, R]:
    """`ask(state, deadline)` for every state in parallel (`deadline` on `time.monotonic()`'s clock); a state whose
    answer is not in by the deadline gets `late(state)`. Results keyed by state, in the order given."""
    deadline = time.monotonic() + deadline_ms / 1000
    futures = {pool.submit(contextvars.copy_context().run, ask, state, deadline): state for state in states}
    done, _ = wait(futures, timeout=deadline - time.monotonic() + DEADLINE_GRACE_S)
    results: dict[K, R] = {}
    for future, state in futures.items():
        if future in done:
            results[state] = future.result()
        else:
            future.cancel()
            results[state] = late(state)
    return results
