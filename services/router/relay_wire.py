"""The router's core-data forwarding log to its message (protobuf only, no gRPC)."""

from __future__ import annotations

from prum.router.v1 import core_data_relay_pb2 as pb
from prum.services.common.wire import CATEGORY_TO_PROTO, timestamp
from prum.services.router.log import RelayedEntry


def relayed_to_proto(entry: RelayedEntry) -> pb.RelayedCoreData:
    return pb.RelayedCoreData(
        sequence=entry.sequence, request_id=entry.request_id, message=entry.message, from_state=entry.from_state,
        to_state=entry.to_state, category=CATEGORY_TO_PROTO[entry.category], received_at=timestamp(entry.received_at),
        answered_at=timestamp(entry.answered_at), code=entry.code)
