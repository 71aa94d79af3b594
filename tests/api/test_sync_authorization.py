"""Roles over `/sync` and REST together: who may open, read and write a chapter's live document.

Real accounts, real tokens, the real `SyncAuthorizer`; on SQLite and MariaDB. Sockets re-check
their user's role every `membership_recheck_s` (0.3 s in these tests); a test waits (boundedly)
for the re-check to have acted, never for a guessed time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from api.settings import Settings
from storage.text.wordcount import count_words
from sync_server.auth import Access
from tests.api.test_works import make_chapter, make_work, me, ok, refused, save, share
from tests.support.api import Account, Api, running_api
from tests.support.cluster import NodeApi, running_cluster
from tests.support.node_client import NodeClient
from tests.support.waiting import eventually
from tests.support.yclient import YClient

Connect = Callable[..., Awaitable[YClient]]


@pytest.fixture
async def connect(api: Api) -> AsyncIterator[Connect]:
    opened: list[YClient] = []

    async def open_client(doc: str, account: Account | None, *, synced: bool = True) -> YClient:
        client = YClient(api.app.sync_url, doc, token=account.token if account else None)
        opened.append(client)
        return await client.connect(wait_synced=synced)

    yield open_client
    for client in opened:
        await client.close()


async def refused_socket(connect: Connect, doc: str, account: Account | None) -> YClient:
    client = await connect(doc, account, synced=False)
    await eventually(client.closed.is_set, what="the server closed the socket")
    return client


async def stored_bytes(api: Api, doc: str) -> bytes:
    stored = await api.app.adapters.store.load(doc)
    return b"".join(([stored.snapshot] if stored.snapshot else []) + stored.updates)


async def content(api: Api, account: Account, chapter_id: int) -> str:
    return ok(await api.call("GET", f"/api/v1/chapters/{chapter_id}/content", account))["content"]


async def until_content(
    api: Api, account: Account, chapter_id: int, predicate: Callable[[str], bool]
) -> str:
    """Poll REST until the chapter's content satisfies `predicate` (a socket edit is in flight)."""

    async def matching() -> tuple[str]:
        text = await content(api, account, chapter_id)
        assert predicate(text), f"content so far: {text!r}"
        return (text,)

    [text] = await eventually(matching, what="the chapter's content over REST")
    return text


async def writer_with_chapter(api: Api) -> tuple[Account, dict[str, Any], dict[str, Any]]:
    writer = await api.sign_up()
    work = await make_work(api, writer)
    return writer, work, await make_chapter(api, writer, work["id"])


async def test_strangers_and_bad_tokens_cannot_open_a_chapter(api: Api, connect: Connect) -> None:
    owner, work, chapter = await writer_with_chapter(api)
    stranger = await api.sign_up()
    ok(await save(api, owner, work["id"], chapter["id"], "只给作者看的。"))
    version = ok(
        await api.call(
            "POST", f"/api/v1/chapters/{chapter['id']}/versions", owner, json={"name": "v"}
        ),
        201,
    )
    doc = chapter["content_id"]

    assert (await refused_socket(connect, doc, stranger)).close_code == 4403
    assert (await refused_socket(connect, doc, None)).close_code == 4401
    forged = Account(owner.id, owner.username, owner.email, owner.token[:-4] + "AAAA", "")
    assert (await refused_socket(connect, doc, forged)).close_code == 4401
    assert (await refused_socket(connect, "chapter-" + "0" * 32, owner)).close_code == 4403

    base = f"/api/v1/chapters/{chapter['id']}"
    for method, path, body in (
        ("GET", base, None),
        ("GET", f"{base}/content", None),
        ("GET", f"{base}/versions", None),
        ("GET", f"{base}/versions/{version['id']}", None),
        ("POST", f"{base}/versions", {"name": "偷"}),
        ("POST", f"{base}/versions/{version['id']}/restore", None),
        ("PATCH", base, {"title": "偷"}),
        ("DELETE", base, None),
    ):
        refused(await api.call(method, path, stranger, json=body), 404, 40401)
    # The owner's socket opens, and everything is still as the owner left it.
    mine = await connect(doc, owner)
    assert str(mine.text) == "只给作者看的。"
    assert [
        c["id"] for c in ok(await api.call("GET", f"/api/v1/works/{work['id']}", owner))["chapters"]
    ] == [chapter["id"]]


