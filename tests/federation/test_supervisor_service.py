"""SupervisorService over mTLS: readiness visible to all, votes in one's own name, the DPA's own work."""

from __future__ import annotations

import grpc
import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from sample_federation import DONOR, officer_search, supervisor

from prum.common.v1 import common_pb2
from prum.federation.runtime.launcher import InProcessFederation
from prum.logger.v1 import logger_pb2, logger_pb2_grpc
from prum.services.logger import check_checkpoint
from prum.services.logger.servicer import checkpoint_from_proto
from prum.supervisor.v1 import supervisor_pb2 as pb
from prum.supervisor.v1 import supervisor_pb2_grpc


def test_readiness_is_visible_to_every_state(federation: InProcessFederation) -> None:
    reply = supervisor(federation, "NL", as_state="FR").GetReadiness(
        pb.GetReadinessRequest(category=common_pb2.CATEGORY_DNA), timeout=5)
    ready = {r.state: r.ready for r in reply.readiness}
    assert ready == {"DE": True, "NL": True, "FR": True, "LU": False}


def test_a_state_votes_only_in_its_own_name(federation: InProcessFederation) -> None:
    vote = pb.CastCouncilVoteRequest(subject_state="LU", category=common_pb2.CATEGORY_DNA, voting_state="FR",
                                     vote=pb.VOTE_IN_FAVOUR)
    with pytest.raises(grpc.RpcError) as claimed:
        supervisor(federation, "DE").CastCouncilVote(vote, timeout=5)  # DE's supervisor, a vote in FR's name
    assert claimed.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as elsewhere:
        supervisor(federation, "NL", as_state="DE").CastCouncilVote(vote, timeout=5)  # at another's supervisor
    assert elsewhere.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_no_council_vote_before_the_evaluation_steps(federation: InProcessFederation) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        supervisor(federation, "DE").CastCouncilVote(pb.CastCouncilVoteRequest(
            subject_state="LU", category=common_pb2.CATEGORY_DNA, voting_state="DE", vote=pb.VOTE_IN_FAVOUR),
            timeout=5)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_unspecified_enums_are_refused_with_what_is_allowed(federation: InProcessFederation) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        supervisor(federation, "DE").RecordStep(pb.RecordStepRequest(
            state="DE", category=common_pb2.CATEGORY_DNA), timeout=5)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "READINESS_STEP_PILOT_RUN_PASSED" in refused.value.details()


def test_the_dpa_gets_the_logs_at_once_and_audits_them(federation: InProcessFederation) -> None:
    federation.contact_point("DE").Search(officer_search(DONOR, "DE-CS-DPA"), timeout=10)
    dpa = supervisor(federation, "DE")
    request = dpa.RequestLogs(pb.RequestLogsRequest(), timeout=5).log_request
    assert request.status == pb.LOG_REQUEST_STATUS_ANSWERED
    assert request.entries_delivered == federation.nodes["DE"].log.stats().entries > 0
    assert request.due_at.seconds - request.opened_at.seconds == 28 * 24 * 3600  # LOG-7: 4 weeks
    audit = dpa.RunAudit(pb.RunAuditRequest(sample_size=5, seed=7), timeout=5).audit
    assert audit.sampled == min(5, request.entries_delivered)
    assert list(audit.findings) == []  # every search was run by an authorised officer, with a reason
    assert [a.id for a in dpa.ListAudits(pb.ListAuditsRequest(), timeout=5).audits] == [audit.id]


def test_another_state_may_not_read_or_audit_the_logs(federation: InProcessFederation) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        supervisor(federation, "DE", as_state="NL").RunAudit(pb.RunAuditRequest(sample_size=1), timeout=5)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_declarations_reach_every_state_that_asks(federation: InProcessFederation) -> None:
    filed = supervisor(federation, "NL").FileDeclaration(pb.FileDeclarationRequest(declaration=pb.Declaration(
        state="NL", kind=pb.DECLARATION_KIND_CONTACT_POINT, category=common_pb2.CATEGORY_DNA,
        text="NCP: Dienst Landelijke Informatieorganisatie, Zoetermeer")), timeout=5).declaration
    assert filed.filed_at.seconds > 0
    listed = supervisor(federation, "NL", as_state="FR").ListDeclarations(
        pb.ListDeclarationsRequest(state="NL"), timeout=5).declarations
    assert [d.text for d in listed] == [filed.text]


