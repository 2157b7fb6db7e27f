"""What every cross-border call carries, without gRPC: the query context and the reply header.

Both halves of the exchange read and write them; `prum.services.exchange.wire` maps them to the
contract's `prum.common.v1.QueryContext` and `ReplyHeader`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prum.services.common.errors import InvalidInput, quote
from prum.services.common.identity import is_state_code
from prum.services.common.purpose import SearchPurpose


def check_state_code(value: str, field_name: str) -> str:
    if not is_state_code(value):
        raise InvalidInput(f"{quote(value)} is not a state code; allowed: ISO 3166 alpha-2 in capitals, e.g. 'NL'",
                           field=field_name)
    return value


@dataclass(frozen=True)
class QueryContext:
    """The context every cross-border call carries (contract `prum.common.v1.QueryContext`)."""

    request_id: str
    requesting_state: str
    requested_state: str
    officer_id: str = ""
    ordering_officer_id: str = ""
    reason: str = ""
    case_reference: str = ""
    sent_at: datetime | None = None
    #: Why (P2-SCOPE-1; Europol's task, P2-EUROPOL-1); a criminal investigation unless given.
    purpose: SearchPurpose = SearchPurpose.CRIMINAL_INVESTIGATION

    def validate(self) -> None:
        if not self.request_id:
            raise InvalidInput("is empty; every cross-border call carries the requesting NCP's request id",
                               field="context.request_id")
        check_state_code(self.requesting_state, "context.requesting_state")
        check_state_code(self.requested_state, "context.requested_state")
        if not self.reason.strip():
            raise InvalidInput("is empty; every query states its reason (LOG-2)", field="context.reason")


@dataclass(frozen=True)
class ReplyHeader:
    """What every reply carries (contract `prum.common.v1.ReplyHeader`): the request it answers and its own id."""

    request_id: str
    reply_id: str
    replied_at: datetime
    requesting_state: str
    requested_state: str
