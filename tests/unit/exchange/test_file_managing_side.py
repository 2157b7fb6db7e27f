"""The file-managing half of the exchange without gRPC: identity, gate, search through the category's
plug-in, and the receipt and the reply (or the refusal) durable in the log before the answer returns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from exchange_fakes import NOW, data, ready_book
from prum.federation.synthetic.afis import mated_probe, population
from prum.federation.synthetic.dna import random_profile
from prum.federation.synthetic.vehicle import vehicle_records
from prum.services.afis.capacity import CapacityLedger, CapacityLimits
from prum.services.afis.exchange import FingerprintFile, FingerprintQuery
from prum.services.afis.gallery import Gallery
from prum.services.afis.plugin import PLUGIN as FINGERPRINT
from prum.services.common.category import Category
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import CapacityExhausted, GateClosed, IdentityMismatch, InvalidInput
from prum.services.common.reference import ReferenceKind
from prum.services.dna.exchange import DnaQuery
from prum.services.dna.file import DnaFile
from prum.services.dna.plugin import PLUGIN as DNA
from prum.services.exchange.context import QueryContext
from prum.services.exchange.file_managing import FileManagingSide
from prum.services.logger import EntryKind, LogEntry, MessageType, Outcome, ProtocolLog, Side
from prum.services.vehicle.exchange import VehicleQuery
from prum.services.vehicle.plugin import PLUGIN as VEHICLE
from prum.services.vehicle.register import VehicleRegister

TRACE = ReferenceKind.UNIDENTIFIED_TRACE


OWN_STATE = "NL"  # the state under test: its log is the `log` fixture (conftest.py)

@pytest.fixture
def nl(log: ProtocolLog, clock: SimulatedClock) -> FileManagingSide:
    return FileManagingSide("NL", ready_book(clock, not_ready=(("FR", Category.DNA),)), log, clock)


@pytest.fixture
def dna_file(tmp_path: Path, clock: SimulatedClock) -> Iterator[DnaFile]:
    with DnaFile(tmp_path / "dna.db", clock=clock) as file:
        yield file


def context(requesting: str = "DE", requested: str = "NL", request_id: str = "req-1") -> QueryContext:
    return QueryContext(request_id=request_id, requesting_state=requesting, requested_state=requested,
                        officer_id=f"{requesting}-OFF-1", ordering_officer_id=f"{requesting}-OFF-2",
                        reason="burglary series", case_reference="2026-17", sent_at=NOW)


def logged(log: ProtocolLog) -> list[LogEntry]:
    return list(log.export())


def test_a_hit_is_answered_after_the_receipt_and_the_reply_are_logged(nl: FileManagingSide, log: ProtocolLog,
                                                                       dna_file: DnaFile) -> None:
    donor = random_profile(np.random.default_rng(1))
    dna_file.ingest("NL-P-1", ReferenceKind.IDENTIFIED_PERSON, donor)
    query = DnaQuery("DE-T-1", TRACE, donor)
    header, hits = nl.answer(DNA, dna_file, context(), "DE", query)
    assert [h.reference for h in hits] == ["NL-P-1"]
    assert (header.request_id, header.requesting_state, header.requested_state) == ("req-1", "DE", "NL")
    receipt, reply = logged(log)  # both in one group commit (LOG-4)
    assert (receipt.kind, receipt.message_type, receipt.side) == (EntryKind.AUTOMATED_RECEIPT, MessageType.QUERY,
                                                                  Side.FILE_MANAGING)
    assert data(receipt) == DNA.query_record(query)
    assert (reply.kind, reply.message_type, reply.outcome, reply.hit_count) == (
        EntryKind.AUTOMATED_SUPPLY, MessageType.REPLY, Outcome.HIT, 1)
    assert [h["reference"] for h in data(reply)["hits"]] == ["NL-P-1"]
    assert receipt.reply_id == reply.reply_id == header.reply_id
    assert (reply.officer_id, reply.reason, reply.case_reference) == ("DE-OFF-1", "burglary series", "2026-17")


def test_a_no_hit_is_logged_as_one(nl: FileManagingSide, log: ProtocolLog, dna_file: DnaFile) -> None:
    rng = np.random.default_rng(2)
    dna_file.ingest("NL-P-1", ReferenceKind.IDENTIFIED_PERSON, random_profile(rng))
    _, hits = nl.answer(DNA, dna_file, context(), "DE", DnaQuery("DE-T-2", TRACE, random_profile(rng)))
    assert hits == []
    _, reply = logged(log)
    assert (reply.outcome, reply.hit_count, data(reply)) == (Outcome.NO_HIT, 0, {"hits": []})


def test_a_closed_gate_is_a_logged_refusal(nl: FileManagingSide, log: ProtocolLog, dna_file: DnaFile) -> None:
    query = DnaQuery("FR-T-1", TRACE, random_profile(np.random.default_rng(3)))
    with pytest.raises(GateClosed, match="FR is not ready for DNA"):
        nl.answer(DNA, dna_file, context("FR"), "FR", query)
    receipt, refusal = logged(log)
    assert (receipt.message_type, data(receipt)) == (MessageType.QUERY, DNA.query_record(query))
    assert (refusal.message_type, refusal.outcome) == (MessageType.REFUSAL, Outcome.REFUSED)
    assert data(refusal)["refusal"] == "GateClosed"


def test_a_refusal_of_the_search_itself_is_logged(nl: FileManagingSide, log: ProtocolLog, dna_file: DnaFile) -> None:
    thin = DnaQuery("DE-T-3", TRACE, dict(list(random_profile(np.random.default_rng(4)).items())[:4]))
    with pytest.raises(InvalidInput, match="at least 6"):
        nl.answer(DNA, dna_file, context(), "DE", thin)
    _, refusal = logged(log)
    assert (refusal.outcome, data(refusal)["refusal"]) == (Outcome.REFUSED, "InvalidInput")


def test_a_caller_that_is_not_who_it_claims_or_asks_the_wrong_state_gets_nothing_logged(
        nl: FileManagingSide, log: ProtocolLog, dna_file: DnaFile) -> None:
    query = DnaQuery("DE-T-4", TRACE, random_profile(np.random.default_rng(5)))
    with pytest.raises(IdentityMismatch, match="identifies state FR"):  # SEC-1: FR's certificate, DE's claim
        nl.answer(DNA, dna_file, context(), "FR", query)
    with pytest.raises(IdentityMismatch, match="addressed to LU"):
        nl.answer(DNA, dna_file, context(requested="LU"), "DE", query)
    with pytest.raises(InvalidInput, match="reason"):
        nl.answer(DNA, dna_file, QueryContext("req-5", "DE", "NL"), "DE", query)
    assert logged(log) == []


def test_a_vehicle_hit_supplies_the_record_and_a_foreign_plate_is_a_no_hit(
        nl: FileManagingSide, log: ProtocolLog, tmp_path: Path, clock: SimulatedClock) -> None:
    register = VehicleRegister(tmp_path / "vehicles.db", clock=clock, country="NL")
    record = next(vehicle_records("NL", 1, seed=9))
    register.ingest(record)
    _, records = nl.answer(VEHICLE, register, context(), "DE", VehicleQuery(vin=record.vehicle.vin))
    assert [r.vehicle.vin for r in records] == [record.vehicle.vin]
    _, foreign = nl.answer(VEHICLE, register, context(request_id="req-2"), "DE",
                           VehicleQuery(registration_number="B-MW 1234"))  # a complete German plate
    assert foreign == []
    receipt, reply, _, no_hit = logged(log)
    assert data(receipt) == {"vin": record.vehicle.vin, "at": None}
    assert [r["vehicle"]["vin"] for r in data(reply)["records"]] == [record.vehicle.vin]  # VRD-2
    assert (reply.outcome, no_hit.outcome) == (Outcome.HIT, Outcome.NO_HIT)


def test_a_spent_fingerprint_capacity_is_a_logged_refusal(nl: FileManagingSide, log: ProtocolLog,
                                                           clock: SimulatedClock) -> None:
    rng = np.random.default_rng(21)
    gallery = Gallery()
    (master, template), *_ = population(rng, 3, prefix="NL-F-")
    gallery.add_many([template, *(t for _, t in population(rng, 2, prefix="NL-G-"))])
    file = FingerprintFile(gallery, CapacityLedger(default=CapacityLimits(person_searches_per_day=1), clock=clock))
    probe = mated_probe(rng, master, "DE-F-1")
    _, found = nl.answer(FINGERPRINT, file, context(), "DE", FingerprintQuery(probe, 2))
    assert found.grant.remaining == 0 and len(found.candidates) <= 2  # FP-3
    with pytest.raises(CapacityExhausted):
        nl.answer(FINGERPRINT, file, context(request_id="req-2"), "DE", FingerprintQuery(probe, 2))
    receipt, reply, _, refusal = logged(log)
    assert data(receipt)["reference"] == "DE-F-1"
    assert [c["reference"] for c in data(reply)["candidates"]] == [c.reference for c, _ in found.candidates]
    assert (refusal.outcome, data(refusal)["refusal"]) == (Outcome.REFUSED, "CapacityExhausted")
