"""A work's chapter list in pages (keyset and numbered), its summary form, and the work's
totals kept by difference as chapters come, change and go; on both databases (paging is SQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from api.services.chapter_pages import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from storage.sql.models import Chapter, User, Work
from storage.text.wordcount import count_words
from tests.api.test_projection import until_projected
from tests.api.test_works import make_chapter, make_work, me, ok, refused, save
from tests.support.api import Account, Api


async def listed(api: Api, account: Account, work_id: int, **params: Any) -> dict[str, Any]:
    path = f"/api/v1/works/{work_id}/chapters"
    return ok(await api.call("GET", path, account, params=params))


async def walk(api: Api, account: Account, work_id: int, **params: Any) -> list[list[int]]:
    """Every page's chapter ids, following `next` from the first page to the last."""
    pages: list[list[int]] = []
    page = await listed(api, account, work_id, **params)
    while True:
        pages.append([c["id"] for c in page["items"]])
        assert page["has_more"] == (page["next"] is not None)
        if not page["has_more"]:
            return pages
        assert page["next"] == pages[-1][-1]
        page = await listed(api, account, work_id, after=page["next"], **params)


async def test_pages_follow_next_to_the_end(api: Api) -> None:
    writer = await api.sign_up()
    work = await make_work(api, writer)
    ids = [(await make_chapter(api, writer, work["id"], f"第{n}回"))["id"] for n in range(1, 6)]

    first = await listed(api, writer, work["id"], page_size=2)
    assert (first["total"], first["page"], first["page_size"]) == (5, 1, 2)
    assert [c["title"] for c in first["items"]] == ["第1回", "第2回"]
    assert (first["has_more"], first["next"]) == (True, ids[1])
    assert await walk(api, writer, work["id"], page_size=2) == [ids[:2], ids[2:4], ids[4:]]

    everything = await listed(api, writer, work["id"])
    assert everything["page_size"] == DEFAULT_PAGE_SIZE
    assert [c["id"] for c in everything["items"]] == ids
    assert (everything["has_more"], everything["next"]) == (False, None)

    numbered = await listed(api, writer, work["id"], page=2, page_size=2)
    assert [c["id"] for c in numbered["items"]] == ids[2:4] and numbered["page"] == 2
    assert numbered["has_more"] and numbered["next"] == ids[3]
    beyond = await listed(api, writer, work["id"], page=4, page_size=2)
    assert beyond["items"] == [] and not beyond["has_more"] and beyond["total"] == 5

    detail = ok(await api.call("GET", f"/api/v1/works/{work['id']}", writer))
    assert [c["id"] for c in detail["chapters"]] == ids and detail["chapters_next"] is None


async def test_changes_between_pages_neither_repeat_nor_skip(api: Api) -> None:
    writer = await api.sign_up()
    work = await make_work(api, writer)
    ids = [(await make_chapter(api, writer, work["id"]))["id"] for _ in range(5)]

    first = await listed(api, writer, work["id"], page_size=2)
    assert [c["id"] for c in first["items"]] == ids[:2]
    # Meanwhile: the first chapter goes (the rest move up a place) and one is added at the end.
    ok(await api.call("DELETE", f"/api/v1/chapters/{ids[0]}", writer))
    added = (await make_chapter(api, writer, work["id"], "新章"))["id"]

    second = await listed(api, writer, work["id"], page_size=2, after=first["next"])
    assert [c["id"] for c in second["items"]] == ids[2:4] and second["page"] is None
    assert [c["chapter_number"] for c in second["items"]] == [2, 3]
    third = await listed(api, writer, work["id"], page_size=2, after=second["next"])
    assert [c["id"] for c in third["items"]] == [ids[4], added]
    assert third["has_more"] is False and third["total"] == 5

    # The chapter a client would continue after is gone: it is told to start over.
    gone = await api.call(
        "GET", f"/api/v1/works/{work['id']}/chapters", writer, params={"after": ids[0]}
    )
    assert "first page" in refused(gone, 404, 40401)["error"]


