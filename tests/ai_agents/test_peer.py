"""The AI peer against the real app: sync protocol, streaming, marking, awareness, scoped tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ai_agents.peer import DocumentPeer, PeerClosed, PeerIdentity, document_url
from api.settings import Settings
from tests.api.test_works import make_chapter, make_work, share
from tests.support.api import Api
from tests.support.inprocess import RunningApp, running_app
from tests.support.waiting import eventually
from tests.support.yclient import YClient

TASK = "task-5e1"
IDENTITY = PeerIdentity(TASK, "AI · 续写", "#7c3aed", {"label": "offline"})
AI_TEXT = ("夜色温柔，月光洒在青石板上😀。她轻声说：“明天见。”🎉" * 20)[:500]


def pieces(text: str) -> list[str]:
    """The text cut like a model's token stream: 1 to 7 characters at a time."""
    out, at, size = [], 0, 1
    while at < len(text):
        out.append(text[at : at + size])
        at += size
        size = size % 7 + 1
    return out


def marked(client: YClient, task: str = TASK) -> str:
    return "".join(c for c, attrs in client.text.diff() if attrs and attrs.get("ai") == task)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[RunningApp]:
    settings = Settings(
        data_dir=tmp_path / "data",
        auth="off",
        sync_chunk_bytes=4096,  # first syncs in several messages
        awareness_renewal_flush_s=0,  # renewals relayed as they come
    )
    async with running_app(settings) as running:
        yield running


async def seeded(app: RunningApp, doc: str, text: str) -> YClient:
    """A co-author's client that typed `text`, once the server holds it."""
    client = await YClient(app.sync_url, doc, name="co-author").connect()
    client.append(text)
    witness = await YClient(app.sync_url, doc).connect()
    await eventually(lambda: str(witness.text) == text)
    await witness.close()
    return client


def peer_for(app: RunningApp, doc: str, token: str | None = None, **options: float) -> DocumentPeer:
    return DocumentPeer(document_url(app.sync_url, doc), token, IDENTITY, **options)


async def test_the_peer_has_the_existing_content_before_it_writes(app: RunningApp) -> None:
    existing = "第一章 长夜😀\n" + "灯火阑珊处，人影绰约。" * 600  # a first sync in several pieces
    author = await seeded(app, "chapter-a", existing)
    async with peer_for(app, "chapter-a") as peer:
        assert peer.text == existing  # sync step 2 came before `__aenter__` returned
        peer.anchor(None)
        await peer.write("续写😀。")
        await eventually(lambda: str(author.text) == existing + "续写😀。")
    assert marked(author) == "续写😀。"
    await author.close()


async def test_streams_500_characters_at_an_anchor(app: RunningApp) -> None:
    before, after = "前文：春风十里😀。", "后文：夜色温柔🎉。"
    author = await seeded(app, "chapter-b", before + after)
    async with peer_for(app, "chapter-b") as peer:
        peer.anchor(len(before))
        for piece in pieces(AI_TEXT):
            await peer.write(piece)
        assert peer.written == 500
        assert peer.position == len(before) + 500
        expected = before + AI_TEXT + after
        assert peer.text == expected
        await eventually(lambda: str(author.text) == expected)
        assert marked(author) == AI_TEXT
        assert author.text.diff()[0] == (before, None)
        assert author.text.diff()[-1] == (after, None)

        await eventually(lambda: peer.client_id in author.awareness)
        state = author.awareness[peer.client_id]
        assert state["user"] == {
            "name": "AI · 续写",
            "color": "#7c3aed",
            "label": "offline",
            "kind": "ai",
            "task_id": TASK,
        }
        await peer.set_identity(label="deepseek-chat", provider="openai")
        await eventually(
            lambda: author.awareness[peer.client_id]["user"].get("provider") == "openai"
        )
        head = author.awareness[peer.client_id]["cursor"]["head"]
        assert head["tname"] == "content" and head["assoc"] == -1
        assert head["item"]["client"] == peer.client_id
    await eventually(lambda: peer.client_id not in author.awareness)
    assert str(author.text) == expected
    await author.close()


async def test_pieces_written_in_a_burst_share_frames(app: RunningApp) -> None:
    author = await seeded(app, "chapter-c", "开头。")
    # The sender waits this long after a frame: everything written meanwhile goes out merged,
    # at the latest when the peer leaves. Far longer than the test, so no machine is too slow.
    received = len(author.received_updates)
    async with peer_for(app, "chapter-c", frame_interval_s=3600) as peer:
        for piece in pieces(AI_TEXT[:200]):  # 50 pieces
            await peer.write(piece)
    await eventually(lambda: str(author.text) == "开头。" + AI_TEXT[:200], what="the text")
    assert len(author.received_updates) - received == 1
    assert marked(author) == AI_TEXT[:200]
    await author.close()


