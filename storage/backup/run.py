"""Backup and restore across every store: relational rows, documents, AI calls, blobs.

What the archive holds (`archive` writes it, the manifest lists it):

- `tables/NAME.jsonl`: every row of every model table, read in one transaction (one snapshot).
- `documents.jsonl`: one line per document: its name, its folder, its versions.
  `docs/N/snapshot.bin` and `docs/N/log.bin` are what one `load` returned: the snapshot and the
  stored updates after it, each whole (`codec.frames`); `docs/N/version-ID.bin` each version.
- `ai_histories.jsonl`: every AI call, whichever engine stored it.
- `blobs.jsonl`: every blob's key, type, size and SHA-256; with its bytes in `blobs/N.bin` unless
  the backup was told to leave them out (an S3 bucket copied by its own tools).

Each document is read in one `load` (the SQL store's is one statement; MongoDB's reads the log
before the snapshot), so it is a whole set of stored updates, never half an update. Documents are
read after the rows: a chapter made during the backup may have a document and no row, which is
harmless; the rows never point at a document state that is not in the archive's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..ai_histories.base import AiCall, AiHistories
from ..blobs.base import BlobStore
from ..docs.base import DocStore, VersionInfo
from ..sql.database import Database, migration_connection
from .archive import ArchiveReader, ArchiveWriter
from .codec import frames, read_record, record_line, unframe
from .tables import (
    consistent_reads,
    load_rows,
    model_tables,
    prepare_target,
    source_revision,
    stream_rows,
    upgrade_to_head,
)

Progress = Callable[[float], None]  # the share of the work done, 0 to 1
_AI_PAGE = 500
_AI_FIELDS = frozenset(f.name for f in dataclasses.fields(AiCall))


class TargetNotEmpty(Exception):
    """A restore goes into empty stores only: it would otherwise mix two histories."""


@dataclass(frozen=True, slots=True)
class Stores:
    database: Database
    docs: DocStore
    ai_histories: AiHistories
    blobs: BlobStore


@dataclass(slots=True)
class Summary:
    tables: dict[str, int] = field(default_factory=dict)
    documents: int = 0
    updates: int = 0
    versions: int = 0
    ai_calls: int = 0
    blobs: int = 0
    blob_bytes: int = 0
    blob_files: bool = True

    def counts(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class _Steps:
    def __init__(self, total: int, progress: Progress | None) -> None:
        self._total, self._done, self._progress = max(total, 1), 0, progress

    def step(self) -> None:
        self._done += 1
        if self._progress is not None:
            self._progress(min(1.0, self._done / self._total))


# -- backup ------------------------------------------------------------------------------------


async def backup(
    stores: Stores, out: Path, *, blob_files: bool = True, progress: Progress | None = None
) -> Summary:
    revision = await source_revision(stores.database)
    names = await stores.docs.documents()
    keys = await stores.blobs.keys()
    tables = model_tables()
    steps = _Steps(len(tables) + len(names) + 1 + len(keys), progress)
    summary = Summary(blob_files=blob_files)
    writer = ArchiveWriter(out)
    try:
        await _backup_tables(stores.database, writer, summary, steps)
        await _backup_documents(stores.docs, names, writer, summary, steps)
        await _backup_ai_calls(stores.ai_histories, writer, summary)
        steps.step()
        await _backup_blobs(stores.blobs, keys, writer, summary, steps, blob_files=blob_files)
    except BaseException:
        writer.abandon()
        raise
    writer.close(
        {
            "schema_revision": revision,
            "created_at": datetime.now(UTC).isoformat(),
            "tables": list(summary.tables),
            "counts": summary.counts(),
        }
    )
    return summary


async def _backup_tables(
    database: Database, writer: ArchiveWriter, summary: Summary, steps: _Steps
) -> None:
    async with database.engine.connect() as conn:
        await consistent_reads(conn)
        try:
            for table in model_tables():
                count = 0
                with writer.entry(f"tables/{table.name}.jsonl") as out:
                    async for row in stream_rows(conn, table):
                        out.write(record_line(row))
                        count += 1
                summary.tables[table.name] = count
                steps.step()
        finally:
            await conn.rollback()


async def _backup_documents(
    docs: DocStore, names: list[str], writer: ArchiveWriter, summary: Summary, steps: _Steps
) -> None:
    lines: list[bytes] = []
    for index, name in enumerate(names):
        folder = f"docs/{index:06d}"
        stored = await docs.load(name)  # one consistent read: whole updates only
        if stored.snapshot is not None:
            writer.write(f"{folder}/snapshot.bin", stored.snapshot)
        writer.write(f"{folder}/log.bin", frames(stored.updates))
        versions = []
        for version in await docs.list_versions(name):
            state = await docs.read_version(name, version.id)
            writer.write(f"{folder}/version-{version.id}.bin", state)
            versions.append(
                {
                    "id": version.id,
                    "name": version.name,
                    "author": version.author,
                    "created_at": version.created_at.isoformat(),
                }
            )
        lines.append(
            json.dumps(
                {
                    "name": name,
                    "folder": folder,
                    "snapshot": stored.snapshot is not None,
                    "updates": len(stored.updates),
                    "versions": versions,
                },
                ensure_ascii=False,
            ).encode()
            + b"\n"
        )
        summary.documents += 1
        summary.updates += len(stored.updates)
        summary.versions += len(versions)
        steps.step()
    writer.write("documents.jsonl", b"".join(lines))


async def _backup_ai_calls(histories: AiHistories, writer: ArchiveWriter, summary: Summary) -> None:
    after: str | None = None
    with writer.entry("ai_histories.jsonl") as out:
        while page := await histories.scan(after=after, limit=_AI_PAGE):
            for stored in page:
                out.write(record_line({"id": stored.id, **dataclasses.asdict(stored.call)}))
            summary.ai_calls += len(page)
            after = page[-1].id


async def _backup_blobs(
    blobs: BlobStore,
    keys: list[str],
    writer: ArchiveWriter,
    summary: Summary,
    steps: _Steps,
    *,
    blob_files: bool,
) -> None:
    lines: list[bytes] = []
    for index, key in enumerate(keys):
        try:
            data, content_type = await blobs.get(key)
        except KeyError:  # deleted since it was listed
            steps.step()
            continue
        file = f"blobs/{index:06d}.bin" if blob_files else None
        if file is not None:
            writer.write(file, data)
        entry = {
            "key": key,
            "content_type": content_type,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "file": file,
        }
        lines.append(json.dumps(entry, ensure_ascii=False).encode() + b"\n")
        summary.blobs += 1
        summary.blob_bytes += len(data)
        steps.step()
    writer.write("blobs.jsonl", b"".join(lines))


# -- restore -----------------------------------------------------------------------------------


async def restore(stores: Stores, archive: Path, *, progress: Progress | None = None) -> Summary:
    """Load the archive into empty stores. The relational database is first migrated to the
    archive's schema revision, then after the rows to this code's newest."""
    reader = ArchiveReader(archive)
    try:
        reader.verify()
        return await _restore(stores, reader, progress)
    finally:
        reader.close()


async def _restore(stores: Stores, reader: ArchiveReader, progress: Progress | None) -> Summary:
    manifest = reader.manifest
    documents = [json.loads(line) for line in reader.lines("documents.jsonl")]
    blob_lines = [json.loads(line) for line in reader.lines("blobs.jsonl")]
    async with migration_connection(stores.database.engine) as conn:
        full_tables = await conn.run_sync(prepare_target, manifest["schema_revision"])
    await _refuse_unless_empty(stores, full_tables)
    tables: list[str] = manifest["tables"]
    steps = _Steps(len(tables) + len(documents) + 1 + len(blob_lines), progress)
    summary = Summary(blob_files=any(entry["file"] for entry in blob_lines))

    def loaded(name: str, count: int) -> None:
        summary.tables[name] = count
        steps.step()

    rows = ((name, _rows(reader, f"tables/{name}.jsonl")) for name in tables)
    async with stores.database.engine.connect() as conn:
        await conn.run_sync(load_rows, rows, loaded)
    async with migration_connection(stores.database.engine) as conn:
        await conn.run_sync(upgrade_to_head)

    for document in documents:
        await _restore_document(stores.docs, reader, document, summary)
        steps.step()
    for record in _rows(reader, "ai_histories.jsonl"):
        call = AiCall(**{name: value for name, value in record.items() if name in _AI_FIELDS})
        await stores.ai_histories.record(call)
        summary.ai_calls += 1
    steps.step()
    for entry in blob_lines:
        if entry["file"] is not None:
            await stores.blobs.put(entry["key"], reader.read(entry["file"]), entry["content_type"])
            summary.blob_bytes += entry["bytes"]
        summary.blobs += 1
        steps.step()
    return summary


def _rows(reader: ArchiveReader, name: str) -> Iterator[dict[str, Any]]:
    return (read_record(line) for line in reader.lines(name))


async def _refuse_unless_empty(stores: Stores, full_tables: list[str]) -> None:
    found = [f"rows in {', '.join(full_tables)}"] if full_tables else []
    if documents := await stores.docs.documents():
        found.append(f"{len(documents)} documents")
    if await stores.ai_histories.scan(limit=1):
        found.append("AI call records")
    if blobs := await stores.blobs.keys():
        found.append(f"{len(blobs)} blobs")
    if found:
        raise TargetNotEmpty(
            "the target is not empty (" + "; ".join(found) + "): restore into empty stores"
        )


async def _restore_document(
    docs: DocStore, reader: ArchiveReader, document: dict[str, Any], summary: Summary
) -> None:
    name, folder = document["name"], document["folder"]
    log = list(unframe(reader.read(f"{folder}/log.bin")))
    # The snapshot goes in as the first update of the log: the same state, and the next
    # compaction makes it a snapshot again.
    snapshot = [reader.read(f"{folder}/snapshot.bin")] if document["snapshot"] else []
    if snapshot or log:
        await docs.append(name, *snapshot, *log)
    for version in document["versions"]:
        info = VersionInfo(
            id=int(version["id"]),
            doc=name,
            name=version["name"],
            author=version["author"],
            created_at=datetime.fromisoformat(version["created_at"]),
            size=0,
        )
        await docs.put_version(info, reader.read(f"{folder}/version-{info.id}.bin"))
    summary.documents += 1
    summary.updates += len(log)
    summary.versions += len(document["versions"])
