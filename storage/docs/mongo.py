"""Document store on MongoDB (production), through `pymongo.AsyncMongoClient`.

Collections (database `inkweave` unless told otherwise):

- `ydoc_updates`: the write-ahead log, `{_id: ObjectId, doc, data, size}`, index `(doc, _id)`.
  `_id`s come from a per-store monotonic generator, so one node's appends to a document load in
  the order they were made. Across nodes the order is only roughly by time, which is fine:
  CRDT updates commute.
- `ydoc_snapshots`: one merged state per document, `{_id: doc, generation, size, updated_at}`
  plus either `data` (inline) or `chunks` + `blob` (the state is split into `ydoc_chunks`
  documents, to stay under MongoDB's 16 MiB document limit).
- `ydoc_chunks`: `{blob: ObjectId, n, doc, kind: "snapshot" | "version", data}`, unique index
  `(blob, n)`. A blob's chunks are written before the document that points at them.
- `ydoc_versions`: named states, `{_id: int, doc, name, author, size, created_at}` plus `data`
  or `chunks` + `blob`; ids come from `ydoc_counters` (`$inc` upsert).

Every write uses `w="majority", j=True` (configurable), so `append` returns only once the batch
is acknowledged as durable. Appends are group-committed: one `insert_many(ordered=True)` per batch.

Compaction, with no transaction: read the log, then the snapshot; merge in memory; write the new
snapshot's chunks (if it needs any); swap the snapshot document only if its generation is
unchanged (`update_one({_id, generation}, {$set, $inc})`, or an insert for the first snapshot
where a duplicate key means another node won); then delete exactly the merged log entries and the
old snapshot's chunks. Appends made meanwhile are other entries and survive; the loser of a race
retries. A node that dies after the swap leaves entries that are in both the snapshot and the log,
which loads correctly (updates are idempotent) and the next compaction removes. Chunks that no
snapshot document points at (a node died before its swap or before deleting the old chunks) are
removed by a later compaction of the same document once they are older than `_ORPHAN_GRACE`.

Loads also read the log before the snapshot: an entry missing from the log read was deleted by a
compaction whose snapshot swap came earlier, so the snapshot read sees it. If a concurrent
compaction deletes the chunks of the snapshot being read, the read starts again.
"""

from __future__ import annotations

import logging
import os
import struct
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import Binary, ObjectId
from pymongo import ASCENDING, AsyncMongoClient, ReturnDocument, WriteConcern
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ..mongo_driver import client_timeouts, reachable
from ..sql.engine import DriverTimeouts
from .base import (
    Compaction,
    SnapshotConflict,
    StoredDoc,
    StoreUnavailable,
    VersionInfo,
    VersionNotFound,
    compact_with_retries,
)
from .group_commit import GroupCommitter
from .merge import merged_state, merged_state_off_loop

log = logging.getLogger(__name__)

__all__ = ["MongoDocStore", "SnapshotConflict"]

_DOC_NAME_LENGTH = 255
# MongoDB refuses documents over 16 MiB; keep room for the other fields and the doc name.
_MAX_DOCUMENT_DATA = 16 * 1024 * 1024 - 64 * 1024
DEFAULT_SNAPSHOT_CHUNK_BYTES = 15 * 1024 * 1024
_READ_ATTEMPTS = 5
_DELETE_BATCH = 200  # also the sweet spot of SecantusDB, whose $in matching is linear
_ORPHAN_GRACE = timedelta(hours=1)

Document = dict[str, Any]


class _MonotonicIds:
    """ObjectIds that strictly increase within one store: `(seconds, node, counter)`.

    pymongo's own ObjectIds start their counter at a random value, so one wrap a second can
    reorder two of a node's appends; this counter restarts every second and borrows the next
    second if it ever runs out, and the clock may not go backwards.
    """

    def __init__(self) -> None:
        self._node = os.urandom(5)
        self._seconds = 0
        self._counter = 0

    def __call__(self) -> ObjectId:
        now = int(time.time())
        if now > self._seconds:
            self._seconds, self._counter = now, 0
        elif self._counter > 0xFFFFFF:
            self._seconds, self._counter = self._seconds + 1, 0
        oid = ObjectId(
            struct.pack(">I", self._seconds) + self._node + self._counter.to_bytes(3, "big")
        )
        self._counter += 1
        return oid


