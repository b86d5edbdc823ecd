"""Tokens for the authorisation tests, and a service configured with them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from execution_server.auth.tokens import hash_token
from execution_server.config import Settings
from tests.harness import settings_for
from tests.secret_scan import register_secret

MOMENTUM_TOKEN = "momentum-token-0123456789"   # strategy: momentum_v1
DESK_TOKEN = "desk-token-0123456789"           # strategy: pairs and mean_rev
OPERATOR_TOKEN = "operator-token-0123456789"
UNKNOWN_TOKEN = "nobody-token-0123456789"
for _token in (MOMENTUM_TOKEN, DESK_TOKEN, OPERATOR_TOKEN, UNKNOWN_TOKEN):
    register_secret(_token)  # a token a client sends must never be written anywhere

TOKENS: list[dict[str, Any]] = [
    {"name": "momentum", "sha256": hash_token(MOMENTUM_TOKEN), "role": "strategy", "strategies": ["momentum_v1"]},
    {"name": "desk", "sha256": hash_token(DESK_TOKEN), "role": "strategy", "strategies": ["pairs", "mean_rev"]},
    {"name": "ops", "sha256": hash_token(OPERATOR_TOKEN), "role": "operator"},
]


def bearer(token: str | None) -> tuple[tuple[str, str], ...]:
    return () if token is None else (("authorization", f"Bearer {token}"),)


def auth_settings(database_url: str, state_dir: Path, **auth: Any) -> Settings:
    return settings_for(database_url, state_dir, auth={"tokens": TOKENS, **auth})


def auth_toml(tokens: list[dict[str, Any]] = TOKENS) -> str:
    lines = ["[auth]"]
    for token in tokens:
        lines.append("[[auth.tokens]]")
        for key, value in token.items():
            shown = "[" + ", ".join(f'"{item}"' for item in value) + "]" if isinstance(value, list) else f'"{value}"'
            lines.append(f"{key} = {shown}")
    return "\n".join(lines) + "\n"
