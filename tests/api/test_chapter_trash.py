"""The chapter trash: a deleted chapter leaves the list, search, totals and `/sync`, and comes
back whole (text, versions, position, totals); deleted for good by hand or after the retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from jobs.trash import purge_chapter_trash
from storage.sql.models import TrashedChapter
from tests.api.test_works import make_chapter, make_work, me, ok, refused, save, share
from tests.support.api import Account, Api
from tests.support.waiting import eventually
from tests.support.yclient import YClient

TRASH = "/api/v1/chapters/trash"
# The first test runs on MariaDB too (its locking and row moves); the rest on SQLite alone.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def titles(api: Api, who: Account, work_id: int) -> list[tuple[str, int]]:
    listed = ok(await api.call("GET", f"/api/v1/works/{work_id}/chapters", who))
    return [(c["title"], c["chapter_number"]) for c in listed["items"]]


async def totals(api: Api, who: Account, work_id: int) -> tuple[int, int, int]:
    work = ok(await api.call("GET", f"/api/v1/works/{work_id}", who))
    return work["chapter_count"], work["word_count"], (await me(api, who))["total_words"]


async def found(api: Api, who: Account, q: str) -> set[int]:
    result = ok(await api.call("GET", "/api/v1/search", who, params={"q": q}))
    return {item["id"] for item in result["items"] if item["type"] == "chapter"}


async def trashed(api: Api, who: Account) -> list[dict[str, Any]]:
    return list(ok(await api.call("GET", TRASH, who))["items"])


async def test_a_deleted_chapter_goes_to_the_trash_and_comes_back_whole(api: Api) -> None:
    owner, editor, viewer, stranger = [await api.sign_up() for _ in range(4)]
    work = await make_work(api, owner, title="雪国")
    await share(api, owner, work["id"], editor, "editor")
    await share(api, owner, work["id"], viewer, "viewer")
    a, b, c = [await make_chapter(api, owner, work["id"], t) for t in ("甲", "乙", "丙")]
    ok(await save(api, owner, work["id"], a["id"], "开头"))
    version = ok(
        await api.call(
            "POST", f"/api/v1/chapters/{b['id']}/versions", owner, json={"name": "初稿"}
        ),
        201,
    )
    ok(await save(api, owner, work["id"], b["id"], "穿过县界长长的隧道"))
    await api.app.app.state.adapters.projection.flush()
    assert await totals(api, owner, work["id"]) == (3, 11, 11)
    assert await found(api, owner, "隧道") == {b["id"]}

    ok(await api.call("DELETE", f"/api/v1/chapters/{b['id']}", editor))
    assert await titles(api, owner, work["id"]) == [("甲", 1), ("丙", 2)]
    assert await totals(api, owner, work["id"]) == (2, 2, 2)
    assert await found(api, owner, "隧道") == set()
    for who in (owner, viewer):
        refused(await api.call("GET", f"/api/v1/chapters/{b['id']}", who), 404)
        refused(await api.call("GET", f"/api/v1/chapters/{b['id']}/content", who), 404)
    listed = await trashed(api, editor)
    assert [(x["id"], x["title"], x["position"], x["work_title"]) for x in listed] == [
        (b["id"], "乙", 2, "雪国")
    ]
    assert listed[0]["word_count"] == 9 and listed[0]["work_id"] == work["id"]
    assert await trashed(api, viewer) == [] and await trashed(api, stranger) == []
    refused(await api.call("POST", f"/api/v1/chapters/{b['id']}/restore", viewer), 403)
    refused(await api.call("POST", f"/api/v1/chapters/{b['id']}/restore", stranger), 404)
    refused(await api.call("POST", f"/api/v1/chapters/{a['id']}/restore", owner), 409)

    back = ok(await api.call("POST", f"/api/v1/chapters/{b['id']}/restore", editor))
    assert (back["id"], back["content_id"], back["chapter_number"]) == (b["id"], b["content_id"], 2)
    assert await titles(api, owner, work["id"]) == [("甲", 1), ("乙", 2), ("丙", 3)]
    assert await totals(api, owner, work["id"]) == (3, 11, 11)
    text = ok(await api.call("GET", f"/api/v1/chapters/{b['id']}/content", viewer))["content"]
    assert text == "穿过县界长长的隧道"
    versions = ok(await api.call("GET", f"/api/v1/chapters/{b['id']}/versions", owner))
    assert version["id"] in [v["id"] for v in versions]
    assert await found(api, owner, "隧道") == {b["id"]}
    assert await trashed(api, owner) == []
    assert c["id"] != b["id"]


@sqlite_only
async def test_a_restore_goes_back_to_its_place_or_to_the_end(api: Api) -> None:
    writer = await api.sign_up()
    work = await make_work(api, writer)
    a, b, c = [await make_chapter(api, writer, work["id"], t) for t in ("一", "二", "三")]
    ok(await api.call("DELETE", f"/api/v1/chapters/{c['id']}", writer))
    ok(await api.call("DELETE", f"/api/v1/chapters/{b['id']}", writer))
    assert sorted(x["id"] for x in await trashed(api, writer)) == [b["id"], c["id"]]
    assert await titles(api, writer, work["id"]) == [("一", 1)]
    ok(await api.call("POST", f"/api/v1/chapters/{c['id']}/restore", writer))  # 3rd of 1: the end
    assert await titles(api, writer, work["id"]) == [("一", 1), ("三", 2)]
    ok(await api.call("POST", f"/api/v1/chapters/{b['id']}/restore", writer))  # its place, 2nd
    assert await titles(api, writer, work["id"]) == [("一", 1), ("二", 2), ("三", 3)]
    assert (await totals(api, writer, work["id"]))[0] == 3
    assert a["id"] != b["id"]


@sqlite_only
async def test_delete_for_good_by_hand_with_the_work_and_after_the_retention(api: Api) -> None:
    writer = await api.sign_up()
    work = await make_work(api, writer)
    a, b, c = [await make_chapter(api, writer, work["id"]) for _ in range(3)]
    for chapter in (a, b):
        ok(await api.call("DELETE", f"/api/v1/chapters/{chapter['id']}", writer))
    refused(await api.call("DELETE", f"/api/v1/chapters/{c['id']}/purge", writer), 409)
    ok(await api.call("DELETE", f"/api/v1/chapters/{a['id']}/purge", writer))
    refused(await api.call("POST", f"/api/v1/chapters/{a['id']}/restore", writer), 404)
    assert [x["id"] for x in await trashed(api, writer)] == [b["id"]]

    database = api.app.adapters.database
    soon = datetime.now(UTC) + timedelta(days=29)
    assert await purge_chapter_trash(database, 30 * 86400, now=soon) == (
        "purged 0 chapters from the trash"
    )
    later = datetime.now(UTC) + timedelta(days=31)
    assert await purge_chapter_trash(database, 30 * 86400, now=later) == (
        "purged 1 chapters from the trash"
    )
    assert await trashed(api, writer) == []

    other = await make_work(api, writer, title="整部删掉")
    gone = await make_chapter(api, writer, other["id"])
    ok(await api.call("DELETE", f"/api/v1/chapters/{gone['id']}", writer))
    ok(await api.call("DELETE", f"/api/v1/works/{other['id']}", writer))
    assert await trashed(api, writer) == []  # the work's trash hides its chapters
    ok(await api.call("DELETE", f"/api/v1/works/{other['id']}/purge", writer))
    async with database.session() as session:
        left = await session.scalar(select(func.count(TrashedChapter.id)))
    assert left == 0


@sqlite_only
async def test_deleting_a_chapter_closes_its_sync_sockets(api: Api) -> None:
    owner, editor = await api.sign_up(), await api.sign_up()
    work = await make_work(api, owner)
    await share(api, owner, work["id"], editor, "editor")
    chapter = await make_chapter(api, owner, work["id"])
    doc = chapter["content_id"]
    socket = await YClient(api.app.sync_url, doc, token=editor.token).connect()
    try:
        ok(await api.call("DELETE", f"/api/v1/chapters/{chapter['id']}", owner))
        await eventually(socket.closed.is_set, what="the trashed chapter's socket closed")
        assert socket.close_code == 4403
    finally:
        await socket.close()
    again = await YClient(api.app.sync_url, doc, token=editor.token).connect(wait_synced=False)
    try:
        await eventually(again.closed.is_set, what="a new socket refused")
        assert again.close_code == 4403
    finally:
        await again.close()

    ok(await api.call("POST", f"/api/v1/chapters/{chapter['id']}/restore", owner))
    back = await YClient(api.app.sync_url, doc, token=editor.token).connect()
    try:
        assert not back.closed.is_set()
    finally:
        await back.close()