def test_a_declaration_reaches_every_states_supervisor_and_a_change_replaces_it(
        federation: InProcessFederation) -> None:
    """DEC-1: filed at the state's own supervisor, announced to all; a later change takes effect everywhere."""
    def file(text: str) -> pb.FileDeclarationResponse:
        return supervisor(federation, "DE").FileDeclaration(pb.FileDeclarationRequest(declaration=pb.Declaration(
            state="DE", kind=pb.DECLARATION_KIND_NATIONAL_FILE, category=common_pb2.CATEGORY_VEHICLE, text=text)),
            timeout=10)

    def in_force_everywhere() -> dict[str, pb.Declaration]:
        found = {}
        for code in federation.nodes:
            listed = supervisor(federation, code, as_state=code).ListDeclarations(
                pb.ListDeclarationsRequest(state="DE"), timeout=5).declarations
            found[code] = next(d for d in listed if d.kind == pb.DECLARATION_KIND_NATIONAL_FILE
                               and d.category == common_pb2.CATEGORY_VEHICLE)
        return found

    first = file("ZEVIS, Kraftfahrt-Bundesamt")
    assert list(first.unreached_states) == []
    assert all(d == first.declaration for d in in_force_everywhere().values())  # DE's filing time too
    changed = file("ZEVIS, Kraftfahrt-Bundesamt, Flensburg; holders since 2010")
    assert list(changed.unreached_states) == []
    assert all(d == changed.declaration for d in in_force_everywhere().values())
    assert len(in_force_everywhere()) == len(federation.nodes) == 4


def test_declarations_are_filed_at_home_and_announced_only_in_ones_own_name(federation: InProcessFederation) -> None:
    declaration = pb.Declaration(state="DE", kind=pb.DECLARATION_KIND_CONTACT_POINT, text="BKA Wiesbaden")
    with pytest.raises(grpc.RpcError) as elsewhere:
        supervisor(federation, "NL", as_state="DE").FileDeclaration(
            pb.FileDeclarationRequest(declaration=declaration), timeout=5)
    assert elsewhere.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as posing:
        supervisor(federation, "NL", as_state="FR").ShareDeclaration(
            pb.ShareDeclarationRequest(origin_state="DE", declaration=declaration), timeout=5)
    assert posing.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as for_another:
        supervisor(federation, "NL", as_state="FR").ShareDeclaration(
            pb.ShareDeclarationRequest(origin_state="FR", declaration=declaration), timeout=5)
    assert for_another.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_subject_cases_have_deadlines(federation: InProcessFederation) -> None:
    opened = supervisor(federation, "NL").OpenSubjectCase(pb.OpenSubjectCaseRequest(subject_case=pb.SubjectCase(
        kind=pb.SUBJECT_CASE_KIND_INFORMATION, description="what DNA data of mine was supplied?",
        reference="NL-P-1", category=common_pb2.CATEGORY_DNA)), timeout=5).subject_case
    assert opened.status == pb.SUBJECT_CASE_STATUS_OPEN
    assert opened.due_at.seconds > opened.opened_at.seconds


def test_every_state_serves_the_echo_ceiling(federation: InProcessFederation) -> None:
    from prum.echo.v1 import echo_pb2, echo_pb2_grpc

    stub = echo_pb2_grpc.EchoServiceStub(federation.channel("NL", as_state="DE"))
    assert stub.Echo(echo_pb2.EchoRequest(payload=b"ping"), timeout=5).payload == b"ping"


def test_a_peer_keeps_the_signed_checkpoints_of_a_states_log(federation: InProcessFederation) -> None:
    """LOG-5: the checkpoints leave the log as anchors; anyone with the state's certificate can check them."""
    federation.contact_point("DE").Search(officer_search(DONOR, "DE-CS-DPA"), timeout=10)
    own = logger_pb2_grpc.ProtocolLoggerServiceStub(federation.channel("DE"))
    made = own.CreateCheckpoint(logger_pb2.CreateCheckpointRequest(), timeout=5).checkpoint
    assert made.sequence == federation.nodes["DE"].log.stats().last_sequence > 0
    peer = logger_pb2_grpc.ProtocolLoggerServiceStub(federation.channel("DE", as_state="FR"))
    kept = peer.ListCheckpoints(logger_pb2.ListCheckpointsRequest(after_sequence=made.sequence - 1),
                                timeout=5).checkpoints
    assert [c.sequence for c in kept] == [made.sequence]
    de_certificate, _ = federation.pki.states["DE"]
    fr_certificate, _ = federation.pki.states["FR"]
    assert check_checkpoint(checkpoint_from_proto(kept[0]), de_certificate)
    assert kept[0].certificate == de_certificate.public_bytes(Encoding.DER)  # the signer's, for years later
    assert not check_checkpoint(checkpoint_from_proto(kept[0]), fr_certificate)
    with pytest.raises(grpc.RpcError) as refused:
        peer.CreateCheckpoint(logger_pb2.CreateCheckpointRequest(), timeout=5)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    verified = own.Verify(logger_pb2.VerifyRequest(), timeout=10)
    assert verified.intact and verified.checkpoints_checked >= 1


