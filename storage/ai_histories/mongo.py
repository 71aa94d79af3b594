"""`ai_histories` as a MongoDB collection (production), as in brief §3.2.2.

With `timeouts` (the document store's `DriverTimeouts`), a MongoDB that is down or stopped fails
a call within them as `AiHistoriesUnavailable` instead of holding it: the router logs a record
that could not be written and the AI task goes on; a REST read answers 503.
"""

from __future__ import annotations

import dataclasses
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, WriteConcern

from ..docs.base import StoreUnavailable
from ..mongo_driver import client_timeouts, reachable
from ..sql.engine import DriverTimeouts
from .base import AiCall, StoredAiCall

_FIELDS = [f.name for f in dataclasses.fields(AiCall)]


class AiHistoriesUnavailable(StoreUnavailable):
    """The AI history database did not answer within the driver timeouts."""


def _reachable() -> AbstractContextManager[None]:
    return reachable(AiHistoriesUnavailable, "AI history database")


class MongoAiHistories:
    def __init__(
        self, url: str, database: str = "inkweave", *, timeouts: DriverTimeouts | None = None
    ) -> None:
        """`timeouts`: finding a server and connecting (`connect_s`), and each socket read
        (`read_s`); pymongo's defaults without them (30 s to find a server, no read limit)."""
        self._url = url
        self._database_name = database
        self._timeouts = timeouts
        self._client: AsyncMongoClient | None = None

    @property
    def _collection(self):  # type: ignore[no-untyped-def]
        assert self._client is not None, "start() first"
        return self._client[self._database_name].get_collection(
            "ai_histories", write_concern=WriteConcern(w="majority")
        )

    async def start(self) -> None:
        self._client = AsyncMongoClient(
            self._url,
            tz_aware=True,
            appname="inkweave-ai-histories",
            **client_timeouts(self._timeouts),
        )
        with _reachable():
            await self._collection.create_index(
                [("user_id", ASCENDING), ("created_at", DESCENDING)]
            )
            await self._collection.create_index(
                [("user_id", ASCENDING), ("work_id", ASCENDING), ("created_at", DESCENDING)]
            )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def record(self, call: AiCall) -> str:
        with _reachable():
            result = await self._collection.insert_one(dataclasses.asdict(call))
        return str(result.inserted_id)

    async def list(
        self, user_id: int, *, work_id: int | None = None, limit: int = 20, offset: int = 0
    ) -> tuple[int, list[StoredAiCall]]:
        query: dict[str, object] = {"user_id": user_id}
        if work_id is not None:
            query["work_id"] = work_id
        with _reachable():
            total = await self._collection.count_documents(query)
            cursor = (
                self._collection.find(query)
                .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
                .skip(offset)
                .limit(limit)
            )
            return total, [_stored(row) async for row in cursor]

    async def scan(self, *, after: str | None = None, limit: int = 500) -> list[StoredAiCall]:
        query = {} if after is None else {"_id": {"$gt": ObjectId(after)}}
        with _reachable():
            cursor = self._collection.find(query).sort("_id", ASCENDING).limit(limit)
            return [_stored(row) async for row in cursor]

    async def tokens_since(self, user_id: int, since: datetime) -> int:
        pipeline = [
            {"$match": {"user_id": user_id, "created_at": {"$gte": since}}},
            {"$group": {"_id": None, "tokens": {"$sum": "$tokens"}}},
        ]
        with _reachable():
            async for row in await self._collection.aggregate(pipeline):
                return int(row["tokens"])
        return 0


def _stored(row: dict[str, Any]) -> StoredAiCall:
    values = {name: row.get(name) for name in _FIELDS}
    if values["created_at"] is not None and values["created_at"].tzinfo is None:
        values["created_at"] = values["created_at"].replace(tzinfo=UTC)
    return StoredAiCall(str(row["_id"]), AiCall(**values))
