#!/usr/bin/env python3
"""CPU time of one logged vehicle answer on the requested side, without gRPC: what a Lookup adds to an echo.

Runs `FileManagingSide.answer` (identity, readiness gate, `VehicleRegister.lookup`, receipt and reply
entries in the protocol log) and builds the `LookupResponse` message, one answer at a time, as the
servicer does. Twice: with the protocol log in memory (the Python work alone) and on disk (WAL,
`synchronous=FULL`: the commit's write and fsync added; under concurrency a group commit shares it).
Reports the thread's CPU time per answer, which other processes on the machine hardly change.

    python bench/answer_cost.py --vehicles 5000 --answers 2000
"""

from __future__ import annotations

import argparse
import json
import tempfile
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vehicles", type=int, default=5000)
    parser.add_argument("--answers", type=int, default=2000)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="prum-answer-cost-"))
    register = VehicleRegister(folder / "vehicles.db", country="NL")
    records = list(vehicle_records("NL", options.vehicles, 1))
    register.ingest_many(records)
    vins = [record.vehicle.vin for record in records]
    memory = cpu_per_answer(register, vins, ":memory:", options.answers)
    disk = cpu_per_answer(register, vins, str(folder / "log.db"), options.answers)
    register.close()
    print(json.dumps({"answers": options.answers, "cpu_us_per_answer_log_in_memory": round(memory, 1),
                      "cpu_us_per_answer_log_on_disk": round(disk, 1)}, indent=2))


if __name__ == "__main__":
    main()
