"""A character is AI text if and only if the AI wrote it, as stock y-websocket clients see it.

In Yjs a plain insert inside or right after a formatted run inherits `{"ai": task_id}`, so a
co-author's words typed there would show as AI text in every editor. The server's room hook
(`api.ai_marks_hook`) takes the mark off them; this checks it with Node's yjs + y-websocket,
whose `toDelta()` is what editors render: while the AI writes, and after it has left with its
text still unreviewed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ai_agents.peer import DocumentPeer, PeerIdentity, document_url
from api.settings import Settings
from tests.support.inprocess import RunningApp, running_app
from tests.support.node_client import NodeClient
from tests.support.waiting import eventually

pytestmark = pytest.mark.node

TASK = "task-marks-1"
DOC = "chapter-marks"
INITIAL = "开头。结尾。"
FIRST = "月光洒在青石板上，她轻声说：“明天见。”"
SECOND = "远处传来钟声，雾气慢慢散开。"
HUMAN = "（插）（续）作者补一句"  # the co-author's characters, none of them in the AI's text


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[RunningApp]:
    async with running_app(Settings(data_dir=tmp_path / "data", auth="off")) as running:
        yield running


def split_by_mark(delta: list[dict[str, Any]]) -> tuple[str, str]:
    """(the characters marked as the task's AI text, all the others), in document order."""
    marked, plain = [], []
    for op in delta:
        is_ai = (op.get("attributes") or {}).get("ai") == TASK
        (marked if is_ai else plain).append(op["insert"])
    return "".join(marked), "".join(plain)


async def shows(node: NodeClient, ai_text: str, text: str) -> bool:
    """`node` renders exactly `ai_text` as AI text, and the whole text is `text`."""
    delta = await node.delta()
    marked, _plain = split_by_mark(delta)
    return marked == ai_text and "".join(op["insert"] for op in delta) == text


async def test_a_co_authors_words_next_to_ai_text_never_show_as_ai(app: RunningApp) -> None:
    identity = PeerIdentity(TASK, "AI · 续写", "#7c3aed")
    async with NodeClient(name="甲") as writer, NodeClient(name="乙") as reader:
        for node in (writer, reader):
            await node.connect(app.sync_url, DOC)
        await writer.append(INITIAL)
        await eventually(lambda: _text_is(reader, INITIAL))
        await reader.watch([])  # from now on, every state the reader renders is noted

        async with DocumentPeer(document_url(app.sync_url, DOC), None, identity) as peer:
            peer.anchor(INITIAL.index("结尾"))
            await peer.write(FIRST)
            await eventually(lambda: _contains(writer, FIRST))
            # While the task runs: a word inside the AI's text, one right after it.
            await writer.insert_after("月光洒在", "（插）")
            await writer.insert_after("明天见。”", "（续）")
            typed = "开头。月光洒在（插）青石板上，她轻声说：“明天见。”（续）结尾。"
            for node in (writer, reader):
                await eventually(lambda n=node: shows(n, FIRST, typed), what="during the task")
            await peer.write(SECOND)
            now = typed.replace("（续）", SECOND + "（续）")
            for node in (writer, reader):
                await eventually(lambda n=node: shows(n, FIRST + SECOND, now))

        # The AI has left; its text waits for review. Typing after it must not become AI text.
        await writer.insert_after(SECOND, "作者补一句。")
        after = now.replace(SECOND, SECOND + "作者补一句。")
        for node in (writer, reader):
            await eventually(lambda n=node: shows(n, FIRST + SECOND, after), what="afterwards")
        # Not only in the end: no state the reader rendered ever showed the co-author's words as AI.
        assert not set(HUMAN) & await reader.ever_shown_as_ai()


async def _text_is(node: NodeClient, text: str) -> bool:
    return await node.text() == text


async def _contains(node: NodeClient, text: str) -> bool:
    return text in await node.text()
