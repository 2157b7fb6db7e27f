"""`prum conformance --target HOST:PORT --state XX`: checks any implementation of a state's services (the contracts in
protos/) over the wire, one check per rule ID of docs/rules.md, as a peer and as the state itself would see it.

The suite needs certificates from the federation CA in one folder (`--pki`, as `prum up` writes WORKDIR/pki or
`prum pki issue` writes a team's): the target's own (`XX`: to load a fixture profile into its DNA file, read its
log through ProtocolLoggerService and verify it), a peer's (`--as`, default the first other state there: the
searches), and optionally one of a state the target holds not ready for DNA (`--not-ready`, for GATE-1; without it
that check is skipped, never passed).

Each check is a real call and an expected answer: the documented result, or the documented refusal code. A check
that cannot run says why (the call failed with another code: the code and the detail are in its message). Nothing
is left behind but the log entries Art 30 requires: the fixture profile is deleted at the end.
"""

from __future__ import annotations

import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from prum.afis.v1 import afis_pb2, afis_pb2_grpc
from prum.common.v1 import common_pb2
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.federation.synthetic.afis import population
from prum.federation.synthetic.dna import random_profile
from prum.logger.v1 import logger_pb2, logger_pb2_grpc
from prum.services.afis.wire import template_to_proto
from prum.services.common.reference import ReferenceKind
from prum.services.common.server import open_channel
from prum.services.common.tls import TlsMaterial
from prum.vehicle.v1 import vehicle_pb2, vehicle_pb2_grpc

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass
class Check:
    """One check's outcome: the rule it proves, what it checks, pass / fail / skip, and what came."""

    rule: str
    name: str
    outcome: str
    message: str
    elapsed_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "name": self.name, "outcome": self.outcome, "message": self.message,
                "elapsed_ms": round(self.elapsed_ms, 2)}


class Mismatch(Exception):
    """What came is not what the rule asks; the message says both."""


def _profile(reference: str, loci: dict[str, list[str]], kind: dna_pb2.ProfileKind.ValueType) -> dna_pb2.Profile:
    return dna_pb2.Profile(reference=reference, kind=kind, loci={k: dna_pb2.Alleles(values=v) for k, v in loci.items()})