async def test_page_size_and_cursor_are_checked(api: Api) -> None:
    writer = await api.sign_up()
    work = await make_work(api, writer)
    other = await make_work(api, writer, title="别的")
    foreign = await make_chapter(api, writer, other["id"])
    path = f"/api/v1/works/{work['id']}/chapters"

    for size in (0, MAX_PAGE_SIZE + 1):
        zh = refused(await api.call("GET", path, writer, params={"page_size": size}), 422, 42201)
        assert zh["fields"] == [
            {"field": "page_size", "reason": f"每页章节数须在 1 到 {MAX_PAGE_SIZE} 之间"}
        ]
        en = refused(
            await api.call(
                "GET", path, writer, params={"page_size": size}, headers={"Accept-Language": "en"}
            ),
            422,
        )
        assert (
            en["fields"][0]["reason"] == f"page_size must be between 1 and {MAX_PAGE_SIZE} chapters"
        )
    both = refused(await api.call("GET", path, writer, params={"page": 2, "after": 1}), 422)
    assert "after" in both["fields"][0]["reason"]
    for bad in ({"after": 0}, {"page": 0}, {"fields": "all"}):
        refused(await api.call("GET", path, writer, params=bad), 422, 42201)
    # A chapter of another work is no cursor for this one.
    refused(await api.call("GET", path, writer, params={"after": foreign["id"]}), 404)
    assert (await listed(api, writer, work["id"], page_size=MAX_PAGE_SIZE))["items"] == []


async def test_summary_form_leaves_out_all_but_the_table_of_contents(api: Api) -> None:
    writer = await api.sign_up()
    work = await make_work(api, writer)
    chapter = await make_chapter(api, writer, work["id"], "楔子")
    full = (await listed(api, writer, work["id"]))["items"][0]
    assert full["content_id"] == chapter["content_id"] and "text" not in full
    summary = (await listed(api, writer, work["id"], fields="summary"))["items"][0]
    assert summary == {
        "id": chapter["id"],
        "chapter_number": 1,
        "title": "楔子",
        "word_count": 0,
        "updated_at": full["updated_at"],
    }


async def recounted(api: Api, work_id: int, user_id: int) -> tuple[int, int, int]:
    """The work's chapters and 字数 and the owner's total, counted afresh from the rows."""
    async with api.app.adapters.database.session() as session:
        chapters, words = (
            await session.execute(
                select(
                    func.count(Chapter.id), func.coalesce(func.sum(Chapter.word_count), 0)
                ).where(Chapter.work_id == work_id)
            )
        ).one()
        total = await session.scalar(
            select(func.coalesce(func.sum(Work.word_count), 0)).where(
                Work.user_id == user_id, Work.is_deleted == 0
            )
        )
        kept = await session.scalar(select(User.total_words).where(User.id == user_id))
    assert kept == total
    return int(chapters), int(words), int(total or 0)


async def test_totals_follow_every_create_edit_and_delete(api: Api) -> None:
    writer = await api.sign_up()
    work = await make_work(api, writer)
    texts = ["长安十二时辰。", "望楼上灯火通明，Zhang Xiaojing 看着。", "夜。"]
    chapters = [await make_chapter(api, writer, work["id"]) for _ in texts]

    async def totals() -> tuple[int, int, int]:
        detail = ok(await api.call("GET", f"/api/v1/works/{work['id']}", writer))
        kept = (
            detail["chapter_count"],
            detail["word_count"],
            (await me(api, writer))["total_words"],
        )
        assert kept == await recounted(api, work["id"], writer.id)
        return kept

    assert await totals() == (3, 0, 0)
    for chapter, text in zip(chapters, texts, strict=True):
        ok(await save(api, writer, work["id"], chapter["id"], text))
        await until_projected(api, chapter["id"], text)
    words = [count_words(text) for text in texts]
    assert await totals() == (3, sum(words), sum(words))

    edited = "望楼上灯火已熄。"
    ok(await save(api, writer, work["id"], chapters[1]["id"], edited))
    await until_projected(api, chapters[1]["id"], edited)
    words[1] = count_words(edited)
    assert await totals() == (3, sum(words), sum(words))

    ok(await api.call("DELETE", f"/api/v1/chapters/{chapters[0]['id']}", writer))
    assert await totals() == (2, sum(words[1:]), sum(words[1:]))
    fourth = await make_chapter(api, writer, work["id"])
    assert fourth["chapter_number"] == 3
    assert await totals() == (3, sum(words[1:]), sum(words[1:]))
