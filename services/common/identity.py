"""Who is asking, without gRPC: what a state code is, and a message's claimed state checked against the caller's
certificate (SEC-1).

`prum.services.common.tls.calling_state` reads the certified state from a call; the cores and the
exchange compare it with the state a message claims here, so they need no gRPC import.
"""

from __future__ import annotations

import re

from prum.services.common.errors import IdentityMismatch

#: A state code: ISO 3166 alpha-2 in capitals, the one pattern every core and the contract rules use. \Z, since
#: "$" would also take "NL\n".
STATE_CODE = re.compile(r"\A[A-Z]{2}\Z")

#: The identity of the Prüm II central router (eu-LISA's): the code in its certificate's subject, issued by the
#: federation's CA. Not a member state's code (ISO 3166 reserves "EU" for the Union), so no state can hold it.
ROUTER = "EU"


def is_state_code(value: object) -> bool:
    """Whether `value` is a state code ("NL"), never an exception whatever it is."""
    return isinstance(value, str) and STATE_CODE.match(value) is not None


def check_claim(certified: str | None, claimed: str, routed: bool = False) -> None:
    """Refuse a call whose message claims another state than its certificate says (SEC-1).

    `certified` is None only on an insecure channel (a test or a member-state team's local run),
    where the claim cannot be checked and is taken as given.

    With `routed` (a search of a data service, or a core-data request or decision: the calls the router carries),
    a call whose certificate is the router's is taken in the name the message claims (P2-ROUTER-1, Art 47(1)):
    the router accepts a search or a core-data message only when its caller's certificate is the state that sends
    it, so the receiving state relies on that check instead of its own. Nothing else (a vote, a declaration, a
    follow-up) is taken from the router.
    """
    if routed and certified == ROUTER:
        return
    if certified is not None and certified != claimed:
        raise IdentityMismatch(
            f"the client certificate identifies state {certified}, but the request claims requesting_state "
            f"{claimed!r}; a state may only query in its own name"
        )
