"""How the tests send webhooks: couriers with short deadlines, resolvers they control, and a
certificate authority of their own for HTTPS receivers on loopback."""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from trustdesk.cases.outbound import AddressGuard, Courier, Resolver, system_resolver


def courier(
    deadline: float = 0.3,
    *,
    allow_internal: bool = True,
    resolver: Resolver = system_resolver,
    tls: ssl.SSLContext | None = None,
) -> Courier:
    """A short deadline and loopback receivers allowed (as outside production) by default."""
    guard = AddressGuard(allow_internal, resolver)
    if tls is None:
        return Courier(guard, deadline=deadline)
    return Courier(guard, deadline=deadline, ssl_context=tls)


@dataclass
class Names:
    """A resolver the test controls: each name answers its addresses, in turn if several
    answers are queued (a rebinding name server); every question is recorded."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def point(self, name: str, *answers: list[str]) -> None:
        self.answers[name] = list(answers)

    def __call__(self, host: str, port: int) -> Iterable[str]:
        self.asked.append(host)
        queued = self.answers.get(host)
        if not queued:
            raise OSError(f"no such name: {host}")
        return queued.pop(0) if len(queued) > 1 else queued[0]


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _signed(
    subject: str,
    issuer: x509.Name,
    public: ec.EllipticCurvePublicKey,
) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
    )


class Authority:
    """A throwaway CA: ``client()`` trusts only it, ``server(name)`` serves a cert for name."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = (
            _signed("trustdesk test CA", _name("trustdesk test CA"), self.key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ca.pem").write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def client(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.folder / "ca.pem"))

    def server(self, name: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            _signed(name, self.cert.subject, key.public_key())
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        pem = self.folder / f"{name}.pem"
        pem.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            + cert.public_bytes(serialization.Encoding.PEM)
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pem)
        return context
