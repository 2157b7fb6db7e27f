"""A state that was down rejoins (GATE-2, DEC-1, AUD-1, LOG-7, SUB-1): its process restarts on the same folder
with every supervisor record back (SQLite), and it catches up with what the others changed meanwhile, the
Council's decisions and revocations, other states' evaluation steps and declarations, and the joint cases of its
DPA, each taken only from the state that vouches for it."""

from __future__ import annotations

from sample_federation import DONOR, evaluate_lu, officer_search, supervisor

from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.federation.runtime.launcher import InProcessFederation
from prum.services.common.category import Category
from prum.services.common.wire import moment
from prum.services.supervisor import DeclarationKind, JointCaseStatus, ReadinessStep, Status
from prum.supervisor.v1 import supervisor_pb2 as pb

DNA = common_pb2.CATEGORY_DNA
NOTHING_UNREACHED = {"readiness": [], "declarations": [], "joint_cases": []}


def vote(federation: InProcessFederation, voter: str, subject: str = "LU") -> pb.CastCouncilVoteResponse:
    return supervisor(federation, voter).CastCouncilVote(pb.CastCouncilVoteRequest(
        subject_state=subject, category=DNA, voting_state=voter, vote=pb.VOTE_IN_FAVOUR), timeout=10)


def test_a_state_down_during_a_council_decision_and_a_revocation_sees_both_after_rejoining(
        fresh: InProcessFederation) -> None:
    evaluate_lu(fresh)
    lu = supervisor(fresh, "LU")
    assert list(vote(fresh, "FR").unreached_states) == []  # FR votes, then goes down
    fresh.stop("FR")
    # While FR is down: the other votes decide on LU, LU reports a step of another category, NL withdraws its
    # own DNA readiness, DE changes a declaration.
    assert all(list(vote(fresh, voter).unreached_states) == ["FR"] for voter in ("DE", "NL", "LU"))
    assert fresh.nodes["DE"].readiness.is_ready("LU", Category.DNA)
    assert not fresh.nodes["FR"].readiness.is_ready("LU", Category.DNA)
    step = lu.RecordStep(pb.RecordStepRequest(state="LU", category=common_pb2.CATEGORY_FINGERPRINT,
                                              step=pb.READINESS_STEP_QUESTIONNAIRE_ANSWERED), timeout=10)
    assert list(step.unreached_states) == ["FR"]
    revoked = supervisor(fresh, "NL").RevokeReadiness(pb.RevokeReadinessRequest(
        state="NL", category=DNA, reason="evaluation visit found unlogged supplies"), timeout=10)
    assert list(revoked.unreached_states) == ["FR"]
    filed = supervisor(fresh, "DE").FileDeclaration(pb.FileDeclarationRequest(declaration=pb.Declaration(
        state="DE", kind=pb.DECLARATION_KIND_CONTACT_POINT, text="BKA Wiesbaden, ZD 23")), timeout=10)
    assert list(filed.unreached_states) == ["FR"]

    assert fresh.restart("FR") == NOTHING_UNREACHED
    book = fresh.nodes["FR"].readiness
    lu_row, nl_row = book.get("LU", Category.DNA), book.get("NL", Category.DNA)
    assert lu_row.ready and set(lu_row.steps_done) == set(ReadinessStep)
    assert lu_row.decided_at == fresh.nodes["LU"].readiness.get("LU", Category.DNA).decided_at
    assert book.get("LU", Category.FINGERPRINT).steps_done == (ReadinessStep.QUESTIONNAIRE_ANSWERED,)
    assert nl_row.revoked and nl_row.revocation_reason == "evaluation visit found unlogged supplies"
    assert fresh.nodes["FR"].authority.declarations.current("DE", DeclarationKind.CONTACT_POINT).text == \
        "BKA Wiesbaden, ZD 23"
    # The gates at FR follow: LU answers FR's search now, NL is refused without a call.
    reply = fresh.contact_point("FR").Search(officer_search(
        DONOR, "FR-CS-1", officer_id="FR-NCP-01", ordering_officer_id="FR-NCP-02", target_states=["LU", "NL"]),
        timeout=10)
    statuses = {r.state: r.status for r in reply.results}
    assert statuses["LU"] in (cp_pb2.RESULT_STATUS_HIT, cp_pb2.RESULT_STATUS_NO_HIT)
    assert statuses["NL"] == cp_pb2.RESULT_STATUS_NOT_READY
    # Catching up again changes nothing (idempotent).
    again = supervisor(fresh, "FR").SyncReadiness(pb.SyncReadinessRequest(), timeout=30)
    assert again.updated == 0 and list(again.unreached_states) == []



