"""The import handler: an uploaded txt, docx or Fountain file becomes a new work with chapters.

The upload waits in the blob store (any worker can read it). Each chapter's text is written into
its CRDT document through the room's write-ahead path, exactly as a REST save is, and its SQL
projection (text, 字数, search index) is derived from the stored document at once.

Running it twice is safe: the work created by an attempt that died is recorded in the task's
result first thing, and a later attempt removes that half-filled work before starting over.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from storage.docs.restore import set_content
from storage.sql.models import User

from .imports import ImportedWork, parse
from .progress import ProgressPump

PARSE_SHARE = 40  # progress 0..40 while parsing, 40..100 while writing chapters
KIND_LABELS = {"novel": "小说", "script": "剧本"}


def upload_key(task_id: str) -> str:
    return f"imports/{task_id}.upload"


async def _discard_partial_work(parts: Any, user_id: int, result: Any) -> None:
    from api.errors import AppError
    from api.services.works import Works

    work_id = result.get("work_id") if isinstance(result, dict) else None
    if work_id is None:
        return
    with contextlib.suppress(AppError):  # already gone
        await Works(parts).purge(user_id, int(work_id))


async def _write_chapters(
    parts: Any, user_id: int, work_id: int, imported: ImportedWork, pump: ProgressPump
) -> int:
    from api.projection import Projector
    from api.services.chapters import Chapters

    chapters, projector = Chapters(parts), Projector(parts)
    total = len(imported.chapters)
    for done, source in enumerate(imported.chapters, start=1):
        chapter = await chapters.create(user_id, work_id, source.title)
        async with parts.rooms.hold(chapter.content_id) as room:
            await room.change(set_content(source.text))
        await projector.rebuild(chapter.id)
        pump(100 * done // total)
    return total


async def run(parts: Any, task_id: str) -> None:
    from api.services.works import Works

    tasks = parts.tasks
    if not await tasks.start(task_id):
        return
    task = await tasks.get(task_id)
    assert task is not None
    await _discard_partial_work(parts, task.user_id, task.result)
    params: dict[str, Any] = task.params
    filename = params["filename"]
    data, _type = await parts.blobs.get(upload_key(task_id))
    async with ProgressPump(tasks, task_id, end=PARSE_SHARE) as pump:
        imported = await asyncio.to_thread(parse, filename, data, pump)
    async with parts.database.session() as session:
        owner = await session.get(User, task.user_id)
    if owner is None:
        raise LookupError(f"user {task.user_id} no longer exists")
    title = (params.get("title") or imported.title or filename)[:200]
    work = await Works(parts).create(owner, {"title": title, "type": imported.kind})
    await tasks.progress(task_id, PARSE_SHARE, result={"work_id": work.id}, work_id=work.id)
    async with ProgressPump(tasks, task_id, start=PARSE_SHARE) as pump:
        count = await _write_chapters(parts, owner.id, work.id, imported, pump)
    result = {"work_id": work.id, "title": title, "kind": imported.kind, "chapters": count}
    if await tasks.complete(task_id, result, work_id=work.id):
        delete = getattr(parts.blobs, "delete", None)
        if delete is not None:
            await delete(upload_key(task_id))
        from api.services.notifications import notify_quietly

        await notify_quietly(
            parts,
            task.user_id,
            "import",
            f"《{title}》导入完成",
            f"已导入为{KIND_LABELS.get(imported.kind, '作品')}，共 {count} 章。",
            {"task_id": task_id, "work_id": work.id, "status": "completed"},
        )
