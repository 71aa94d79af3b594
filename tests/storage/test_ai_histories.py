"""The AI call records, identically on SQLite, MariaDB and a MongoDB-wire server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.ai_histories.base import AiCall, AiHistories
from storage.ai_histories.mongo import MongoAiHistories
from storage.ai_histories.sql import SQLAiHistories
from storage.sql.database import Database
from tests.support.mariadb import mariadb_database
from tests.support.secantus import mongo_database

BACKENDS = [
    "sqlite",
    pytest.param("mariadb", marks=pytest.mark.mariadb),
    pytest.param("mongo", marks=pytest.mark.mongo),
]


@pytest.fixture(params=BACKENDS)
async def histories(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AiHistories]:
    if request.param == "mongo":
        async with mongo_database() as (url, name):
            store = MongoAiHistories(url, name)
            await store.start()
            yield store
            await store.close()
        return
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'ai.sqlite3'}")
        await database.migrate()
        yield SQLAiHistories(database)
        await database.close()
        return
    async with mariadb_database() as url:
        database = Database(url)
        await database.migrate()
        yield SQLAiHistories(database)
        await database.close()


def call(user: int, work: int | None, output: str, tokens: int, *, ago_s: int = 0) -> AiCall:
    return AiCall(
        user_id=user,
        work_id=work,
        action_type="continue",
        input="续写：林黛玉进贾府",
        output=output,
        model="qwen-plus",
        provider="openai-compatible",
        tokens=tokens,
        prompt_tokens=tokens // 2,
        completion_tokens=tokens - tokens // 2,
        duration=1234,
        task_id="t-1",
        created_at=datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=ago_s),
    )


async def test_calls_are_recorded_and_listed_newest_first(histories: AiHistories) -> None:
    older = call(1, 10, "黛玉方进入房时……", 300, ago_s=60)
    newer = call(1, 10, "只见两个人搀着一位鬓发如银的老母迎上来。", 500)
    other_work = call(1, 11, "另一部作品", 50, ago_s=30)
    other_user = call(2, 10, "别人的", 999)
    for item in (older, newer, other_work, other_user):
        assert await histories.record(item)
    total, page = await histories.list(1, work_id=10)
    assert total == 2
    assert [stored.call for stored in page] == [newer, older]
    total, page = await histories.list(1, limit=2, offset=1)
    assert total == 3
    assert [stored.call.output for stored in page] == ["另一部作品", "黛玉方进入房时……"]


async def test_tokens_are_summed_from_a_point_in_time(histories: AiHistories) -> None:
    await histories.record(call(1, None, "昨天", 700, ago_s=86_400))
    await histories.record(call(1, None, "今天一", 120))
    await histories.record(call(1, None, "今天二", 80))
    await histories.record(call(2, None, "别人", 5000))
    since = datetime.now(UTC) - timedelta(hours=1)
    assert await histories.tokens_since(1, since) == 200
    assert await histories.tokens_since(3, since) == 0
