"""Invariant 3: the SQL text projection is derived from the documents, debounced, rebuildable."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.projection import Projector
from api.settings import Settings
from storage.sql.models import Chapter, SearchTerm, User, Work
from storage.text.wordcount import count_words
from tests.api.test_works import make_chapter, make_work, me, ok, save
from tests.support.api import Account, Api, running_api
from tests.support.clock import ManualClock
from tests.support.waiting import eventually
from tests.support.yclient import YClient

TEXT = "夜色如墨，长安城里灯火通明。Zhang Xiaojing 站在望楼上。"


def projector(api: Api) -> Projector:
    return api.app.adapters.projection


def own_projector(api: Api, **options: Any) -> Projector:
    """A projector of the app's database and store that no room feeds: the test does."""
    adapters = api.app.adapters
    options.setdefault("debounce_s", adapters.settings.projection_debounce_s)
    return Projector(adapters.database, adapters.store, **options)


async def chapter_row(api: Api, chapter_id: int) -> Chapter:
    async with api.app.adapters.database.session() as session:
        row = await session.get(Chapter, chapter_id)
    assert row is not None
    return row


async def indexed_terms(api: Api, chapter_id: int) -> set[str]:
    async with api.app.adapters.database.session() as session:
        rows = await session.scalars(
            select(SearchTerm.term).where(
                SearchTerm.owner_type == "chapter", SearchTerm.owner_id == chapter_id
            )
        )
        return set(rows)


async def until_projected(api: Api, chapter_id: int, text: str) -> Chapter:
    async def projected() -> Chapter | None:
        row = await chapter_row(api, chapter_id)
        return row if row.text == text else None

    return await eventually(projected, what=f"the projection shows {text!r}")


def counting_writes(projection: Projector) -> list[str]:
    """Record the text of every write `projection` makes from now on."""
    writes: list[str] = []
    original = projection._project

    async def counting(doc: str, text: str, **options: bool) -> bool:
        writes.append(text)
        return await original(doc, text, **options)

    projection._project = counting  # type: ignore[method-assign]
    return writes


def assert_due_in(
    projection: Projector, doc: str, delay: float, change: Callable[[], None]
) -> None:
    """`change()` leaves `doc`'s projection due exactly `delay` seconds after it was made."""
    loop = asyncio.get_running_loop()
    before = loop.time()
    change()
    after = loop.time()
    due = projection.due(doc)
    assert due is not None and before + delay <= due <= after + delay, (due - before, delay)


async def typed_chapter(api: Api) -> tuple[Account, dict[str, Any], dict[str, Any]]:
    """A writer whose chapter got TEXT through a socket, projected."""
    writer = await api.sign_up()
    work = await make_work(api, writer)
    chapter = await make_chapter(api, writer, work["id"])
    client = await YClient(api.app.sync_url, chapter["content_id"], token=writer.token).connect()
    try:
        client.append(TEXT)
        await until_projected(api, chapter["id"], TEXT)
    finally:
        await client.close()
    return writer, work, chapter


async def test_socket_edits_reach_text_word_count_totals_and_search(api: Api) -> None:
    writer, work, chapter = await typed_chapter(api)
    expected = count_words(TEXT)
    row = await chapter_row(api, chapter["id"])
    assert row.word_count == expected and row.text_updated_at is not None
    assert (
        ok(await api.call("GET", f"/api/v1/chapters/{chapter['id']}", writer))["word_count"]
        == expected
    )
    assert (
        ok(await api.call("GET", f"/api/v1/works/{work['id']}", writer))["word_count"] == expected
    )
    assert (await me(api, writer))["total_words"] == expected
    terms = await indexed_terms(api, chapter["id"])
    assert {"长安", "望楼"} <= terms
    assert any(term.lower() == "xiaojing" for term in terms)

    client = await YClient(api.app.sync_url, chapter["content_id"], token=writer.token).connect()
    try:
        client.insert(0, "序。")
        row = await until_projected(api, chapter["id"], "序。" + TEXT)
    finally:
        await client.close()
    assert row.word_count == expected + 2
    assert (await me(api, writer))["total_words"] == expected + 2


