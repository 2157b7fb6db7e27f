"""Conversions between the contracts' messages and the cores' plain types, shared by all servicers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from google.protobuf.timestamp_pb2 import Timestamp

from prum.common.v1 import common_pb2
from prum.services.common.exchange import QueryContext, ReplyHeader
from prum.services.logger import Category

CATEGORY_TO_PROTO = {
    Category.DNA: common_pb2.CATEGORY_DNA,
    Category.FINGERPRINT: common_pb2.CATEGORY_FINGERPRINT,
    Category.VEHICLE: common_pb2.CATEGORY_VEHICLE,
    Category.PERSON_INFORMATION: common_pb2.CATEGORY_PERSON_INFORMATION,
}
CATEGORY_FROM_PROTO = {v: k for k, v in CATEGORY_TO_PROTO.items()}


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def timestamp(moment: datetime | None) -> Timestamp | None:
    """A time as a protobuf Timestamp (a naive time is taken as local time). Computed from the distance to the
    epoch: `Timestamp.FromDatetime` is Python code around `calendar.timegm`, 3.5x slower, and every reply
    carries several (its header's time, a vehicle's registration history)."""
    if moment is None:
        return None
    since = (moment if moment.tzinfo is not None else moment.astimezone(timezone.utc)) - _EPOCH
    return Timestamp(seconds=since.days * 86_400 + since.seconds, nanos=since.microseconds * 1000)


def moment(stamp: Timestamp, present: bool = True) -> datetime | None:
    """A Timestamp as an aware UTC time, to the microsecond; None if absent (or the zero Timestamp)."""
    if not present or (stamp.seconds == 0 and stamp.nanos == 0):
        return None
    return _EPOCH + timedelta(seconds=stamp.seconds, microseconds=stamp.nanos // 1000)


def category_from_proto(value: int, field: str = "category") -> Category:
    from prum.services.common.errors import InvalidInput

    try:
        return CATEGORY_FROM_PROTO[value]
    except KeyError:
        raise InvalidInput(f"{value} is not a category; allowed: CATEGORY_DNA, CATEGORY_FINGERPRINT, "
                           f"CATEGORY_VEHICLE", field=field) from None


def context_from_proto(message: common_pb2.QueryContext) -> QueryContext:
    return QueryContext(
        request_id=message.request_id, requesting_state=message.requesting_state,
        requested_state=message.requested_state, officer_id=message.officer_id,
        ordering_officer_id=message.ordering_officer_id, reason=message.reason,
        case_reference=message.case_reference, sent_at=moment(message.sent_at, message.HasField("sent_at")))


def context_to_proto(context: QueryContext) -> common_pb2.QueryContext:
    return common_pb2.QueryContext(
        request_id=context.request_id, requesting_state=context.requesting_state,
        requested_state=context.requested_state, officer_id=context.officer_id,
        ordering_officer_id=context.ordering_officer_id, reason=context.reason,
        case_reference=context.case_reference, sent_at=timestamp(context.sent_at))


def header_to_proto(header: ReplyHeader) -> common_pb2.ReplyHeader:
    return common_pb2.ReplyHeader(
        request_id=header.request_id, reply_id=header.reply_id, replied_at=timestamp(header.replied_at),
        requesting_state=header.requesting_state, requested_state=header.requested_state)


def header_from_proto(message: common_pb2.ReplyHeader) -> ReplyHeader:
    return ReplyHeader(
        request_id=message.request_id, reply_id=message.reply_id,
        replied_at=moment(message.replied_at, message.HasField("replied_at")) or datetime.now(timezone.utc),
        requesting_state=message.requesting_state, requested_state=message.requested_state)
