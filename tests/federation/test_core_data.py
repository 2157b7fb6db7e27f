"""Core data after a confirmed match end to end (Prüm II Art 47, P2-CORE-1..3, issue 20): through a router federation
over mTLS, DE's officer asks for the core data behind a DNA or fingerprint hit; the request and every decision go
through the router, which logs each forwarding without data; both states log every step; a case open past its 48
hours on the simulated clock is overdue at both states and in both DPAs' audits; refusals and delays travel back."""

from __future__ import annotations

import json
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import grpc
import numpy as np
import pytest
from prum.afis.v1 import afis_pb2, afis_pb2_grpc
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import core_data_pb2 as pb
from prum.federation.runtime.launcher import InProcessFederation
from prum.federation.runtime.topology import parse_federation
from prum.federation.synthetic.afis import mated_probe, population
from prum.router.v1 import core_data_relay_pb2 as relay_pb2
from prum.router.v1 import core_data_relay_pb2_grpc as relay_pb2_grpc
from prum.services.afis.wire import template_to_proto
from prum.services.common.clock import SimulatedClock
from prum.services.common.identity import ROUTER
from prum.services.common.wire import timestamp
from prum.services.logger import EntryKind, MessageType
from prum.supervisor.v1 import supervisor_pb2
from sample_federation import DONOR, RELATIVE, load, officer_search, profile, supervisor

FEDERATION = """
[federation]
name = "core-data"
topology = "router"
deadline_ms = 5000
[defaults]
dna_profiles = 0
[router]
core_data_deadline_hours = 48
[[state]]
code = "DE"
[[state]]
code = "NL"
[[state]]
code = "FR"
core_data = { judicial_authorisation = true }
"""

FACTS = "Series of armed robberies of jewellers in Aachen and Maastricht; the trace was taken at the third."


@dataclass
class Running:
    federation: InProcessFederation
    clock: SimulatedClock
    finger: str  # NL's reference behind DE's fingerprint trace
    trace: afis_pb2.Template  # DE's trace of that finger


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    clock = SimulatedClock()
    federation = InProcessFederation(parse_federation(tomllib.loads(FEDERATION)),
                                     tmp_path_factory.mktemp("core-data"), clock=clock).start()
    load(federation, "NL", [profile("NL-P-1", DONOR)])
    load(federation, "FR", [profile("FR-P-7", RELATIVE)])
    rng = np.random.default_rng(2008)
    fingers = list(population(rng, 20, prefix="NL-F-"))
    afis_pb2_grpc.AfisServiceStub(federation.channel("NL")).Ingest(
        iter([afis_pb2.IngestRequest(template=template_to_proto(t)) for _, t in fingers]), timeout=60)
    finger = fingers[7][1].reference
    persons = federation.contact_point("NL").RegisterPersons(iter([
        cp_pb2.RegisterPersonsRequest(person=cp_pb2.PersonalData(reference=reference, surname=surname,
                                                                 first_names=first, date_of_birth=born,
                                                                 nationality="NL"))
        for reference, surname, first, born in (("NL-P-1", "Jansen", "Piet", "1980-02-01"),
                                                (finger, "de Vries", "Anna Maria", "1975-06-30"))]), timeout=10)
    assert persons.accepted == 2
    details = federation.core_data("NL").RegisterCoreDetails(pb.RegisterCoreDetailsRequest(details=[
        pb.CoreDetails(reference=finger, aliases=["Anna V."], place_of_birth="Utrecht", gender="female",
                       collected_on="2024-11-02", collected_at="Politie Utrecht", offence="armed robbery",
                       case_number="NL-2024-771")]), timeout=10)
    assert (details.accepted, list(details.rejections)) == (1, [])
    trace = template_to_proto(mated_probe(np.random.default_rng(5), fingers[7][0], "DE-LT-1", trace=True))
    yield Running(federation, clock, finger, trace)
    federation.stop()


def dna_hit(running: Running) -> str:
    reply = running.federation.contact_point("DE").Search(officer_search(DONOR, f"DE-CS-{uuid.uuid4().hex[:6]}"),
                                                          timeout=20)
    assert {r.state: r.status for r in reply.results}["NL"] == cp_pb2.RESULT_STATUS_HIT
    return reply.request_id