async def test_rebuild_restores_a_tampered_projection(api: Api) -> None:
    writer, work, chapter = await typed_chapter(api)
    empty_work = await make_work(api, writer, title="空")
    expected = count_words(TEXT)
    async with api.app.adapters.database.session() as session:
        await session.execute(
            update(Chapter).where(Chapter.id == chapter["id"]).values(text="篡改", word_count=999)
        )
        await session.execute(update(Work).values(word_count=7777, chapter_count=42))
        await session.execute(update(User).where(User.id == writer.id).values(total_words=1))
        await session.execute(delete(SearchTerm))
    assert (await me(api, writer))["total_words"] == 1

    assert await projector(api).rebuild(chapter["id"], recount=True) is True
    row = await chapter_row(api, chapter["id"])
    assert (row.text, row.word_count) == (TEXT, expected)
    assert "长安" in await indexed_terms(api, chapter["id"])
    assert (
        ok(await api.call("GET", f"/api/v1/works/{work['id']}", writer))["word_count"] == expected
    )
    # The owner's total is the sum over the owned works; the empty one is still tampered.
    assert (await me(api, writer))["total_words"] == expected + 7777
    assert await projector(api).rebuild(999_999) is False

    # The work without chapters is only put right by a full rebuild.
    broken = ok(await api.call("GET", f"/api/v1/works/{empty_work['id']}", writer))
    assert (broken["word_count"], broken["chapter_count"]) == (7777, 42)
    assert await projector(api).rebuild_all() == 1
    fixed = ok(await api.call("GET", f"/api/v1/works/{empty_work['id']}", writer))
    assert (fixed["word_count"], fixed["chapter_count"]) == (0, 0)
    profile = await me(api, writer)
    assert (profile["total_words"], profile["total_works"]) == (expected, 2)


async def test_a_save_rewrites_only_the_search_terms_it_changed(api: Api) -> None:
    """A typed sentence touches a few index rows, not the chapter's thousands; a rebuild
    re-derives them all."""
    writer, work, chapter = await typed_chapter(api)
    async with api.app.adapters.database.session() as session:  # a row no text holds
        session.add(SearchTerm(owner_type="chapter", owner_id=chapter["id"], term="幽灵", hits=9))
    saved = TEXT + "晴天。"
    ok(await save(api, writer, work["id"], chapter["id"], saved))
    await until_projected(api, chapter["id"], saved)
    assert {"晴天", "长安", "幽灵"} <= await indexed_terms(api, chapter["id"])

    assert await projector(api).rebuild(chapter["id"]) is True
    terms = await indexed_terms(api, chapter["id"])
    assert "幽灵" not in terms and {"晴天", "长安"} <= terms


@pytest.mark.mariadb
@pytest.mark.parametrize("database_url", ["mariadb"], indirect=True)
async def test_a_projection_on_mariadb_reads_what_other_nodes_committed(api: Api) -> None:
    """READ COMMITTED: the search terms read after the chapter's lock are those of its text,
    though another node wrote both while this one waited (REPEATABLE READ would read them as
    of the transaction's first statement)."""
    writer, work, chapter = await typed_chapter(api)
    seen: list[str] = []
    original = projector(api)._write_chapter

    async def recording(session: AsyncSession, *args: Any, **options: bool) -> bool:
        seen.append(await session.scalar(text("SELECT @@session.tx_isolation")))
        return await original(session, *args, **options)

    projector(api)._write_chapter = recording  # type: ignore[method-assign]
    ok(await save(api, writer, work["id"], chapter["id"], TEXT + "晴。"))
    await until_projected(api, chapter["id"], TEXT + "晴。")
    assert seen and set(seen) == {"READ-COMMITTED"}


async def test_an_unloaded_document_is_projected_from_the_store(api: Api) -> None:
    writer, _work, chapter = await typed_chapter(api)
    doc = chapter["content_id"]
    await eventually(lambda: doc not in api.app.adapters.rooms.rooms, what="the room unloaded")
    async with api.app.adapters.database.session() as session:
        await session.execute(update(Chapter).where(Chapter.id == chapter["id"]).values(text=""))
    projector(api).changed(doc, None)
    row = await until_projected(api, chapter["id"], TEXT)
    assert row.word_count == count_words(TEXT)
    assert doc not in api.app.adapters.rooms.rooms  # read the store; loaded no room
    assert (await me(api, writer))["total_words"] == count_words(TEXT)


