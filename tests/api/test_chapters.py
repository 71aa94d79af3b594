"""Chapters, their content through REST and their versions, on both databases."""

from __future__ import annotations

import re

from storage.sql.models import Chapter
from tests.api.test_works import make_chapter, make_work, ok, refused, save, share
from tests.support.api import Api
from tests.support.waiting import eventually
from tests.support.yclient import YClient


async def test_chapters_are_numbered_at_the_end(api: Api) -> None:
    writer = await api.sign_up()
    work = await make_work(api, writer)
    one = await make_chapter(api, writer, work["id"])
    two = await make_chapter(api, writer, work["id"], "风起")
    assert (one["chapter_number"], one["sort_order"], one["title"]) == (1, 1, "第1章")
    assert (two["chapter_number"], two["sort_order"], two["title"]) == (2, 2, "风起")
    assert re.fullmatch(r"chapter-[0-9a-f]{32}", one["content_id"])
    assert one["content_id"] != two["content_id"] and one["work_id"] == work["id"]
    assert one["word_count"] == 0 and one["text_updated_at"] is None

    detail = ok(await api.call("GET", f"/api/v1/works/{work['id']}", writer))
    assert detail["chapter_count"] == 2
    assert [c["id"] for c in detail["chapters"]] == [one["id"], two["id"]]
    listed = ok(await api.call("GET", f"/api/v1/works/{work['id']}/chapters", writer))
    assert [c["title"] for c in listed["items"]] == ["第1章", "风起"]
    got = ok(await api.call("GET", f"/api/v1/chapters/{two['id']}", writer))
    assert got["content_id"] == two["content_id"]
    for body in ({"title": ""}, {"title": "x" * 201}, {"title": "x", "extra": 1}):
        path = f"/api/v1/works/{work['id']}/chapters"
        refused(await api.call("POST", path, writer, json=body), 422)


async def test_only_writers_change_chapters(api: Api) -> None:
    owner, editor, viewer, stranger = [await api.sign_up() for _ in range(4)]
    work = await make_work(api, owner)
    await share(api, owner, work["id"], editor, "editor")
    await share(api, owner, work["id"], viewer, "viewer")
    made = await make_chapter(api, editor, work["id"], "编辑写的")
    assert made["chapter_number"] == 1
    chapters = f"/api/v1/works/{work['id']}/chapters"
    one = f"/api/v1/chapters/{made['id']}"

    refused(await api.call("POST", chapters, viewer, json={}), 403)
    refused(await api.call("PATCH", one, viewer, json={"title": "偷"}), 403)
    refused(await api.call("DELETE", one, viewer), 403)
    refused(
        await api.call("POST", f"{chapters}/reorder", viewer, json={"chapter_ids": [made["id"]]}),
        403,
    )
    for method, body in (("GET", None), ("PATCH", {"title": "偷"}), ("DELETE", None)):
        refused(await api.call(method, one, stranger, json=body), 404)
    refused(await api.call("GET", f"{one}/content", stranger), 404)
    assert ok(await api.call("GET", one, viewer))["title"] == "编辑写的"
    assert ok(await api.call("PATCH", one, editor, json={"title": "改名"}))["title"] == "改名"
    assert len(ok(await api.call("GET", chapters, viewer))["items"]) == 1


async def test_reorder_needs_a_permutation_and_renumbers(api: Api) -> None:
    writer = await api.sign_up()
    work = await make_work(api, writer)
    other = await make_work(api, writer, title="别的")
    a, b, c = [await make_chapter(api, writer, work["id"], t) for t in ("甲", "乙", "丙")]
    foreign = await make_chapter(api, writer, other["id"])
    path = f"/api/v1/works/{work['id']}/chapters/reorder"

    for ids in (
        [a["id"], b["id"]],
        [a["id"], b["id"], c["id"], c["id"]],
        [a["id"], b["id"], foreign["id"]],
        [],
    ):
        refused(await api.call("POST", path, writer, json={"chapter_ids": ids}), 422)
    ordered = ok(
        await api.call("POST", path, writer, json={"chapter_ids": [c["id"], a["id"], b["id"]]})
    )
    assert [(x["title"], x["chapter_number"], x["sort_order"]) for x in ordered] == [
        ("丙", 1, 1),
        ("甲", 2, 2),
        ("乙", 3, 3),
    ]
    detail = ok(await api.call("GET", f"/api/v1/works/{work['id']}", writer))
    assert [x["title"] for x in detail["chapters"]] == ["丙", "甲", "乙"]
    d = await make_chapter(api, writer, work["id"], "丁")
    assert (d["chapter_number"], d["sort_order"]) == (4, 4)