def ask(running: Running, search: str, reference: str, state: str = "NL", category: int = common_pb2.CATEGORY_DNA,
        **fields: object) -> pb.RequestCoreDataResponse:
    request = pb.RequestCoreDataRequest(
        officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="armed robbery series, core data",
        case_reference="DE-2026-0042", category=category, requested_state=state, reference=reference,
        original_request_id=search, offence_code="0200", facts=FACTS)
    for name, value in fields.items():
        if isinstance(value, pb.MatchConfirmation):
            getattr(request, name).CopyFrom(value)
        else:
            setattr(request, name, value)
    return running.federation.core_data("DE").RequestCoreData(request, timeout=20)


def cases(running: Running, state: str, overdue_only: bool = False) -> dict[str, pb.CoreDataCase]:
    reply = running.federation.core_data(state).ListCoreDataCases(
        pb.ListCoreDataCasesRequest(overdue_only=overdue_only), timeout=5)
    return {c.case_id: c for c in reply.cases}


def relayed(running: Running, request_id: str) -> list[relay_pb2.RelayedCoreData]:
    stub = relay_pb2_grpc.CoreDataRelayServiceStub(running.federation.channel(ROUTER, as_state="FR"))
    return [f for f in stub.ListRelayedCoreData(relay_pb2.ListRelayedCoreDataRequest(), timeout=5).forwardings
            if f.request_id == request_id]


def steps(running: Running, state: str, request_id: str) -> list[tuple[EntryKind, MessageType]]:
    return [(e.kind, e.message_type) for e in running.federation.nodes[state].log.query(request_id=request_id)]


def test_a_confirmed_fingerprint_match_gets_its_core_data_on_time_through_the_router(running: Running) -> None:
    reply = running.federation.contact_point("DE").Search(cp_pb2.SearchRequest(
        officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="robbery, art. 9 search",
        case_reference="DE-2026-LT-1", category=common_pb2.CATEGORY_FINGERPRINT, template=running.trace, deadline_ms=10_000,
        target_states=["NL"]), timeout=30)
    (nl,) = reply.results
    assert [c.reference for c in nl.candidates] == [running.finger]
    confirmation = pb.MatchConfirmation(confirmed_by="DE-FP-EXPERT-3",
                                        confirmed_at=timestamp(running.clock.now() - timedelta(minutes=10)))
    case = ask(running, reply.request_id, running.finger, category=common_pb2.CATEGORY_FINGERPRINT,
               confirmation=confirmation).core_data_case
    # NL decided at once (every condition holds, no judicial authorisation): the data are back with the reply.
    assert (case.status, case.delivered, case.overdue) == (pb.CORE_DATA_STATUS_SUPPLIED, True, False)
    data = case.core_data
    assert (data.reference, data.first_names, data.surnames, list(data.aliases), data.date_of_birth,
            data.place_of_birth, data.nationality, data.gender, data.collected_on, data.collected_at, data.offence,
            data.case_number) == (running.finger, "Anna Maria", "de Vries", ["Anna V."], "1975-06-30", "Utrecht",
                                  "NL", "female", "2024-11-02", "Politie Utrecht", "armed robbery", "NL-2024-771")
    assert case.due_at.ToDatetime() - case.opened_at.ToDatetime() == timedelta(hours=48)
    stored = cases(running, "DE")[case.case_id]
    assert stored.status == pb.CORE_DATA_STATUS_SUPPLIED and stored.core_data.surnames == "de Vries"
    assert cases(running, "NL")[case.case_id].side == pb.CORE_DATA_SIDE_REQUESTED
    # Both states log each step, with the LOG-2 fields.
    assert steps(running, "DE", case.case_id) == [
        (EntryKind.NON_AUTOMATED_SUPPLY, MessageType.CORE_DATA_REQUEST),
        (EntryKind.NON_AUTOMATED_RECEIPT, MessageType.CORE_DATA_REPLY)]
    assert steps(running, "NL", case.case_id) == [
        (EntryKind.NON_AUTOMATED_RECEIPT, MessageType.CORE_DATA_REQUEST),
        (EntryKind.NON_AUTOMATED_SUPPLY, MessageType.CORE_DATA_REPLY)]
    for state in ("DE", "NL"):
        for entry in running.federation.nodes[state].log.query(request_id=case.case_id):
            assert (entry.requesting_state, entry.requested_state, entry.officer_id, entry.ordering_officer_id,
                    entry.reason) == ("DE", "NL", "DE-NCP-01", "DE-NCP-02", "armed robbery series, core data")
    # The router carried both, and logged them without any of the data.
    forwardings = relayed(running, case.case_id)
    assert [(f.message, f.from_state, f.to_state, f.category, f.code) for f in forwardings] == [
        ("SUPPLIED", "NL", "DE", common_pb2.CATEGORY_FINGERPRINT, "OK"),  # decided inside the request's call
        ("REQUEST", "DE", "NL", common_pb2.CATEGORY_FINGERPRINT, "OK")]
    text = b"".join(f.SerializeToString() for f in forwardings)
    db = (running.federation.workdir / "router" / "router-log.db").read_bytes()
    for content in (running.finger.encode(), b"de Vries", b"Utrecht", b"Maastricht", b"DE-FP-EXPERT-3", b"0200"):
        assert content not in text and content not in db


