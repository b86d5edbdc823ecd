"""ListOrders page tokens: opaque, bounded and tamper-evident.

A token is "1." followed by URL-safe base64 (no padding) of 56 bytes: the listing position after
which the next page starts (8 bytes, big-endian, below 2**63 so that it fits both databases'
BIGINT), a digest of the filters it was issued for (16 bytes), and an HMAC-SHA256 of the version
and the above (32 bytes): 77 characters in all. Nothing in it is read before its syntax, length
and signature are checked, so a forged token is refused with one comparison, whatever it holds.

The key is random, made once per process (OrderService takes another for tests or a shared
one). So a token issued before a restart, or by another replica on the same database, is
refused with a message saying to start the listing again: pages are cheap to ask for again,
and a restart is rare against how long a listing takes. Replicas that must page across each
other need a configured shared key; none is configurable yet.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct

from execution_server.oms.errors import InvalidPageToken

VERSION = "1"
_POSITION = struct.Struct(">Q")
_FILTER_BYTES = 16
_MAC_BYTES = 32
_BODY_BYTES = _POSITION.size + _FILTER_BYTES
_ENCODED = re.compile(rf"{VERSION}\.[A-Za-z0-9_\-]{{{(4 * (_BODY_BYTES + _MAC_BYTES) + 2) // 3}}}", re.ASCII)
MAX_POSITION = 2**63 - 1
_START_AGAIN = "start the listing again without a page_token"


class PageTokens:
    """Issues and checks the tokens of one key."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key else os.urandom(32)

    def issue(self, position: int, filters: str) -> str:
        if not 0 <= position <= MAX_POSITION:
            raise ValueError(f"listing position out of range: {position}")
        body = _POSITION.pack(position) + _filter_digest(filters)
        raw = body + self._mac(body)
        return f"{VERSION}." + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def position(self, token: str, filters: str) -> int:
        """The position a token issued by this key for these filters resumes after."""
        if not _ENCODED.fullmatch(token):
            raise InvalidPageToken(f"page_token is not a token this service issued; {_START_AGAIN}")
        encoded = token[len(VERSION) + 1 :]
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            raise InvalidPageToken(f"page_token is not a token this service issued; {_START_AGAIN}") from None
        if base64.urlsafe_b64encode(raw).decode().rstrip("=") != encoded:  # the last character's spare bits
            raise InvalidPageToken(f"page_token is not a token this service issued; {_START_AGAIN}")
        body, mac = raw[:_BODY_BYTES], raw[_BODY_BYTES:]
        if len(mac) != _MAC_BYTES or not hmac.compare_digest(mac, self._mac(body)):
            raise InvalidPageToken(
                f"page_token was not issued by this server, or was issued before it restarted; {_START_AGAIN}"
            )
        (position,) = _POSITION.unpack(body[: _POSITION.size])
        if not hmac.compare_digest(body[_POSITION.size :], _filter_digest(filters)):
            raise InvalidPageToken("page_token was issued for different filters; send the same filters with it, "
                                   f"or {_START_AGAIN}")
        if position > MAX_POSITION:  # signed by us, so never; checked all the same
            raise InvalidPageToken(f"page_token is out of range; {_START_AGAIN}")
        return position

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, VERSION.encode() + body, hashlib.sha256).digest()


def _filter_digest(filters: str) -> bytes:
    return hashlib.sha256(filters.encode()).digest()[:_FILTER_BYTES]
