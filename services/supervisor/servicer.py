"""SupervisorService: proto <-> the readiness book and the supervisory authority. Nothing else."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import Any

import grpc
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.services.common.category import Category
from prum.services.common.errors import IdentityMismatch, InvalidInput, NotAuthorised, UnknownReference
from prum.services.common.identity import check_claim
from prum.services.common.tls import calling_state
from prum.services.common.validation import rules_of
from prum.services.common.wire import (
    CATEGORY_FROM_PROTO,
    CATEGORY_TO_PROTO,
    category_from_proto,
    moment,
    timestamp,
)
from prum.services.supervisor import (
    Audit,
    Declaration,
    DeclarationKind,
    LogRequest,
    Readiness,
    ReadinessStep,
    SubjectCase,
    SubjectCaseKind,
)
from prum.services.supervisor.authority import SupervisoryAuthority
from prum.services.supervisor.joint import JointCase, JointCaseKind, JointCaseStatus, JointFinding
from prum.services.supervisor.readiness import PILOT_MAX_QUERIES
from prum.services.supervisor.wire import (
    apply_shared_change,
    merge_listed_readiness,
    named,
    readiness_to_proto,
    vote_from_proto,
)
from prum.supervisor.v1 import supervisor_pb2 as pb
from prum.supervisor.v1 import supervisor_pb2_grpc

#: A pilot's test query goes out with this before the reason the supervisor gave it, within the reason's limit.
PILOT_REASON = "pilot run (GATE-1): "
REASON_LIMIT = rules_of(cp_pb2.SearchRequest.DESCRIPTOR.fields_by_name["reason"]).max_length  # type: ignore[union-attr]


def _category_or_none(value: int) -> Category | None:
    return CATEGORY_FROM_PROTO.get(value)


def log_request_to_proto(request: LogRequest) -> pb.LogRequest:
    return pb.LogRequest(id=request.id, opened_at=timestamp(request.opened_at), due_at=timestamp(request.due_at),
                         answered_at=timestamp(request.answered_at),
                         status=pb.LogRequestStatus.Value(f"LOG_REQUEST_STATUS_{request.status.name}"),
                         entries_delivered=request.entries_delivered)


def audit_to_proto(audit: Audit) -> pb.Audit:
    return pb.Audit(id=audit.id, run_at=timestamp(audit.run_at), sampled=audit.sampled,
                    findings=[pb.AuditFinding(sequence=f.sequence, problem=f.problem) for f in audit.findings],
                    delete_after=timestamp(audit.delete_after))


def declaration_to_proto(declaration: Declaration) -> pb.Declaration:
    return pb.Declaration(state=declaration.state,
                          kind=pb.DeclarationKind.Value(f"DECLARATION_KIND_{declaration.kind.name}"),
                          category=CATEGORY_TO_PROTO.get(declaration.category, 0),  # type: ignore[arg-type]
                          text=declaration.text, filed_at=timestamp(declaration.filed_at))


def subject_case_to_proto(case: SubjectCase) -> pb.SubjectCase:
    return pb.SubjectCase(id=case.id, kind=pb.SubjectCaseKind.Value(f"SUBJECT_CASE_KIND_{case.kind.name}"),
                          category=CATEGORY_TO_PROTO.get(case.category, 0),  # type: ignore[arg-type]
                          reference=case.reference, description=case.description,
                          status=pb.SubjectCaseStatus.Value(f"SUBJECT_CASE_STATUS_{case.status.name}"), opened_at=timestamp(case.opened_at),
                          due_at=timestamp(case.due_at), answer=case.answer)


def joint_case_to_proto(case: JointCase) -> pb.JointCase:
    return pb.JointCase(
        id=case.id, kind=pb.JointCaseKind.Value(f"JOINT_CASE_KIND_{case.kind.name}"), states=list(case.states),
        subject=case.subject, request_id=case.request_id, opened_at=timestamp(case.opened_at),
        findings=[pb.JointFinding(id=f.id, state=f.state, text=f.text, recorded_at=timestamp(f.recorded_at))
                  for f in case.findings],
        status=pb.JointCaseStatus.Value(f"JOINT_CASE_STATUS_{case.status.name}"), closed_by=case.closed_by,
        conclusion=case.conclusion, closed_at=timestamp(case.closed_at), delete_after=timestamp(case.delete_after))


def joint_case_from_proto(message: pb.JointCase) -> JointCase:
    if len(message.states) != 2:
        raise InvalidInput(f"names {len(message.states)} states; a joint case is between two", field="joint_case.states")
    return JointCase(
        id=message.id, kind=JointCaseKind[named(pb.JointCaseKind, message.kind, "JOINT_CASE_KIND_", "joint_case.kind")],
        states=(message.states[0], message.states[1]), subject=message.subject, request_id=message.request_id,
        opened_at=moment(message.opened_at),  # type: ignore[arg-type]
        findings=tuple(JointFinding(f.id, f.state, f.text, moment(f.recorded_at))  # type: ignore[arg-type]
                       for f in message.findings),
        status=JointCaseStatus[named(pb.JointCaseStatus, message.status, "JOINT_CASE_STATUS_", "joint_case.status")],
        closed_by=message.closed_by, conclusion=message.conclusion,
        closed_at=moment(message.closed_at, message.HasField("closed_at")))


class SupervisorServicer(supervisor_pb2_grpc.SupervisorServiceServicer):
    """Readiness and declarations are visible to every state (GATE-2, DEC-1); a state changes only its own,
    votes only in its own name, and only its own DPA requests its logs, audits and handles subject cases."""

    def __init__(self, state: str, authority: SupervisoryAuthority,
                 announce: Callable[..., list[str]] | None = None,
                 pilot_search: Callable[[cp_pb2.SearchRequest], cp_pb2.SearchResponse] | None = None,
                 fetch: Callable[[str, str], list[Any]] | None = None) -> None:
        self.state = state
        self.authority = authority
        self.readiness = authority.readiness
        # `announce(change, states=None)` tells other states' supervisors of a change of readiness (GATE-2),
        # a declaration (DEC-1) or a joint case (AUD-1): the listed states, or all; returns those not reached.
        self.announce = announce or (lambda change, states=None: [])
        # Sends one search through this state's own contact point, as its officers do (the pilot run, GATE-1).
        self.pilot_search = pilot_search
        # `fetch(peer, what)`: what a peer's supervisor lists for this state's catch-up, `what` one of
        # "declarations" (DEC-1), "readiness" (GATE-2), "joint_cases" (AUD-1); raises if it cannot be reached.
        self.fetch = fetch

    def GetReadiness(self, request: pb.GetReadinessRequest, context: grpc.ServicerContext) -> pb.GetReadinessResponse:
        category = category_from_proto(request.category) if request.category else None
        rows = [r for r in self.readiness.matrix()
                if (not request.state or r.state == request.state) and (category is None or r.category is category)]
        votes = [pb.CastCouncilVoteRequest(subject_state=subject, category=CATEGORY_TO_PROTO[category],
                                           voting_state=self.state, vote=pb.Vote.Value(f"VOTE_{vote.name}"))
                 for subject, category, vote in self.readiness.votes_of(self.state)]
        return pb.GetReadinessResponse(readiness=[readiness_to_proto(r) for r in rows], votes=votes)

    def _about_itself(self, context: grpc.ServicerContext, subject: str, action: str) -> None:
        """A state reports its own evaluation steps and withdraws its own readiness, through its own supervisor."""
        if subject != self.state:
            raise NotAuthorised(f"{self.state}'s supervisor may {action} for {self.state} only, not for {subject!r}; "
                                f"each state reports its own evaluation, and the change reaches every state")

    def RecordStep(self, request: pb.RecordStepRequest, context: grpc.ServicerContext) -> pb.RecordStepResponse:
        self._about_itself(context, request.state, "record evaluation steps")
        if request.step == pb.READINESS_STEP_PILOT_RUN_PASSED:
            raise InvalidInput("READINESS_STEP_PILOT_RUN_PASSED is not recorded by hand: RunPilot runs the test "
                               "queries against a peer and records it if every answer is the one expected",
                               field="step")
        row = self._record_step(request)
        unreached = self.announce(pb.ShareReadinessChangeRequest(origin_state=self.state, step=request))
        return pb.RecordStepResponse(readiness=readiness_to_proto(row), unreached_states=unreached)

    def CastCouncilVote(self, request: pb.CastCouncilVoteRequest,
                        context: grpc.ServicerContext) -> pb.CastCouncilVoteResponse:
        check_claim(self.state, request.voting_state)
        tally = self._vote(request)
        unreached = self.announce(pb.ShareReadinessChangeRequest(origin_state=self.state, vote=request))
        return pb.CastCouncilVoteResponse(readiness=readiness_to_proto(tally.readiness),
                                          votes_in_favour=tally.votes_in_favour, votes_needed=tally.votes_needed,
                                          unreached_states=unreached)

    def RevokeReadiness(self, request: pb.RevokeReadinessRequest,
                        context: grpc.ServicerContext) -> pb.RevokeReadinessResponse:
        self._about_itself(context, request.state, "withdraw readiness")
        row = self.readiness.revoke(request.state, category_from_proto(request.category), request.reason)
        unreached = self.announce(pb.ShareReadinessChangeRequest(origin_state=self.state, revocation=request))
        return pb.RevokeReadinessResponse(readiness=readiness_to_proto(row), unreached_states=unreached)

    def ShareReadinessChange(self, request: pb.ShareReadinessChangeRequest,
                             context: grpc.ServicerContext) -> pb.ShareReadinessChangeResponse:
        """A peer's change, applied here only if the peer's certificate names the state that made it."""
        check_claim(calling_state(context), request.origin_state)
        if request.WhichOneof("change") == "pilot":
            return self._pilot_window(request)
        return pb.ShareReadinessChangeResponse(readiness=readiness_to_proto(apply_shared_change(self.readiness,
                                                                                                request)))

    def _pilot_window(self, request: pb.ShareReadinessChangeRequest) -> pb.ShareReadinessChangeResponse:
        """The candidate opens or closes its pilot window here, at its pilot peer (GATE-1)."""
        window = request.pilot
        check_claim(request.origin_state, window.state)
        if window.peer_state != self.state:
            raise NotAuthorised(f"{window.state}'s pilot window is with {window.peer_state}, not with {self.state}")
        category = category_from_proto(window.category)
        if window.open:
            self.readiness.open_pilot(window.pilot_id, window.state, category, window.peer_state, window.query_ids,
                                      moment(window.expires_at, window.HasField("expires_at")))
        else:
            self.readiness.close_pilot(window.pilot_id)
        return pb.ShareReadinessChangeResponse(readiness=readiness_to_proto(self.readiness.get(window.state, category)))

    def RunPilot(self, request: pb.RunPilotRequest, context: grpc.ServicerContext) -> pb.RunPilotResponse:
        """GATE-1's pilot run: the state's own contact point sends real test queries to one ready peer inside a
        pilot window both books hold; if every answer is the one expected, the step is recorded and announced."""
        self._about_itself(context, request.state, "run its pilot")
        category = category_from_proto(request.category)
        if not request.queries:
            raise InvalidInput("is empty; a pilot run sends at least one test query", field="queries")
        if self.pilot_search is None:
            raise NotAuthorised(f"{self.state}'s supervisor has no contact point to run a pilot through")
        if len(request.queries) > PILOT_MAX_QUERIES:
            raise InvalidInput(f"holds {len(request.queries)} test queries; allowed: 1 to {PILOT_MAX_QUERIES}",
                               field="queries")
        room = REASON_LIMIT - len(PILOT_REASON)
        for index, query in enumerate(request.queries):
            if len(query.search.reason) > room:
                raise InvalidInput(f"{len(query.search.reason):,} characters; a test query's reason goes out after "
                                   f"{PILOT_REASON!r}, so at most {room} allowed",
                                   field=f"queries[{index}].search.reason")
        pilot_id = f"PILOT-{uuid.uuid4()}"
        # One random case reference per test query: only these pass the gates, each once (GATE-1).
        query_ids = [f"{pilot_id}-{secrets.token_hex(8)}" for _ in request.queries]
        window = self.readiness.open_pilot(pilot_id, self.state, category, request.peer_state, query_ids)
        share = pb.PilotWindow(state=self.state, category=request.category, peer_state=window.peer,
                               pilot_id=window.pilot_id, expires_at=timestamp(window.expires_at), open=True,
                               query_ids=query_ids)
        unreached = self.announce(pb.ShareReadinessChangeRequest(origin_state=self.state, pilot=share),
                                  [window.peer])
        results: list[pb.PilotResult] = []
        try:
            for query, query_id in [] if unreached else zip(request.queries, query_ids):
                search = cp_pb2.SearchRequest()
                search.CopyFrom(query.search)
                search.category, search.case_reference = request.category, query_id
                search.reason = PILOT_REASON + search.reason
                del search.target_states[:]
                search.target_states.append(window.peer)
                try:
                    reply = self.pilot_search(search)
                    (answer,) = reply.results
                    results.append(pb.PilotResult(request_id=reply.request_id, expected=query.expected,
                                                  status=answer.status, detail=answer.detail))
                except grpc.RpcError as error:
                    results.append(pb.PilotResult(expected=query.expected, status=cp_pb2.RESULT_STATUS_REFUSED,
                                                  detail=f"{error.code().name}: {error.details()}"))
        finally:
            self.readiness.close_pilot(window.pilot_id)
            share.open = False
            self.announce(pb.ShareReadinessChangeRequest(origin_state=self.state, pilot=share), [window.peer])
        passed = not unreached and all(r.status == r.expected for r in results)
        row = self.readiness.get(self.state, category)
        if passed:
            step = pb.RecordStepRequest(state=self.state, category=request.category,
                                        step=pb.READINESS_STEP_PILOT_RUN_PASSED)
            row = self._record_step(step)
            unreached = self.announce(pb.ShareReadinessChangeRequest(origin_state=self.state, step=step))
        return pb.RunPilotResponse(passed=passed, pilot_id=window.pilot_id, results=results,
                                   readiness=readiness_to_proto(row), unreached_states=unreached)

    def _record_step(self, request: pb.RecordStepRequest) -> Readiness:
        step = ReadinessStep[named(pb.ReadinessStep, request.step, "READINESS_STEP_", "step")]
        return self.readiness.record_step(request.state, category_from_proto(request.category), step)

    def _vote(self, request: pb.CastCouncilVoteRequest):  # type: ignore[no-untyped-def]
        return self.readiness.cast_vote(request.subject_state, category_from_proto(request.category),
                                        request.voting_state, vote_from_proto(request))

    def FileDeclaration(self, request: pb.FileDeclarationRequest,
                        context: grpc.ServicerContext) -> pb.FileDeclarationResponse:
        """A state files its own declarations at its own supervisor, which tells every other state (DEC-1)."""
        declaration = request.declaration
        check_claim(calling_state(context), declaration.state)
        self._about_itself(context, declaration.state, "file declarations")
        kind = DeclarationKind[named(pb.DeclarationKind, declaration.kind, "DECLARATION_KIND_", "declaration.kind")]
        filed = declaration_to_proto(self.authority.declarations.file(
            declaration.state, kind, _category_or_none(declaration.category), declaration.text))
        unreached = self.announce(pb.ShareDeclarationRequest(origin_state=self.state, declaration=filed))
        return pb.FileDeclarationResponse(declaration=filed, unreached_states=unreached)

    def ShareDeclaration(self, request: pb.ShareDeclarationRequest,
                         context: grpc.ServicerContext) -> pb.ShareDeclarationResponse:
        """A peer's declaration, kept here only if the peer's certificate names the state that filed it."""
        check_claim(calling_state(context), request.origin_state)
        declaration = request.declaration
        check_claim(request.origin_state, declaration.state)
        kind = DeclarationKind[named(pb.DeclarationKind, declaration.kind, "DECLARATION_KIND_", "declaration.kind")]
        in_force = self.authority.declarations.receive(Declaration(
            declaration.state, kind, _category_or_none(declaration.category), declaration.text,  # type: ignore[arg-type]
            moment(declaration.filed_at, declaration.HasField("filed_at"))))  # type: ignore[arg-type]
        return pb.ShareDeclarationResponse(declaration=declaration_to_proto(in_force))

    def _catch_up(self, context: grpc.ServicerContext, what: str, take: Callable[[str, Any], bool]
                  ) -> tuple[int, list[str]]:
        """Ask every other state's supervisor for `what` and `take(peer, item)` each item it lists (idempotent
        merges; `take` keeps only what that peer speaks for). Returns (items that changed here, unreached)."""
        if self.fetch is None:
            raise NotAuthorised(f"{self.state}'s supervisor has no channel to the other supervisors")
        updated, unreached = 0, []
        for peer in (s for s in self.readiness.members if s != self.state):
            try:
                listed = self.fetch(peer, what)
            except (grpc.RpcError, KeyError):
                unreached.append(peer)
                continue
            updated += sum(take(peer, item) for item in listed)
        return updated, unreached

    def SyncDeclarations(self, request: pb.SyncDeclarationsRequest,
                         context: grpc.ServicerContext) -> pb.SyncDeclarationsResponse:
        """Catch up with every other state's declarations (DEC-1); each state vouches for its own only."""
        def take(peer: str, declaration: pb.Declaration) -> bool:
            if declaration.state != peer:
                return False  # a state's supervisor speaks for that state's declarations only
            kind = DeclarationKind[named(pb.DeclarationKind, declaration.kind, "DECLARATION_KIND_",
                                          "declaration.kind")]
            received = Declaration(peer, kind, _category_or_none(declaration.category),  # type: ignore[arg-type]
                                   declaration.text, moment(declaration.filed_at))  # type: ignore[arg-type]
            before = self.authority.declarations.current(peer, kind, received.category)
            return self.authority.declarations.receive(received) != before

        updated, unreached = self._catch_up(context, "declarations", take)
        return pb.SyncDeclarationsResponse(updated=updated, unreached_states=unreached)

    def SyncReadiness(self, request: pb.SyncReadinessRequest,
                      context: grpc.ServicerContext) -> pb.SyncReadinessResponse:
        """Catch up with the steps, Council decisions and revocations of every other state that this state missed
        (GATE-2), and with the votes of the current rounds (GATE-1). Each state vouches for its own rows and its own
        votes only, as it alone records its steps, withdraws them and casts its vote; so every vote is taken in
        first, then the rows (a decision only if those votes make it unanimous), then the decisions the votes make
        whose subject was not reached."""
        rows: list[pb.Readiness] = []
        votes: list[pb.CastCouncilVoteRequest] = []

        def take(peer: str, item: pb.Readiness | pb.CastCouncilVoteRequest) -> bool:
            if isinstance(item, pb.Readiness):
                if item.state == peer:
                    rows.append(item)
            elif item.voting_state == peer:
                votes.append(item)
            return False

        _, unreached = self._catch_up(context, "readiness", take)
        return pb.SyncReadinessResponse(updated=merge_listed_readiness(self.readiness, rows, votes),
                                        unreached_states=unreached)

    def SyncJointCases(self, request: pb.SyncJointCasesRequest,
                       context: grpc.ServicerContext) -> pb.SyncJointCasesResponse:
        """Catch up with the joint cases the other DPAs hold with this one (AUD-1): each merged as if its partner
        had shared it (`JointCases.receive`: a case between the two only, findings in the partner's own name)."""
        def take(peer: str, message: pb.JointCase) -> bool:
            shared = joint_case_from_proto(message)
            try:
                before = self.authority.joint_cases.get(shared.id)
            except UnknownReference:
                before = None
            try:
                return self.authority.joint_cases.receive(peer, shared) != before
            except (NotAuthorised, IdentityMismatch, InvalidInput):
                return False  # a case the peer is no party to, or findings in another's name: not its to vouch for

        updated, unreached = self._catch_up(context, "joint_cases", take)
        return pb.SyncJointCasesResponse(updated=updated, unreached_states=unreached)

    def ListDeclarations(self, request: pb.ListDeclarationsRequest,
                         context: grpc.ServicerContext) -> pb.ListDeclarationsResponse:
        found = self.authority.declarations.list(request.state or None)
        return pb.ListDeclarationsResponse(declarations=[declaration_to_proto(d) for d in found])

    def RequestLogs(self, request: pb.RequestLogsRequest, context: grpc.ServicerContext) -> pb.RequestLogsResponse:
        answered, _ = self.authority.request_logs(moment(request.since, request.HasField("since")),
                                                  moment(request.until, request.HasField("until")))
        return pb.RequestLogsResponse(log_request=log_request_to_proto(answered))

    def ListLogRequests(self, request: pb.ListLogRequestsRequest,
                        context: grpc.ServicerContext) -> pb.ListLogRequestsResponse:
        return pb.ListLogRequestsResponse(log_requests=[log_request_to_proto(r)
                                                        for r in self.authority.log_requests.list()])

    def RunAudit(self, request: pb.RunAuditRequest, context: grpc.ServicerContext) -> pb.RunAuditResponse:
        return pb.RunAuditResponse(audit=audit_to_proto(self.authority.run_audit(request.sample_size, request.seed)))

    def ListAudits(self, request: pb.ListAuditsRequest, context: grpc.ServicerContext) -> pb.ListAuditsResponse:
        return pb.ListAuditsResponse(audits=[audit_to_proto(a) for a in self.authority.audits.list()])

    def OpenSubjectCase(self, request: pb.OpenSubjectCaseRequest,
                        context: grpc.ServicerContext) -> pb.OpenSubjectCaseResponse:
        case = request.subject_case
        kind = SubjectCaseKind[named(pb.SubjectCaseKind, case.kind, "SUBJECT_CASE_KIND_", "subject_case.kind")]
        opened = self.authority.subject_cases.open(kind, case.description, case.reference,
                                                   _category_or_none(case.category))
        return pb.OpenSubjectCaseResponse(subject_case=subject_case_to_proto(opened))

    def _shared(self, case: JointCase, response: type[Any]) -> Any:
        """The reply to a change of a joint case, once the partner's supervisor was told; `partner_reached` is
        False if it could not be (it catches up with the next change, which carries the whole case)."""
        message = joint_case_to_proto(case)
        unreached = self.announce(pb.ShareJointCaseRequest(origin_state=self.state, joint_case=message),
                                  [case.partner_of(self.state)])
        return response(joint_case=message, partner_reached=not unreached)

    def OpenJointCase(self, request: pb.OpenJointCaseRequest,
                      context: grpc.ServicerContext) -> pb.OpenJointCaseResponse:
        kind = JointCaseKind[named(pb.JointCaseKind, request.kind, "JOINT_CASE_KIND_", "kind")]
        case = self.authority.joint_cases.open(request.partner_state, kind, request.subject, request.request_id)
        return self._shared(case, pb.OpenJointCaseResponse)  # type: ignore[no-any-return]

    def AddJointFinding(self, request: pb.AddJointFindingRequest,
                        context: grpc.ServicerContext) -> pb.AddJointFindingResponse:
        case = self.authority.joint_cases.add_finding(request.case_id, request.text)
        return self._shared(case, pb.AddJointFindingResponse)  # type: ignore[no-any-return]

    def CloseJointCase(self, request: pb.CloseJointCaseRequest,
                       context: grpc.ServicerContext) -> pb.CloseJointCaseResponse:
        case = self.authority.joint_cases.close(request.case_id, request.conclusion)
        return self._shared(case, pb.CloseJointCaseResponse)  # type: ignore[no-any-return]

    def ListJointCases(self, request: pb.ListJointCasesRequest,
                       context: grpc.ServicerContext) -> pb.ListJointCasesResponse:
        """Every joint case for the state's own DPA; for another state, the cases the two DPAs hold (catch-up)."""
        caller = calling_state(context)
        cases = self.authority.joint_cases.list(None if caller in (None, self.state) else caller)
        return pb.ListJointCasesResponse(joint_cases=[joint_case_to_proto(c) for c in cases])

    def ShareJointCase(self, request: pb.ShareJointCaseRequest,
                       context: grpc.ServicerContext) -> pb.ShareJointCaseResponse:
        """The partner DPA's copy after a change, merged here if the caller's certificate names the origin."""
        check_claim(calling_state(context), request.origin_state)
        merged = self.authority.joint_cases.receive(request.origin_state, joint_case_from_proto(request.joint_case))
        return pb.ShareJointCaseResponse(joint_case=joint_case_to_proto(merged))

    def ListSubjectCases(self, request: pb.ListSubjectCasesRequest,
                         context: grpc.ServicerContext) -> pb.ListSubjectCasesResponse:
        return pb.ListSubjectCasesResponse(subject_cases=[subject_case_to_proto(c)
                                                          for c in self.authority.subject_cases.list()])