def test_a_dna_case_overdue_after_48_hours_is_seen_by_both_states_and_both_dpas(running: Running) -> None:
    search = dna_hit(running)
    case = ask(running, search, "NL-P-1").core_data_case
    assert (case.status, case.delivered) == (pb.CORE_DATA_STATUS_OPEN, True)  # NL confirms a DNA match itself
    assert case.case_id not in cases(running, "NL", overdue_only=True)
    running.clock.advance(timedelta(hours=48, minutes=1))
    for state in ("DE", "NL"):
        overdue = cases(running, state, overdue_only=True)
        assert overdue[case.case_id].overdue and overdue[case.case_id].status == pb.CORE_DATA_STATUS_OPEN
        audit = supervisor(running.federation, state).RunAudit(supervisor_pb2.RunAuditRequest(sample_size=1, seed=1),
                                                               timeout=10).audit
        findings = [f.problem for f in audit.findings if case.case_id in f.problem]
        assert len(findings) == 1 and "overdue" in findings[0] and "P2-CORE-1" in findings[0]
    # NL's operator confirms the match and supplies: late, but no longer overdue at either state.
    decided = running.federation.core_data("NL").DecideCoreData(pb.DecideCoreDataRequest(
        officer_id="NL-NCP-01", case_id=case.case_id, decision=pb.CORE_DATA_DECISION_SUPPLY,
        confirmed_by="NL-DNA-EXPERT-1"), timeout=10).core_data_case
    assert (decided.status, decided.delivered) == (pb.CORE_DATA_STATUS_SUPPLIED, True)
    received = cases(running, "DE")[case.case_id]
    assert received.status == pb.CORE_DATA_STATUS_SUPPLIED and received.core_data.surnames == "Jansen"
    assert received.requested_confirmation.confirmed_by == "NL-DNA-EXPERT-1"
    assert case.case_id not in cases(running, "DE", overdue_only=True)
    assert [f.message for f in relayed(running, case.case_id)] == ["REQUEST", "SUPPLIED"]


def test_a_refusal_and_a_reasoned_delay_travel_back_through_the_router(running: Running) -> None:
    search = dna_hit(running)
    nl_case = ask(running, search, "NL-P-1").core_data_case
    fr_case = ask(running, search, "FR-P-7", state="FR").core_data_case
    nl, fr = running.federation.core_data("NL"), running.federation.core_data("FR")
    with pytest.raises(grpc.RpcError) as no_delay:  # NL's law needs no judicial authorisation (P2-CORE-2)
        nl.DecideCoreData(pb.DecideCoreDataRequest(officer_id="NL-NCP-01", case_id=nl_case.case_id,
                                                   decision=pb.CORE_DATA_DECISION_DELAY, reason="court"), timeout=10)
    assert no_delay.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    refused = nl.DecideCoreData(pb.DecideCoreDataRequest(
        officer_id="NL-NCP-01", case_id=nl_case.case_id, decision=pb.CORE_DATA_DECISION_REFUSE,
        reason="not proportionate under Dutch law"), timeout=10).core_data_case
    assert refused.status == pb.CORE_DATA_STATUS_REFUSED
    delayed = fr.DecideCoreData(pb.DecideCoreDataRequest(
        officer_id="FR-NCP-01", case_id=fr_case.case_id, decision=pb.CORE_DATA_DECISION_DELAY,
        reason="autorisation demandée au juge des libertés"), timeout=10).core_data_case
    assert delayed.status == pb.CORE_DATA_STATUS_DELAYED
    running.clock.advance(timedelta(hours=72))
    mine = cases(running, "DE")
    assert (mine[nl_case.case_id].status, mine[nl_case.case_id].reason) == (
        pb.CORE_DATA_STATUS_REFUSED, "not proportionate under Dutch law")
    assert mine[fr_case.case_id].status == pb.CORE_DATA_STATUS_DELAYED and not mine[fr_case.case_id].overdue
    assert steps(running, "DE", nl_case.case_id)[-1] == (EntryKind.NON_AUTOMATED_RECEIPT,
                                                         MessageType.CORE_DATA_REFUSAL)
    assert steps(running, "FR", fr_case.case_id)[-1] == (EntryKind.NON_AUTOMATED_SUPPLY, MessageType.CORE_DATA_DELAY)
    assert [f.message for f in relayed(running, fr_case.case_id)] == ["REQUEST", "DELAYED"]


