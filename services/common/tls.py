"""Mutual TLS for every link of the federation (SEC-1): credentials and the caller's identity.

Servers require a client certificate signed by the federation CA; the calling state is read from
that certificate (its common name is the state code), never from the message. The check of a
message's claim against it is gRPC-free, in `prum.services.common.identity.check_claim`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc


@dataclass(frozen=True)
class TlsMaterial:
    """What one state needs to serve and to call over mTLS: the federation CA, its certificate and key."""

    state: str
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    @classmethod
    def load(cls, folder: Path, state: str) -> TlsMaterial:
        """Read ca.pem, <STATE>.pem and <STATE>.key, as written by `FederationPki.write`."""
        return cls(
            state=state,
            ca_pem=(folder / "ca.pem").read_bytes(),
            cert_pem=(folder / f"{state}.pem").read_bytes(),
            key_pem=(folder / f"{state}.key").read_bytes(),
        )

    def server_credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials(
            [(self.key_pem, self.cert_pem)], root_certificates=self.ca_pem, require_client_auth=True
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca_pem, private_key=self.key_pem, certificate_chain=self.cert_pem
        )


def server_name(state: str) -> str:
    """The name a state's server certificate carries for that state alone (a DNS subject alternative name), which
    a caller checks in the handshake to know it reached that state, on any address."""
    return f"{state.lower()}.prum.local"


def calling_state(context: Any) -> str | None:
    """The state code of the caller's verified client certificate, or None on an insecure channel."""
    auth = context.auth_context()
    names = auth.get("x509_common_name") or []
    if not names:
        return None
    value = names[0]
    return value.decode() if isinstance(value, bytes) else str(value)
