"""ProtocolLoggerService: proto <-> `ProtocolLog`. Append is for member-state services embedded
outside this process; the reference services write to the same log in-process (see docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from enum import Enum
from typing import TypeVar

import grpc
from prum.logger.v1 import logger_pb2, logger_pb2_grpc
from prum.services.common.errors import InvalidInput
from prum.services.common.wire import (
    CATEGORY_FROM_PROTO,
    CATEGORY_TO_PROTO,
    SEARCH_PURPOSE_TO_PROTO,
    moment,
    search_purpose_from_proto,
    timestamp,
)
from prum.services.logger import (
    EntryKind,
    LogEntry,
    MessageType,
    Outcome,
    ProtocolLog,
    Side,
    SignedCheckpoint,
)
from prum.services.logger.log import MAX_QUERY_LIMIT

_E = TypeVar("_E", bound=Enum)


def _enum_from_proto(enum: type[_E], proto_enum: object, value: int, prefix: str, field: str) -> _E:
    # An undefined number has no Name (ValueError): refused here like the zero value.
    name = proto_enum.Name(value).removeprefix(prefix) if value in proto_enum.values() else ""  # type: ignore[attr-defined]
    if name not in enum.__members__:
        allowed = ", ".join(n for n in proto_enum.keys() if not n.endswith("UNSPECIFIED"))  # type: ignore[attr-defined]  # noqa: SIM118 - an EnumTypeWrapper has keys() but no __iter__
        said = "is unspecified" if name == "UNSPECIFIED" else f"{value} is not one of its values"
        raise InvalidInput(f"{said}; allowed: {allowed}", field=field)
    return enum[name]


def entry_to_proto(entry: LogEntry) -> logger_pb2.Entry:
    return logger_pb2.Entry(
        sequence=entry.sequence, kind=logger_pb2.EntryKind.Value(f"ENTRY_KIND_{entry.kind.name}"),
        message_type=logger_pb2.MessageType.Value(f"MESSAGE_TYPE_{entry.message_type.name}"),
        category=CATEGORY_TO_PROTO[entry.category],
        side=logger_pb2.Side.Value(f"SIDE_{entry.side.name}"), logging_state=entry.logging_state,
        requesting_state=entry.requesting_state, requested_state=entry.requested_state,
        request_id=entry.request_id, reply_id=entry.reply_id, officer_id=entry.officer_id,
        ordering_officer_id=entry.ordering_officer_id, reason=entry.reason, case_reference=entry.case_reference,
        data_supplied=entry.data_supplied,
        outcome=logger_pb2.Outcome.Value(f"OUTCOME_{entry.outcome.name}") if entry.outcome is not Outcome.NONE
        else logger_pb2.OUTCOME_UNSPECIFIED,
        hit_count=entry.hit_count, recorded_at=timestamp(entry.recorded_at), previous_hash=entry.previous_hash,
        hash=entry.hash, purpose=SEARCH_PURPOSE_TO_PROTO[entry.purpose])


def entry_from_proto(message: logger_pb2.Entry, state: str) -> LogEntry:
    if message.category not in CATEGORY_FROM_PROTO:
        raise InvalidInput("is unspecified; allowed: CATEGORY_DNA, CATEGORY_FINGERPRINT, CATEGORY_VEHICLE",
                           field="entry.category")
    return LogEntry.new(
        kind=_enum_from_proto(EntryKind, logger_pb2.EntryKind, message.kind, "ENTRY_KIND_", "entry.kind"),
        message_type=_enum_from_proto(MessageType, logger_pb2.MessageType, message.message_type, "MESSAGE_TYPE_",
                                      "entry.message_type"),
        category=CATEGORY_FROM_PROTO[message.category],
        side=_enum_from_proto(Side, logger_pb2.Side, message.side, "SIDE_", "entry.side"),
        logging_state=state, requesting_state=message.requesting_state, requested_state=message.requested_state,
        request_id=message.request_id, reply_id=message.reply_id, officer_id=message.officer_id,
        ordering_officer_id=message.ordering_officer_id, reason=message.reason,
        case_reference=message.case_reference, data_supplied=message.data_supplied,
        outcome=(Outcome.NONE if message.outcome == logger_pb2.OUTCOME_UNSPECIFIED
                 else _enum_from_proto(Outcome, logger_pb2.Outcome, message.outcome, "OUTCOME_", "entry.outcome")),
        hit_count=message.hit_count, purpose=search_purpose_from_proto(message.purpose, "entry.purpose"))


def checkpoint_to_proto(checkpoint: SignedCheckpoint) -> logger_pb2.Checkpoint:
    return logger_pb2.Checkpoint(state=checkpoint.state, sequence=checkpoint.sequence, hash=checkpoint.hash,
                                 signed_at=timestamp(checkpoint.signed_at), signature=checkpoint.signature,
                                 certificate=checkpoint.certificate)


def checkpoint_from_proto(message: logger_pb2.Checkpoint) -> SignedCheckpoint:
    """A checkpoint received from a logger, to check with `check_checkpoint` against the state's certificate."""
    return SignedCheckpoint(message.state, message.sequence, message.hash,
                            message.signed_at.ToDatetime(tzinfo=UTC), message.signature, message.certificate)


