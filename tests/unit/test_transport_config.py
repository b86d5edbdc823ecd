"""[server.tls] and [server.limits]: read from the file or the environment, refused with the
key's name; the files must exist and load at start-up; plaintext beyond loopback is warned of."""

from __future__ import annotations

from pathlib import Path

import pytest

from execution_server.api.server import server_options
from execution_server.api.tls import CertificateFiles
from execution_server.config import ConfigError, ServerLimits, TlsConfig, load_settings
from execution_server.auth.open_access import is_loopback
from execution_server.config_transport import plaintext_warning
from tests.certs import new_authority


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    authority = new_authority()
    cert_file, key_file = authority.server().write(tmp_path, "server")
    return {"cert_file": cert_file, "key_file": key_file, "client_ca_file": authority.write_ca(tmp_path, "ca")}


def _from_file(tmp_path: Path, text: str, **environment: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "service.toml"
    path.write_text(text)
    return load_settings({"EXECUTION_CONFIG": str(path), **environment})


def test_tls_is_off_and_the_limits_bounded_by_default() -> None:
    settings = load_settings({})
    assert not settings.tls.enabled and settings.tls.mode == "plaintext"
    assert settings.limits == ServerLimits()
    options = dict(server_options(settings.keepalive_seconds, settings.limits))
    assert options["grpc.max_receive_message_length"] == 4 * 1024 * 1024
    assert options["grpc.max_send_message_length"] == 4 * 1024 * 1024
    assert options["grpc.max_concurrent_streams"] == 100
    assert options["grpc.max_connection_idle_ms"] == 300_000
    assert "grpc.max_connection_age_ms" not in options  # streams live for days: off unless asked


def test_the_tls_table_is_read_from_the_server_section(tmp_path: Path, files: dict[str, Path]) -> None:
    settings = _from_file(tmp_path, "[server.tls]\n" + "".join(f'{key} = "{path}"\n' for key, path in files.items()))
    assert settings.tls == TlsConfig(**files)
    assert settings.tls.mode == "mTLS"


def test_the_tls_files_may_come_from_the_environment(files: dict[str, Path]) -> None:
    settings = load_settings({"EXECUTION_TLS_CERT_FILE": str(files["cert_file"]), "EXECUTION_TLS_KEY_FILE": str(files["key_file"])})
    assert settings.tls.mode == "TLS"


@pytest.mark.parametrize(
    ("given", "setting", "words"),
    [
        (["cert_file"], "server.tls.key_file", "required with server.tls.cert_file"),
        (["key_file"], "server.tls.cert_file", "required with server.tls.key_file"),
        (["client_ca_file"], "server.tls.client_ca_file", "needs the server's own cert_file"),
    ],
)
def test_an_incomplete_tls_table_is_refused(tmp_path: Path, files: dict[str, Path], given: list[str], setting: str, words: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _from_file(tmp_path, "[server.tls]\n" + "".join(f'{key} = "{files[key]}"\n' for key in given))
    assert refused.value.setting == setting
    assert words in str(refused.value)


def test_a_tls_file_that_cannot_be_read_is_refused_with_its_key(tmp_path: Path, files: dict[str, Path]) -> None:
    with pytest.raises(ConfigError) as refused:
        _from_file(tmp_path, f'[server.tls]\ncert_file = "{tmp_path / "missing.crt"}"\nkey_file = "{files["key_file"]}"\n')
    assert refused.value.setting == "server.tls.cert_file"
    assert "cannot read" in str(refused.value)
    with pytest.raises(ConfigError) as refused:
        load_settings({"EXECUTION_TLS_CERT_FILE": str(tmp_path), "EXECUTION_TLS_KEY_FILE": str(files["key_file"])})
    assert refused.value.setting == "EXECUTION_TLS_CERT_FILE"


def test_an_unknown_key_of_the_tls_table_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        _from_file(tmp_path, '[server.tls]\ncertificate = "x"\n')
    assert refused.value.setting == "server.tls.certificate"
    assert "cert_file" in str(refused.value)


def test_a_certificate_and_key_that_do_not_belong_together_stop_start_up(tmp_path: Path, files: dict[str, Path]) -> None:
    other = new_authority().server()
    other_key = tmp_path / "other.key"
    other_key.write_bytes(other.key_pem)
    with pytest.raises(ConfigError) as refused:
        CertificateFiles(TlsConfig(cert_file=files["cert_file"], key_file=other_key))
    assert refused.value.setting == "server.tls.cert_file"
    assert "do not load together" in str(refused.value)


def test_a_client_ca_file_without_a_certificate_stops_start_up(tmp_path: Path, files: dict[str, Path]) -> None:
    not_a_ca = tmp_path / "ca.pem"
    not_a_ca.write_text("not a certificate\n")
    with pytest.raises(ConfigError) as refused:
        CertificateFiles(TlsConfig(cert_file=files["cert_file"], key_file=files["key_file"], client_ca_file=not_a_ca))
    assert refused.value.setting == "server.tls.client_ca_file"


def test_the_limits_are_read_and_refused_out_of_their_bounds(tmp_path: Path) -> None:
    settings = _from_file(
        tmp_path,
        "[server.limits]\nmax_receive_message_bytes = 65536\nmax_concurrent_streams = 8\n"
        "max_connection_idle_seconds = 60\nmax_connection_age_seconds = 3600\nmax_connection_age_grace_seconds = 30\n",
    )
    options = dict(server_options(settings.keepalive_seconds, settings.limits))
    assert options["grpc.max_receive_message_length"] == 65536
    assert options["grpc.max_concurrent_streams"] == 8
    assert options["grpc.max_connection_idle_ms"] == 60_000
    assert options["grpc.max_connection_age_ms"] == 3_600_000
    assert options["grpc.max_connection_age_grace_ms"] == 30_000
    for line, key in [("max_concurrent_streams = 0", "max_concurrent_streams"),
                      ("max_receive_message_bytes = 10", "max_receive_message_bytes"),
                      ("max_connection_idle_seconds = -1", "max_connection_idle_seconds")]:
        with pytest.raises(ConfigError) as refused:
            _from_file(tmp_path, f"[server.limits]\n{line}\n")
        assert refused.value.setting == f"server.limits.{key}"


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("127.0.0.1:50051", True), ("127.8.9.1:1", True), ("localhost:50051", True), ("[::1]:50051", True),
     ("0.0.0.0:50051", False), ("[::]:50051", False), ("10.0.0.5:50051", False), ("trading.example:443", False)],
)
def test_plaintext_is_warned_of_only_beyond_loopback(address: str, loopback: bool, files: dict[str, Path]) -> None:
    assert is_loopback(address) is loopback
    warning = plaintext_warning(address, TlsConfig())
    assert (warning is None) is loopback
    if warning is not None:
        assert "plaintext" in warning and "\n" not in warning
    assert plaintext_warning(address, TlsConfig(cert_file=files["cert_file"], key_file=files["key_file"])) is None
