"""The document store: every chapter's CRDT update log, snapshots and named versions.

Contract (each implementation's tests prove it, see `tests/storage/test_docs_contract.py`):

- `append` returns only once the updates are durable (several of one document are stored in
  order, in one group commit). Callers relay an update only after that.
- `load` returns the latest snapshot and every update stored after it; applying them all gives
  the document. Updates are idempotent, so an update that is both in the snapshot and in the log
  (a compaction that died halfway) is harmless.
- `compact` merges the log into a new snapshot atomically; an update appended while it runs is
  kept. It merges CRDT updates and never re-authors a document from its text.
- A store that cannot reach its database (down, stopped, cut off) raises `StoreUnavailable`
  within its driver timeouts instead of waiting for it; a failed `append` stored nothing that
  its caller may rely on, and the next call tries again.
- Versions are named copies of a document's state. Restoring one is done by the caller, as new
  operations on the live document (`storage.docs.restore`), never by rewriting the log.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

log = logging.getLogger(__name__)

COMPACTION_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class StoredDoc:
    snapshot: bytes | None
    updates: list[bytes]

    @property
    def parts(self) -> list[bytes]:
        """The snapshot (if any), then the log: in the order they are applied."""
        return ([self.snapshot] if self.snapshot else []) + self.updates

    @property
    def log_bytes(self) -> int:
        return sum(len(update) for update in self.updates)


@dataclass(frozen=True, slots=True)
class Compaction:
    merged_updates: int
    bytes_before: int
    bytes_after: int


@dataclass(frozen=True, slots=True)
class VersionInfo:
    id: int
    doc: str
    name: str
    author: str | None
    created_at: datetime
    size: int


class VersionNotFound(LookupError):
    pass


class StoreUnavailable(ConnectionError):
    """The store's database could not be reached in time: try again once it is back."""


class SnapshotConflict(Exception):
    """Another compaction replaced the snapshot first."""


async def compact_with_retries(
    compact_once: Callable[[str], Awaitable[Compaction | None]], doc: str
) -> Compaction | None:
    """Run one compaction attempt again while it loses the snapshot swap to another."""
    for _ in range(COMPACTION_ATTEMPTS):
        try:
            return await compact_once(doc)
        except SnapshotConflict:
            log.info("compaction raced another one; retrying", extra={"doc": doc})
    raise SnapshotConflict(f"could not compact {doc!r}: snapshot kept changing")


class DocStore(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None:
        """Finish pending appends, then release connections."""
        ...

    async def ping(self) -> None:
        """Raise if the store cannot serve requests."""
        ...

    async def append(self, doc: str, *updates: bytes) -> None: ...

    async def load(self, doc: str) -> StoredDoc: ...

    async def compact(self, doc: str) -> Compaction | None:
        """Merge the log into the snapshot; None when the log was empty."""
        ...

    async def compaction_candidates(self, min_updates: int, min_bytes: int) -> list[str]:
        """Documents whose log holds at least `min_updates` updates or `min_bytes` bytes."""
        ...

    async def create_version(
        self, doc: str, name: str, author: str | None = None
    ) -> VersionInfo: ...

    async def list_versions(self, doc: str) -> list[VersionInfo]: ...

    async def read_version(self, doc: str, version_id: int) -> bytes:
        """The document's state at that version, as one update."""
        ...

    async def documents(self) -> list[str]:
        """Every document with a snapshot, log entries or versions, sorted (for backups)."""
        ...

    async def put_version(self, version: VersionInfo, state: bytes) -> None:
        """Store a version as it was, id, name, author and time included (a backup being
        restored); later `create_version` ids follow it. The id must be free."""
        ...
