"""The `[auth]` table: bearer tokens as SHA-256 hashes, their roles, strategies and caps. Pure.

    [auth]
    enabled = true                  # the default once any token is configured
    max_concurrent_rpcs = 64        # per token, unary calls in flight; a token may override it
    max_open_streams = 32           # per token, order streams open at once
    [[auth.tokens]]
    name = "momentum"               # shown in logs and the audit trail, never the token
    sha256 = "<hex sha256 of the token>"
    role = "strategy"               # or "operator"
    strategies = ["momentum_v1"]    # required, non-empty, for a strategy token
    client_cert = "momentum.desk"   # optional: a client certificate's CN or SAN stands in for it

An operator token acts for every strategy: `strategies` on one is refused rather than ignored,
because an operator who writes it expects a restriction that would not exist. Names and
hashes are unique. Every error is a ConfigError naming the key (`auth.tokens[2].sha256`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from execution_server.auth.principal import Principal, Role
from execution_server.config_fields import ConfigError
from execution_server.config_sources import read_toml

DEFAULT_MAX_CONCURRENT_RPCS = 64
DEFAULT_MAX_OPEN_STREAMS = 32

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_AUTH_KEYS = ("enabled", "tokens", "max_concurrent_rpcs", "max_open_streams")
_TOKEN_KEYS = ("name", "sha256", "role", "strategies", "client_cert", "max_concurrent_rpcs", "max_open_streams")


class AuthConfigError(ConfigError):
    """The `[auth]` table does not parse; `setting` is the key. A ConfigError, so that start-up
    and check-config report it like any other setting."""


def hash_token(token: str) -> str:
    """The lowercase hex SHA-256 of a token's UTF-8 bytes: what `[[auth.tokens]] sha256` holds."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenEntry:
    principal: Principal
    sha256: str  # lowercase hex
    client_cert: str | None
    max_concurrent_rpcs: int
    max_open_streams: int

    @property
    def name(self) -> str:
        return self.principal.name


class AuthConfig:
    """The tokens in force, looked up by hash (a dict keyed by the hash of what a client sent:
    nothing compares the secret itself byte by byte) or by certificate identity. Immutable."""

    def __init__(self, tokens: Iterable[TokenEntry]) -> None:
        self.tokens = tuple(tokens)
        self._by_hash = MappingProxyType({entry.sha256: entry for entry in self.tokens})
        self._by_certificate = MappingProxyType({entry.client_cert: entry for entry in self.tokens if entry.client_cert})

    def by_token(self, token: str) -> TokenEntry | None:
        return self._by_hash.get(hash_token(token))

    def by_certificate(self, identities: Iterable[str]) -> TokenEntry | None:
        """The token a verified client certificate stands in for: the first of its identities
        (subject CN, then SANs, as the transport reports them) that one is configured for."""
        for identity in identities:
            entry = self._by_certificate.get(identity)
            if entry is not None:
                return entry
        return None


def parse_auth(table: Mapping[str, Any] | None) -> AuthConfig | None:
    """The `[auth]` table as an AuthConfig; None when access is open (no table, or
    `enabled = false`). Raises AuthConfigError naming the first offending key."""
    if not table:
        return None
    if not isinstance(table, Mapping):
        raise AuthConfigError("auth", "expected an [auth] table")
    for key in table:
        if key not in _AUTH_KEYS:
            raise AuthConfigError(f"auth.{key}", f"unknown setting (known: {', '.join(_AUTH_KEYS)})")
    raw_tokens = table.get("tokens", [])
    if not isinstance(raw_tokens, list):
        raise AuthConfigError("auth.tokens", "expected [[auth.tokens]] tables")
    enabled = table.get("enabled", bool(raw_tokens))
    if not isinstance(enabled, bool):
        raise AuthConfigError("auth.enabled", "expected true or false")
    if not enabled:
        return None
    if not raw_tokens:
        raise AuthConfigError("auth.tokens", "auth is enabled but no [[auth.tokens]] is configured")
    rpcs = _cap(table, "auth", "max_concurrent_rpcs", DEFAULT_MAX_CONCURRENT_RPCS)
    streams = _cap(table, "auth", "max_open_streams", DEFAULT_MAX_OPEN_STREAMS)
    entries = [_token(f"auth.tokens[{index}]", raw, rpcs, streams) for index, raw in enumerate(raw_tokens)]
    _refuse_duplicates(entries)
    return AuthConfig(entries)


