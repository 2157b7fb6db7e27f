"""One state's channels to its peers: one gRPC channel per peer over mutual TLS, found through a directory.

Every transport of a state (the contact point's searches and follow-ups, the supervisors' sharing) rides
on the same `PeerChannels`, so a state holds one connection per peer whatever calls it makes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from opentelemetry.sdk.trace import TracerProvider
from prum.services.common.fan_out import ResultStatus
from prum.services.common.interceptors import REQUEST_ID_KEY
from prum.services.common.server import open_channel
from prum.services.common.tls import TlsMaterial

#: A peer's status code as a per-state result status; any other code of a failed call is REFUSED. The one table
#: for every fan-out (the contact point's in the mesh, the router's); nothing a peer answers becomes UNKNOWN.
STATUS_OF_CODE: dict[grpc.StatusCode, ResultStatus] = {
    grpc.StatusCode.FAILED_PRECONDITION: ResultStatus.NOT_READY,
    grpc.StatusCode.UNAVAILABLE: ResultStatus.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: ResultStatus.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED: ResultStatus.UNAVAILABLE,
}


def call_method(channel: grpc.Channel, method: MethodDescriptor, request: Message, reply_type: type[Message],
                timeout_s: float, request_id: str) -> Any:
    """One unary call of `method` (a service's method descriptor, as a category's wire names it) on a peer's
    channel, the request id in its metadata, as the generated stubs call it; raises grpc.RpcError."""
    call = channel.unary_unary(  # type: ignore[call-arg]  # _registered_method: not in types-grpcio
        f"/{method.containing_service.full_name}/{method.name}",
        request_serializer=type(request).SerializeToString, response_deserializer=reply_type.FromString,
        _registered_method=True)
    return call(request, timeout=timeout_s, metadata=((REQUEST_ID_KEY, request_id),))


def status_of_error(error: grpc.RpcError) -> tuple[ResultStatus, str, str]:
    """(per-state status, the peer's code name, its detail) of a call to a peer that failed."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNAVAILABLE
    detail = error.details() if hasattr(error, "details") else str(error)
    return STATUS_OF_CODE.get(code, ResultStatus.REFUSED), code.name, detail or ""


class PeerChannels:
    """Channels to the peers of one state, keyed by state code; `directory` maps a state to "host:port".

    The directory is read on every call. A directory may say more through `locate(state)`, which returns
    (address, generation): when a peer's address or its generation changes (a directory of published
    addresses has one: the peer's process started anew), the old channel is closed and a fresh one opened,
    so a restarted peer is reached at once, without the reconnect backoff its old channel built up while it
    was down."""

    def __init__(self, directory: Mapping[str, str], tls: TlsMaterial | None,
                 tracer_provider: TracerProvider | None = None) -> None:
        # Kept by reference: a launcher fills it in as the peers' servers bind their ports.
        self.directory = directory
        self.tls = tls
        self.tracer_provider = tracer_provider
        self._locate: Callable[[str], tuple[str, Any]] | None = getattr(directory, "locate", None)
        self._channels: dict[str, tuple[tuple[str, Any], grpc.Channel]] = {}
        self._lock = threading.Lock()

    def _where(self, state: str) -> tuple[str, Any]:
        """(address, what identifies the peer's current process there); KeyError when no address is known."""
        try:
            return self._locate(state) if self._locate is not None else (self.directory[state], None)
        except KeyError as error:
            raise KeyError(f"no address known for state {state}") from error

    def channel(self, state: str) -> grpc.Channel:
        """The channel to `state`; KeyError (with a readable message) when no address is known for it."""
        with self._lock:
            key = self._where(state)
            held = self._channels.get(state)
            if held is not None and held[0] == key:
                return held[1]
            if held is not None:
                held[1].close()  # the peer moved or started anew: its calls on the old channel are lost anyway
            channel = open_channel(key[0], self.tls, self.tracer_provider, state=state)
            self._channels[state] = (key, channel)
            return channel

    def close(self) -> None:
        with self._lock:
            for _, channel in self._channels.values():
                channel.close()
            self._channels.clear()
