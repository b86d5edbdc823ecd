"""A StreamOrderUpdateBatchesResponse built from stored bytes, without protobuf.

Each update's payload is already a serialised StreamOrderUpdatesResponse (the writer encoded
it once), and the batch message is nothing but field 1 repeated: per update, the tag byte
0x0A (field 1, length-delimited), the payload's length as a varint, then the payload. Joining
those bytes costs a fraction of parsing the updates into messages and serialising them again.
"""

from __future__ import annotations

from collections.abc import Iterable

_TAG = b"\x0a"  # field 1, wire type 2 (length-delimited)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


# Tag and length for every length an update usually has (a few hundred bytes); longer ones,
# rare (a long reject reason or detail), are encoded as they come.
_PREFIXES = tuple(_TAG + _varint(length) for length in range(4096))


def batch_message(payloads: Iterable[bytes]) -> bytes:
    """The serialised StreamOrderUpdateBatchesResponse whose `updates` are these payloads."""
    prefixes, known = _PREFIXES, len(_PREFIXES)
    parts: list[bytes] = []
    for payload in payloads:
        length = len(payload)
        parts.append(prefixes[length] if length < known else _TAG + _varint(length))
        parts.append(payload)
    return b"".join(parts)