def load_auth_file(path: str | Path) -> AuthConfig | None:
    """Read the config file and parse its `[auth]` table, the way start-up does; any failure
    (missing file, bad TOML, bad token) is an AuthConfigError, so that a reload can keep the
    tokens in force."""
    try:
        document = read_toml(path)
    except ConfigError as error:
        raise AuthConfigError(error.setting, error.problem) from error
    return parse_auth(document.get("auth"))


def _token(where: str, raw: Any, default_rpcs: int, default_streams: int) -> TokenEntry:
    if not isinstance(raw, Mapping):
        raise AuthConfigError(where, "expected a table (name, sha256, role, strategies)")
    for key in raw:
        if key not in _TOKEN_KEYS:
            raise AuthConfigError(f"{where}.{key}", f"unknown setting (known: {', '.join(_TOKEN_KEYS)})")
    name = _text(raw, where, "name")
    digest = raw.get("sha256")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        # Never quote it: an operator who pasted the token itself must not see it in a log.
        raise AuthConfigError(f"{where}.sha256", "expected 64 hex characters (execution-server hash-token prints them)")
    role_text = raw.get("role")
    try:
        role = Role(role_text)
    except ValueError:
        raise AuthConfigError(f"{where}.role", 'expected "strategy" or "operator"') from None
    strategies = _strategies(raw, where, role)
    client_cert = _text(raw, where, "client_cert") if "client_cert" in raw else None
    return TokenEntry(
        principal=Principal(name=name, role=role, strategies=strategies),
        sha256=digest.lower(),
        client_cert=client_cert,
        max_concurrent_rpcs=_cap(raw, where, "max_concurrent_rpcs", default_rpcs),
        max_open_streams=_cap(raw, where, "max_open_streams", default_streams),
    )


def _strategies(raw: Mapping[str, Any], where: str, role: Role) -> frozenset[str] | None:
    if role is Role.OPERATOR:
        if "strategies" in raw:
            raise AuthConfigError(f"{where}.strategies", "an operator token acts for every strategy; remove it")
        return None
    listed = raw.get("strategies")
    if not isinstance(listed, list) or not listed:
        raise AuthConfigError(f"{where}.strategies", "a strategy token needs a non-empty list of strategy ids")
    if not all(isinstance(item, str) and item.strip() == item and item for item in listed):
        raise AuthConfigError(f"{where}.strategies", "expected strategy ids: non-empty strings without surrounding spaces")
    return frozenset(listed)


def _text(raw: Mapping[str, Any], where: str, key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip() or value.strip() != value or len(value) > 128:
        raise AuthConfigError(f"{where}.{key}", "expected a non-empty string of at most 128 characters, without surrounding spaces")
    return value


def _cap(raw: Mapping[str, Any], where: str, key: str, default: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AuthConfigError(f"{where}.{key}", "expected a whole number, at least 1")
    return value


def _refuse_duplicates(entries: list[TokenEntry]) -> None:
    names: set[str] = set()
    hashes: set[str] = set()
    certificates: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"auth.tokens[{index}]"
        if entry.name in names:
            raise AuthConfigError(f"{where}.name", f"{entry.name!r} is the name of an earlier token")
        if entry.sha256 in hashes:
            raise AuthConfigError(f"{where}.sha256", "the same hash as an earlier token")
        if entry.client_cert is not None and entry.client_cert in certificates:
            raise AuthConfigError(f"{where}.client_cert", "the same certificate identity as an earlier token")
        names.add(entry.name)
        hashes.add(entry.sha256)
        if entry.client_cert is not None:
            certificates.add(entry.client_cert)
