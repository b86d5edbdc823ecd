"""The [auth] table: what it accepts, and one error naming the key for everything it refuses."""

from __future__ import annotations

import pytest

from execution_server.auth.principal import Role
from execution_server.auth.tokens import (
    DEFAULT_MAX_CONCURRENT_RPCS,
    DEFAULT_MAX_OPEN_STREAMS,
    AuthConfigError,
    hash_token,
    parse_auth,
)
from execution_server.config import ConfigError, Settings

MOMENTUM = {"name": "momentum", "sha256": hash_token("m-secret"), "role": "strategy", "strategies": ["momentum_v1"]}
OPS = {"name": "ops", "sha256": hash_token("o-secret"), "role": "operator"}


def test_tokens_are_found_by_the_hash_of_what_the_client_sends() -> None:
    config = parse_auth({"tokens": [MOMENTUM, OPS]})
    assert config is not None
    momentum = config.by_token("m-secret")
    assert momentum is not None and momentum.principal.role is Role.STRATEGY
    assert momentum.principal.strategies == frozenset({"momentum_v1"})
    ops = config.by_token("o-secret")
    assert ops is not None and ops.principal.is_operator and ops.principal.strategies is None
    assert config.by_token("m-secret\n") is None and config.by_token("") is None


def test_enabled_is_the_default_once_a_token_is_configured_and_false_means_open() -> None:
    assert parse_auth({"tokens": [OPS]}) is not None
    assert parse_auth({"enabled": False, "tokens": [OPS]}) is None
    assert parse_auth({}) is None and parse_auth(None) is None


def test_an_uppercase_hash_is_accepted_and_kept_lowercase() -> None:
    config = parse_auth({"tokens": [{**OPS, "sha256": hash_token("o-secret").upper()}]})
    assert config is not None and config.by_token("o-secret") is not None


def test_caps_default_globally_and_per_token() -> None:
    config = parse_auth({"max_open_streams": 3, "tokens": [MOMENTUM, {**OPS, "max_concurrent_rpcs": 7}]})
    assert config is not None
    momentum, ops = config.tokens
    assert (momentum.max_concurrent_rpcs, momentum.max_open_streams) == (DEFAULT_MAX_CONCURRENT_RPCS, 3)
    assert (ops.max_concurrent_rpcs, ops.max_open_streams) == (7, 3)


@pytest.mark.parametrize(
    ("table", "setting"),
    [
        ({"enabled": True}, "auth.tokens"),
        ({"enabled": "yes", "tokens": [OPS]}, "auth.enabled"),
        ({"token": [OPS]}, "auth.token"),
        ({"tokens": {"name": "x"}}, "auth.tokens"),
        ({"tokens": [OPS, {**MOMENTUM, "sha256": "abc"}]}, "auth.tokens[1].sha256"),
        ({"tokens": [{**OPS, "sha256": "g" * 64}]}, "auth.tokens[0].sha256"),
        ({"tokens": [{**OPS, "role": "admin"}]}, "auth.tokens[0].role"),
        ({"tokens": [{**OPS, "strategies": ["momentum_v1"]}]}, "auth.tokens[0].strategies"),
        ({"tokens": [{**MOMENTUM, "strategies": []}]}, "auth.tokens[0].strategies"),
        ({"tokens": [{k: v for k, v in MOMENTUM.items() if k != "strategies"}]}, "auth.tokens[0].strategies"),
        ({"tokens": [{**MOMENTUM, "strategies": [" momentum_v1"]}]}, "auth.tokens[0].strategies"),
        ({"tokens": [{**OPS, "name": ""}]}, "auth.tokens[0].name"),
        ({"tokens": [{**OPS, "colour": "red"}]}, "auth.tokens[0].colour"),
        ({"tokens": [OPS, {**MOMENTUM, "name": "ops"}]}, "auth.tokens[1].name"),
        ({"tokens": [OPS, {**MOMENTUM, "sha256": OPS["sha256"].upper()}]}, "auth.tokens[1].sha256"),
        ({"tokens": [{**OPS, "client_cert": "a"}, {**MOMENTUM, "client_cert": "a"}]}, "auth.tokens[1].client_cert"),
        ({"max_open_streams": 0, "tokens": [OPS]}, "auth.max_open_streams"),
        ({"tokens": [{**OPS, "max_concurrent_rpcs": "8"}]}, "auth.tokens[0].max_concurrent_rpcs"),
        ({"tokens": ["ops"]}, "auth.tokens[0]"),
    ],
)
def test_a_bad_table_is_one_error_naming_the_key(table, setting) -> None:
    with pytest.raises(AuthConfigError) as refused:
        parse_auth(table)
    assert refused.value.setting == setting
    assert "\n" not in str(refused.value)


def test_a_pasted_token_is_never_quoted_back() -> None:
    with pytest.raises(AuthConfigError) as refused:
        parse_auth({"tokens": [{**OPS, "sha256": "my-plain-text-token"}]})
    assert "my-plain-text-token" not in str(refused.value)


def test_settings_refuse_a_bad_auth_table_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"^auth\.tokens\[0\]\.role: "):
        Settings(auth={"tokens": [{**OPS, "role": "root"}]})


def test_check_config_masks_the_hashes() -> None:
    shown = Settings(auth={"tokens": [OPS]}).masked()
    assert shown["auth"]["tokens"][0]["sha256"] == "***"
    assert OPS["sha256"] not in str(shown)


def test_the_file_s_auth_table_reaches_the_settings(tmp_path) -> None:
    from execution_server.config import load_settings

    path = tmp_path / "config.toml"
    path.write_text(
        '[auth]\nmax_open_streams = 2\n[[auth.tokens]]\nname = "ops"\n'
        f'sha256 = "{OPS["sha256"]}"\nrole = "operator"\n[server]\nreflection = false\n'
    )
    settings = load_settings({"EXECUTION_CONFIG": str(path)})
    assert settings.reflection is False
    assert parse_auth(settings.auth) is not None


def test_hash_token_is_the_hex_sha256_of_the_utf8_bytes() -> None:
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
