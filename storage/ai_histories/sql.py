"""`ai_histories` as an SQL table (the embedded default)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import func, insert, select

from ..sql.database import Database
from ..sql.models import AiHistory
from .base import AiCall, StoredAiCall

_FIELDS = [f.name for f in dataclasses.fields(AiCall)]


class SQLAiHistories:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def start(self) -> None:
        """The table comes with the migrations."""

    async def close(self) -> None:
        """The database belongs to the app."""

    async def record(self, call: AiCall) -> str:
        async with self._database.session() as session:
            result = await session.execute(insert(AiHistory).values(**dataclasses.asdict(call)))
            (new_id,) = result.inserted_primary_key or (None,)
        return str(new_id)

    async def list(
        self, user_id: int, *, work_id: int | None = None, limit: int = 20, offset: int = 0
    ) -> tuple[int, list[StoredAiCall]]:
        where = [AiHistory.user_id == user_id]
        if work_id is not None:
            where.append(AiHistory.work_id == work_id)
        async with self._database.session() as session:
            total = await session.scalar(select(func.count()).where(*where)) or 0
            rows = await session.scalars(
                select(AiHistory)
                .where(*where)
                .order_by(AiHistory.created_at.desc(), AiHistory.id.desc())
                .limit(limit)
                .offset(offset)
            )
            calls = [_stored(row) for row in rows]
        return total, calls

    async def scan(self, *, after: str | None = None, limit: int = 500) -> list[StoredAiCall]:
        query = select(AiHistory).order_by(AiHistory.id).limit(limit)
        if after is not None:
            query = query.where(AiHistory.id > int(after))
        async with self._database.session() as session:
            return [_stored(row) for row in await session.scalars(query)]

    async def tokens_since(self, user_id: int, since: datetime) -> int:
        async with self._database.session() as session:
            total = await session.scalar(
                select(func.coalesce(func.sum(AiHistory.tokens), 0)).where(
                    AiHistory.user_id == user_id, AiHistory.created_at >= since
                )
            )
        return int(total or 0)


def _stored(row: AiHistory) -> StoredAiCall:
    return StoredAiCall(str(row.id), AiCall(**{name: getattr(row, name) for name in _FIELDS}))