class ProtocolLoggerServicer(logger_pb2_grpc.ProtocolLoggerServiceServicer):
    def __init__(self, state: str, log: ProtocolLog) -> None:
        self.state = state
        self.log = log

    def Append(self, request: logger_pb2.AppendRequest, context: grpc.ServicerContext) -> logger_pb2.AppendResponse:
        (entry,) = self.log.append_many([entry_from_proto(request.entry, self.state)])
        return logger_pb2.AppendResponse(sequence=entry.sequence, hash=entry.hash,
                                         recorded_at=timestamp(entry.recorded_at))

    def Query(self, request: logger_pb2.QueryRequest, context: grpc.ServicerContext) -> logger_pb2.QueryResponse:
        entries = self.log.query(
            request_id=request.request_id or None,
            kind=_enum_from_proto(EntryKind, logger_pb2.EntryKind, request.kind, "ENTRY_KIND_", "kind")
            if request.kind else None,
            category=CATEGORY_FROM_PROTO.get(request.category),
            since=moment(request.since, request.HasField("since")),
            until=moment(request.until, request.HasField("until")),
            after_sequence=request.after_sequence, limit=request.limit or 1000)
        return logger_pb2.QueryResponse(entries=[entry_to_proto(e) for e in entries])

    def Export(self, request: logger_pb2.ExportRequest,
               context: grpc.ServicerContext) -> Iterator[logger_pb2.ExportResponse]:
        for entry in self.log.export(since=moment(request.since, request.HasField("since")),
                                     until=moment(request.until, request.HasField("until"))):
            yield logger_pb2.ExportResponse(entry=entry_to_proto(entry))

    def Verify(self, request: logger_pb2.VerifyRequest, context: grpc.ServicerContext) -> logger_pb2.VerifyResponse:
        result = self.log.verify()
        return logger_pb2.VerifyResponse(intact=result.intact, entries_checked=result.entries_checked, violations=[
            logger_pb2.Violation(sequence=seq, problem=problem) for seq, problem in result.violations],
            checkpoints_checked=result.checkpoints_checked)

    def CreateCheckpoint(self, request: logger_pb2.CreateCheckpointRequest,
                         context: grpc.ServicerContext) -> logger_pb2.CreateCheckpointResponse:
        return logger_pb2.CreateCheckpointResponse(checkpoint=checkpoint_to_proto(self.log.checkpoint()))

    def ListCheckpoints(self, request: logger_pb2.ListCheckpointsRequest,
                        context: grpc.ServicerContext) -> logger_pb2.ListCheckpointsResponse:
        """Signed hashes only, no log content: any member state (or its DPA) may keep them as anchors (LOG-5)."""
        limit = request.limit or 1000
        if not 1 <= limit <= MAX_QUERY_LIMIT:
            raise InvalidInput(f"{limit}; allowed: 1 to {MAX_QUERY_LIMIT}", field="limit")
        return logger_pb2.ListCheckpointsResponse(checkpoints=[
            checkpoint_to_proto(c) for c in self.log.checkpoints(request.after_sequence, limit)])

    def Purge(self, request: logger_pb2.PurgeRequest, context: grpc.ServicerContext) -> logger_pb2.PurgeResponse:
        report = self.log.purge(dry_run=request.dry_run)
        return logger_pb2.PurgeResponse(removed=report.removed, removed_by_kind={
            getattr(k, "name", str(k)): v for k, v in report.removed_by_kind.items()})

    def GetLogStats(self, request: logger_pb2.GetLogStatsRequest,
                    context: grpc.ServicerContext) -> logger_pb2.GetLogStatsResponse:
        stats = self.log.stats()
        return logger_pb2.GetLogStatsResponse(
            entries=stats.entries, last_sequence=stats.last_sequence, last_hash=stats.last_hash,
            entries_by_kind={getattr(k, "name", str(k)): v for k, v in stats.entries_by_kind.items()})
