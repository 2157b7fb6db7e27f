"""Who is asking, without gRPC: a message's claimed state checked against the caller's certificate (SEC-1).

`prum.services.common.tls.calling_state` reads the certified state from a call; the cores and the
exchange compare it with the state a message claims here, so they need no gRPC import.
"""

from __future__ import annotations

from prum.services.common.errors import IdentityMismatch


def check_claim(certified: str | None, claimed: str) -> None:
    """Refuse a call whose message claims another state than its certificate says (SEC-1).

    `certified` is None only on an insecure channel (a test or a member-state team's local run),
    where the claim cannot be checked and is taken as given.
    """
    if certified is not None and certified != claimed:
        raise IdentityMismatch(
            f"the client certificate identifies state {certified}, but the request claims requesting_state "
            f"{claimed!r}; a state may only query in its own name"
        )
