"""`ai_histories` as a MongoDB collection (production), as in brief §3.2.2."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, WriteConcern

from .base import AiCall, StoredAiCall

_FIELDS = [f.name for f in dataclasses.fields(AiCall)]


class MongoAiHistories:
    def __init__(self, url: str, database: str = "inkweave") -> None:
        self._url = url
        self._database_name = database
        self._client: AsyncMongoClient | None = None

    @property
    def _collection(self):  # type: ignore[no-untyped-def]
        assert self._client is not None, "start() first"
        return self._client[self._database_name].get_collection(
            "ai_histories", write_concern=WriteConcern(w="majority")
        )

    async def start(self) -> None:
        self._client = AsyncMongoClient(self._url, tz_aware=True)
        await self._collection.create_index([("user_id", ASCENDING), ("created_at", DESCENDING)])
        await self._collection.create_index(
            [("user_id", ASCENDING), ("work_id", ASCENDING), ("created_at", DESCENDING)]
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def record(self, call: AiCall) -> str:
        result = await self._collection.insert_one(dataclasses.asdict(call))
        return str(result.inserted_id)

    async def list(
        self, user_id: int, *, work_id: int | None = None, limit: int = 20, offset: int = 0
    ) -> tuple[int, list[StoredAiCall]]:
        query: dict[str, object] = {"user_id": user_id}
        if work_id is not None:
            query["work_id"] = work_id
        total = await self._collection.count_documents(query)
        cursor = (
            self._collection.find(query)
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        calls = []
        async for row in cursor:
            values = {name: row.get(name) for name in _FIELDS}
            if values["created_at"] is not None and values["created_at"].tzinfo is None:
                values["created_at"] = values["created_at"].replace(tzinfo=UTC)
            calls.append(StoredAiCall(str(row["_id"]), AiCall(**values)))
        return total, calls

    async def tokens_since(self, user_id: int, since: datetime) -> int:
        pipeline = [
            {"$match": {"user_id": user_id, "created_at": {"$gte": since}}},
            {"$group": {"_id": None, "tokens": {"$sum": "$tokens"}}},
        ]
        async for row in await self._collection.aggregate(pipeline):
            return int(row["tokens"])
        return 0
