"""Requests of any RPC, generated from its request descriptor, then mutated: hostile strings
(NUL, control characters, huge, any Unicode), huge and negative numbers, enum numbers nobody
declared, forged page tokens, and bytes on the wire that are not a request at all.

Plausible values of each field's declared kind (validation.FIELD_KINDS) are mixed in, so that
many requests pass the edge and reach the service behind it."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

from execution_server.api.validation import FIELD_KINDS, FieldKind
from execution_server.domain.money import MAX_INTEGER_DIGITS, MAX_SCALE, format_decimal
from tests.rpcs import string_field_with_bytes, varint

F = FieldDescriptor


@dataclass
class Known:
    """What the fuzzed server really holds, so that some requests name real things."""

    order_ids: list[str] = field(default_factory=list)
    client_order_ids: list[str] = field(default_factory=list)
    strategy_ids: list[str] = field(default_factory=lambda: ["momentum_v1", "fuzz"])
    symbols: list[str] = field(default_factory=lambda: ["AAPL", "MSFT", "brk.b", "TSLA"])
    page_tokens: list[str] = field(default_factory=list)
    broker_order_ids: list[str] = field(default_factory=list)


def _forged_token(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


FORGED_TOKENS = [
    _forged_token(b'{"after": 1e400, "filters": "||"}'),
    _forged_token(b'{"after": Infinity, "filters": "||"}'),
    _forged_token(json.dumps({"after": 2**63, "filters": "||"}).encode()),
    _forged_token(json.dumps({"after": -1, "filters": "||"}).encode()),
    _forged_token(b"[" * 5000),
    "1." + "A" * 75,
    "1." + "_" * 75,
    "2." + "A" * 75,
]
JUNK_DECIMALS = ["1e3", "1E+24", "1_000", "١٢", "１٠", "NaN", "-Infinity", "sNaN", " 1", "1 ", "+1", "-0", "0", ".", "",
                 "1" * 25, "0." + "0" * 13 + "1", "9" * 10_000, "0x10", "1.2.3", "٫5"]
HOSTILE = ["\0", "a\0", "x\0y", "abc\n", "\n", "\r\n", "\t", "\x1b[31m", "\u202e", "\u2028", "\ufeff", "\U0010ffff",
           " ", "AAPL ", " AAPL", "%s%n", "'; DROP TABLE orders; --", "../../etc/passwd", "a" * 129, "A" * 33]

hostile_strings = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=16),  # any Unicode but surrogates (protobuf refuses to hold those)
    st.text(st.characters(max_codepoint=0x7F), max_size=16),
    st.sampled_from([10, 100, 1000, 6000, 10_000, 100_000]).map(lambda n: "A" * n),  # 3 MiB: test_input_limits
)
# Cheaper to draw than st.decimals, and as wide: any integer part and scale the edge accepts, and
# one digit more of each.
plain_decimals = st.builds(
    lambda digits, scale, negative: format_decimal(Decimal(-digits if negative else digits).scaleb(-scale)),
    st.integers(min_value=0, max_value=10 ** (MAX_INTEGER_DIGITS + MAX_SCALE + 1)),
    st.integers(min_value=0, max_value=MAX_SCALE + 1),
    st.booleans(),
)
small_decimals = st.integers(min_value=1, max_value=500).map(str) | st.sampled_from(["0.5", "1", "10", "100.25"])


def _plausible(kind: FieldKind, known: Known, name: str) -> st.SearchStrategy[str]:
    identifiers = st.text(_PRINTABLE_ASCII, min_size=1, max_size=20) | st.text(_PRINTABLE_ASCII, min_size=120, max_size=130)
    if kind is FieldKind.IDENTIFIER:
        pool = {"client_order_id": known.client_order_ids, "broker_order_id": known.broker_order_ids}.get(
            name, known.strategy_ids
        )
        return st.sampled_from(pool or ["x"]) | identifiers
    if kind is FieldKind.SYMBOL:
        return st.sampled_from(known.symbols) | st.text(_SYMBOL_CHARACTERS, min_size=1, max_size=34)
    if kind is FieldKind.ORDER_ID:
        return st.sampled_from(known.order_ids or [str(uuid.uuid4())]) | st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper())
    if kind is FieldKind.DECIMAL:
        return small_decimals | plain_decimals | st.sampled_from(JUNK_DECIMALS)
    if kind is FieldKind.PAGE_TOKEN:
        real = st.sampled_from(known.page_tokens) if known.page_tokens else st.just("")
        tampered = real.flatmap(lambda t: st.integers(0, max(len(t) - 1, 0)).map(lambda i: t[:i] + "A" + t[i + 1 :]))
        return real | tampered | st.sampled_from(FORGED_TOKENS)
    return st.text(max_size=20) | st.text(min_size=250, max_size=260)


_PRINTABLE_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))
_SYMBOL_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz0123456789.-/"


def _string(descriptor: FieldDescriptor, known: Known) -> st.SearchStrategy[str]:
    kind = FIELD_KINDS.get(descriptor.full_name, FieldKind.TEXT)
    return st.one_of(st.just(""), _plausible(kind, known, descriptor.name), hostile_strings)


INTEGERS: dict[int, tuple[int, int]] = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1), F.TYPE_SINT32: (-(2**31), 2**31 - 1), F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_INT64: (-(2**63), 2**63 - 1), F.TYPE_SINT64: (-(2**63), 2**63 - 1), F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1), F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1), F.TYPE_FIXED64: (0, 2**64 - 1),
}


def _scalar(descriptor: FieldDescriptor, known: Known, depth: int) -> st.SearchStrategy[Any]:
    kind = descriptor.type
    if kind == F.TYPE_STRING:
        return _string(descriptor, known)
    if kind in INTEGERS:
        low, high = INTEGERS[kind]
        return st.one_of(st.sampled_from([0, 1, -1 if low else 2, low, high, 1000, 10_001]),
                         st.integers(min_value=max(low, -1000), max_value=min(high, 100_000)),
                         st.integers(min_value=low, max_value=high))
    if kind == F.TYPE_BOOL:
        return st.booleans()
    if kind == F.TYPE_ENUM:
        declared = list(descriptor.enum_type.values_by_number)
        return st.sampled_from(declared) | st.integers(min_value=-(2**31), max_value=2**31 - 1)
    if kind == F.TYPE_BYTES:
        return st.binary(max_size=64)
    if kind in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return st.floats(width=32 if kind == F.TYPE_FLOAT else 64)
    if kind == F.TYPE_MESSAGE:
        return messages(descriptor.message_type, known, depth + 1)
    raise AssertionError(f"no strategy for field type {kind} of {descriptor.full_name}")


def messages(descriptor: Descriptor, known: Known, depth: int = 0) -> st.SearchStrategy[Any]:
    """Messages of `descriptor`'s type, any subset of fields set, from the descriptor alone."""
    cls = GetMessageClass(descriptor)
    if depth > 2:
        return st.just(cls())
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field_descriptor in descriptor.fields:
        value = _scalar(field_descriptor, known, depth)
        if field_descriptor.message_type is not None and field_descriptor.message_type.GetOptions().map_entry:
            continue  # no request has a map; a response-only construct
        optional[field_descriptor.name] = st.lists(value, max_size=4) if field_descriptor.is_repeated else value
    return st.fixed_dictionaries({}, optional=optional).map(lambda fields: _build(cls, fields))


