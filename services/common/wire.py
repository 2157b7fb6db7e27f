"""Conversions between the contracts' messages and the plain types of `services/common`, shared by all servicers:
times and categories. The exchange's context and header convert in `prum.services.exchange.wire`, each
service's own messages in its `wire` module."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.services.common.category import Category
from prum.services.common.fan_out import ResultStatus
from prum.services.common.purpose import SearchPurpose

CATEGORY_TO_PROTO = {
    Category.DNA: common_pb2.CATEGORY_DNA,
    Category.FINGERPRINT: common_pb2.CATEGORY_FINGERPRINT,
    Category.VEHICLE: common_pb2.CATEGORY_VEHICLE,
    Category.PERSON_INFORMATION: common_pb2.CATEGORY_PERSON_INFORMATION,
    Category.ROUTER_CONNECTION: common_pb2.CATEGORY_ROUTER_CONNECTION,
    Category.FACE: common_pb2.CATEGORY_FACE,
    Category.POLICE_RECORD: common_pb2.CATEGORY_POLICE_RECORD,
}
#: Keyed by plain int: a message's field holds any number, not only the enum's.
CATEGORY_FROM_PROTO: dict[int, Category] = {v: k for k, v in CATEGORY_TO_PROTO.items()}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(moment: datetime | None) -> Timestamp | None:
    """A time as a protobuf Timestamp (a naive time is taken as local time). Computed from the distance to the
    epoch: `Timestamp.FromDatetime` is Python code around `calendar.timegm`, 3.5x slower, and every reply
    carries several (its header's time, a vehicle's registration history)."""
    if moment is None:
        return None
    since = (moment if moment.tzinfo is not None else moment.astimezone(UTC)) - _EPOCH
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
                           f"CATEGORY_VEHICLE, CATEGORY_FACE, CATEGORY_POLICE_RECORD", field=field) from None


#: A per-state outcome as the contracts carry it (an officer's StateResult, the router's RoutedResult and log).
STATUS_TO_PROTO: dict[ResultStatus, cp_pb2.ResultStatus.ValueType] = {
    status: cp_pb2.ResultStatus.Value(f"RESULT_STATUS_{status.value}") for status in ResultStatus}
#: Keyed by plain int: a message's field holds any number, not only the enum's.
STATUS_FROM_PROTO: dict[int, ResultStatus] = {v: k for k, v in STATUS_TO_PROTO.items()}


#: Why a search is made (P2-SCOPE-1, P2-EUROPOL-1), as every query context and log entry carries it.
SEARCH_PURPOSE_TO_PROTO: dict[SearchPurpose, common_pb2.SearchPurpose.ValueType] = {
    purpose: common_pb2.SearchPurpose.Value(f"SEARCH_PURPOSE_{purpose.name}") for purpose in SearchPurpose}
#: Keyed by plain int; the unspecified zero value is a criminal investigation (clients older than the field).
SEARCH_PURPOSE_FROM_PROTO: dict[int, SearchPurpose] = {
    common_pb2.SEARCH_PURPOSE_UNSPECIFIED: SearchPurpose.CRIMINAL_INVESTIGATION,
    **{v: k for k, v in SEARCH_PURPOSE_TO_PROTO.items()}}


def search_purpose_from_proto(value: int, field: str = "purpose") -> SearchPurpose:
    from prum.services.common.errors import InvalidInput

    try:
        return SEARCH_PURPOSE_FROM_PROTO[value]
    except KeyError:
        raise InvalidInput(f"{value} is not a search purpose; allowed: "
                           f"{', '.join(common_pb2.SearchPurpose.keys())}", field=field) from None
