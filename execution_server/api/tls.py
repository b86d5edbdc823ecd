"""The server's TLS credentials, read from [server.tls]'s files and read again when they change.

gRPC asks `CertificateFiles.fetch` at every new connection (grpc.dynamic_ssl_server_credentials):
it compares the files' stat stamps with the last ones seen and answers None (unchanged) until a
file is replaced, so that a renewed certificate is served to the next connection without a
restart, and an unchanged one costs a few stat calls. Material that does not load (a cert and
key that do not match, a half-written file) is logged once and the certificate in use is kept.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

import grpc

from execution_server.config_fields import ConfigError
from execution_server.config_transport import TlsConfig

log = logging.getLogger(__name__)

Stamp = tuple[tuple[int, int, int] | None, ...]  # per file: (inode, size, mtime in ns), None if unreadable


@dataclass(frozen=True, slots=True)
class Material:
    certificate_chain: bytes
    private_key: bytes
    client_ca: bytes | None


class CertificateFiles:
    """The certificate, key and client CA files of [server.tls], as gRPC's fetcher."""

    def __init__(self, config: TlsConfig) -> None:
        if not config.enabled:
            raise ValueError("TLS is not configured")
        self._config = config
        self._paths: tuple[Path, ...] = tuple(p for p in (config.cert_file, config.key_file, config.client_ca_file) if p)
        self._lock = threading.Lock()  # gRPC may ask from several of its threads at once
        self._stamp = _stamp(self._paths)
        try:
            self._material = load(config)
        except MaterialError as error:
            raise ConfigError(error.setting, str(error)) from None

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.dynamic_ssl_server_credentials(
            self._configuration(self._material), self.fetch, require_client_authentication=self._config.mutual
        )

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """The new configuration when a file changed and loads; None (keep the current) otherwise."""
        with self._lock:
            stamp = _stamp(self._paths)
            if stamp == self._stamp:
                return None
            self._stamp = stamp  # a failure is logged once per change, not once per connection
            try:
                material = load(self._config)
            except MaterialError as error:
                log.error("TLS: %s; the certificate in use is kept until the files load", error)
                return None
            if _stamp(self._paths) != stamp:  # changed while being read: read again next time
                self._stamp = ()
                return None
            if material == self._material:
                return None
            self._material = material
        log.info("TLS: certificate reloaded from %s", self._config.cert_file)
        return self._configuration(material)

    @staticmethod
    def _configuration(material: Material) -> grpc.ServerCertificateConfiguration:
        return grpc.ssl_server_certificate_configuration(
            [(material.private_key, material.certificate_chain)], root_certificates=material.client_ca
        )


class MaterialError(Exception):
    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting


def load(config: TlsConfig) -> Material:
    """Read and check the files: the chain and key parse and belong together, the client CA
    holds at least one certificate. Checked with the standard library's TLS (the same PEM),
    so that a bad file is refused here rather than failing every handshake."""
    assert config.cert_file is not None and config.key_file is not None
    chain = _read("server.tls.cert_file", config.cert_file)
    key = _read("server.tls.key_file", config.key_file)
    client_ca = _read("server.tls.client_ca_file", config.client_ca_file) if config.client_ca_file else None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(config.cert_file, config.key_file)
    except ssl.SSLError as error:
        raise MaterialError("server.tls.cert_file", f"the certificate and key do not load together ({error.reason})") from None
    if client_ca is not None:
        try:
            context.load_verify_locations(cadata=client_ca.decode("ascii", errors="replace"))
        except ssl.SSLError as error:
            raise MaterialError("server.tls.client_ca_file", f"no CA certificate loads from it ({error.reason})") from None
    return Material(chain, key, client_ca)


def _read(setting: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise MaterialError(setting, f"cannot read {str(path)[:200]}: {error.strerror or error}") from None


def _stamp(paths: tuple[Path, ...]) -> Stamp:
    stamps = []
    for path in paths:
        try:
            status = os.stat(path)
        except OSError:
            stamps.append(None)
        else:
            stamps.append((status.st_ino, status.st_size, status.st_mtime_ns))
    return tuple(stamps)
