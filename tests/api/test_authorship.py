"""Who wrote what: three writers and an AI task in one chapter, every character attributed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from api.authorship_hook import writing_clients
from storage.sql.models import DocAuthor
from tests.ai_agents.test_ai_api import continue_, finished, make_settings
from tests.api.test_works import make_chapter, make_work, ok, save, share
from tests.support.api import Account, Api, running_api
from tests.support.waiting import eventually
from tests.support.yclient import YClient
from tests.support.ydocs import clocks


async def _server_text(api: Api, account: Account, chapter_id: int) -> str:
    path = f"/api/v1/chapters/{chapter_id}/content"
    return ok(await api.call("GET", path, account))["content"]


def _spans(text: str, runs: list[dict[str, Any]]) -> list[tuple[str, Any, str]]:
    return [(r["author"]["kind"], r["author"]["id"], text[r["from"] : r["to"]]) for r in runs]


async def test_three_writers_and_an_ai_task_each_own_their_characters(tmp_path: Path) -> None:
    async with running_api(make_settings(tmp_path)) as api:
        owner, second, third = [await api.sign_up() for _ in range(3)]
        work = await make_work(api, owner)
        chapter = await make_chapter(api, owner, work["id"])
        for member in (second, third):
            await share(api, owner, work["id"], member, "editor")
        doc = chapter["content_id"]
        clients = [
            await YClient(api.app.sync_url, doc, token=account.token).connect()
            for account in (owner, second, third)
        ]
        pieces = ["林小雨推开门。", "雨还在下，😀风很冷。", "她笑了。"]
        try:
            expected = ""
            for client, piece in zip(clients, pieces, strict=True):
                await eventually(lambda c=client, e=expected: str(c.text) == e)
                client.append(piece)
                expected += piece

                async def arrived(e: str = expected) -> bool:
                    return await _server_text(api, owner, chapter["id"]) == e

                await eventually(arrived, what=f"{piece!r} on the server")
            # A co-author types inside the owner's sentence: the run splits around it.
            clients[1].insert(2, "（插）")
            expected = expected[:2] + "（插）" + expected[2:]

            async def inserted() -> bool:
                return await _server_text(api, owner, chapter["id"]) == expected

            await eventually(inserted, what="the insert on the server")
        finally:
            for client in clients:
                await client.close()

        task_id = await continue_(api, owner, work["id"], chapter["id"], length=60)
        task = await finished(api, owner, task_id)
        assert task["status"] == "completed", task
        written = task["result"]["text"]

        async def ai_text_in() -> bool:
            return await _server_text(api, owner, chapter["id"]) == expected + written

        await eventually(ai_text_in, what="the AI's text on the server")

        got = ok(await api.call("GET", f"/api/v1/chapters/{chapter['id']}/authorship", third))
        text = expected + written
        assert got["length"] == len(text)
        assert _spans(text, got["runs"]) == [
            ("user", owner.id, "林小"),
            ("user", second.id, "（插）"),
            ("user", owner.id, "雨推开门。"),
            ("user", second.id, pieces[1]),
            ("user", third.id, pieces[2]),
            ("ai", task_id, written),
        ]
        ai_run = got["runs"][-1]["author"]
        assert ai_run["user_id"] == owner.id and ai_run["name"].startswith("AI")
        names = {r["author"]["id"]: r["author"]["name"] for r in got["runs"]}
        assert names[second.id] == second.username
        chars = {(a["author"]["kind"], a["author"]["id"]): a["chars"] for a in got["authors"]}
        no_space = len(written.replace(" ", "").replace("\n", ""))
        assert chars == {
            ("user", owner.id): 7,
            ("user", second.id): 3 + len(pieces[1]),
            ("user", third.id): 4,
            ("ai", task_id): no_space,
        }

        whole = ok(await api.call("GET", f"/api/v1/works/{work['id']}/authorship", owner))
        assert {(a["author"]["kind"], a["author"]["id"]): a["chars"] for a in whole["authors"]} == (
            chars
        )
        assert whole["chapters"][0]["chapter_id"] == chapter["id"]

        # The map is durable: each writer's client id is in SQL, the AI's as its task.
        async with api.app.adapters.database.session() as session:
            rows = list(await session.scalars(select(DocAuthor).where(DocAuthor.doc == doc)))
        by_client = {row.client_id: (row.user_id, row.ai_task_id) for row in rows}
        for client, account in zip(clients, (owner, second, third), strict=True):
            assert by_client[client.doc.client_id] == (account.id, None)
        assert (owner.id, task_id) in by_client.values()


async def test_rest_saves_are_their_users_writing_and_a_restore_is_nobodys(api: Api) -> None:
    owner, editor = await api.sign_up(), await api.sign_up()
    work = await make_work(api, owner)
    chapter = await make_chapter(api, owner, work["id"])
    await share(api, owner, work["id"], editor, "editor")
    path = f"/api/v1/chapters/{chapter['id']}"
    ok(await save(api, owner, work["id"], chapter["id"], "林小雨推开门。"))
    version = ok(await api.call("POST", f"{path}/versions", owner, json={"name": "初稿"}), 201)
    ok(await save(api, editor, work["id"], chapter["id"], "林小雨推开门。她笑了。"))

    got = ok(await api.call("GET", f"{path}/authorship", owner))
    assert _spans("林小雨推开门。她笑了。", got["runs"]) == [
        ("user", owner.id, "林小雨推开门。"),
        ("user", editor.id, "她笑了。"),
    ]

    ok(await save(api, editor, work["id"], chapter["id"], "重写的一段。"))
    ok(await api.call("POST", f"{path}/versions/{version['id']}/restore", owner))
    got = ok(await api.call("GET", f"{path}/authorship", owner))
    # The restore writes the difference: the words it brings back are new, nobody's; the
    # full stop the rewrite shared with them stays the editor's.
    assert _spans("林小雨推开门。", got["runs"]) == [
        ("unknown", None, "林小雨推开门"),
        ("user", editor.id, "。"),
    ]


async def test_a_users_saves_write_as_one_client_of_the_document(api: Api) -> None:
    """Ten REST saves add one `doc_authors` row and one client to the chapter's state, not ten
    (each would stay in the document for good); every save is still the user's writing.

    While the room stays loaded, that is: held here, as an open editor would, since this suite
    unloads an idle room after 0.5 s (a reloaded room starts a new id), which a busy machine can
    take between two saves."""
    owner, editor = await api.sign_up(), await api.sign_up()
    work = await make_work(api, owner)
    chapter = await make_chapter(api, owner, work["id"])
    await share(api, owner, work["id"], editor, "editor")
    doc = chapter["content_id"]
    text = ""
    async with api.app.adapters.rooms.hold(doc):
        for index in range(10):
            text += f"第{index}句。"
            ok(await save(api, owner, work["id"], chapter["id"], text))
        ok(await save(api, editor, work["id"], chapter["id"], text + "编辑加的。"))

    async with api.app.adapters.database.session() as session:
        rows = list(await session.scalars(select(DocAuthor).where(DocAuthor.doc == doc)))
    assert sorted(row.user_id for row in rows) == sorted([owner.id, editor.id])
    async with api.app.adapters.rooms.hold(doc) as room:
        assert len(clocks(room.doc)) == 2
    got = ok(await api.call("GET", f"/api/v1/chapters/{chapter['id']}/authorship", owner))
    assert _spans(text + "编辑加的。", got["runs"]) == [
        ("user", owner.id, text),
        ("user", editor.id, "编辑加的。"),
    ]


async def test_strangers_read_no_authorship(api: Api) -> None:
    owner, stranger = await api.sign_up(), await api.sign_up()
    work = await make_work(api, owner)
    chapter = await make_chapter(api, owner, work["id"])
    for path in (
        f"/api/v1/chapters/{chapter['id']}/authorship",
        f"/api/v1/works/{work['id']}/authorship",
    ):
        assert (await api.call("GET", path, stranger)).status_code == 404


def test_the_client_ids_of_an_update_are_read_from_its_header() -> None:
    from pycrdt import Doc, Text

    one: Doc = Doc(client_id=7)
    one.get("content", type=Text).insert(0, "甲")
    two: Doc = Doc(client_id=9)
    two.apply_update(one.get_update())
    two.get("content", type=Text).insert(0, "乙")
    assert writing_clients(one.get_update()) == {7}
    assert writing_clients(two.get_update()) == {7, 9}
    assert writing_clients(b"\x00\x00") == set()