async def test_changes_are_debounced_into_one_write(api: Api) -> None:
    writer = await api.sign_up()
    work = await make_work(api, writer)
    chapter = await make_chapter(api, writer, work["id"])
    ok(await save(api, writer, work["id"], chapter["id"], "一次"))
    await projector(api).flush()
    doc = chapter["content_id"]

    clock = ManualClock()
    waiting = own_projector(api, debounce_s=60, max_wait_s=600, clock=clock)
    writes = counting_writes(waiting)
    for _ in range(5):
        assert_due_in(waiting, doc, 60, lambda: waiting.changed(doc, None))
        clock.advance(1)  # each change re-arms the one timer
    assert writes == []
    await waiting.flush()
    assert writes == ["一次"] and waiting.due(doc) is None
    await waiting.close()

    # The timer itself fires: five changes in a row (no await between) make one write.
    quick = own_projector(api, debounce_s=0.01)
    writes = counting_writes(quick)
    for _ in range(5):
        quick.changed(doc, None)
    await eventually(lambda: writes, what="the debounced write")
    await quick.flush()
    assert writes == ["一次"]
    await quick.close()


async def test_changes_that_keep_coming_are_written_after_max_wait_s(api: Api) -> None:
    clock = ManualClock()
    mine = own_projector(api, debounce_s=10, max_wait_s=25, clock=clock)
    doc = "not-a-chapter"
    assert_due_in(mine, doc, 10, lambda: mine.changed(doc, None))
    clock.advance(9)
    assert_due_in(mine, doc, 10, lambda: mine.changed(doc, None))
    clock.advance(9)  # 18 s since the first change: 7 s left of the 25
    assert_due_in(mine, doc, 7, lambda: mine.changed(doc, None))
    clock.advance(7)
    assert_due_in(mine, doc, 0, lambda: mine.changed(doc, None))
    await mine.flush()
    assert mine.due(doc) is None
    clock.advance(1)  # a new burst starts a new max wait
    assert_due_in(mine, doc, 10, lambda: mine.changed(doc, None))
    await mine.close()


async def test_writing_time_counts_gaps_up_to_five_minutes(api: Api) -> None:
    writer, other = await api.sign_up(), await api.sign_up()
    clock = ManualClock(0.0)
    mine = own_projector(api, debounce_s=0.01, clock=clock)
    doc = "not-a-chapter"
    for moment, who in (
        (0, writer),
        (60, writer),
        (90, other),  # another user's edits do not break the writer's session
        (120, writer),
        (1000, writer),  # a 880 s pause: not counted
        (1100, writer),
        (1100.5, writer),
    ):
        clock.now = moment
        mine.changed(doc, str(who.id))
    mine.changed(doc, None)  # server edits belong to nobody
    mine.changed(doc, "anonymous")
    await mine.flush()
    profile = await me(api, writer)
    assert profile["total_time_seconds"] == 60 + 60 + 100  # the last 0.5 s waits for more
    assert profile["total_time"] == 0
    assert (await me(api, other))["total_time_seconds"] == 0
    clock.now = 1101.0
    mine.changed(doc, str(writer.id))
    await mine.close()
    assert (await me(api, writer))["total_time_seconds"] == 221


async def test_socket_edits_add_writing_time(settings: Settings) -> None:
    clock = ManualClock()
    async with running_api(settings, clock=clock) as api:
        writer = await api.sign_up()
        work = await make_work(api, writer)
        chapter = await make_chapter(api, writer, work["id"])
        doc = chapter["content_id"]
        client = await YClient(api.app.sync_url, doc, token=writer.token).connect()
        try:
            client.append("一")
            await until_projected(api, chapter["id"], "一")
            clock.advance(90)
            client.append("二")
            await until_projected(api, chapter["id"], "一二")
        finally:
            await client.close()
        await projector(api).flush()
        assert (await me(api, writer))["total_time_seconds"] == 90


