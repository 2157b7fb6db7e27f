"""DEC-1 catch-up: a supervisor that missed announcements (down, restarted) fetches every other state's own
declarations and keeps the ones filed last; a state speaks for its own declarations only."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import grpc
import pytest

from prum.common.v1 import common_pb2
from prum.services.common.callers import CALLERS, Caller
from prum.services.common.category import Category
from prum.services.common.clock import SimulatedClock
from prum.services.common.wire import timestamp
from prum.services.logger import ProtocolLog
from prum.services.supervisor import DeclarationKind, ReadinessBook
from prum.services.supervisor.authority import SupervisoryAuthority
from prum.services.supervisor.servicer import SupervisorServicer
from prum.supervisor.v1 import supervisor_pb2 as pb

FILED = datetime(2026, 5, 4, 12, 0, tzinfo=timezone.utc)


class Context:
    """What the servicer reads of a call: the caller's certificate."""

    def __init__(self, state: str) -> None:
        self.state = state

    def auth_context(self) -> dict[str, list[bytes]]:
        return {"x509_common_name": [self.state.encode()]}


class Down(grpc.RpcError):
    pass


def declaration(state: str, text: str, kind: int = pb.DECLARATION_KIND_NATIONAL_FILE) -> pb.Declaration:
    return pb.Declaration(state=state, kind=kind, category=common_pb2.CATEGORY_DNA, text=text,
                          filed_at=timestamp(FILED))


@pytest.fixture
def fr() -> SupervisorServicer:
    clock = SimulatedClock(FILED)
    members = ["DE", "NL", "FR", "LU"]
    authority = SupervisoryAuthority("FR", ReadinessBook(members, clock=clock), ProtocolLog(":memory:", "FR"),
                                     set(), clock)
    listed: dict[str, Any] = {
        "DE": [declaration("DE", "DNA-Analyse-Datei, BKA")],
        "NL": Down(),
        "LU": [declaration("LU", "fichier ADN, police grand-ducale"),
               declaration("NL", "a declaration LU may not make for NL")],
    }

    def fetch(state: str, what: str) -> list[pb.Declaration]:
        assert what == "declarations"
        answer = listed[state]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return SupervisorServicer("FR", authority, fetch=fetch)


def test_a_supervisor_catches_up_with_the_declarations_it_missed(fr: SupervisorServicer) -> None:
    reply = fr.SyncDeclarations(pb.SyncDeclarationsRequest(), Context("FR"))
    assert reply.updated == 2 and list(reply.unreached_states) == ["NL"]
    held = {(d.state, d.text, d.filed_at) for d in fr.authority.declarations.list()}
    assert held == {("DE", "DNA-Analyse-Datei, BKA", FILED), ("LU", "fichier ADN, police grand-ducale", FILED)}
    assert fr.authority.declarations.current("NL", DeclarationKind.NATIONAL_FILE, Category.DNA) is None
    again = fr.SyncDeclarations(pb.SyncDeclarationsRequest(), Context("FR"))
    assert again.updated == 0  # nothing newer: catching up twice changes nothing


def test_only_the_state_itself_asks_its_supervisor_to_catch_up() -> None:
    """Enforced before the servicer, by the caller table (tests/federation/test_callers.py calls it as another state)."""
    for kind in ("Declarations", "Readiness", "JointCases"):
        assert CALLERS[f"/prum.supervisor.v1.SupervisorService/Sync{kind}"] is Caller.OWN_STATE


# -- the same catch-up for readiness (GATE-2) and joint cases (AUD-1) ------------------------------------------


def catching_up(listed: dict[str, Any]) -> SupervisorServicer:
    clock = SimulatedClock(FILED)
    book = ReadinessBook(["DE", "NL", "FR", "LU"], clock=clock)
    book.seed_ready("NL", Category.DNA)
    authority = SupervisoryAuthority("FR", book, ProtocolLog(":memory:", "FR"), set(), clock)

    def fetch(state: str, what: str) -> list[Any]:
        answer = listed[state][what]
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    return SupervisorServicer("FR", authority, fetch=fetch)


def test_a_supervisor_catches_up_with_each_states_own_readiness_only() -> None:
    revoked = pb.Readiness(state="NL", category=common_pb2.CATEGORY_DNA, revoked=True,
                           revoked_at=timestamp(FILED), revocation_reason="audit gap")
    fr = catching_up({
        "NL": {"readiness": [revoked]},
        "DE": {"readiness": [pb.Readiness(state="LU", category=common_pb2.CATEGORY_DNA, ready=True,
                                          decided_at=timestamp(FILED))]},  # DE speaking for LU: ignored
        "LU": {"readiness": Down()},
    })
    reply = fr.SyncReadiness(pb.SyncReadinessRequest(), Context("FR"))
    assert reply.updated == 1 and list(reply.unreached_states) == ["LU"]
    nl = fr.readiness.get("NL", Category.DNA)
    assert nl.revoked and nl.revoked_at == FILED and nl.revocation_reason == "audit gap"
    assert not fr.readiness.is_ready("LU", Category.DNA)
    assert fr.SyncReadiness(pb.SyncReadinessRequest(), Context("FR")).updated == 0


def test_a_supervisor_catches_up_with_the_joint_cases_its_partners_hold() -> None:
    case = pb.JointCase(id="JC-NL-000001", kind=pb.JOINT_CASE_KIND_AUDIT, states=["NL", "FR"], subject="sample",
                        opened_at=timestamp(FILED), status=pb.JOINT_CASE_STATUS_OPEN, findings=[pb.JointFinding(
                            id="NL-1", state="NL", text="NL logged it", recorded_at=timestamp(FILED))])
    fr = catching_up({"NL": {"joint_cases": [case]}, "DE": {"joint_cases": []}, "LU": {"joint_cases": []}})
    reply = fr.SyncJointCases(pb.SyncJointCasesRequest(), Context("FR"))
    assert reply.updated == 1 and list(reply.unreached_states) == []
    assert [f.text for f in fr.authority.joint_cases.get("JC-NL-000001").findings] == ["NL logged it"]
    assert fr.SyncJointCases(pb.SyncJointCasesRequest(), Context("FR")).updated == 0
    # A case passed on by a state that is no party to it is not taken in, as it would be refused if shared (AUD-1).
    outsider = catching_up({"DE": {"joint_cases": [case]}, "NL": {"joint_cases": []}, "LU": {"joint_cases": []}})
    assert outsider.SyncJointCases(pb.SyncJointCasesRequest(), Context("FR")).updated == 0
    assert outsider.authority.joint_cases.list() == []