def test_a_state_that_missed_votes_of_an_open_round_decides_with_the_others_after_rejoining(
        fresh: InProcessFederation) -> None:
    evaluate_lu(fresh)
    fresh.stop("FR")
    assert list(vote(fresh, "DE").unreached_states) == ["FR"]  # FR misses DE's vote
    assert fresh.restart("FR") == NOTHING_UNREACHED  # and takes it in from DE
    assert all(list(vote(fresh, voter).unreached_states) == [] for voter in ("NL", "LU", "FR"))
    assert all(node.readiness.is_ready("LU", Category.DNA) for node in fresh.nodes.values())


def test_a_joint_case_changed_while_the_partner_was_down_reaches_it_and_its_records_survive_the_restart(
        fresh: InProcessFederation) -> None:
    fr = supervisor(fresh, "FR")
    audit = fr.RunAudit(pb.RunAuditRequest(sample_size=3, seed=1), timeout=10).audit
    request = fr.RequestLogs(pb.RequestLogsRequest(), timeout=10).log_request
    case = fr.OpenSubjectCase(pb.OpenSubjectCaseRequest(subject_case=pb.SubjectCase(
        kind=pb.SUBJECT_CASE_KIND_BLOCKING, description="block FR-P-9 instead of deleting it")),
        timeout=10).subject_case
    fresh.stop("FR")
    nl = supervisor(fresh, "NL")
    opened = nl.OpenJointCase(pb.OpenJointCaseRequest(partner_state="FR", kind=pb.JOINT_CASE_KIND_COMPLAINT,
                                                      subject="FR-P-9 contests a hit NL supplied"), timeout=10)
    assert not opened.partner_reached
    nl.AddJointFinding(pb.AddJointFindingRequest(case_id=opened.joint_case.id, text="NL logged the supply"),
                       timeout=10)
    closed = nl.CloseJointCase(pb.CloseJointCaseRequest(case_id=opened.joint_case.id, conclusion="lawful"),
                               timeout=10)
    assert not closed.partner_reached

    assert fresh.restart("FR") == NOTHING_UNREACHED
    authority = fresh.nodes["FR"].authority
    held = authority.joint_cases.get(opened.joint_case.id)
    assert held.status is JointCaseStatus.CLOSED and held.conclusion == "lawful"
    assert [(f.state, f.text) for f in held.findings] == [("NL", "NL logged the supply")]
    # FR's own DPA records came back from its supervisor.db, with their deadlines and statuses.
    assert [a.id for a in authority.audits.list()] == [audit.id]
    assert authority.log_requests.get(request.id).status is Status.ANSWERED
    assert authority.subject_cases.get(case.id).due_at == moment(case.due_at)
    listed = supervisor(fresh, "FR").ListJointCases(pb.ListJointCasesRequest(), timeout=10).joint_cases
    assert [c.id for c in listed] == [opened.joint_case.id]
    # Another state's supervisor lists only the cases it shares with the caller: DE shares none with NL.
    as_de = supervisor(fresh, "NL", as_state="DE")
    assert list(as_de.ListJointCases(pb.ListJointCasesRequest(), timeout=10).joint_cases) == []