async def test_delete_a_chapter_moves_the_rest_up(api: Api) -> None:
    writer = await api.sign_up()
    work = await make_work(api, writer)
    a, b, c = [await make_chapter(api, writer, work["id"], t) for t in ("甲", "乙", "丙")]
    ok(await save(api, writer, work["id"], b["id"], "被删的章节"))
    ok(await save(api, writer, work["id"], c["id"], "留下"))
    await api.app.app.state.adapters.projection.flush()
    assert ok(await api.call("GET", f"/api/v1/works/{work['id']}", writer))["word_count"] == 7

    ok(await api.call("DELETE", f"/api/v1/chapters/{b['id']}", writer))
    refused(await api.call("GET", f"/api/v1/chapters/{b['id']}", writer), 404)
    refused(await api.call("DELETE", f"/api/v1/chapters/{b['id']}", writer), 404)
    detail = ok(await api.call("GET", f"/api/v1/works/{work['id']}", writer))
    assert [(x["title"], x["chapter_number"]) for x in detail["chapters"]] == [("甲", 1), ("丙", 2)]
    assert (detail["chapter_count"], detail["word_count"]) == (2, 2)
    assert ok(await api.call("GET", "/api/v1/users/me", writer))["total_words"] == 2
    assert a["id"] != c["id"]


async def test_content_round_trip_through_the_live_document(api: Api) -> None:
    writer = await api.sign_up()
    work = await make_work(api, writer)
    chapter = await make_chapter(api, writer, work["id"])
    path = f"/api/v1/chapters/{chapter['id']}/content"

    empty = ok(await api.call("GET", path, writer))
    assert (empty["content"], empty["word_count"], empty["meta"]) == ("", 0, {})
    text = "第一段：夜色如墨。\n\nShe said hello 2 times."
    saved = ok(await save(api, writer, work["id"], chapter["id"], text))
    assert saved["saved"] is True and saved["changed"] is True and saved["saved_at"]
    assert saved["word_count"] == 9 + 5 and saved["version_id"] is None
    got = ok(await api.call("GET", path, writer))
    assert got["content"] == text and got["word_count"] == 14 and got["role"] == "owner"
    again = ok(await save(api, writer, work["id"], chapter["id"], text))
    assert again["changed"] is False

    edited = text.replace("夜色如墨", "月色如水") + "尾声。"
    ok(await save(api, writer, work["id"], chapter["id"], edited))
    assert ok(await api.call("GET", path, writer))["content"] == edited
    # The difference, not the whole text, went into the log: the unchanged part is not re-sent.
    stored = await api.app.adapters.store.load(chapter["content_id"])
    assert b"She said hello" not in stored.updates[-1]
    assert sum(b"She said hello" in u for u in stored.updates) == 1


async def test_content_limits_and_wrong_pairs(api: Api) -> None:
    writer = await api.sign_up()
    work = await make_work(api, writer)
    other = await make_work(api, writer, title="别的")
    chapter = await make_chapter(api, writer, work["id"])
    put = f"/api/v1/works/{work['id']}/content"

    too_long = refused(
        await api.call(
            "PUT", put, writer, json={"chapter_id": chapter["id"], "content": "字" * 2_000_001}
        ),
        422,
        42201,
    )
    assert "content" in too_long["error"]
    refused(await api.call("PUT", put, writer, json={"content": "x"}), 422)
    refused(await api.call("PUT", put, writer, json={"chapter_id": chapter["id"]}), 422)
    wrong_work = f"/api/v1/works/{other['id']}/content"
    refused(
        await api.call(
            "PUT", wrong_work, writer, json={"chapter_id": chapter["id"], "content": "x"}
        ),
        404,
    )
    refused(
        await api.call("PUT", put, writer, json={"chapter_id": 999999, "content": "x"}),
        404,
    )
    got = ok(await api.call("GET", f"/api/v1/chapters/{chapter['id']}/content", writer))
    assert got["content"] == ""
    big = "长篇" * 100_000 + "\n"
    ok(await save(api, writer, work["id"], chapter["id"], big))
    replaced = "另一个故事" * 40_000  # a different text as large: replaced in bounded time
    assert ok(await save(api, writer, work["id"], chapter["id"], replaced))["word_count"] == 200_000
    got = ok(await api.call("GET", f"/api/v1/chapters/{chapter['id']}/content", writer))
    assert got["content"] == replaced


