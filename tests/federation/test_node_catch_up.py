"""A state process keeps catching up: at start, then every period, through failures, until it stops (GATE-2, DEC-1)."""

from __future__ import annotations

import threading
import time

from prum.federation.runtime.node import keep_caught_up


def test_catch_up_runs_at_start_repeats_survives_a_failed_round_and_stops_when_told() -> None:
    stop = threading.Event()
    started: list[float] = []

    def run() -> None:
        started.append(time.monotonic())
        if len(started) == 2:
            raise ConnectionError("peer DE unreachable")
        if len(started) == 4:
            stop.set()

    failures: list[Exception] = []
    began = time.monotonic()
    rounds = keep_caught_up(run, stop, every_s=0.2, failed=failures.append)
    assert rounds == 4 == len(started)
    assert [str(error) for error in failures] == ["peer DE unreachable"]
    assert started[0] - began < 0.2  # the first round at once, not after a period
    gaps = [b - a for a, b in zip(started, started[1:])]
    assert all(gap >= 0.19 for gap in gaps)  # then once a period; the failed second round did not stop it


def test_a_stop_during_the_wait_ends_the_loop_without_another_round() -> None:
    stop = threading.Event()
    calls: list[int] = []
    loop = threading.Thread(target=lambda: calls.append(keep_caught_up(lambda: None, stop, every_s=60.0, failed=print)))
    loop.start()
    time.sleep(0.1)
    stop.set()
    loop.join(2.0)
    assert not loop.is_alive() and calls == [1]