async def test_pending_work_is_flushed_on_close(api: Api) -> None:
    writer, work, chapter = await typed_chapter(api)
    async with api.app.adapters.database.session() as session:  # an older text, totals and all
        await session.execute(
            update(Chapter).where(Chapter.id == chapter["id"]).values(text="旧", word_count=1)
        )
        await session.execute(update(Work).where(Work.id == work["id"]).values(word_count=1))
        await session.execute(update(User).where(User.id == writer.id).values(total_words=1))
    slow = own_projector(api, debounce_s=60)
    slow.changed(chapter["content_id"], None)
    assert slow.due(chapter["content_id"]) is not None
    assert (await chapter_row(api, chapter["id"])).text == "旧"
    await slow.close()
    row = await chapter_row(api, chapter["id"])
    assert (row.text, row.word_count) == (TEXT, count_words(TEXT))
    slow.changed(chapter["content_id"], None)  # closed: ignored, no error
    assert (await me(api, writer))["total_words"] == count_words(TEXT)


async def test_projection_errors_never_reach_the_room(api: Api) -> None:
    writer = await api.sign_up()
    work = await make_work(api, writer)
    chapter = await make_chapter(api, writer, work["id"])
    live = projector(api)
    failures: list[str] = []

    async def broken(doc: str, text: str, **options: bool) -> bool:
        failures.append(doc)
        raise RuntimeError("the database is on fire")

    original = live._project
    live._project = broken  # type: ignore[method-assign]
    try:
        one = await YClient(api.app.sync_url, chapter["content_id"], token=writer.token).connect()
        two = await YClient(api.app.sync_url, chapter["content_id"], token=writer.token).connect()
        one.append("照常同步。")
        await eventually(lambda: str(two.text) == "照常同步。", what="the edit relayed")
        await eventually(lambda: failures, what="a projection attempted and failed")
        await live.flush()
        two.append("仍然可写。")
        await eventually(lambda: str(one.text) == "照常同步。仍然可写。", what="still relayed")
        await one.close()
        await two.close()
    finally:
        live._project = original  # type: ignore[method-assign]
    assert (await chapter_row(api, chapter["id"])).text == ""
    live.changed(chapter["content_id"], None)  # the next change puts it right
    await until_projected(api, chapter["id"], "照常同步。仍然可写。")


async def test_projecting_while_chapters_and_works_are_created_never_fails_a_request(
    api: Api,
) -> None:
    """On MariaDB, writers of the counters that locked the user, work and chapter rows in
    different orders deadlocked and a request got 500. Rounds of all three at once, each
    projection forced to write."""
    writer, work, chapter = await typed_chapter(api)
    path = f"/api/v1/works/{work['id']}/chapters"
    for _ in range(8):  # a free account keeps up to 10 works
        _rebuilt, chapter_made, work_made = await asyncio.gather(
            projector(api).rebuild(chapter["id"]),
            api.call("POST", path, writer, json={}),
            api.call("POST", "/api/v1/works", writer, json={"title": "并发", "type": "novel"}),
        )
        assert chapter_made.status_code == 201, chapter_made.text
        assert work_made.status_code == 201, work_made.text
    profile = await me(api, writer)
    assert profile["total_works"] == 9


async def test_no_writing_time_to_credit_opens_no_transaction(api: Api) -> None:
    writer = await api.sign_up()
    clock = ManualClock(0.0)
    mine = own_projector(api, debounce_s=0.01, clock=clock)
    sessions = 0
    opened = api.app.adapters.database.session

    def counting_session() -> Any:
        nonlocal sessions
        sessions += 1
        return opened()

    api.app.adapters.database.session = counting_session  # type: ignore[method-assign]
    try:
        mine.changed("not-a-chapter", None)  # the server's edit: nobody's time
        await mine.flush()
        assert sessions == 1  # the chapter look-up, and no writing-time transaction
        mine.changed("not-a-chapter", str(writer.id))
        clock.now = 30.0
        mine.changed("not-a-chapter", str(writer.id))
        await mine.flush()
        assert sessions == 3  # the look-up, then the 30 s credited
    finally:
        del api.app.adapters.database.session
        await mine.close()
    assert (await me(api, writer))["total_time_seconds"] == 30
