"""EchoService: returns the payload it gets, through the same interceptors and TLS as every service."""

from __future__ import annotations

import grpc
from prum.echo.v1 import echo_pb2, echo_pb2_grpc


class EchoServicer(echo_pb2_grpc.EchoServiceServicer):
    def Echo(self, request: echo_pb2.EchoRequest, context: grpc.ServicerContext) -> echo_pb2.EchoResponse:
        return echo_pb2.EchoResponse(payload=request.payload)
