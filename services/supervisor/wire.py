"""The supervisors' readiness on the wire (GATE-1, GATE-2): proto <-> the readiness book's rows and votes, and a
shared change or a catch-up's take applied to a book. Used by each state's supervisor (`servicer.py`) and by the
Prüm II router, whose book follows the same changes (P2-GATE-1, `prum.services.router.servicer`)."""

from __future__ import annotations

from prum.services.common.errors import InvalidInput
from prum.services.common.identity import check_claim
from prum.services.common.wire import CATEGORY_TO_PROTO, category_from_proto, moment, timestamp
from prum.services.supervisor.readiness import Readiness, ReadinessBook, ReadinessStep, Vote
from prum.supervisor.v1 import supervisor_pb2 as pb


def named(proto_enum: object, value: int, prefix: str, field: str) -> str:
    """The core's name of a contract enum value, refusing the unspecified zero with what is allowed."""
    names = [n for n in proto_enum.keys() if not n.endswith("_UNSPECIFIED")]  # type: ignore[attr-defined]  # noqa: SIM118 - an EnumTypeWrapper has keys() but no __iter__
    name = proto_enum.Name(value) if value in proto_enum.values() else ""  # type: ignore[attr-defined]
    if name not in names:
        raise InvalidInput(f"{value} is not allowed; allowed: {', '.join(names)}", field=field)
    return name.removeprefix(prefix)


def readiness_to_proto(row: Readiness) -> pb.Readiness:
    return pb.Readiness(state=row.state, category=CATEGORY_TO_PROTO[row.category],
                        steps_done=[pb.ReadinessStep.Value(f"READINESS_STEP_{s.name}") for s in row.steps_done],
                        ready=row.ready, decided_at=timestamp(row.decided_at), revoked=row.revoked,
                        revoked_at=timestamp(row.revoked_at), revocation_reason=row.revocation_reason)


def vote_from_proto(message: pb.CastCouncilVoteRequest) -> Vote:
    return Vote[named(pb.Vote, message.vote, "VOTE_", "vote")]


def readiness_from_proto(message: pb.Readiness) -> Readiness:
    steps = tuple(ReadinessStep[named(pb.ReadinessStep, step, "READINESS_STEP_", "readiness.steps_done")]
                  for step in message.steps_done)
    return Readiness(message.state, category_from_proto(message.category, "readiness.category"), steps,
                     message.ready, moment(message.decided_at, message.HasField("decided_at")), message.revoked,
                     moment(message.revoked_at, message.HasField("revoked_at")), message.revocation_reason)


def apply_shared_change(book: ReadinessBook, request: pb.ShareReadinessChangeRequest) -> Readiness:
    """A peer's step, vote or revocation (GATE-2), whose origin the caller's certificate has been checked to name,
    applied to `book` if the origin made it (its own step or revocation, its own vote); the row as it is then. A
    revocation already held is not applied twice. Shared by the states' supervisors and the router's book."""
    kind = request.WhichOneof("change")
    if kind == "step":
        check_claim(request.origin_state, request.step.state)
        return book.record_step(request.step.state, category_from_proto(request.step.category),
                                ReadinessStep[named(pb.ReadinessStep, request.step.step, "READINESS_STEP_", "step")])
    if kind == "vote":
        check_claim(request.origin_state, request.vote.voting_state)
        return book.cast_vote(request.vote.subject_state, category_from_proto(request.vote.category),
                              request.vote.voting_state, vote_from_proto(request.vote)).readiness
    if kind == "revocation":
        check_claim(request.origin_state, request.revocation.state)
        category = category_from_proto(request.revocation.category)
        current = book.get(request.revocation.state, category)
        return current if current.revoked else book.revoke(request.revocation.state, category,
                                                           request.revocation.reason)
    raise InvalidInput("carries no change; allowed: step, vote, revocation, pilot", field="change")


def merge_listed_readiness(book: ReadinessBook, rows: list[pb.Readiness],
                           votes: list[pb.CastCouncilVoteRequest]) -> int:
    """A catch-up's take (GATE-2): each peer's own rows and votes as its supervisor listed them (the caller keeps
    only those), merged into `book`: every vote first, then the rows (a decision only if those votes make it
    unanimous), then the decisions the votes make whose subject was not reached. The number of changes."""
    updated = sum(book.merge_vote(item.subject_state, category_from_proto(item.category), item.voting_state,
                                  vote_from_proto(item)) for item in votes)
    updated += sum(book.merge(readiness_from_proto(item)) for item in rows)
    return updated + len(book.settle())