class ConformanceSuite:
    """The checks against the state `state` at `target`, with the certificates in `pki`."""

    def __init__(self, target: str, state: str, pki: Path, as_state: str | None = None,
                 not_ready: str | None = None, deadline_ms: int = 3000, seed: int = 2008) -> None:
        self.target, self.state, self.deadline_ms = target, state.upper(), deadline_ms
        self.own = TlsMaterial.load(pki, self.state)
        peers = sorted(p.stem for p in Path(pki).glob("*.key") if p.stem not in (self.state, "ca", not_ready))
        chosen = (as_state or (peers[0] if peers else "")).upper()
        if not chosen:
            raise ValueError(f"{pki} holds no other state's certificate to search {self.state} as a peer; "
                             f"allowed: --as a state whose XX.pem and XX.key are there")
        self.peer = TlsMaterial.load(pki, chosen)
        self.not_ready = TlsMaterial.load(pki, not_ready.upper()) if not_ready else None
        rng = np.random.default_rng(seed)
        self.fixture = random_profile(rng, kind=ReferenceKind.IDENTIFIED_PERSON)
        self.stranger = random_profile(rng, kind=ReferenceKind.UNIDENTIFIED_TRACE)
        self.fixture_reference = f"{self.state}-CONFORMANCE-{uuid.uuid4().hex[:8].upper()}"
        self._hit_request_id = ""

    # -- calls -----------------------------------------------------------------------------------------------
    def _channel(self, tls: TlsMaterial) -> grpc.Channel:
        return open_channel(self.target, tls, state=self.state)

    def _context(self, requesting: str, claimed: str | None = None) -> common_pb2.QueryContext:
        return common_pb2.QueryContext(
            request_id=str(uuid.uuid4()), requesting_state=claimed or requesting, requested_state=self.state,
            officer_id=f"{requesting}-NCP-01", ordering_officer_id=f"{requesting}-NCP-02",
            reason="conformance check, art. 3 search", case_reference=f"{requesting}-CONFORMANCE")

    def _search(self, loci: dict[str, list[str]], tls: TlsMaterial | None = None, claimed: str | None = None,
                reference: str = "") -> tuple[common_pb2.QueryContext, dna_pb2.SearchResponse]:
        tls = tls or self.peer
        context = self._context(tls.state, claimed)
        request = dna_pb2.SearchRequest(context=context, profile=_profile(
            reference or f"{tls.state}-CS-{uuid.uuid4().hex[:8]}", loci, dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE))
        with self._channel(tls) as channel:
            return context, dna_pb2_grpc.DnaIndexServiceStub(channel).Search(request,
                                                                             timeout=self.deadline_ms / 1000)

    def _refused(self, call: Callable[[], Any], codes: tuple[grpc.StatusCode, ...], what: str) -> str:
        try:
            call()
        except grpc.RpcError as error:
            if error.code() in codes:
                return f"refused with {error.code().name}: {error.details()}"
            raise Mismatch(f"{what}: expected {' or '.join(c.name for c in codes)}, got {error.code().name} "
                           f"({error.details()})") from None
        raise Mismatch(f"{what}: expected {' or '.join(c.name for c in codes)}, got an answer")

    # -- the checks ------------------------------------------------------------------------------------------
    def check_identity(self) -> str:
        """SEC-1: a query whose context claims another requesting state than the caller's certificate is refused."""
        other = "MT" if self.peer.state != "MT" else "CY"
        return self._refused(lambda: self._search(self.stranger, claimed=other),
                             (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED),
                             f"a search from {self.peer.state}'s certificate claiming to come from {other}")

    def check_gate(self) -> str:
        """GATE-1: a state the target holds not ready for DNA is refused (FAILED_PRECONDITION)."""
        assert self.not_ready is not None
        return self._refused(lambda: self._search(self.stranger, tls=self.not_ready),
                             (grpc.StatusCode.FAILED_PRECONDITION,),
                             f"a search from {self.not_ready.state}, not ready for DNA")

    def check_inclusion(self) -> str:
        """DNA-4: a profile with fewer than 6 fully designated loci is refused (INVALID_ARGUMENT)."""
        small = dict(list(self.stranger.items())[:4])
        return self._refused(lambda: self._search(small), (grpc.StatusCode.INVALID_ARGUMENT,),
                             "a search with a profile of 4 loci")

    def check_hit(self) -> str:
        """DNA-10: the fixture profile is a hit with its reference, a full match, and the reply's header names the
        request and both states."""
        context, reply = self._search(self.fixture)
        self._hit_request_id = context.request_id
        found = [h for h in reply.hits if h.reference == self.fixture_reference]
        if not reply.hit or not found:
            raise Mismatch(f"a search for the fixture {self.fixture_reference}: expected a hit with that reference, "
                           f"got hit={reply.hit} with {[h.reference for h in reply.hits]}")
        if found[0].match_class != dna_pb2.MATCH_CLASS_FULL:
            raise Mismatch(f"the fixture's hit: expected MATCH_CLASS_FULL, got "
                           f"{dna_pb2.MatchClass.Name(found[0].match_class)}")
        header = reply.header
        if (header.request_id, header.requesting_state, header.requested_state) != (
                context.request_id, self.peer.state, self.state) or not header.reply_id:
            raise Mismatch(f"the reply's header: expected request {context.request_id}, {self.peer.state} -> "
                           f"{self.state} and a reply id, got {header.request_id}, {header.requesting_state} -> "
                           f"{header.requested_state}, reply id {header.reply_id!r}")
        return f"hit {self.fixture_reference}, full match, reply {header.reply_id}"

    def check_no_hit(self) -> str:
        """DNA-10: a profile on no file is a no-hit, with no hit in the reply (a hit that is not one fails)."""
        _, reply = self._search(self.stranger)
        if reply.hit or reply.hits or reply.hit_count:
            raise Mismatch(f"a profile on no file: expected no hit, got hit={reply.hit}, hit_count={reply.hit_count}, "
                           f"{[h.reference for h in reply.hits]}")
        return "no hit"

    def check_query_deleted(self) -> str:
        """PUR-2: the query is not kept after the reply: the same profile searched again does not find the first
        query (its reference, unique to this run, is in none of the target's replies)."""
        marker = f"{self.peer.state}-CS-PUR2-{uuid.uuid4().hex[:8]}"
        self._search(self.stranger, reference=marker)
        _, again = self._search(self.stranger)
        if any(h.reference == marker for h in again.hits):
            raise Mismatch(f"the same query a second time: expected no hit on {marker}, got "
                           f"{[h.reference for h in again.hits]} (the first query was kept after its reply)")
        return f"the second search of the same profile does not find the first query ({marker})"

    def check_logged(self) -> str:
        """LOG-1, LOG-2: the target logged the receipt and the supply of the fixture's search, with the request id,
        both states, the time and the data supplied, readable through its ProtocolLoggerService."""
        if not self._hit_request_id:
            raise Mismatch("no search to look for (the DNA-10 hit check did not run)")
        with self._channel(self.own) as channel:
            entries = logger_pb2_grpc.ProtocolLoggerServiceStub(channel).Query(
                logger_pb2.QueryRequest(request_id=self._hit_request_id), timeout=self.deadline_ms / 1000).entries
        kinds = {logger_pb2.EntryKind.Name(e.kind) for e in entries}
        wanted = {"ENTRY_KIND_AUTOMATED_RECEIPT", "ENTRY_KIND_AUTOMATED_SUPPLY"}
        if not wanted <= kinds:
            raise Mismatch(f"the log entries of request {self._hit_request_id}: expected {sorted(wanted)}, got "
                           f"{sorted(kinds) or 'none'}")
        for entry in entries:
            missing = [name for name, value in (
                ("requesting_state", entry.requesting_state == self.peer.state),
                ("requested_state", entry.requested_state == self.state),
                ("recorded_at", entry.HasField("recorded_at")), ("data_supplied", bool(entry.data_supplied)))
                if not value]
            if missing:
                raise Mismatch(f"log entry #{entry.sequence} ({logger_pb2.EntryKind.Name(entry.kind)}): "
                               f"{', '.join(missing)} missing or wrong (LOG-2)")
        return f"{len(entries)} entries with the LOG-2 fields"

    def check_log_verifies(self) -> str:
        """LOG-5: the target's log verifies (its hash chain and signed checkpoints)."""
        with self._channel(self.own) as channel:
            reply = logger_pb2_grpc.ProtocolLoggerServiceStub(channel).Verify(logger_pb2.VerifyRequest(),
                                                                              timeout=self.deadline_ms / 1000)
        if not reply.intact:
            raise Mismatch(f"the log does not verify: {list(reply.violations)[:3]}")
        return f"{reply.entries_checked} entries verified"

    def check_vehicle_keys(self) -> str:
        """VRD-1: a vehicle lookup by part of a VIN, or by a registration number with a wildcard, is refused."""
        def lookup(key: str, value: str) -> Any:
            request = vehicle_pb2.LookupRequest(context=self._context(self.peer.state))
            setattr(request, key, value)
            with self._channel(self.peer) as channel:
                return vehicle_pb2_grpc.VehicleRegisterServiceStub(channel).Lookup(request,
                                                                                   timeout=self.deadline_ms / 1000)
        first = self._refused(lambda: lookup("vin", "WVWZZZ1J"), (grpc.StatusCode.INVALID_ARGUMENT,),
                              "a lookup by 8 characters of a VIN")
        self._refused(lambda: lookup("registration_number", "B-AB*"), (grpc.StatusCode.INVALID_ARGUMENT,),
                      "a lookup by a registration number with a wildcard")
        return first

    def check_capacity(self) -> str:
        """FP-3: a fingerprint search returns at most the candidates asked for, says what is left of the day's
        capacity and when it resets, and counts against it (the second search leaves one fewer)."""
        _, template = next(population(np.random.default_rng(9), 1, prefix=f"{self.peer.state}-CONFORMANCE-F-"))
        probe = template_to_proto(template)

        def search() -> afis_pb2.SearchResponse:
            with self._channel(self.peer) as channel:
                return afis_pb2_grpc.AfisServiceStub(channel).Search(afis_pb2.SearchRequest(
                    context=self._context(self.peer.state), probe=probe, max_candidates=1),
                    timeout=self.deadline_ms / 1000)
        first, second = search(), search()
        if len(first.candidates) > 1 or len(second.candidates) > 1:
            raise Mismatch(f"max_candidates = 1: got {len(first.candidates)} and {len(second.candidates)} candidates")
        if not first.HasField("capacity_resets_at"):
            raise Mismatch("the reply does not say when the daily capacity resets (capacity_resets_at)")
        if second.remaining_daily_capacity != first.remaining_daily_capacity - 1:
            raise Mismatch(f"the daily capacity left: {first.remaining_daily_capacity} after one search, "
                           f"{second.remaining_daily_capacity} after the next; expected one fewer")
        return (f"at most 1 candidate; {second.remaining_daily_capacity} searches left today, reset at "
                f"{second.capacity_resets_at.ToJsonString()}")

    # -- the run ---------------------------------------------------------------------------------------------
    def run(self) -> list[Check]:
        checks: list[tuple[str, str, Callable[[], str] | None, str]] = [
            ("SEC-1", "identity from the certificate", self.check_identity, ""),
            ("GATE-1", "a state not ready is refused", self.check_gate if self.not_ready else None,
             "no --not-ready certificate given"),
            ("DNA-4", "inclusion: fewer than 6 loci refused", self.check_inclusion, ""),
            ("DNA-10", "a hit with its reference and header", self.check_hit, ""),
            ("DNA-10", "a no-hit is no hit", self.check_no_hit, ""),
            ("LOG-2", "both entries with the LOG-2 fields through the logger's RPC", self.check_logged, ""),
            ("LOG-5", "the log verifies", self.check_log_verifies, ""),
            ("PUR-2", "the query is not kept after the reply", self.check_query_deleted, ""),
            ("VRD-1", "vehicle keys: complete VIN or registration number only", self.check_vehicle_keys, ""),
            ("FP-3", "candidate cap and daily capacity", self.check_capacity, ""),
        ]
        results = []
        self._load_fixture()
        try:
            for rule, name, check, why_skipped in checks:
                started = time.perf_counter()
                if check is None:
                    results.append(Check(rule, name, SKIP, why_skipped))
                    continue
                try:
                    outcome, message = PASS, check()
                except Mismatch as error:
                    outcome, message = FAIL, str(error)
                except grpc.RpcError as error:
                    outcome, message = FAIL, f"the call failed: {error.code().name} ({error.details()})"
                results.append(Check(rule, name, outcome, message, (time.perf_counter() - started) * 1000))
        finally:
            self._delete_fixture()
        return results

    def _load_fixture(self) -> None:
        with self._channel(self.own) as channel:
            reply = dna_pb2_grpc.DnaIndexServiceStub(channel).Ingest(iter([dna_pb2.IngestRequest(profile=_profile(
                self.fixture_reference, self.fixture, dna_pb2.PROFILE_KIND_IDENTIFIED_PERSON))]),
                timeout=self.deadline_ms / 1000 + 10)
        if reply.accepted != 1:
            raise RuntimeError(f"the target refused the fixture profile {self.fixture_reference}: "
                               f"{[r.reason for r in reply.rejections]}")

    def _delete_fixture(self) -> None:
        try:
            with self._channel(self.own) as channel:
                dna_pb2_grpc.DnaIndexServiceStub(channel).Delete(
                    dna_pb2.DeleteRequest(reference=self.fixture_reference), timeout=self.deadline_ms / 1000)
        except grpc.RpcError:
            pass  # reported by nothing: the checks have their answers; the fixture stays marked by its name


def junit_xml(state: str, target: str, checks: list[Check]) -> str:
    """One testsuite, one testcase per check named `RULE-ID: what`, failures and skips as JUnit has them."""
    suite = ET.Element("testsuite", name=f"prum conformance {state} at {target}", tests=str(len(checks)),
                       failures=str(sum(c.outcome == FAIL for c in checks)),
                       skipped=str(sum(c.outcome == SKIP for c in checks)), errors="0")
    for check in checks:
        case = ET.SubElement(suite, "testcase", classname=f"conformance.{check.rule}", name=f"{check.rule}: {check.name}",
                             time=f"{check.elapsed_ms / 1000:.3f}")
        if check.outcome == FAIL:
            ET.SubElement(case, "failure", message=check.message, type=check.rule).text = check.message
        elif check.outcome == SKIP:
            ET.SubElement(case, "skipped", message=check.message)
        else:
            ET.SubElement(case, "system-out").text = check.message
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