def test_two_dpas_hold_a_joint_case_and_both_see_its_findings_and_status(federation: InProcessFederation) -> None:
    """AUD-1: NL's DPA opens a case with DE's about a supply between them; each adds findings; both see it closed."""
    reply = federation.contact_point("NL").Search(officer_search(DONOR, "NL-CS-JOINT", officer_id="NL-NCP-01",
                                                                 ordering_officer_id="NL-NCP-02"), timeout=10)
    nl, de = supervisor(federation, "NL"), supervisor(federation, "DE")
    opened = nl.OpenJointCase(pb.OpenJointCaseRequest(
        partner_state="DE", kind=pb.JOINT_CASE_KIND_COMPLAINT, request_id=reply.request_id,
        subject="a data subject asks why DE supplied a DNA hit to NL"), timeout=10)
    assert opened.partner_reached
    case_id = opened.joint_case.id

    def held_by(stub: supervisor_pb2_grpc.SupervisorServiceStub) -> pb.JointCase:
        return next(c for c in stub.ListJointCases(pb.ListJointCasesRequest(), timeout=5).joint_cases
                    if c.id == case_id)

    assert held_by(de) == opened.joint_case and list(held_by(de).states) == ["NL", "DE"]
    by_de = de.AddJointFinding(pb.AddJointFindingRequest(case_id=case_id, text="DE logged receipt and reply"),
                               timeout=10)
    assert by_de.partner_reached
    nl.AddJointFinding(pb.AddJointFindingRequest(case_id=case_id, text="NL's query names its reason"), timeout=10)
    closed = nl.CloseJointCase(pb.CloseJointCaseRequest(case_id=case_id, conclusion="the supply was lawful"),
                               timeout=10).joint_case
    assert closed.status == pb.JOINT_CASE_STATUS_CLOSED and closed.delete_after.seconds > closed.closed_at.seconds
    assert held_by(de) == held_by(nl) == closed
    assert [(f.state, f.text) for f in closed.findings] == [("DE", "DE logged receipt and reply"),
                                                            ("NL", "NL's query names its reason")]
    assert case_id not in {c.id for c in supervisor(federation, "FR").ListJointCases(
        pb.ListJointCasesRequest(), timeout=5).joint_cases}


def test_a_joint_case_is_worked_on_by_its_two_dpas_only(federation: InProcessFederation) -> None:
    opened = supervisor(federation, "NL").OpenJointCase(pb.OpenJointCaseRequest(
        partner_state="DE", kind=pb.JOINT_CASE_KIND_AUDIT, subject="joint sample check"), timeout=10).joint_case
    with pytest.raises(grpc.RpcError) as elsewhere:  # DE works on the case at its own supervisor, not at NL's
        supervisor(federation, "NL", as_state="DE").AddJointFinding(
            pb.AddJointFindingRequest(case_id=opened.id, text="x"), timeout=5)
    assert elsewhere.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as outsider:  # FR, in its own name, is no party to the case
        supervisor(federation, "DE", as_state="FR").ShareJointCase(
            pb.ShareJointCaseRequest(origin_state="FR", joint_case=opened), timeout=5)
    assert outsider.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as posing:  # FR posing as NL
        supervisor(federation, "DE", as_state="FR").ShareJointCase(
            pb.ShareJointCaseRequest(origin_state="NL", joint_case=opened), timeout=5)
    assert posing.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_supervisor_catches_up_with_every_states_declarations(federation: InProcessFederation) -> None:
    """DEC-1: the pull behind the push; with every state up and told, there is nothing newer to take in."""
    reply = supervisor(federation, "FR").SyncDeclarations(pb.SyncDeclarationsRequest(), timeout=10)
    assert list(reply.unreached_states) == [] and reply.updated == 0
    with pytest.raises(grpc.RpcError) as elsewhere:
        supervisor(federation, "FR", as_state="DE").SyncDeclarations(pb.SyncDeclarationsRequest(), timeout=5)
    assert elsewhere.value.code() == grpc.StatusCode.PERMISSION_DENIED