async def test_a_viewer_reads_live_but_every_write_is_refused(api: Api, connect: Connect) -> None:
    owner, work, chapter = await writer_with_chapter(api)
    viewer = await api.sign_up()
    await share(api, owner, work["id"], viewer, "viewer")
    doc = chapter["content_id"]
    writer_socket = await connect(doc, owner)
    reader_socket = await connect(doc, viewer)

    writer_socket.append("作者写的。")
    await eventually(lambda: str(reader_socket.text) == "作者写的。")
    reader_socket.append("读者偷改。")
    await eventually(lambda: reader_socket.permission_denied is not None)
    assert "read-only" in (reader_socket.permission_denied or "")
    refused(await save(api, viewer, work["id"], chapter["id"], "读者用REST偷改。"), 403, 40301)

    writer_socket.append("继续。")
    await eventually(lambda: "继续。" in str(reader_socket.text))
    assert str(writer_socket.text) == "作者写的。继续。"
    assert await content(api, owner, chapter["id"]) == "作者写的。继续。"
    stored = await stored_bytes(api, doc)
    assert "读者".encode() not in stored and "作者写的".encode() in stored


async def test_a_rest_save_appears_at_once_in_a_connected_editor(
    api: Api, connect: Connect
) -> None:
    owner, work, chapter = await writer_with_chapter(api)
    editor = await api.sign_up()
    await share(api, owner, work["id"], editor, "editor")
    socket = await connect(chapter["content_id"], owner)
    socket.append("开头。")
    # REST reads what the editors see.
    await until_content(api, editor, chapter["id"], lambda text: text == "开头。")

    received = len(socket.received_updates)
    ok(await save(api, editor, work["id"], chapter["id"], "开头。编辑补了一句。"))
    await eventually(lambda: str(socket.text) == "开头。编辑补了一句。")
    assert len(socket.received_updates) > received
    # The difference travelled, not the text the editor already had.
    assert all("开头".encode() not in update for update in socket.received_updates[received:])


@pytest.mark.node
async def test_a_rest_save_reaches_a_stock_y_websocket_client(api: Api) -> None:
    owner, work, chapter = await writer_with_chapter(api)
    async with NodeClient(name="浏览器") as node:
        await node.connect(api.app.sync_url, chapter["content_id"], token=owner.token)
        await node.append("浏览器里写的。")
        await until_content(api, owner, chapter["id"], lambda text: text == "浏览器里写的。")
        ok(await save(api, owner, work["id"], chapter["id"], "REST 改过：浏览器里写的。"))
        expected = "REST 改过：浏览器里写的。"

        async def arrived() -> bool:
            return await node.text() == expected

        await eventually(arrived, what="the REST save in the Node client")


async def test_removing_a_member_closes_their_socket(api: Api, connect: Connect) -> None:
    owner, work, chapter = await writer_with_chapter(api)
    editor = await api.sign_up()
    await share(api, owner, work["id"], editor, "editor")
    socket = await connect(chapter["content_id"], editor)
    ok(await api.call("DELETE", f"/api/v1/works/{work['id']}/members/{editor.id}", owner))
    await eventually(socket.closed.is_set)
    assert socket.close_code == 4403
    assert (await refused_socket(connect, chapter["content_id"], editor)).close_code == 4403


