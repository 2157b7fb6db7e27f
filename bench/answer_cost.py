#!/usr/bin/env python3
"""CPU time of one logged vehicle answer on the requested side, without gRPC: what a Lookup adds to an echo.

Runs `FileManagingSide.answer` (identity, readiness gate, `VehicleRegister.lookup`, receipt and reply
entries in the protocol log) and builds the `LookupResponse` message, one answer at a time, as the
servicer does. Twice: with the protocol log in memory (the Python work alone) and on disk (WAL,
`synchronous=FULL`: the commit's write and fsync added; under concurrency a group commit shares it).
Reports the thread's CPU time per answer, which other processes on the machine hardly change. With
`--threads T` (issue 18) the answers also run from T threads at once, as a server's handlers do: answers per
second and the process's CPU per answer, with the log in memory and on disk, show what the durable group
commit (LOG-4) adds under concurrency: its wait (fsync) against its CPU.

    python bench/answer_cost.py --vehicles 5000 --answers 2000 --threads 8
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

from prum.federation.synthetic.vehicle import vehicle_records
from prum.services.common.category import Category
from prum.services.exchange.context import QueryContext
from prum.services.exchange.file_managing import FileManagingSide
from prum.services.exchange.wire import header_to_proto
from prum.services.logger import ProtocolLog
from prum.services.supervisor import ReadinessBook
from prum.services.vehicle.exchange import VehicleQuery
from prum.services.vehicle.plugin import PLUGIN
from prum.services.vehicle.register import VehicleRegister
from prum.services.vehicle.wire import record_to_proto
from prum.vehicle.v1 import vehicle_pb2 as pb


def cpu_per_answer(register: VehicleRegister, vins: list[str], log_path: str, answers: int) -> float:
    log = ProtocolLog(log_path, "NL")
    book = ReadinessBook(["DE", "NL"])
    for state in ("DE", "NL"):
        book.declare_ready(state, Category.VEHICLE)
    side = FileManagingSide("NL", book, log)

    def answer(i: int) -> pb.LookupResponse:
        vin = vins[i % len(vins)]
        context = QueryContext(request_id=f"r{i}", requesting_state="DE", requested_state="NL", officer_id="DE-1",
                               ordering_officer_id="DE-2", reason="benchmark")
        header, records = side.answer(PLUGIN, register, context, "DE", VehicleQuery(vin=vin))
        return pb.LookupResponse(header=header_to_proto(header), records=[record_to_proto(r) for r in records])

    for i in range(min(200, answers)):  # warm caches
        answer(i)
    started = time.thread_time()
    for i in range(answers):
        answer(i)
    cpu = time.thread_time() - started
    log.close()
    return cpu / answers * 1e6


def concurrent_rate(register: VehicleRegister, vins: list[str], log_path: str, answers: int,
                    threads: int) -> dict[str, float]:
    """`answers` answers from `threads` threads at once: answers per second (wall) and process CPU per answer."""
    log = ProtocolLog(log_path, "NL")
    book = ReadinessBook(["DE", "NL"])
    for state in ("DE", "NL"):
        book.declare_ready(state, Category.VEHICLE)
    side = FileManagingSide("NL", book, log)

    def work(first: int) -> None:
        for i in range(first, answers, threads):
            context = QueryContext(request_id=f"r{i}", requesting_state="DE", requested_state="NL",
                                   officer_id="DE-1", ordering_officer_id="DE-2", reason="benchmark")
            side.answer(PLUGIN, register, context, "DE", VehicleQuery(vin=vins[i % len(vins)]))

    work_threads = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    cpu, wall = time.process_time(), time.perf_counter()
    for thread in work_threads:
        thread.start()
    for thread in work_threads:
        thread.join()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    log.close()
    return {"answers_per_s": round(answers / wall, 1), "cpu_us_per_answer": round(cpu / answers * 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vehicles", type=int, default=5000)
    parser.add_argument("--answers", type=int, default=2000)
    parser.add_argument("--threads", type=int, action="append", help="also answer from T threads (repeatable)")
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="prum-answer-cost-"))
    register = VehicleRegister(folder / "vehicles.db", country="NL")
    records = list(vehicle_records("NL", options.vehicles, 1))
    register.ingest_many(records)
    vins = [record.vehicle.vin for record in records]
    memory = cpu_per_answer(register, vins, ":memory:", options.answers)
    disk = cpu_per_answer(register, vins, str(folder / "log.db"), options.answers)
    concurrent = {f"{threads} threads, log {where}": concurrent_rate(register, vins, path, options.answers, threads)
                  for threads in options.threads or [] for where, path in
                  (("in memory", ":memory:"), ("on disk", str(folder / f"log-{threads}.db")))}
    register.close()
    print(json.dumps({"answers": options.answers, "cpu_us_per_answer_log_in_memory": round(memory, 1),
                      "cpu_us_per_answer_log_on_disk": round(disk, 1), "concurrent": concurrent}, indent=2))


if __name__ == "__main__":
    main()
