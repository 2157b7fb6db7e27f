"""The contracts' time conversions agree with protobuf's own, to the microsecond, on either side of the epoch."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from prum.services.common.wire import moment, timestamp

AWARE = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),
                     timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=2)),
                                                timezone(timedelta(hours=-5, minutes=-30))]))


@given(AWARE)
def test_timestamp_is_protobufs_own(value: datetime) -> None:
    expected = Timestamp()
    expected.FromDatetime(value.astimezone(timezone.utc))
    assert timestamp(value) == expected


@given(AWARE)
def test_moment_reads_back_the_same_instant_in_utc(value: datetime) -> None:
    stamp = timestamp(value)
    assert stamp is not None
    back = moment(stamp)
    assert back == value and back.tzinfo is timezone.utc
    assert back == stamp.ToDatetime(tzinfo=timezone.utc)


def test_absent_times() -> None:
    assert timestamp(None) is None
    assert moment(Timestamp(), present=False) is None
    assert moment(Timestamp()) is None  # the zero Timestamp is an unset field