def test_requests_the_rules_refuse(running: Running) -> None:
    search = dna_hit(running)
    with pytest.raises(grpc.RpcError) as never:  # DE received no such hit
        ask(running, search, "NL-P-2")
    assert never.value.code() == grpc.StatusCode.NOT_FOUND and "received no DNA hit 'NL-P-2'" in never.value.details()
    with pytest.raises(grpc.RpcError) as offence:
        ask(running, search, "NL-P-1", offence_code="9999")
    assert offence.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "0200 Participation in a criminal organisation" in offence.value.details()
    with pytest.raises(grpc.RpcError) as facts:
        ask(running, search, "NL-P-1", facts="")
    assert facts.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "facts" in facts.value.details()
    with pytest.raises(grpc.RpcError) as trainee:
        ask(running, search, "NL-P-1", officer_id="DE-TRAINEE")
    assert trainee.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # NL's own check: a request it never received cannot be decided; DE cannot decide NL's cases.
    with pytest.raises(grpc.RpcError) as unknown:
        running.federation.core_data("NL").DecideCoreData(pb.DecideCoreDataRequest(
            officer_id="NL-NCP-01", case_id=str(uuid.uuid4()), decision=pb.CORE_DATA_DECISION_SUPPLY), timeout=10)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


def test_the_cli_lists_a_states_cases_and_records_an_operators_decision(running: Running) -> None:
    from prum.federation.cli.app import app
    from typer.testing import CliRunner

    workdir = running.federation.workdir
    (workdir / "run.json").write_text(json.dumps(
        {"states": {code: {"address": address} for code, address in running.federation.directory.items()
                    if code != ROUTER}}), "utf-8")
    case = ask(running, dna_hit(running), "NL-P-1").core_data_case
    runner = CliRunner()
    listed = runner.invoke(app, ["core-data", "list", "--as", "NL", "--workdir", str(workdir), "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["case"]: row for row in json.loads(listed.output)}
    assert (rows[case.case_id]["status"], rows[case.case_id]["side"], rows[case.case_id]["from → to"]) == (
        "OPEN", "REQUESTED", "DE → NL")
    decided = runner.invoke(app, ["core-data", "decide", "--as", "NL", "--workdir", str(workdir), "--case",
                                  case.case_id, "--decision", "refuse", "--officer", "NL-NCP-01", "--reason",
                                  "not proportionate", "--json"])
    assert decided.exit_code == 0, decided.output
    assert json.loads(decided.output)[0]["status"] == "REFUSED"
    assert cases(running, "DE")[case.case_id].status == pb.CORE_DATA_STATUS_REFUSED
    again = runner.invoke(app, ["core-data", "decide", "--as", "NL", "--workdir", str(workdir), "--case",
                                case.case_id, "--decision", "supply", "--officer", "NL-NCP-01"])
    assert again.exit_code == 1 and "FAILED_PRECONDITION" in again.output
    table = runner.invoke(app, ["core-data", "list", "--as", "DE", "--workdir", str(workdir)])
    assert table.exit_code == 0 and "Core-data cases of DE" in table.output


def test_the_core_data_commands_have_help_with_an_example() -> None:
    from prum.federation.cli.app import app
    from typer.testing import CliRunner

    for command in ("list", "decide"):
        result = CliRunner().invoke(app, ["core-data", command, "--help"])
        assert result.exit_code == 0 and "Example" in result.output and f"prum core-data {command}" in result.output
