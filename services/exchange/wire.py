"""The exchange's context and reply header to and from the contracts' messages (protobuf only, no gRPC).

Every servicer and the contact point's transport convert through here; the category-neutral
conversions (times, categories) are in `prum.services.common.wire`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prum.common.v1 import common_pb2
from prum.services.common.wire import SEARCH_PURPOSE_TO_PROTO, moment, search_purpose_from_proto, timestamp
from prum.services.exchange.context import QueryContext, ReplyHeader


def context_from_proto(message: common_pb2.QueryContext) -> QueryContext:
    return QueryContext(
        request_id=message.request_id, requesting_state=message.requesting_state,
        requested_state=message.requested_state, officer_id=message.officer_id,
        ordering_officer_id=message.ordering_officer_id, reason=message.reason,
        case_reference=message.case_reference, sent_at=moment(message.sent_at, message.HasField("sent_at")),
        purpose=search_purpose_from_proto(message.purpose, "context.purpose"))


def context_to_proto(context: QueryContext) -> common_pb2.QueryContext:
    return common_pb2.QueryContext(
        request_id=context.request_id, requesting_state=context.requesting_state,
        requested_state=context.requested_state, officer_id=context.officer_id,
        ordering_officer_id=context.ordering_officer_id, reason=context.reason,
        case_reference=context.case_reference, sent_at=timestamp(context.sent_at),
        purpose=SEARCH_PURPOSE_TO_PROTO[context.purpose])


def header_to_proto(header: ReplyHeader) -> common_pb2.ReplyHeader:
    return common_pb2.ReplyHeader(
        request_id=header.request_id, reply_id=header.reply_id, replied_at=timestamp(header.replied_at),
        requesting_state=header.requesting_state, requested_state=header.requested_state)


def header_from_proto(message: common_pb2.ReplyHeader) -> ReplyHeader:
    return ReplyHeader(
        request_id=message.request_id, reply_id=message.reply_id,
        replied_at=moment(message.replied_at, message.HasField("replied_at")) or datetime.now(UTC),
        requesting_state=message.requesting_state, requested_state=message.requested_state)