async def test_a_viewer_cannot_save_and_nothing_is_stored(api: Api) -> None:
    owner, viewer, stranger = [await api.sign_up() for _ in range(3)]
    work = await make_work(api, owner)
    await share(api, owner, work["id"], viewer, "viewer")
    chapter = await make_chapter(api, owner, work["id"])
    ok(await save(api, owner, work["id"], chapter["id"], "原文。"))
    before = await api.app.adapters.store.load(chapter["content_id"])

    refused(await save(api, viewer, work["id"], chapter["id"], "读者偷改。"), 403, 40301)
    refused(await save(api, stranger, work["id"], chapter["id"], "陌生人偷改。"), 404)
    after = await api.app.adapters.store.load(chapter["content_id"])
    assert after.updates == before.updates
    got = ok(await api.call("GET", f"/api/v1/chapters/{chapter['id']}/content", viewer))
    assert got["content"] == "原文。" and got["role"] == "viewer"


async def test_versions_are_named_read_and_restored(api: Api) -> None:
    owner, viewer, stranger = [await api.sign_up() for _ in range(3)]
    work = await make_work(api, owner)
    await share(api, owner, work["id"], viewer, "viewer")
    chapter = await make_chapter(api, owner, work["id"])
    other = await make_chapter(api, owner, work["id"])
    versions = f"/api/v1/chapters/{chapter['id']}/versions"

    ok(await save(api, owner, work["id"], chapter["id"], "初稿。"))
    first = ok(await api.call("POST", versions, owner, json={"name": "初稿"}), 201)
    assert (first["name"], first["author"], first["chapter_id"]) == (
        "初稿",
        owner.username,
        chapter["id"],
    )
    ok(await save(api, owner, work["id"], chapter["id"], "二稿，改了很多。"))
    manual = ok(
        await api.call(
            "PUT",
            f"/api/v1/works/{work['id']}/content",
            owner,
            json={"chapter_id": chapter["id"], "content": "三稿。", "auto_save": False},
        )
    )
    assert manual["version_id"] is not None

    listed = ok(await api.call("GET", versions, viewer))
    assert [v["id"] for v in listed] == [first["id"], manual["version_id"]]
    read = ok(await api.call("GET", f"{versions}/{first['id']}", viewer))
    assert (read["content"], read["word_count"], read["name"]) == ("初稿。", 3, "初稿")
    third = ok(await api.call("GET", f"{versions}/{manual['version_id']}", owner))
    assert third["content"] == "三稿。"

    refused(await api.call("POST", versions, viewer, json={"name": "偷"}), 403)
    refused(await api.call("POST", f"{versions}/{first['id']}/restore", viewer), 403)
    refused(await api.call("POST", versions, owner, json={"name": ""}), 422)
    for method, path in (
        ("GET", versions),
        ("GET", f"{versions}/{first['id']}"),
        ("POST", f"{versions}/{first['id']}/restore"),
    ):
        refused(await api.call(method, path, stranger), 404)
    # Another chapter's version id is not found through this chapter.
    elsewhere = f"/api/v1/chapters/{other['id']}/versions"
    refused(await api.call("GET", f"{elsewhere}/{first['id']}", owner), 404)
    refused(await api.call("POST", f"{elsewhere}/{first['id']}/restore", owner), 404)
    refused(await api.call("GET", f"{versions}/999999", owner), 404)

    log_before = len((await api.app.adapters.store.load(chapter["content_id"])).updates)
    restored = ok(await api.call("POST", f"{versions}/{first['id']}/restore", owner))
    assert restored["changed"] is True and restored["content"] == "初稿。"
    assert restored["version"]["id"] == first["id"]
    got = ok(await api.call("GET", f"/api/v1/chapters/{chapter['id']}/content", owner))
    assert got["content"] == "初稿。"
    stored = await api.app.adapters.store.load(chapter["content_id"])
    assert len(stored.updates) > log_before  # new operations appended; history kept
    listed = ok(await api.call("GET", versions, owner))
    assert [v["id"] for v in listed[:2]] == [first["id"], manual["version_id"]]
    assert listed[2]["id"] == restored["pre_restore_version"]["id"]  # the state it replaced
    assert ok(await api.call("GET", f"/api/v1/chapters/{other['id']}/versions", owner)) == []


