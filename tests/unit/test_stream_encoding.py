"""batch_message: stored update bytes joined into a StreamOrderUpdateBatchesResponse that
protobuf itself parses back into exactly those updates, whatever their lengths; and the
messages shared by subscribers that hand over the same batch."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from execution.v1 import execution_pb2 as pb
from execution_server.api.stream_encoding import SharedBatchMessages, batch_message
from execution_server.events.log import LogEntry

Update = pb.StreamOrderUpdatesResponse


def an_update(sequence: int, detail_length: int = 0) -> Update:
    return Update(
        sequence=sequence,
        event_type="fill",
        detail="d" * detail_length,
        order=pb.Order(order_id=f"order-{sequence}", symbol="AAPL", quantity="10", status=pb.ORDER_STATUS_FILLED),
        fill=pb.Fill(execution_id=f"exec-{sequence}", quantity="10", price="187.25"),
    )


def parsed(updates: list[Update]) -> list[Update]:
    message = batch_message([update.SerializeToString() for update in updates])
    return list(pb.StreamOrderUpdateBatchesResponse.FromString(message).updates)


@pytest.mark.parametrize(
    "detail_length",
    [0, 60, 127, 128, 200, 4_000, 4_095, 4_096, 16_000, 16_384, 20_000, 2_100_000],
    ids=lambda n: f"detail-{n}",
)
def test_an_update_of_any_length_parses_back_as_it_was(detail_length: int) -> None:
    """Covers payloads whose length is a 1-, 2-, 3- and 4-byte varint, on both sides of the
    precomputed prefixes."""
    update = an_update(1, detail_length)

    assert parsed([update]) == [update]


def test_the_lengths_cover_every_varint_width_the_test_above_claims() -> None:
    lengths = [an_update(1, n).ByteSize() for n in (0, 200, 16_384, 2_100_000)]
    assert lengths[0] < 128 <= lengths[1] < 16_384 <= lengths[2] < 2**21 <= lengths[3]


def test_the_encoding_is_what_protobuf_itself_produces() -> None:
    updates = [an_update(s, n) for s, n in [(1, 0), (2, 300), (3, 20_000), (4, 5)]]

    assert batch_message([u.SerializeToString() for u in updates]) == pb.StreamOrderUpdateBatchesResponse(
        updates=updates
    ).SerializeToString()


@given(st.lists(st.integers(0, 20_000), max_size=20))
def test_any_batch_parses_into_exactly_its_updates_in_order(detail_lengths: list[int]) -> None:
    updates = [an_update(sequence, length) for sequence, length in enumerate(detail_lengths, start=1)]

    assert parsed(updates) == updates


def entries(sequences: list[int], strategy_id: str = "s", detail_length: int = 0) -> list[LogEntry]:
    return [
        LogEntry(sequence, strategy_id, "AAPL", an_update(sequence, detail_length).SerializeToString())
        for sequence in sequences
    ]


def test_subscribers_handing_over_the_same_batch_share_one_message() -> None:
    shared = SharedBatchMessages()
    first = shared.message("", "", entries([1, 2, 3]))

    assert first == batch_message([entry.payload for entry in entries([1, 2, 3])])
    assert shared.message("", "", entries([1, 2, 3])) is first  # built once
    assert shared.message("", "", entries([1, 2])) != first  # another span, its own message


def test_a_filter_s_batch_is_never_served_to_another_filter() -> None:
    """Filters s and t both hand over a batch from 1 to 5, with different entries between."""
    shared = SharedBatchMessages()
    for_s = shared.message("s", "", entries([1, 3, 5], "s"))
    for_t = shared.message("t", "", entries([1, 4, 5], "t"))

    assert pb.StreamOrderUpdateBatchesResponse.FromString(for_s).updates[1].sequence == 3
    assert pb.StreamOrderUpdateBatchesResponse.FromString(for_t).updates[1].sequence == 4


def test_the_shared_messages_are_bounded_by_count_and_by_bytes() -> None:
    by_count = SharedBatchMessages(max_messages=3)
    for sequence in range(1, 11):
        by_count.message("", "", entries([sequence]))
    assert len(by_count._messages) == 3 and {key[2] for key in by_count._messages} == {8, 9, 10}

    by_bytes = SharedBatchMessages(max_bytes=5_000)
    for sequence in range(1, 11):
        by_bytes.message("", "", entries([sequence], detail_length=1_000))
    assert by_bytes._bytes == sum(map(len, by_bytes._messages.values())) <= 5_000
    assert len(by_bytes._messages) == 4

    too_big = by_bytes.message("", "", entries([20], detail_length=6_000))
    assert pb.StreamOrderUpdateBatchesResponse.FromString(too_big).updates[0].sequence == 20  # served, not kept
    assert (("", "", 20, 20) not in by_bytes._messages) and by_bytes._bytes <= 5_000
