"""Certificates made in the test: a CA, a server certificate for loopback, and client
certificates with a chosen common name and subject alternative names (for mutual TLS, and for
a client certificate that stands in for a token)."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK_NAMES = ("localhost",)
LOOPBACK_IPS = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, PEM."""

    certificate: x509.Certificate
    key_pem: bytes

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def write(self, directory: Path, name: str) -> tuple[Path, Path]:
        """(cert file, key file) in `directory`, replaced whole (a rename, as a renewal tool does)."""
        cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
        _replace(key_path, self.key_pem)
        _replace(cert_path, self.cert_pem)
        return cert_path, key_path


@dataclass(frozen=True)
class Authority(Issued):
    """A CA that issues server and client certificates."""

    key: ec.EllipticCurvePrivateKey | None = None

    def write_ca(self, directory: Path, name: str) -> Path:
        path = directory / f"{name}.crt"
        _replace(path, self.cert_pem)
        return path

    def server(self, common_name: str = "execution-server", dns_names: Sequence[str] = LOOPBACK_NAMES,
               ip_addresses: Sequence[str] = LOOPBACK_IPS) -> Issued:
        return self._issue(common_name, ExtendedKeyUsageOID.SERVER_AUTH, dns_names, ip_addresses, ())

    def client(self, common_name: str, *, dns_names: Sequence[str] = (), uris: Sequence[str] = (),
               ip_addresses: Sequence[str] = ()) -> Issued:
        """A client certificate: `common_name` is the subject's CN; the SAN holds the DNS names,
        URIs (a SPIFFE id, say) and IP addresses given, in that order."""
        return self._issue(common_name, ExtendedKeyUsageOID.CLIENT_AUTH, dns_names, ip_addresses, uris)

    def _issue(self, common_name: str, usage: x509.ObjectIdentifier, dns_names: Sequence[str],
               ip_addresses: Sequence[str], uris: Sequence[str]) -> Issued:
        assert self.key is not None
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
        names += [x509.UniformResourceIdentifier(uri) for uri in uris]
        names += [x509.IPAddress(ipaddress.ip_address(address)) for address in ip_addresses]
        builder = _builder(common_name, self.certificate.subject, key).add_extension(
            x509.BasicConstraints(ca=False, path_length=None), critical=True
        ).add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return Issued(builder.sign(self.key, hashes.SHA256()), _pem(key))


def new_authority(common_name: str = "test CA") -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        _builder(common_name, name, key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return Authority(certificate, _pem(key), key)


def channel_credentials(authority: Authority, client: Issued | None = None) -> grpc.ChannelCredentials:
    """A client that trusts `authority` for the server, presenting `client` when given."""
    if client is None:
        return grpc.ssl_channel_credentials(root_certificates=authority.cert_pem)
    return grpc.ssl_channel_credentials(authority.cert_pem, client.key_pem, client.cert_pem)


def _builder(common_name: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _replace(path: Path, content: bytes) -> None:
    staging = path.with_name(path.name + ".new")
    staging.write_bytes(content)
    staging.replace(path)