async def test_lowering_an_editor_to_viewer_makes_their_socket_read_only(
    api: Api, connect: Connect
) -> None:
    owner, work, chapter = await writer_with_chapter(api)
    editor = await api.sign_up()
    await share(api, owner, work["id"], editor, "editor")
    watcher = await connect(chapter["content_id"], owner)
    socket = await connect(chapter["content_id"], editor)
    socket.append("还是编辑时写的。")
    await eventually(lambda: str(watcher.text) == "还是编辑时写的。")

    members = f"/api/v1/works/{work['id']}/members/{editor.id}"
    ok(await api.call("PATCH", members, owner, json={"role": "viewer"}))
    room = api.app.adapters.rooms.rooms[chapter["content_id"]]

    def downgraded() -> bool:
        mine = [c for c in room.connections if c.principal == str(editor.id)]
        return bool(mine) and all(c.access is Access.READ for c in mine)

    await eventually(downgraded)  # the periodic re-check has run
    socket.append("降级后偷写。")
    await eventually(lambda: socket.permission_denied is not None)
    assert not socket.closed.is_set()
    watcher.append("作者继续。")
    await eventually(lambda: "作者继续。" in str(socket.text))
    assert "降级后" not in str(watcher.text)
    assert "降级后".encode() not in await stored_bytes(api, chapter["content_id"])


async def test_signing_out_closes_the_socket_with_4401(api: Api, connect: Connect) -> None:
    owner, _work, chapter = await writer_with_chapter(api)
    socket = await connect(chapter["content_id"], owner)
    ok(await api.call("POST", "/api/v1/auth/logout", owner))
    await eventually(socket.closed.is_set)
    assert socket.close_code == 4401
    assert (await refused_socket(connect, chapter["content_id"], owner)).close_code == 4401


async def test_trashing_a_work_closes_its_sockets(api: Api, connect: Connect) -> None:
    owner, work, chapter = await writer_with_chapter(api)
    viewer = await api.sign_up()
    await share(api, owner, work["id"], viewer, "viewer")
    sockets = [await connect(chapter["content_id"], who) for who in (owner, viewer)]
    ok(await api.call("DELETE", f"/api/v1/works/{work['id']}", owner))
    for socket in sockets:
        await eventually(socket.closed.is_set)
        assert socket.close_code == 4403


async def test_a_restored_version_arrives_live(api: Api, connect: Connect) -> None:
    owner, _work, chapter = await writer_with_chapter(api)
    socket = await connect(chapter["content_id"], owner)
    socket.append("第一版。")
    await until_content(api, owner, chapter["id"], lambda text: text == "第一版。")
    versions = f"/api/v1/chapters/{chapter['id']}/versions"
    first = ok(await api.call("POST", versions, owner, json={"name": "第一版"}), 201)
    socket.append("后来加的，要撤掉。")
    await until_content(api, owner, chapter["id"], lambda text: "要撤掉" in text)
    received = len(socket.received_updates)

    restored = ok(await api.call("POST", f"{versions}/{first['id']}/restore", owner))
    assert restored["content"] == "第一版。"
    await eventually(lambda: str(socket.text) == "第一版。")
    assert len(socket.received_updates) > received  # it came as new operations, live
    listed = ok(await api.call("GET", versions, owner))
    assert [v["id"] for v in listed] == [first["id"], restored["pre_restore_version"]["id"]]