async def test_a_co_authors_edits_move_the_anchor_and_their_words_stay_theirs(
    app: RunningApp,
) -> None:
    author = await seeded(app, "chapter-d", "甲乙丙丁😀戊己庚辛。")
    async with peer_for(app, "chapter-d") as peer:
        peer.anchor(5)  # right after 😀
        author.insert(0, "【开头】")
        author.insert(len(str(author.text)), "【结尾】")
        await eventually(
            lambda: peer.text.startswith("【开头】") and peer.text.endswith("【结尾】")
        )
        await peer.write("天地😀")
        expected_ai = "天地😀"
        await eventually(lambda: "天地😀" in str(author.text))
        # The co-author types right after the AI's text (their insert inherits the marking).
        author.insert(str(author.text).index("天地😀") + 3, "人")
        await eventually(lambda: "天地😀人" in peer.text)
        await peer.write("玄黄")
        expected_ai += "玄黄"
        await eventually(lambda: marked(author) == expected_ai)  # "人" lost the marking
        assert str(author.text) == "【开头】甲乙丙丁😀天地😀玄黄人戊己庚辛。【结尾】"
    await author.close()


async def test_the_awareness_entry_is_renewed_while_connected(app: RunningApp) -> None:
    author = await seeded(app, "chapter-f", "静。")
    async with peer_for(app, "chapter-f", awareness_renew_s=0.1) as peer:
        await eventually(lambda: peer.client_id in author.awareness)
        seen = author.awareness_frames
        await eventually(lambda: author.awareness_frames >= seen + 3)  # renewals, no changes
        assert author.awareness[peer.client_id]["user"]["task_id"] == TASK
    await eventually(lambda: peer.client_id not in author.awareness)
    await author.close()


async def test_replace_writes_over_a_range_as_the_tasks_text(app: RunningApp) -> None:
    author = await seeded(app, "chapter-e", "他说：“你好吗😀？”她没回答。")
    async with peer_for(app, "chapter-e") as peer:
        start = peer.text.index("你好吗😀？")
        await peer.replace(start, start + len("你好吗😀？"), "近来可好🎉？")
        assert peer.position == start + len("近来可好🎉？")
        expected = "他说：“近来可好🎉？”她没回答。"
        await eventually(lambda: str(author.text) == expected)
        assert marked(author) == "近来可好🎉？"
        await peer.replace(0, 2, "")  # a deletion only: nothing of it is the task's
        await eventually(lambda: str(author.text) == expected[2:])
        assert marked(author) == "近来可好🎉？"
    await author.close()


# With authentication ----------------------------------------------------------------------


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'inkweave.sqlite3'}",
        docs_url=f"sqlite+aiosqlite:///{tmp_path / 'docs.sqlite3'}",
        auto_migrate=True,
        membership_recheck_s=0.3,
    )
    async with running_app(settings) as app:
        client = Api(app)
        try:
            yield client
        finally:
            await client.close()


async def test_a_document_token_opens_its_document_and_no_other(api: Api) -> None:
    owner = await api.sign_up()
    work = await make_work(api, owner)
    mine, other = [await make_chapter(api, owner, work["id"]) for _ in range(2)]
    tokens = api.app.adapters.tokens
    token = tokens.issue_document(owner.id, mine["content_id"], "write")

    editor = await YClient(api.app.sync_url, mine["content_id"], token=owner.token).connect()
    async with peer_for(api.app, mine["content_id"], token) as peer:
        await peer.write("授权写入😀")
        await eventually(lambda: str(editor.text) == "授权写入😀")
    await editor.close()

    with pytest.raises(PeerClosed) as refused:
        async with peer_for(api.app, other["content_id"], token):
            pass
    assert refused.value.code == 4403

    reader_token = tokens.issue_document(owner.id, mine["content_id"], "read")
    async with peer_for(api.app, mine["content_id"], reader_token) as peer:
        assert peer.text == "授权写入😀"
        await peer.write("偷写")
        await eventually(lambda: peer.error is not None)
        with pytest.raises(PeerClosed, match="permission denied"):
            await peer.write("再写")
    stored = await api.app.adapters.store.load(mine["content_id"])
    assert all("偷写".encode() not in update for update in stored.updates)


async def test_a_peer_whose_user_leaves_the_work_is_closed(api: Api) -> None:
    owner, member = await api.sign_up(), await api.sign_up()
    work = await make_work(api, owner)
    chapter = await make_chapter(api, owner, work["id"])
    await share(api, owner, work["id"], member, "editor")
    token = api.app.adapters.tokens.issue_document(member.id, chapter["content_id"], "write")
    async with peer_for(api.app, chapter["content_id"], token) as peer:
        await peer.write("写了一半")
        response = await api.call(
            "DELETE", f"/api/v1/works/{work['id']}/members/{member.id}", owner
        )
        assert response.status_code == 200, response.text
        await eventually(lambda: peer.error is not None)
        with pytest.raises(PeerClosed) as closed:
            await peer.write("不该写进去")
        assert closed.value.code == 4403
