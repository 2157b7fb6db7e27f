"""The supervisors' transport to each other over gRPC: readiness changes, declarations and joint cases
shared with the other states' supervisors, and what a supervisor lists for another's catch-up.

In the router topology the Prüm II router keeps a readiness book too (P2-GATE-1): every readiness change a
state announces goes to the router as well (`audience`), and the router's catch-up reads the states' supervisors
with `fetch_from_supervisor` on its own channels.

An adapter beside the servicer, not a core: it rides on the state's channels to its peers
(`prum.services.common.channels`), with a deadline on every call, and never waits for a state longer.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from prum.services.common.channels import PeerChannels
from prum.supervisor.v1 import supervisor_pb2, supervisor_pb2_grpc

#: The peer-facing supervisor call that carries each kind of change.
_SHARE_METHOD = {supervisor_pb2.ShareReadinessChangeRequest: "ShareReadinessChange",  # GATE-2
                 supervisor_pb2.ShareDeclarationRequest: "ShareDeclaration",  # DEC-1
                 supervisor_pb2.ShareJointCaseRequest: "ShareJointCase"}  # AUD-1


def audience(members: list[str], state: str, change: Any, router: str | None = None) -> list[str]:
    """Who is told of `state`'s change when it names no one: every other member; for a readiness change (GATE-2)
    also `router`, the Prüm II router's code when the federation runs the router topology (its book decides
    whether a state's router connection is ready, P2-GATE-1)."""
    others = [code for code in members if code != state]
    if router is not None and isinstance(change, supervisor_pb2.ShareReadinessChangeRequest):
        others.append(router)
    return others


def share_with_supervisors(channels: PeerChannels, states: list[str], change: Any, timeout_s: float) -> list[str]:
    """Tell every listed state's supervisor of a change in parallel: a readiness change, a declaration or a
    joint case, by the type of `change`. The states not reached within the deadline are returned, never
    waited for longer."""
    method = _SHARE_METHOD[type(change)]

    def tell(state: str) -> str | None:
        try:
            stub = supervisor_pb2_grpc.SupervisorServiceStub(channels.channel(state))
            getattr(stub, method)(change, timeout=timeout_s)
        except (grpc.RpcError, KeyError):
            return state
        return None

    if not states:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(states)), thread_name_prefix="readiness") as pool:
        return sorted(state for state in pool.map(tell, states) if state)


#: What a supervisor lists for another state's catch-up: the call, its request for `state`, the listed fields.
_FETCH = {
    "declarations": ("ListDeclarations", lambda state: supervisor_pb2.ListDeclarationsRequest(state=state),
                     ("declarations",)),  # DEC-1: `state`'s declarations in force
    "readiness": ("GetReadiness", lambda state: supervisor_pb2.GetReadinessRequest(state=state),
                  ("readiness", "votes")),  # GATE-2: `state`'s own readiness rows; GATE-1: its votes
    "joint_cases": ("ListJointCases", lambda state: supervisor_pb2.ListJointCasesRequest(),
                    ("joint_cases",)),  # AUD-1: the joint cases `state`'s DPA holds with the caller's
}


def fetch_from_supervisor(channels: PeerChannels, state: str, what: str, timeout_s: float) -> list[Any]:
    """What `state`'s supervisor lists for a catch-up (`what`: declarations, readiness, joint_cases); raises
    grpc.RpcError or KeyError if it cannot be reached."""
    method, request, fields = _FETCH[what]
    stub = supervisor_pb2_grpc.SupervisorServiceStub(channels.channel(state))
    reply = getattr(stub, method)(request(state), timeout=timeout_s)
    return [item for field in fields for item in getattr(reply, field)]