async def test_the_brief_use_case_writer_co_author_and_reader(api: Api, connect: Connect) -> None:
    """作者注册、建小说、邀请合著者(编辑)与读者(只读)，三人各用自己的令牌连到同一章。"""
    writer = await api.sign_up("林夕")
    co_author = await api.sign_up("苏遥")
    reader = await api.sign_up("读者小王")
    novel = await make_work(api, writer, title="长安十二时辰", genre="历史", target_words=300000)
    await share(api, writer, novel["id"], co_author, "editor")
    ok(
        await api.call(
            "POST",
            f"/api/v1/works/{novel['id']}/members",
            writer,
            json={"username_or_email": reader.email, "role": "viewer"},
        ),
        201,
    )
    chapter = await make_chapter(api, writer, novel["id"], "第一章 巳正")
    doc = chapter["content_id"]

    mine = await connect(doc, writer)
    theirs = await connect(doc, co_author)
    audience = await connect(doc, reader)
    mine.append("长安城的钟鼓声响起。")
    await eventually(lambda: str(theirs.text) == "长安城的钟鼓声响起。")
    theirs.append("张小敬抬起头。")
    expected = "长安城的钟鼓声响起。张小敬抬起头。"
    await eventually(lambda: str(mine.text) == expected and str(audience.text) == expected)

    audience.append("读者想改结局。")
    await eventually(lambda: audience.permission_denied is not None)
    refused(await save(api, reader, novel["id"], chapter["id"], "读者想改结局。"), 403)
    refused(
        await api.call(
            "POST", f"/api/v1/chapters/{chapter['id']}/versions", reader, json={"name": "x"}
        ),
        403,
    )
    refused(await api.call("POST", f"/api/v1/works/{novel['id']}/chapters", reader, json={}), 403)

    saved = ok(await save(api, co_author, novel["id"], chapter["id"], expected + "\n\n第二段。"))
    assert saved["word_count"] == count_words(expected) + 4
    final = expected + "\n\n第二段。"
    await eventually(lambda: str(mine.text) == str(theirs.text) == final)
    # The reader's refused local edit stays in the reader's copy only; the rest arrives there too.
    await eventually(lambda: "第二段。" in str(audience.text))
    assert await content(api, reader, chapter["id"]) == final
    assert "读者".encode() not in await stored_bytes(api, doc)

    roles = {
        account.username: ok(await api.call("GET", f"/api/v1/works/{novel['id']}", account))["role"]
        for account in (writer, co_author, reader)
    }
    assert roles == {"林夕": "owner", "苏遥": "editor", "读者小王": "viewer"}
    await api.app.app.state.adapters.projection.flush()
    assert (await me(api, writer))["total_words"] == count_words(final)
    assert (await me(api, co_author))["total_words"] == 0  # counted for the owner only


NEVER_S = 3600.0  # a periodic re-check that never comes within a test: only a push can act


async def test_a_lowered_role_reaches_the_open_socket_at_once_not_at_the_next_recheck(
    settings: Settings,
) -> None:
    async with running_api(settings.model_copy(update={"membership_recheck_s": NEVER_S})) as api:
        owner, work, chapter = await writer_with_chapter(api)
        editor, other = await api.sign_up(), await api.sign_up()
        for member in (editor, other):
            await share(api, owner, work["id"], member, "editor")
        doc = chapter["content_id"]
        socket = YClient(api.app.sync_url, doc, token=editor.token)
        bystander = YClient(api.app.sync_url, doc, token=other.token)
        try:
            await socket.connect()
            await bystander.connect()
            members = f"/api/v1/works/{work['id']}/members"
            ok(await api.call("PATCH", f"{members}/{editor.id}", owner, json={"role": "viewer"}))
            # Told without having written anything: the editor turns read-only before it types.
            await eventually(lambda: socket.permission_denied is not None)
            assert bystander.permission_denied is None  # only the demoted user's sockets

            ok(await api.call("DELETE", f"{members}/{editor.id}", owner))
            await eventually(socket.closed.is_set)
            assert socket.close_code == 4403
            ok(await api.call("DELETE", f"/api/v1/works/{work['id']}", owner))
            await eventually(bystander.closed.is_set)
            assert bystander.close_code == 4403
        finally:
            await socket.close()
            await bystander.close()


async def test_a_role_lowered_on_one_node_reaches_a_socket_on_the_other(tmp_path: Path) -> None:
    async with running_cluster(tmp_path, recheck_s=NEVER_S) as cluster:
        on_a, on_b = NodeApi(cluster.a), NodeApi(cluster.b)
        try:
            owner, editor = await on_a.sign_up(), await on_a.sign_up()
            work = await make_work(on_a, owner)
            chapter = await make_chapter(on_a, owner, work["id"])
            await share(on_a, owner, work["id"], editor, "editor")
            socket = YClient(cluster.b.sync_url, chapter["content_id"], token=editor.token)
            try:
                await socket.connect()
                members = f"/api/v1/works/{work['id']}/members/{editor.id}"
                ok(await on_a.call("PATCH", members, owner, json={"role": "viewer"}))
                await eventually(lambda: socket.permission_denied is not None)
            finally:
                await socket.close()
        finally:
            await on_a.close()
            await on_b.close()
