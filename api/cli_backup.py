"""`inkweave backup` and `inkweave restore`: the stores that the settings point at, with a
progress bar (`storage.backup` does the work)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from storage.backup.run import Stores, Summary, backup, restore

from .adapters import build_adapters
from .cli_jobs import ProgressBar
from .jobs_setup import build_job_system
from .settings import Settings


@asynccontextmanager
async def open_stores(settings: Settings, *, migrate: bool) -> AsyncIterator[Stores]:
    """The database, document store, AI call records and blobs of `settings`, started."""
    adapters = build_adapters(settings, runner=build_job_system(settings).runner)
    if migrate and settings.should_migrate():
        await adapters.database.migrate()
    await adapters.store.start()
    await adapters.blobs.start()
    await adapters.ai_histories.start()
    try:
        yield Stores(adapters.database, adapters.store, adapters.ai_histories, adapters.blobs)
    finally:
        await adapters.ai.aclose()
        await adapters.blobs.close()
        await adapters.store.close()
        await adapters.ai_histories.close()
        await adapters.database.close()
        await adapters.kv.close()


async def run_backup(settings: Settings, out: Path, *, blob_files: bool = True) -> Summary:
    bar = ProgressBar(f"backup → {out.name}")
    try:
        async with open_stores(settings, migrate=True) as stores:
            summary = await backup(
                stores, out, blob_files=blob_files, progress=lambda done: bar.to(int(done * 100))
            )
        bar.to(100)
    finally:
        bar.close()
    return summary


async def run_restore(settings: Settings, archive: Path) -> Summary:
    bar = ProgressBar(f"restore ← {archive.name}")
    try:
        # The restore migrates the database itself: first to the archive's schema revision.
        async with open_stores(settings, migrate=False) as stores:
            summary = await restore(stores, archive, progress=lambda done: bar.to(int(done * 100)))
        bar.to(100)
    finally:
        bar.close()
    return summary


def describe(summary: Summary) -> str:
    rows = sum(summary.tables.values())
    blobs = f"{summary.blobs} blobs" + ("" if summary.blob_files else " (listed, not copied)")
    return (
        f"{rows} rows in {len(summary.tables)} tables, {summary.documents} documents "
        f"({summary.updates} log updates, {summary.versions} versions), "
        f"{summary.ai_calls} AI calls, {blobs}"
    )
