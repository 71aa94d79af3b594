"""The AI peer among stock y-websocket clients (yjs + y-websocket in Node).

While the AI streams 500 characters into the middle of a chapter, one co-author types before
its position and another types right at it (where the AI's text ends); everything converges,
the AI's text is one piece exactly where it was asked for, every human character is there, and
the Node clients see the AI in awareness with a cursor that Yjs resolves to the AI's position.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, Text

from ai_agents.marks import reject
from ai_agents.peer import DocumentPeer, PeerIdentity, document_url
from api.settings import Settings
from tests.support.inprocess import RunningApp, running_app
from tests.support.node_client import NodeClient
from tests.support.waiting import eventually

pytestmark = pytest.mark.node

TASK = "task-js-1"
DOC = "chapter-interop"
INITIAL = "前文：春风十里，不如你😀。后文：夜色温柔🎉。"
AI_TEXT = ("月光洒在青石板上😀，她轻声说：“明天见。”远处传来钟声🎉。" * 20)[:500]
LEFT_TYPED = "一二三四五六七八九十甲乙丙丁戊己庚辛壬癸"
RIGHT_TYPED = "子丑寅卯辰巳午未申酉戌亥🐉春夏秋冬东南西北"


def pieces(text: str) -> list[str]:
    out, at, size = [], 0, 1
    while at < len(text):
        out.append(text[at : at + size])
        at += size
        size = size % 6 + 1
    return out


def from_js_index(text: str, index: int) -> int:
    """A JavaScript string index (UTF-16 units) as a Python index."""
    return len(text.encode("utf-16-le")[: 2 * index].decode("utf-16-le"))


def ai_entries(states: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    return [state for state in states.values() if state.get("user", {}).get("kind") == "ai"]


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[RunningApp]:
    async with running_app(Settings(data_dir=tmp_path / "data", auth="off")) as running:
        yield running


async def test_the_ai_streams_while_two_stock_clients_type_around_it(app: RunningApp) -> None:
    identity = PeerIdentity(TASK, "AI · 续写", "#7c3aed")
    async with NodeClient(name="甲") as left, NodeClient(name="乙") as right:
        for node in (left, right):
            await node.connect(app.sync_url, DOC)
        await left.append(INITIAL)
        await eventually(lambda: _has(right, INITIAL))

        async with DocumentPeer(document_url(app.sync_url, DOC), None, identity) as peer:
            assert peer.text == INITIAL
            peer.anchor(INITIAL.index("后文"))
            typing = [
                asyncio.create_task(left.type_text(LEFT_TYPED, after="前文：", interval=0.02)),
                asyncio.create_task(right.type_text(RIGHT_TYPED, before="后文：", interval=0.02)),
            ]
            for piece in pieces(AI_TEXT):
                await peer.write(piece)
                await asyncio.sleep(0.004)  # part of the test: a fast model, typing overlaps it
            assert await asyncio.gather(*typing) == [len(LEFT_TYPED), len(RIGHT_TYPED)]

            expected = (
                "前文："
                + LEFT_TYPED[::-1]  # each character went right after "前文："
                + "春风十里，不如你😀。"
                + AI_TEXT
                + RIGHT_TYPED  # typed at the AI's position: it stays after the AI's text
                + "后文：夜色温柔🎉。"
            )
            await eventually(lambda: _all_have(left, right, expected))
            await eventually(lambda: peer.text == expected)
            assert peer.written == 500
            assert peer.position == expected.index(AI_TEXT) + len(AI_TEXT)

            for node in (left, right):
                states = await node.awareness()
                (state,) = ai_entries(states)
                assert state["user"] == {
                    "name": "AI · 续写",
                    "color": "#7c3aed",
                    "kind": "ai",
                    "task_id": TASK,
                }
                await eventually(lambda n=node: _cursor_at(n, peer.position))

        for node in (left, right):
            await eventually(lambda n=node: _no_ai(n))
        assert await left.text() == expected

        # The task is rejected after a co-author typed inside the AI's text (in Node's Yjs that
        # character inherits the AI marking): exactly the AI's characters go, as new operations.
        await right.insert_after("月光洒在青石板上", "插")
        with_insert = expected.replace("月光洒在青石板上", "月光洒在青石板上插", 1)
        await eventually(lambda: _all_have(left, right, with_insert))
        async with app.adapters.rooms.hold(DOC) as room:
            deleted = 0

            def edit(doc: Doc) -> None:
                nonlocal deleted
                deleted = reject(doc.get("content", type=Text), TASK)

            assert await room.change(edit)
        assert deleted == len(AI_TEXT)
        rejected = expected.replace(AI_TEXT, "插")
        await eventually(lambda: _all_have(left, right, rejected))


async def _has(node: NodeClient, text: str) -> bool:
    return await node.text() == text


async def _all_have(left: NodeClient, right: NodeClient, text: str) -> bool:
    return await left.text() == text and await right.text() == text


async def _no_ai(node: NodeClient) -> bool:
    return not ai_entries(await node.awareness())


async def _cursor_at(node: NodeClient, position: int | None) -> bool:
    """The AI's awareness cursor, resolved by Node's Yjs, is at the AI's position."""
    text, cursors = await node.cursors()
    ai = [c for c in cursors if (c["user"] or {}).get("kind") == "ai"]
    if len(ai) != 1 or ai[0]["head"] is None or ai[0]["anchor"] != ai[0]["head"]:
        return False
    return from_js_index(text, ai[0]["head"]) == position
