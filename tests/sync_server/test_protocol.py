from __future__ import annotations

import pytest

from sync_server import protocol
from sync_server.protocol import AwarenessEntry, ProtocolError


def test_messages_round_trip() -> None:
    assert protocol.parse_message(protocol.sync_step1(b"\x01\x02")) == protocol.SyncStep1(
        b"\x01\x02"
    )
    assert protocol.parse_message(protocol.sync_step2(b"abc")) == protocol.SyncStep2(b"abc")
    assert protocol.parse_message(protocol.sync_update(b"x" * 300)) == protocol.SyncUpdate(
        b"x" * 300
    )
    assert protocol.parse_message(protocol.query_awareness()) == protocol.QueryAwareness()
    entries = [AwarenessEntry(2**40, 7, '{"user":{"name":"林黛玉"}}'), AwarenessEntry(5, 1, "null")]
    message = protocol.parse_message(protocol.awareness(entries))
    assert isinstance(message, protocol.AwarenessMessage)
    assert protocol.parse_awareness(message.payload) == entries


@pytest.mark.parametrize(
    ("frame", "complaint"),
    [
        (b"", "truncated varint"),
        (b"\x80", "truncated varint"),
        (b"\xff" * 11, "varint too long"),
        (b"\x07", "unknown message type 7"),
        (b"\x00\x05\x00", "unknown sync message type 5"),
        (b"\x00\x02\x05ab", "length 5 exceeds"),
        (b"\x00\x02\x01a!", "1 trailing bytes"),
        (b"\x03\x00", "1 trailing bytes"),
    ],
)
def test_malformed_frames_are_refused_with_a_reason(frame: bytes, complaint: str) -> None:
    with pytest.raises(ProtocolError, match=complaint):
        protocol.parse_message(frame)


@pytest.mark.parametrize(
    "payload",
    [
        b"\x05\x01",  # claims 5 entries
        b"\x01\x01\x01\x03abc",  # state not JSON
        b"\x01\x01\x01\x02[]",  # state not an object
        b"\x01\x01\x01\x02\xff\xfe",  # not UTF-8
    ],
)
def test_malformed_awareness_is_refused(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        protocol.parse_awareness(payload)


def test_permission_denied_message_matches_y_protocols_auth() -> None:
    frame = protocol.permission_denied("只读")
    reader = protocol.Reader(frame)
    assert (reader.var_uint(), reader.var_uint(), reader.var_string()) == (2, 0, "只读")
