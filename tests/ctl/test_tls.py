"""execution-ctl over mutual TLS: --ca-file, --cert-file and --key-file, and what a refused
handshake exits with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from execution_server.config import TlsConfig
from tests.certs import new_authority
from tests.ctl.kit import ctl, serve
from tests.harness import settings_for


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    authority = new_authority("desk CA")
    cert, key = authority.server("execution-server").write(tmp_path, "server")
    client_cert, client_key = authority.client("ops.desk.example").write(tmp_path, "ops")
    return {"ca": authority.write_ca(tmp_path, "ca"), "cert": cert, "key": key,
            "client_cert": client_cert, "client_key": client_key}


@pytest.fixture
def tls_address(database_url: str, tmp_path: Path, files: dict[str, Path]) -> Iterator[str]:
    tls = TlsConfig(cert_file=files["cert"], key_file=files["key"], client_ca_file=files["ca"])
    yield from serve(settings_for(database_url, tmp_path, tls=tls))


def test_mutual_tls_with_the_clients_certificate(tls_address: str, files: dict[str, Path]) -> None:
    ran = ctl(tls_address, "--ca-file", str(files["ca"]), "--cert-file", str(files["client_cert"]),
              "--key-file", str(files["client_key"]), "orders")
    assert ran.code == 0, ran.err
    assert ran.out.strip() == "(no orders)"


def test_without_a_client_certificate_the_handshake_is_refused(tls_address: str, files: dict[str, Path]) -> None:
    ran = ctl(tls_address, "--timeout", "10", "--ca-file", str(files["ca"]), "orders")
    assert ran.code == 6 and "UNAVAILABLE" in ran.err


def test_an_unreadable_certificate_file_is_a_usage_error(tls_address: str, tmp_path: Path) -> None:
    ran = ctl(tls_address, "--ca-file", str(tmp_path / "absent.crt"), "orders")
    assert ran.code == 2 and "absent.crt" in ran.err
