"""Signed checkpoints of the protocol log (LOG-5): the chain's head, signed with the state's key.

The hash chain alone shows an edit, a deletion or an insertion, but not a rewrite of the whole
chain with every hash recomputed: the algorithm is public. A checkpoint (state, sequence, head
hash, time) signed with the state's private key (the key of its federation certificate,
`federation/runtime/pki.py`) anchors the chain: nobody without the key can sign a new one, so `verify`
finds a rewritten chain at the first checkpoint whose hash no longer matches, and a forged
checkpoint by its signature. A checkpoint handed out (`ProtocolLoggerService.ListCheckpoints`, a
DPA's export) is also an anchor outside the file: `check_checkpoint` verifies it with the
certificate alone.

Signature: ECDSA with SHA-256 over `payload()`, a fixed text form, with the key of the state's
certificate (P-256 in the federation PKI; any EC key works).

Certificates change, logs stay: a certificate is valid 825 days and is re-issued, while the log is
kept 2 years and the Netherlands' judicial evidence 4. So each checkpoint carries the certificate
that signed it (DER), and a checker that knows the federation CA accepts a checkpoint signed by
*any* certificate the CA issued to that state and that was valid when the checkpoint was signed;
without the CA only the state's current certificate counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from prum.services.common.errors import InvalidInput
from prum.services.logger.entry import format_moment

_ALGORITHM = ec.ECDSA(hashes.SHA256())
_DOMAIN = "prum.logger.v1.checkpoint"


@dataclass(frozen=True)
class SignedCheckpoint:
    """The chain of `state`'s log had `hash` as the hash of entry `sequence` at `signed_at`."""

    state: str
    sequence: int
    hash: str
    signed_at: datetime
    signature: bytes
    #: The signer's certificate, DER; empty if unknown (then only the checker's current certificate counts).
    certificate: bytes = b""

    def payload(self) -> bytes:
        return checkpoint_payload(self.state, self.sequence, self.hash, self.signed_at)


def checkpoint_payload(state: str, sequence: int, digest: str, signed_at: datetime) -> bytes:
    """The bytes signed: a domain tag, so no other signature of the state's key can pass for a checkpoint."""
    return f"{_DOMAIN}\n{state}\n{sequence}\n{digest}\n{format_moment(signed_at)}".encode()


def certificate_state(certificate: x509.Certificate) -> str:
    """The state code in a federation certificate's subject (its common name)."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


@dataclass(frozen=True)
class CheckpointKey:
    """The state's certificate (to check checkpoints) and, on the state's own logger, its key (to sign);
    with the federation CA's certificate, checkpoints signed under the state's earlier certificates count too."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey | None = None
    ca_certificate: x509.Certificate | None = None

    def __post_init__(self) -> None:
        public_key = self.certificate.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise InvalidInput("the certificate's key is not an EC key; checkpoints are signed with ECDSA",
                               field="certificate")
        if self.private_key is not None and (
                self.private_key.public_key().public_numbers() != public_key.public_numbers()):
            raise InvalidInput("the private key does not belong to the certificate", field="private_key")

    @classmethod
    def from_pem(cls, cert_pem: bytes, key_pem: bytes | None = None, ca_pem: bytes | None = None) -> CheckpointKey:
        """From PEM, as in `TlsMaterial` (cert_pem, key_pem, ca_pem) or the files `FederationPki.write` leaves."""
        key = serialization.load_pem_private_key(key_pem, password=None) if key_pem else None
        if key is not None and not isinstance(key, ec.EllipticCurvePrivateKey):
            raise InvalidInput("is not an EC private key", field="key_pem")
        return cls(x509.load_pem_x509_certificate(cert_pem), key,
                   x509.load_pem_x509_certificate(ca_pem) if ca_pem else None)

    @property
    def state(self) -> str:
        return certificate_state(self.certificate)

    @property
    def can_sign(self) -> bool:
        return self.private_key is not None

    def sign(self, state: str, sequence: int, digest: str, signed_at: datetime) -> SignedCheckpoint:
        if self.private_key is None:
            raise InvalidInput("this logger holds the certificate only, not the key; it cannot sign",
                               field="private_key")
        signature = self.private_key.sign(checkpoint_payload(state, sequence, digest, signed_at), _ALGORITHM)
        return SignedCheckpoint(state, sequence, digest, signed_at, signature,
                                self.certificate.public_bytes(serialization.Encoding.DER))

    def check(self, checkpoint: SignedCheckpoint) -> bool:
        """True if the checkpoint was signed with this certificate's key, or (given the CA) with the key of
        another certificate the CA issued to this state and that was valid when it signed."""
        return check_checkpoint(checkpoint, self.certificate, self.ca_certificate)


def _signer(checkpoint: SignedCheckpoint, certificate: x509.Certificate,
            ca_certificate: x509.Certificate | None) -> x509.Certificate | None:
    """The certificate whose key must have signed `checkpoint`: the current one, or the one it carries if the
    CA issued that one to the same state and it was valid at the time of signing."""
    current = certificate.public_bytes(serialization.Encoding.DER)
    if not checkpoint.certificate or checkpoint.certificate == current:
        return certificate
    if ca_certificate is None:
        return None
    try:
        carried = x509.load_der_x509_certificate(checkpoint.certificate)
        carried.verify_directly_issued_by(ca_certificate)
    except (ValueError, TypeError, InvalidSignature):
        return None
    if certificate_state(carried) != certificate_state(certificate):
        return None
    if not carried.not_valid_before_utc <= checkpoint.signed_at <= carried.not_valid_after_utc:
        return None
    return carried


def check_checkpoint(checkpoint: SignedCheckpoint, certificate: x509.Certificate,
                     ca_certificate: x509.Certificate | None = None) -> bool:
    """True if `checkpoint` names the state of `certificate` and is signed by its key, or, given the
    federation CA, by the key of the certificate it carries, if the CA issued that one to the same state
    and it was valid when the checkpoint was signed (a re-issued certificate keeps old checkpoints good)."""
    if checkpoint.state != certificate_state(certificate):
        return False
    signer = _signer(checkpoint, certificate, ca_certificate)
    if signer is None:
        return False
    public_key = signer.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return False
    try:
        public_key.verify(checkpoint.signature, checkpoint.payload(), _ALGORITHM)
    except InvalidSignature:
        return False
    return True
