from __future__ import annotations

from pycrdt import Doc, Text

from storage.docs.schema import CONTENT
from sync_server import protocol
from sync_server.connection import coalesce_updates


def test_consecutive_updates_are_merged_and_other_frames_keep_their_place() -> None:
    doc: Doc = Doc()
    text = doc.get(CONTENT, type=Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for word in ["一", "二", "三", "四"]:
        text += word
    awareness = protocol.awareness([protocol.AwarenessEntry(1, 1, "{}")])
    frames = [
        protocol.sync_update(updates[0]),
        protocol.sync_update(updates[1]),
        awareness,
        protocol.sync_update(updates[2]),
        protocol.sync_update(updates[3]),
    ]
    out = coalesce_updates(frames)
    assert len(out) == 3 and out[1] == awareness
    replica: Doc = Doc()
    for frame in out:
        message = protocol.parse_message(frame)
        if isinstance(message, protocol.SyncUpdate):
            replica.apply_update(message.update)
    assert str(replica.get(CONTENT, type=Text)) == "一二三四"


def test_a_lone_frame_is_sent_as_it_is() -> None:
    frame = protocol.sync_step2(b"\x00\x00")
    assert coalesce_updates([frame]) == [frame]


def test_large_frames_are_never_merged() -> None:
    big = [protocol.sync_update(b"\x00\x00" + b"x" * 20_000) for _ in range(3)]
    assert coalesce_updates(big) == big
