"""The NCP's transport to its peers over gRPC and mutual TLS: one channel per peer, a deadline on every call.

A peer's status code becomes a per-state result status here, in one table; nothing a peer answers
turns into UNKNOWN.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import grpc
from opentelemetry.sdk.trace import TracerProvider

from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.services.common.exchange import QueryContext
from prum.services.common.interceptors import REQUEST_ID_KEY
from prum.services.common.server import open_channel
from prum.services.common.tls import TlsMaterial
from prum.services.common.wire import context_to_proto, header_from_proto
from prum.services.contact_point.search import PeerAnswer, ResultStatus
from prum.services.logger import Category

STATUS_OF_CODE: dict[grpc.StatusCode, ResultStatus] = {
    grpc.StatusCode.FAILED_PRECONDITION: ResultStatus.NOT_READY,
    grpc.StatusCode.UNAVAILABLE: ResultStatus.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: ResultStatus.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED: ResultStatus.UNAVAILABLE,
}


def answer_of_error(error: grpc.RpcError) -> PeerAnswer:
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNAVAILABLE
    detail = error.details() if hasattr(error, "details") else str(error)
    return PeerAnswer(STATUS_OF_CODE.get(code, ResultStatus.REFUSED), code.name, detail or "")


class GrpcPeers:
    """Channels to the peers of one state, keyed by state code; `directory` maps a state to "host:port"."""

    def __init__(self, directory: Mapping[str, str], tls: TlsMaterial | None,
                 tracer_provider: TracerProvider | None = None) -> None:
        # Kept by reference: a launcher fills it in as the peers' servers bind their ports.
        self.directory = directory
        self.tls = tls
        self.tracer_provider = tracer_provider
        self._channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()

    def channel(self, state: str) -> grpc.Channel:
        with self._lock:
            if state not in self._channels:
                if state not in self.directory:
                    raise KeyError(f"no address known for state {state}")
                self._channels[state] = open_channel(self.directory[state], self.tls, self.tracer_provider)
            return self._channels[state]

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()

    def ask(self, category: Category, context: QueryContext, query: Any, timeout_s: float) -> PeerAnswer:
        metadata = ((REQUEST_ID_KEY, context.request_id),)
        try:
            if category is Category.DNA:
                stub = dna_pb2_grpc.DnaIndexServiceStub(self.channel(context.requested_state))
                reply = stub.Search(dna_pb2.SearchRequest(context=context_to_proto(context), profile=query),
                                    timeout=timeout_s, metadata=metadata)
                hits = tuple(reply.hits)
                return PeerAnswer(ResultStatus.HIT if hits else ResultStatus.NO_HIT, "OK", "",
                                  header_from_proto(reply.header), hits, tuple(h.reference for h in hits))
        except grpc.RpcError as error:
            return answer_of_error(error)
        return PeerAnswer(ResultStatus.REFUSED, "UNIMPLEMENTED",
                          f"{category.name} searches are not implemented by this NCP yet")
