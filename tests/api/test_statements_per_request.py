"""The REST reads the request mix makes most often take as few SQL statements as they can: each
costs a hand-off to the database's thread and SQLAlchemy's work for the statement
(bench/README.md, "Fewer statements and no thread hand-off a request"). Reading a chapter is two:
the account with its session's revocation, and the chapter with the caller's role on its work."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from api.security.roles import role_on_work
from api.settings import Settings
from api.sync_access import SyncAuthorizer
from storage.kv.memory import MemoryKeyValue
from sync_server.auth import Access
from tests.support.api import Account, Api, running_api
from tests.support.hand_offs import HandOffs


@pytest.fixture
async def quiet_api(settings: Settings) -> AsyncIterator[Api]:
    """The app without its in-process jobs: no periodic job's statement lands in a count."""
    async with running_api(settings.model_copy(update={"jobs_in_process": False})) as client:
        yield client


class CountingKeyValue(MemoryKeyValue):
    """The in-memory key-value store, noting each call a request makes of it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def get(self, key: str) -> str | None:
        self.calls.append(f"get {key.split(':')[0]}")
        return await super().get(key)

    async def hit_many(self, hits: Sequence[tuple[str, float]]) -> list[tuple[int, float]]:
        self.calls.append("hit_many")
        return await super().hit_many(hits)


@contextmanager
def statements(api: Api) -> Iterator[list[str]]:
    """The SQL statements the app's database runs inside the block."""
    seen: list[str] = []
    engine = api.app.adapters.database.engine.sync_engine

    def record(*args: Any) -> None:
        seen.append(" ".join(str(args[2]).split()))  # (connection, cursor, statement, ...)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _read(api: Api, who: Account, path: str) -> tuple[httpx.Response, list[str]]:
    """GET `path` as `who`: the answer, and the statements it took."""
    with statements(api) as seen:
        response = await api.call("GET", path, who)
    return response, seen


async def _chapter(api: Api, owner: Account) -> tuple[int, int]:
    work = await api.call("POST", "/api/v1/works", owner, json={"title": "红楼梦", "type": "novel"})
    work_id = work.json()["data"]["id"]
    chapter = await api.call(
        "POST", f"/api/v1/works/{work_id}/chapters", owner, json={"title": "第一回"}
    )
    assert chapter.status_code == 201, chapter.text
    return work_id, chapter.json()["data"]["id"]


async def test_reading_a_chapter_takes_two_statements(quiet_api: Api) -> None:
    owner = await quiet_api.sign_up()
    _work_id, chapter_id = await _chapter(quiet_api, owner)
    read, seen = await _read(quiet_api, owner, f"/api/v1/chapters/{chapter_id}/content")
    assert read.status_code == 200, read.text
    assert len(seen) == 2, seen
    account, chapter = seen
    assert "FROM users" in account and "refresh_sessions" in account
    assert "FROM chapters" in chapter and "JOIN works" in chapter and "work_members" in chapter
    assert re.search(r"chapters\.text\b", chapter) is None  # the live document is the text


async def test_a_chapter_is_not_found_alike_when_missing_or_not_yours(quiet_api: Api) -> None:
    owner, stranger = await quiet_api.sign_up(), await quiet_api.sign_up()
    _work_id, chapter_id = await _chapter(quiet_api, owner)
    for who, chapter in ((stranger, chapter_id), (owner, chapter_id + 1000)):
        read, seen = await _read(quiet_api, who, f"/api/v1/chapters/{chapter}/content")
        assert read.status_code == 404, read.text
        assert len(seen) == 2, seen


async def test_listing_a_works_chapters_takes_three_statements(quiet_api: Api) -> None:
    owner = await quiet_api.sign_up()
    work_id, _chapter_id = await _chapter(quiet_api, owner)
    listed, seen = await _read(quiet_api, owner, f"/api/v1/works/{work_id}/chapters")
    assert listed.status_code == 200, listed.text
    assert listed.json()["data"]["total"] == 1
    assert len(seen) == 3, seen  # the account, the work's count with the role, the page


async def test_listing_works_takes_two_statements(quiet_api: Api) -> None:
    owner = await quiet_api.sign_up()
    await _chapter(quiet_api, owner)
    listed, seen = await _read(quiet_api, owner, "/api/v1/works")
    assert listed.status_code == 200, listed.text
    assert listed.json()["data"]["total"] == 1
    assert len(seen) == 2, seen  # the account; the page, each row with the count


async def test_a_request_asks_the_key_value_store_for_its_rate_limit_alone(
    settings: Settings,
) -> None:
    """Redis, or the hub of `serve --workers`, is a round trip: a signed-in request's token is
    refused through its session in SQL (read with the account), not by a second call."""
    kv = CountingKeyValue()
    async with running_api(settings.model_copy(update={"jobs_in_process": False}), kv=kv) as api:
        owner = await api.sign_up()
        kv.calls.clear()
        read = await api.call("GET", "/api/v1/users/me", owner)
        assert read.status_code == 200, read.text
        assert kv.calls == ["hit_many"]


async def test_on_sqlite_a_chapter_read_hands_nothing_to_the_databases_thread(
    quiet_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account and the chapter with the role are short reads (`sqlite_driver.short_read`):
    run on the event loop's thread; the chapter list's page is not, its count with the role is."""
    if quiet_api.app.adapters.database.engine.dialect.name != "sqlite":
        pytest.skip("MariaDB's driver has no thread to hand statements to")
    owner = await quiet_api.sign_up()
    work_id, chapter_id = await _chapter(quiet_api, owner)
    hand_offs = HandOffs(monkeypatch)
    read = await quiet_api.call("GET", f"/api/v1/chapters/{chapter_id}/content", owner)
    assert read.status_code == 200, read.text
    assert hand_offs.count == 0
    listed = await quiet_api.call("GET", f"/api/v1/works/{work_id}/chapters", owner)
    assert listed.status_code == 200, listed.text
    assert hand_offs.count == 1  # the page alone


async def test_on_sqlite_a_role_and_a_sync_authorization_hand_nothing_off(
    quiet_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    if quiet_api.app.adapters.database.engine.dialect.name != "sqlite":
        pytest.skip("MariaDB's driver has no thread to hand statements to")
    owner = await quiet_api.sign_up()
    work_id, chapter_id = await _chapter(quiet_api, owner)
    chapter = await quiet_api.call("GET", f"/api/v1/chapters/{chapter_id}/content", owner)
    doc = chapter.json()["data"]["content_id"]
    database = quiet_api.app.adapters.database
    authorizer = SyncAuthorizer(quiet_api.app.services.authenticator, database)
    hand_offs = HandOffs(monkeypatch)
    assert await role_on_work(database, owner.id, work_id) == "owner"
    grant = await authorizer.authorize(owner.token, doc)
    assert grant.access == Access.WRITE, grant
    assert hand_offs.count == 0