def _build(cls: Callable[..., Any], fields: dict[str, Any]) -> Any:
    message = cls()
    for name, value in fields.items():
        target = getattr(message, name)
        if isinstance(value, list):
            target.extend(value)
        elif hasattr(value, "SerializeToString"):
            target.CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


def _with_bad_utf8(descriptor: Descriptor) -> st.SearchStrategy[bytes]:
    numbers = [f.number for f in descriptor.fields if f.type == F.TYPE_STRING] or [1]
    bad = st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"a\xf0\x28\x8c\xbc", b"\xc0\xaf"])
    return st.tuples(st.sampled_from(numbers), bad).map(lambda p: string_field_with_bytes(*p))


def payloads(descriptor: Descriptor, known: Known) -> st.SearchStrategy[bytes]:
    """The bytes sent as one request: mostly a generated message, else a mutation of one."""
    encoded = messages(descriptor, known).map(lambda m: m.SerializeToString())
    return st.one_of(
        encoded,
        encoded,
        encoded,
        st.binary(max_size=256),  # random bytes
        encoded.flatmap(lambda b: st.integers(0, max(len(b) - 1, 0)).map(lambda i: b[:i])),  # truncated
        st.tuples(encoded, st.binary(min_size=1, max_size=8)).map(lambda p: p[0] + p[1]),  # garbage appended
        st.tuples(encoded, _with_bad_utf8(descriptor)).map(lambda p: p[0] + p[1]),  # a string that is not UTF-8
        st.tuples(encoded, st.integers(100, 10_000)).map(lambda p: p[0] + varint(p[1] << 3 | 0) + b"\x01"),  # unknown field
    )
