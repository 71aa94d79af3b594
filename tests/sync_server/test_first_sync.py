from __future__ import annotations

import random

import pytest
from pycrdt import Doc, Map, Text

from storage.docs.schema import CONTENT, META
from sync_server import protocol
from sync_server.first_sync import first_sync_frames, split_update
from tests.support.ydocs import clocks


def big_document(
    authors: int, updates: int, seed: int = 3, checkpoints: list[bytes] | None = None
) -> Doc:
    """Several authors' edits (inserts and deletions) merged into one server document.

    Every 100 steps the server's state is appended to `checkpoints`, if given.
    """
    rng = random.Random(seed)
    server: Doc = Doc()
    clients = [Doc() for _ in range(authors)]
    phrase = "长风破浪会有时直挂云帆济沧海行路难行路难多歧路今安在"
    for step in range(updates):
        client = clients[step % authors]
        client.apply_update(server.get_update(client.get_state()))
        text = client.get(CONTENT, type=Text)
        length = len(str(text))
        if length > 50 and rng.random() < 0.15:
            start = rng.randrange(length - 10)
            offset = len(str(text)[:start].encode())
            del text[offset : offset + len(str(text)[start : start + 5].encode())]
        else:
            position = rng.randrange(length + 1)
            start = rng.randrange(len(phrase) - 20)
            text.insert(len(str(text)[:position].encode()), phrase[start : start + 20] * 5)
        if step % 97 == 0:
            client.get(META, type=Map)[f"scene{step}"] = {"title": f"场景{step}"}
        server.apply_update(client.get_update(server.get_state()))
        if checkpoints is not None and step % 100 == 99:
            checkpoints.append(server.get_update())
    return server


def replay(frames: list[bytes], into: Doc | None = None) -> Doc:
    doc = into or Doc()
    for frame in frames:
        message = protocol.parse_message(frame)
        assert isinstance(message, protocol.SyncUpdate | protocol.SyncStep2)
        doc.apply_update(message.update)
    return doc


def same(a: Doc, b: Doc) -> bool:
    return (
        str(a.get(CONTENT, type=Text)) == str(b.get(CONTENT, type=Text))
        and a.get(META, type=Map).to_py() == b.get(META, type=Map).to_py()
        and clocks(a) == clocks(b)
    )


@pytest.mark.parametrize("max_bytes", [4_000, 17_321, 65_536])
def test_a_large_first_sync_arrives_in_bounded_messages(max_bytes: int) -> None:
    server = big_document(authors=4, updates=600)
    assert len(server.get_update()) > 4 * max_bytes or max_bytes == 65_536
    frames = first_sync_frames(server.get_update(), max_bytes)
    assert protocol.parse_message(frames[-1]).__class__ is protocol.SyncStep2
    assert all(isinstance(protocol.parse_message(f), protocol.SyncUpdate) for f in frames[:-1])
    assert max(len(frame) for frame in frames) <= max_bytes * 1.5 + 2_000
    assert same(replay(frames), server)


def test_a_client_with_part_of_the_document_gets_only_the_rest_in_pieces() -> None:
    checkpoints: list[bytes] = []
    server = big_document(authors=3, updates=400, checkpoints=checkpoints)
    client: Doc = Doc()
    client.apply_update(checkpoints[1])
    frames = first_sync_frames(server.get_update(client.get_state()), 8_000)
    assert len(frames) > 1
    assert same(replay(frames, client), server)


def test_a_small_document_is_one_step_2() -> None:
    server: Doc = Doc()
    server.get(CONTENT, type=Text).insert(0, "短短一句。")
    frames = first_sync_frames(server.get_update(), 1_000)
    assert len(frames) == 1
    assert same(replay(frames), server)


def test_every_kind_of_content_splits_at_struct_boundaries() -> None:
    server: Doc = Doc()
    text = server.get(CONTENT, type=Text)
    meta = server.get(META, type=Map)
    for index in range(200):
        text.insert(len(str(text).encode()), f"第{index}段 emoji😀 ", attrs={"ai": f"t{index % 3}"})
        meta[f"k{index}"] = {"n": index, "f": 1.5, "ok": True, "none": None, "list": ["甲", 2]}
        if index % 7 == 0:
            meta[f"sub{index}"] = Map({"x": index})
            del meta[f"k{index}"]
    del text[0:40]
    pieces, delete_set = split_update(server.get_update(), 2_000)
    assert len(pieces) > 5
    rebuilt: Doc = Doc()
    for piece in pieces:
        rebuilt.apply_update(piece)
    rebuilt.apply_update(b"\x00" + delete_set)
    assert same(rebuilt, server)
    assert str(rebuilt.get(CONTENT, type=Text)).startswith(str(text)[:10])