async def test_a_restore_keeps_the_state_it_replaces_and_restoring_that_undoes_it(
    api: Api,
) -> None:
    owner = await api.sign_up("林冲")
    work = await make_work(api, owner)
    chapter = await make_chapter(api, owner, work["id"])
    versions = f"/api/v1/chapters/{chapter['id']}/versions"
    content = f"/api/v1/chapters/{chapter['id']}/content"
    draft = "信封上的字迹已经模糊。"
    ok(await save(api, owner, work["id"], chapter["id"], draft))
    first = ok(await api.call("POST", versions, owner, json={"name": "初稿"}), 201)
    # A live editor writes on, text and meta, after the draft was named.
    socket = await YClient(api.app.sync_url, chapter["content_id"], token=owner.token).connect()
    try:
        socket.meta["人物"] = "林冲、鲁智深"
        socket.append("\n他把信折好，收进抽屉。𠀋")

        async def written() -> dict[str, object]:
            got = ok(await api.call("GET", content, owner))
            assert got["content"].endswith("𠀋") and got["meta"], got
            return got

        before = await eventually(written, what="the socket's edits over REST")

        restored = ok(await api.call("POST", f"{versions}/{first['id']}/restore", owner))
        assert (restored["changed"], restored["content"]) == (True, draft)
        pre = restored["pre_restore_version"]
        assert re.fullmatch(r"恢复前 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", pre["name"]), pre
        assert (pre["author"], pre["chapter_id"]) == (owner.username, chapter["id"])
        listed = ok(await api.call("GET", versions, owner))
        assert [v["id"] for v in listed] == [first["id"], pre["id"]]
        kept = ok(await api.call("GET", f"{versions}/{pre['id']}", owner))
        assert (kept["content"], kept["meta"]) == (before["content"], before["meta"])
        # Editors learn of the restore in the same update that carries it.
        await eventually(lambda: str(socket.text) == draft and "restored" in socket.meta)
        stamp = socket.meta["restored"]
        assert (stamp["version_id"], stamp["pre_restore_version_id"]) == (first["id"], pre["id"])
        assert (stamp["by"], stamp["version_name"]) == (owner.username, "初稿")
        assert "人物" not in socket.meta

        # Undoing the restore is restoring that version: exactly the text and meta before.
        undone = ok(await api.call("POST", f"{versions}/{pre['id']}/restore", owner))
        assert (undone["changed"], undone["content"]) == (True, before["content"])
        after = ok(await api.call("GET", content, owner))
        assert after["content"] == before["content"]
        assert {k: v for k, v in after["meta"].items() if k != "restored"} == before["meta"]
        await eventually(lambda: str(socket.text) == before["content"])
        assert socket.meta["restored"]["version_id"] == pre["id"]
        redo = ok(await api.call("GET", f"{versions}/{undone['pre_restore_version']['id']}", owner))
        assert redo["content"] == draft  # and that restore can be undone the same way

        again = ok(await api.call("POST", f"{versions}/{pre['id']}/restore", owner))
        assert (again["changed"], again["pre_restore_version"]) == (False, None)
        assert len(ok(await api.call("GET", versions, owner))) == 3
    finally:
        await socket.close()


async def test_a_rest_save_reaches_the_sql_projection(api: Api) -> None:
    """The SQL text is derived: a save goes to the document, the row follows after the debounce."""
    writer = await api.sign_up()
    work = await make_work(api, writer)
    chapter = await make_chapter(api, writer, work["id"])
    ok(await save(api, writer, work["id"], chapter["id"], "派生的文本"))
    await api.app.app.state.adapters.projection.flush()
    async with api.app.adapters.database.session() as session:
        row = await session.get(Chapter, chapter["id"])
        assert row is not None
        assert (row.text, row.word_count) == ("派生的文本", 5)
        assert row.text_updated_at is not None
