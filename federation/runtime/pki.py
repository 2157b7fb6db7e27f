"""The federation's PKI: one certificate authority, one certificate per member state (SEC-1).

A state's certificate carries its ISO 3166 alpha-2 code in the subject (countryName and
commonName) and serves both as its server certificate and as its client certificate, so a called
service can tell which state is calling from the TLS handshake alone. The subject alternative
names cover loopback and the in-cluster service names used on Kubernetes. In the router topology the Prüm II
router (eu-LISA's) has a certificate of the same CA, its subject naming `ROUTER` ("EU"), the identity the states'
data services take a routed search from (P2-ROUTER-1).

    pki = FederationPki.create(["BE", "DE", "NL"])
    pki.write(Path("certs"))            # ca.pem, NL.pem, NL.key ...
    material = pki.material_for("NL")   # TlsMaterial for the server factory and channels
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from prum.services.common.identity import ROUTER
from prum.services.common.tls import TlsMaterial, server_name

VALIDITY = dt.timedelta(days=825)
_CURVE = ec.SECP256R1()  # P-256: fast handshakes, accepted by every gRPC TLS stack


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def namespace_of(state: str) -> str:
    """A state's Kubernetes namespace (`prum kube render`), which its certificate names."""
    return f"prum-{state.lower()}"


def state_hostnames(state: str) -> list[str]:
    """DNS names a state's services answer to: loopback and its Kubernetes namespace."""
    ns = namespace_of(state)
    return ["localhost", server_name(state), f"*.{ns}.svc", f"*.{ns}.svc.cluster.local"]


@dataclass
class FederationPki:
    ca_cert: x509.Certificate
    ca_key: ec.EllipticCurvePrivateKey
    name: str = "Prüm federation CA"
    states: dict[str, tuple[x509.Certificate, ec.EllipticCurvePrivateKey]] = field(default_factory=dict)

    @classmethod
    def create(cls, states: list[str] | tuple[str, ...] = (), name: str = "Prüm federation CA",
               now: dt.datetime | None = None) -> FederationPki:
        now = now or dt.datetime.now(dt.UTC)
        key = ec.generate_private_key(_CURVE)
        subject = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "prum"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        pki = cls(ca_cert=cert, ca_key=key, name=name)
        for state in states:
            pki.issue(state, now=now)
        return pki

    def issue_router(self, now: dt.datetime | None = None) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """Issue (or re-issue) the certificate of the Prüm II router: code `ROUTER`, run by eu-LISA."""
        return self.issue(ROUTER, now=now, unit="central router (eu-LISA)")

    def issue(self, state: str, now: dt.datetime | None = None, unit: str = "national contact point"
              ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """Issue (or re-issue) the certificate of one member state (or, with its `unit`, of the router)."""
        key = ec.generate_private_key(_CURVE)
        cert = self._certificate(state, key.public_key(), now or dt.datetime.now(dt.UTC), unit)
        self.states[state] = (cert, key)
        return cert, key

    def sign_request(self, state: str, request: x509.CertificateSigningRequest,
                     now: dt.datetime | None = None) -> x509.Certificate:
        """The certificate of a state whose team made its own key (an external state): its certificate signing
        request, signed by this CA for the state's code. The request must be signed by its key, and name the state
        in its subject (C or CN) when it names one; the certificate's subject and names are the CA's, as for every
        state (SEC-1)."""
        if not request.is_signature_valid:
            raise ValueError("the certificate signing request is not signed by the key it carries")
        named = {a.value for oid in (NameOID.COUNTRY_NAME, NameOID.COMMON_NAME)
                 for a in request.subject.get_attributes_for_oid(oid)}
        if named and named != {state}:
            raise ValueError(f"the certificate signing request names {', '.join(sorted(map(str, named)))} in its "
                             f"subject, not {state}")
        public_key = request.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise ValueError("the certificate signing request carries no EC or RSA key; allowed: an EC key (P-256 "  # noqa: TRY004 - a bad file, refused as one
                             "as prum's own) or an RSA key")
        return self._certificate(state, public_key, now or dt.datetime.now(dt.UTC), "national contact point")

    def _certificate(self, state: str, public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey, now: dt.datetime,
                     unit: str) -> x509.Certificate:
        if len(state) != 2 or not state.isalpha() or not state.isupper():
            raise ValueError(f"state code must be ISO 3166 alpha-2 in capitals, got {state!r}")
        subject = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, state),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "prum"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, state),
        ])
        alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in state_hostnames(state)]
        alt_names += [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("::1"))]
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.ca_cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()), critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )

    @property
    def ca_pem(self) -> bytes:
        return self.ca_cert.public_bytes(serialization.Encoding.PEM)

    def material_for(self, state: str) -> TlsMaterial:
        cert, key = self.states[state]
        return TlsMaterial(
            state=state,
            ca_pem=self.ca_pem,
            cert_pem=cert.public_bytes(serialization.Encoding.PEM),
            key_pem=_pem_key(key),
        )

    def write_authority(self, folder: Path) -> None:
        """Write the CA's own key (`ca.key`, mode 0600) beside ca.pem, so that a later `prum pki issue` or `prum up`
        in the same folder issues from the same CA (an external state's certificate must chain to it). `write`
        never writes it: the states' folders and Kubernetes Secrets get no CA key."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ca.pem").write_bytes(self.ca_pem)
        key_path = folder / "ca.key"
        key_path.write_bytes(_pem_key(self.ca_key))
        key_path.chmod(0o600)

    @classmethod
    def load_authority(cls, folder: Path) -> FederationPki | None:
        """The CA `write_authority` wrote into `folder` (no state certificates), or None when it holds none."""
        if not (folder / "ca.key").exists():
            return None
        cert = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
        key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError(f"{folder / 'ca.key'} is not the federation CA's elliptic-curve key")
        name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        return cls(ca_cert=cert, ca_key=key, name=str(name))

    def write(self, folder: Path) -> None:
        """Write ca.pem and <STATE>.pem / <STATE>.key (mode 0600) into `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ca.pem").write_bytes(self.ca_pem)
        for state in self.states:
            material = self.material_for(state)
            (folder / f"{state}.pem").write_bytes(material.cert_pem)
            key_path = folder / f"{state}.key"
            key_path.write_bytes(material.key_pem)
            key_path.chmod(0o600)