@dataclass(frozen=True, slots=True)
class _Plan:
    """A compaction's merged state, and what it replaces."""

    doc: str
    generation: int | None  # None: the document had no snapshot
    old_blob: ObjectId | None
    merged: bytes
    merged_ids: list[ObjectId]
    bytes_before: int


def _now() -> datetime:
    now = datetime.now(UTC)  # BSON dates keep milliseconds
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _reachable() -> AbstractContextManager[None]:
    return reachable(StoreUnavailable, "document database")


def _check_name(doc: str) -> None:
    if not doc or len(doc) > _DOC_NAME_LENGTH:
        raise ValueError(f"document names are 1 to {_DOC_NAME_LENGTH} characters")


class MongoDocStore:
    def __init__(
        self,
        url: str,
        database: str = "inkweave",
        *,
        group_commit_window_s: float = 0.0,
        group_commit_max_batch: int = 256,
        on_append_batch: Callable[[int, float], None] | None = None,
        snapshot_chunk_bytes: int = DEFAULT_SNAPSHOT_CHUNK_BYTES,
        write_concern: WriteConcern | None = None,
        timeouts: DriverTimeouts | None = None,
    ) -> None:
        """`timeouts`: server selection and connecting (`connect_s`), and each socket read
        (`read_s`); pymongo's defaults without them (30 s to find a server, no read limit)."""
        if not 0 < snapshot_chunk_bytes <= _MAX_DOCUMENT_DATA:
            raise ValueError(f"snapshot_chunk_bytes must be 1 to {_MAX_DOCUMENT_DATA}")
        self._url = url
        self._database_name = database
        self._chunk_bytes = snapshot_chunk_bytes
        self._write_concern = write_concern or WriteConcern(w="majority", j=True)
        self._timeouts = timeouts
        self._orphan_grace = _ORPHAN_GRACE
        self._new_id = _MonotonicIds()
        self._client: AsyncMongoClient[Document] | None = None
        self._db: AsyncDatabase[Document] | None = None
        self._committer: GroupCommitter[tuple[str, bytes]] = GroupCommitter(
            self._write_batch,
            window_s=group_commit_window_s,
            max_batch=group_commit_max_batch,
            on_batch=on_append_batch,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (one client per event loop: call this from the loop that will use it)."""
        if self._client is not None:
            return
        self._client = AsyncMongoClient(
            self._url, tz_aware=True, appname="inkweave-docs", **client_timeouts(self._timeouts)
        )
        self._db = self._client.get_database(self._database_name, write_concern=self._write_concern)
        await self._updates.create_index([("doc", ASCENDING), ("_id", ASCENDING)])
        await self._chunks.create_index([("blob", ASCENDING), ("n", ASCENDING)], unique=True)
        await self._chunks.create_index([("doc", ASCENDING), ("blob", ASCENDING)])
        await self._versions.create_index([("doc", ASCENDING), ("_id", ASCENDING)])
        self._committer.start()

    async def close(self) -> None:
        await self._committer.close()
        if self._client is not None:
            await self._client.close()
            self._client = self._db = None

    async def ping(self) -> None:
        with _reachable():
            await self._client_or_raise().admin.command("ping")

    @property
    def database(self) -> AsyncDatabase[Document]:
        if self._db is None:
            raise RuntimeError("MongoDocStore is not started")
        return self._db

    def _client_or_raise(self) -> AsyncMongoClient[Document]:
        if self._client is None:
            raise RuntimeError("MongoDocStore is not started")
        return self._client

    @property
    def _updates(self) -> AsyncCollection[Document]:
        return self.database["ydoc_updates"]

    @property
    def _snapshots(self) -> AsyncCollection[Document]:
        return self.database["ydoc_snapshots"]

    @property
    def _chunks(self) -> AsyncCollection[Document]:
        return self.database["ydoc_chunks"]

    @property
    def _versions(self) -> AsyncCollection[Document]:
        return self.database["ydoc_versions"]

    @property
    def _counters(self) -> AsyncCollection[Document]:
        return self.database["ydoc_counters"]

    # -- the log -----------------------------------------------------------------------------

    async def append(self, doc: str, *updates: bytes) -> None:
        _check_name(doc)
        if any(len(update) > _MAX_DOCUMENT_DATA for update in updates):
            # Refused here, so it cannot fail a whole batch of other documents' updates.
            raise ValueError(f"an update is at most {_MAX_DOCUMENT_DATA} bytes")
        if updates:
            await self._committer.submit([(doc, update) for update in updates])

    async def _write_batch(self, batch: list[tuple[str, bytes]]) -> None:
        rows = [
            {"_id": self._new_id(), "doc": doc, "data": Binary(data), "size": len(data)}
            for doc, data in batch
        ]
        # pymongo splits a batch over 48 MB into several commands; if a later one fails, every
        # waiter hears of it although the earlier entries are stored. They are then stored
        # without being relayed, which is safe: the peer resends, and updates are idempotent.
        with _reachable():
            await self._updates.insert_many(rows, ordered=True)

    async def load(self, doc: str) -> StoredDoc:
        with _reachable():
            _head, snapshot, rows = await self._read(doc)
        return StoredDoc(snapshot=snapshot, updates=[row["data"] for row in rows])

    async def _read(self, doc: str) -> tuple[Document | None, bytes | None, list[Document]]:
        """The log entries (oldest first), then the snapshot document and its state."""
        for _ in range(_READ_ATTEMPTS):
            rows = (
                await self._updates.find({"doc": doc}, {"doc": 0, "size": 0})
                .sort("_id", ASCENDING)
                .to_list()
            )
            head = await self._snapshots.find_one({"_id": doc})
            if head is None:
                return None, None, rows
            snapshot = await self._blob(head)
            if snapshot is not None:
                return head, snapshot, rows
            log.info("snapshot replaced while it was read; reading again", extra={"doc": doc})
        raise RuntimeError(f"could not read {doc!r}: its snapshot kept changing")

    # -- blobs (inline, or chunks for states over the chunk size) ----------------------------

    async def _put_blob(self, doc: str, data: bytes, kind: str) -> Document:
        """Fields that store `data` in a snapshot or version document, chunks written first."""
        if len(data) <= self._chunk_bytes:
            return {"data": Binary(data), "chunks": 0, "blob": None, "size": len(data)}
        blob, size = ObjectId(), self._chunk_bytes
        pieces = [
            {"blob": blob, "n": n, "doc": doc, "kind": kind, "data": Binary(data[at : at + size])}
            for n, at in enumerate(range(0, len(data), size))
        ]
        for start in range(0, len(pieces), 4):  # a few chunks per command, well under 48 MB
            await self._chunks.insert_many(pieces[start : start + 4], ordered=True)
        return {"data": None, "chunks": len(pieces), "blob": blob, "size": len(data)}

    async def _blob(self, head: Mapping[str, Any]) -> bytes | None:
        """The stored state, or None when its chunks are gone (replaced meanwhile)."""
        if not head.get("chunks"):
            return bytes(head["data"])
        pieces = (
            await self._chunks.find({"blob": head["blob"]}, {"n": 1, "data": 1})
            .sort("n", ASCENDING)
            .to_list()
        )
        if [piece["n"] for piece in pieces] != list(range(head["chunks"])):
            return None
        data = b"".join(bytes(piece["data"]) for piece in pieces)
        return data if len(data) == head.get("size", len(data)) else None

    async def _drop_blob(self, blob: ObjectId | None) -> None:
        if blob is not None:
            await self._chunks.delete_many({"blob": blob})

    # -- compaction --------------------------------------------------------------------------

    async def compact(self, doc: str) -> Compaction | None:
        return await compact_with_retries(self._compact_once, doc)

    async def _compact_once(self, doc: str) -> Compaction | None:
        plan = await self._plan(doc)
        if plan is None:
            return None
        new_blob = await self._swap_snapshot(plan)
        await self._delete_merged(plan, new_blob)
        return Compaction(len(plan.merged_ids), plan.bytes_before, len(plan.merged))

    async def _plan(self, doc: str) -> _Plan | None:
        head, snapshot, rows = await self._read(doc)
        if not rows:
            return None
        stored = StoredDoc(snapshot=snapshot, updates=[row["data"] for row in rows])
        merged = await merged_state_off_loop(stored, name=doc)
        return _Plan(
            doc=doc,
            generation=head["generation"] if head else None,
            old_blob=head.get("blob") if head else None,
            merged=merged,
            merged_ids=[row["_id"] for row in rows],
            bytes_before=(len(snapshot) if snapshot else 0) + stored.log_bytes,
        )

    async def _swap_snapshot(self, plan: _Plan) -> ObjectId | None:
        """Replace the snapshot if nobody else did since `plan` read it; else SnapshotConflict."""
        fields = await self._put_blob(plan.doc, plan.merged, "snapshot")
        fields["updated_at"] = _now()
        swapped = True
        if plan.generation is None:
            try:
                await self._snapshots.insert_one({"_id": plan.doc, "generation": 1, **fields})
            except DuplicateKeyError:
                swapped = False
        else:
            result = await self._snapshots.update_one(
                {"_id": plan.doc, "generation": plan.generation},
                {"$set": fields, "$inc": {"generation": 1}},
            )
            swapped = result.matched_count == 1
        # Chunks are dropped only when the swap surely failed: after an error the swap may have
        # happened, and then they are the snapshot. Left over, they are orphans cleaned later.
        if not swapped:
            await self._drop_blob(fields["blob"])
            raise SnapshotConflict(plan.doc)
        return fields["blob"]

    async def _delete_merged(self, plan: _Plan, new_blob: ObjectId | None) -> None:
        """After a swap: drop exactly the merged entries, the old chunks and stale orphans."""
        for start in range(0, len(plan.merged_ids), _DELETE_BATCH):
            await self._updates.delete_many(
                {"_id": {"$in": plan.merged_ids[start : start + _DELETE_BATCH]}}
            )
        await self._drop_blob(plan.old_blob)
        cutoff = ObjectId.from_datetime(datetime.now(UTC) - self._orphan_grace)
        await self._chunks.delete_many(
            {"doc": plan.doc, "kind": "snapshot", "blob": {"$lt": cutoff, "$ne": new_blob}}
        )

    async def compaction_candidates(self, min_updates: int, min_bytes: int) -> list[str]:
        pipeline: list[Document] = [
            {"$group": {"_id": "$doc", "count": {"$sum": 1}, "bytes": {"$sum": "$size"}}},
            {"$match": {"$or": [{"count": {"$gte": min_updates}}, {"bytes": {"$gte": min_bytes}}]}},
            {"$sort": {"_id": ASCENDING}},
        ]
        cursor = await self._updates.aggregate(pipeline, allowDiskUse=True)
        return [row["_id"] async for row in cursor]

    # -- versions ----------------------------------------------------------------------------

    async def create_version(self, doc: str, name: str, author: str | None = None) -> VersionInfo:
        _check_name(doc)
        state = merged_state(await self.load(doc), name=doc)
        counter = await self._counters.find_one_and_update(
            {"_id": "ydoc_versions"},
            {"$inc": {"seq": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        version_id = int(counter["seq"])
        created_at = _now()
        fields = await self._put_blob(doc, state, "version")
        await self._versions.insert_one(
            {
                "_id": version_id,
                "doc": doc,
                "name": name,
                "author": author,
                "created_at": created_at,
                **fields,
            }
        )
        return VersionInfo(version_id, doc, name, author, created_at, len(state))

    async def list_versions(self, doc: str) -> list[VersionInfo]:
        rows = (
            await self._versions.find(
                {"doc": doc}, {"name": 1, "author": 1, "created_at": 1, "size": 1}
            )
            .sort("_id", ASCENDING)
            .to_list()
        )
        return [
            VersionInfo(
                int(row["_id"]), doc, row["name"], row["author"], row["created_at"], row["size"]
            )
            for row in rows
        ]

    async def read_version(self, doc: str, version_id: int) -> bytes:
        row = await self._versions.find_one({"_id": version_id, "doc": doc})
        if row is None:
            raise VersionNotFound(f"{doc!r} has no version {version_id}")
        data = await self._blob(row)
        if data is None:
            raise RuntimeError(f"version {version_id} of {doc!r} is missing chunks")
        return data

    async def documents(self) -> list[str]:
        names = {row["_id"] async for row in self._snapshots.find({}, {"_id": 1})}
        for collection in (self._updates, self._versions):
            names.update(await collection.distinct("doc"))
        return sorted(names)

    async def put_version(self, version: VersionInfo, state: bytes) -> None:
        _check_name(version.doc)
        await self._counters.update_one(
            {"_id": "ydoc_versions"}, {"$max": {"seq": version.id}}, upsert=True
        )
        fields = await self._put_blob(version.doc, state, "version")
        await self._versions.insert_one(
            {
                "_id": version.id,
                "doc": version.doc,
                "name": version.name,
                "author": version.author,
                "created_at": version.created_at,
                **fields,
            }
        )
