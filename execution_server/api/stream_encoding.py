"""A StreamOrderUpdateBatchesResponse built from stored bytes, without protobuf.

Each update's payload is already a serialised StreamOrderUpdatesResponse (the writer encoded
it once), and the batch message is nothing but field 1 repeated: per update, the tag byte
0x0A (field 1, length-delimited), the payload's length as a varint, then the payload. Joining
those bytes costs a fraction of parsing the updates into messages and serialising them again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from execution_server.events.log import LogEntry

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


class SharedBatchMessages:
    """Batch messages built once for every subscriber that asks for the same one.

    Subscribers woken by the same publish usually hand over the same entries: a batch holds
    every entry matching its filter from its first sequence to its last, so (filter, first,
    last) names its content exactly. With 100 unfiltered subscribers, one join serves all 100.
    Bounded by count and by bytes: only the messages of the last few publishes are kept.
    """

    def __init__(self, max_messages: int = 64, max_bytes: int = 16 * 1024 * 1024) -> None:
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self._messages: dict[tuple[str, str, int, int], bytes] = {}  # oldest first
        self._bytes = 0

    def message(self, strategy_id: str, symbol: str, entries: Sequence[LogEntry]) -> bytes:
        key = (strategy_id, symbol, entries[0].sequence, entries[-1].sequence)
        found = self._messages.get(key)
        if found is None:
            found = batch_message([entry.payload for entry in entries])
            self._keep(key, found)
        return found

    def _keep(self, key: tuple[str, str, int, int], message: bytes) -> None:
        if len(message) > self._max_bytes:
            return
        self._messages[key] = message
        self._bytes += len(message)
        while len(self._messages) > self._max_messages or self._bytes > self._max_bytes:
            oldest = next(iter(self._messages))
            self._bytes -= len(self._messages.pop(oldest))
