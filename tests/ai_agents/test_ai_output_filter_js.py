"""The sensitive-word filter on AI output, end to end.

A model answers a continuation through the real OpenAI SDK (`tests/support/fake_llm.py`) with a
listed word split across two pieces of its stream. A stock y-websocket client (yjs + y-websocket
in Node) editing the chapter never has the word in its document, not even for one update: it
sees the mask. Neither does any state of the stored document, nor the task's recorded text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pycrdt import Doc, Text

from ai_agents.safety import MASK
from storage.docs.base import StoredDoc
from tests.support.api import running_api
from tests.support.fake_llm import Reply, running_fake_llm
from tests.support.node_client import NodeClient
from tests.support.waiting import eventually

from .test_ai_api import OPENING, chapter_with, continue_, finished, make_settings

pytestmark = pytest.mark.node


def cjk_word(words: list[str]) -> str:
    """A listed word of two or more CJK characters, to split between two pieces."""
    return next(w for w in words if len(w) >= 2 and all("\u4e00" <= c <= "\u9fff" for c in w))


def stored_texts(stored: StoredDoc) -> list[str]:
    """The document's text after the snapshot and after each stored update, in order."""
    doc: Doc = Doc()
    text = doc.get("content", type=Text)
    states = []
    for update in [stored.snapshot] if stored.snapshot else []:
        doc.apply_update(update)
        states.append(str(text))
    for update in stored.updates:
        doc.apply_update(update)
        states.append(str(text))
    return states


async def test_a_sensitive_word_split_across_pieces_never_reaches_an_editor_or_the_store(
    tmp_path: Path,
) -> None:
    async with running_fake_llm() as llm:
        settings = make_settings(tmp_path, ai_providers=[llm.provider_config("qwen")])
        async with running_api(settings) as api:
            word = cjk_word(api.app.adapters.safety.words)
            said = f"陈默推门进来，低声骂了一句“{word}！”林小雨没有抬头。"
            cut = said.index(word) + 1  # the word's first character ends one piece
            llm.script(Reply(chunks=[said[:cut], said[cut:]]))
            shown = said.replace(word, MASK * len(word))

            owner = await api.sign_up()
            work_id, chapter = await chapter_with(api, owner)
            async with NodeClient(name="编辑") as editor:
                await editor.connect(api.app.sync_url, chapter["content_id"], token=owner.token)
                await editor.watch([word, shown])
                task = await finished(
                    api, owner, await continue_(api, owner, work_id, chapter["id"])
                )
                assert task["status"] == "completed", task
                assert task["result"]["text"] == shown

                async def editor_shows_the_mask() -> bool:
                    return await editor.text() == OPENING + shown

                await eventually(editor_shows_the_mask, what="the masked text in the editor")
                seen, changes = await editor.watched()
                assert seen == {shown}, "the editor's document held the word"
                assert changes >= 1

            stored = await api.app.adapters.store.load(chapter["content_id"])
            states = stored_texts(stored)
            assert states[-1] == OPENING + shown
            assert not [state for state in states if word in state]
    (request,) = llm.requests
    assert request.body.get("stream") is True
