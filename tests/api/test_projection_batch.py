"""The projection writes every document due together in one transaction (issue 16: the cost per
document was a session or two each)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.projection import Projector
from storage.docs.base import DocStore
from storage.sql.database import Database
from storage.sql.models import Chapter, SearchTerm, User, Work
from storage.text.wordcount import count_words
from tests.api.test_projection import chapter_row, projector
from tests.api.test_works import make_chapter, make_work, me, ok, save
from tests.support.api import Account, Api
from tests.support.clock import ManualClock

TEXTS = ["第一章：夜色如墨。", "第二章：长安城里灯火通明。", "Chapter three: the watchtower.", "四"]


class CountingDatabase:
    """The app's database, counting the sessions (units of work) opened through it."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self.sessions = 0

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        self.sessions += 1
        async with self._database.session() as session:
            yield session


class CountingStore:
    """The app's document store, counting the documents loaded from it."""

    def __init__(self, store: DocStore) -> None:
        self._store = store
        self.loaded: list[str] = []

    async def load(self, name: str) -> Any:
        self.loaded.append(name)
        return await self._store.load(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def counted(api: Api) -> tuple[Projector, CountingDatabase, CountingStore]:
    """A projector no room feeds, on counting wrappers of the app's database and store."""
    database = CountingDatabase(api.app.adapters.database)
    store = CountingStore(api.app.adapters.store)
    mine = Projector(
        database,  # type: ignore[arg-type]
        store,  # type: ignore[arg-type]
        debounce_s=60,
        clock=ManualClock(),
    )
    return mine, database, store


@contextmanager
def statements(api: Api) -> Iterator[list[str]]:
    """The SQL the app's engine runs inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = api.app.adapters.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def chapters_with_stale_projections(
    api: Api,
) -> tuple[Account, dict[str, Any], list[dict[str, Any]]]:
    """A writer with one work of four chapters whose documents hold TEXTS, while SQL still shows
    empty chapters (text, counts, search terms)."""
    writer = await api.sign_up()
    work = await make_work(api, writer)
    chapters = [await make_chapter(api, writer, work["id"]) for _ in TEXTS]
    for chapter, text in zip(chapters, TEXTS, strict=True):
        ok(await save(api, writer, work["id"], chapter["id"], text))
    await projector(api).flush()
    ids = [chapter["id"] for chapter in chapters]
    async with api.app.adapters.database.session() as session:
        await session.execute(
            update(Chapter).where(Chapter.id.in_(ids)).values(text="", word_count=0)
        )
        await session.execute(update(Work).where(Work.id == work["id"]).values(word_count=0))
        await session.execute(update(User).where(User.id == writer.id).values(total_words=0))
        await session.execute(
            SearchTerm.__table__.delete().where(
                SearchTerm.owner_type == "chapter", SearchTerm.owner_id.in_(ids)
            )
        )
    return writer, work, chapters


async def test_documents_due_together_are_projected_in_one_transaction(api: Api) -> None:
    writer, work, chapters = await chapters_with_stale_projections(api)
    mine, database, store = counted(api)
    for chapter in chapters:
        mine.changed(chapter["content_id"], None)
    await mine.flush()
    # One look-up of which documents are chapters, one transaction that writes all four.
    assert database.sessions == 2
    assert sorted(store.loaded) == sorted(chapter["content_id"] for chapter in chapters)
    total = 0
    for chapter, text in zip(chapters, TEXTS, strict=True):
        row = await chapter_row(api, chapter["id"])
        assert (row.text, row.word_count) == (text, count_words(text))
        total += count_words(text)
    async with api.app.adapters.database.session() as session:
        terms = set(
            await session.scalars(
                select(SearchTerm.term).where(SearchTerm.owner_id == chapters[1]["id"])
            )
        )
    assert {"长安", "灯火"} <= terms
    assert ok(await api.call("GET", f"/api/v1/works/{work['id']}", writer))["word_count"] == total
    assert (await me(api, writer))["total_words"] == total

    # The documents are known chapters now: the next batch is one transaction, and unchanged
    # texts write nothing.
    for chapter in chapters:
        mine.changed(chapter["content_id"], None)
    with statements(api) as seen:
        await mine.flush()
    assert database.sessions == 3
    writes = ("UPDATE CHAPTERS", "UPDATE WORKS", "SEARCH_TERMS")
    assert not [sql for sql in seen if any(write in sql.upper() for write in writes)]
    await mine.close()


async def test_documents_that_are_no_chapters_cost_one_look_up_and_no_store_read(
    api: Api,
) -> None:
    mine, database, store = counted(api)
    for name in ("bench-0", "bench-1", "bench-2"):
        mine.changed(name, None)
    await mine.flush()
    assert database.sessions == 1
    assert store.loaded == []
    await mine.close()


async def test_a_text_whose_terms_did_not_change_leaves_the_search_index_alone(
    api: Api,
) -> None:
    writer = await api.sign_up()
    work = await make_work(api, writer)
    chapter = await make_chapter(api, writer, work["id"])
    ok(await save(api, writer, work["id"], chapter["id"], "bar foo"))
    await projector(api).flush()
    # The same terms in another order: the text and its time change, the index does not.
    ok(await save(api, writer, work["id"], chapter["id"], "foo bar"))
    await projector(api).flush()
    mine, _database, _store = counted(api)
    async with api.app.adapters.database.session() as session:
        await session.execute(
            update(Chapter).where(Chapter.id == chapter["id"]).values(text="bar foo")
        )
    mine.changed(chapter["content_id"], None)
    with statements(api) as seen:
        await mine.flush()
    assert (await chapter_row(api, chapter["id"])).text == "foo bar"
    assert not [sql for sql in seen if "search_terms" in sql]
    await mine.close()


async def test_a_failing_document_does_not_hold_back_the_others_in_its_batch(api: Api) -> None:
    _writer, _work, chapters = await chapters_with_stale_projections(api)
    mine, _database, store = counted(api)
    poisoned = chapters[0]["content_id"]
    attempts: list[list[str]] = []
    original_load, original_project = store.load, mine._project

    async def load(name: str) -> Any:
        if name == poisoned:
            raise RuntimeError("a broken document")
        return await original_load(name)

    async def project(texts: Mapping[str, str], **options: Any) -> set[str]:
        attempts.append(sorted(texts))
        return await original_project(texts, **options)

    store.load = load  # type: ignore[method-assign]
    mine._project = project  # type: ignore[method-assign]
    for chapter in chapters:
        mine.changed(chapter["content_id"], None)
    await mine.flush()
    # The batch could not read one text: every other document went on its own.
    others = sorted(chapter["content_id"] for chapter in chapters[1:])
    assert attempts == [[doc] for doc in others]
    assert (await chapter_row(api, chapters[0]["id"])).text == ""
    for chapter, text in zip(chapters[1:], TEXTS[1:], strict=True):
        assert (await chapter_row(api, chapter["id"])).text == text
    await mine.close()
