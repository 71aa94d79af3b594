"""The authorship hook reads a document's authors on its first attributed write, not on every room
load (issue 16: a SELECT per room load, readers' rooms included)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select

from storage.sql.models import DocAuthor
from tests.api.test_works import make_chapter, make_work
from tests.support.api import Api
from tests.support.waiting import eventually
from tests.support.yclient import YClient


@contextmanager
def author_statements(api: Api) -> Iterator[list[str]]:
    """The SQL statements on `doc_authors` the app's engine runs inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "doc_authors" in statement:
            seen.append(statement)

    engine = api.app.adapters.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_a_room_reads_its_authors_only_when_someone_writes(api: Api) -> None:
    writer = await api.sign_up()
    work = await make_work(api, writer)
    chapter = await make_chapter(api, writer, work["id"])
    doc = chapter["content_id"]
    with author_statements(api) as seen:
        reader = await YClient(api.app.sync_url, doc, token=writer.token).connect()
        try:
            assert seen == []  # loaded and synced: no query for its authors
            reader.append("第一句。")

            async def recorded() -> list[int]:
                async with api.app.adapters.database.session() as session:
                    return list(
                        await session.scalars(select(DocAuthor.user_id).where(DocAuthor.doc == doc))
                    )

            assert await eventually(recorded, what="the writer recorded") == [writer.id]
        finally:
            await reader.close()
    selects = [sql for sql in seen if sql.lstrip().upper().startswith("SELECT")]
    inserts = [sql for sql in seen if sql.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1 and len(selects) >= 1
