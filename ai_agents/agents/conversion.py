"""Convert (改编): a novel chapter into a Fountain screenplay or back, typed live into a new
chapter of the work or of a new work of the other type."""

from __future__ import annotations

from storage.sql.database import Database
from storage.sql.models import Task, Work

from .. import prompts
from ..peer import DocumentPeer
from ..ports import Documents, Library
from ..providers.base import CompletionRequest
from .outcome import Outcome
from .streaming import DocumentWriter
from .work_context import existing_chapter

TITLE_CHARS = 200
SUFFIXES = {"script": "（剧本）", "novel": "（小说）"}


async def convert(
    task: Task,
    *,
    database: Database,
    documents: Documents,
    library: Library,
    writer: DocumentWriter,
) -> Outcome:
    """`task.params`: `to_type`, `target` ("work": a new work of type `to_type`; "chapter": a
    new chapter of `target_work_id`, a work of that type), and `content` when the task names no
    chapter. The result never goes into a work of the other type."""
    params = task.params
    level = params.get("level", "free")
    to_type = params["to_type"]
    source = params.get("content") or ""
    title = None
    if task.chapter_id is not None:
        chapter = await existing_chapter(database, task.chapter_id)
        source, _meta = await documents.read(chapter.content_id)
        title = chapter.title
    async with database.session() as session:
        work = await session.get(Work, task.work_id)
    assert work is not None
    suffix = SUFFIXES[to_type]
    if params.get("target") == "work":
        target_work_id = await library.create_work(
            task.user_id,
            title=f"{work.title}{suffix}"[:TITLE_CHARS],
            type_=to_type,
            genre=work.genre,
        )
    else:
        target_work_id = params.get("target_work_id") or work.id
        await _require_type(database, target_work_id, to_type)
    target = await library.create_chapter(
        task.user_id, target_work_id, f"{title or work.title}{suffix}"[:TITLE_CHARS]
    )
    request = _request(source, to_type, title or work.title)

    async def place(peer: DocumentPeer) -> None:
        peer.anchor(None)

    where = {"work_id": target_work_id, "chapter_id": target.id, "to_type": to_type}
    streamed = await writer.stream(
        task,
        target.content_id,
        request,
        level=level,
        action="convert",
        expected_chars=max(1, len(source)),
        place=place,
        extra=where,
    )
    return streamed.outcome(target.content_id, **where)


async def _require_type(database: Database, work_id: int, to_type: str) -> None:
    async with database.session() as session:
        work = await session.get(Work, work_id)
    if work is None or work.type != to_type:
        raise ValueError(f"work {work_id} is not a {to_type}: the conversion is not put there")


def _request(source: str, to_type: str, title: str) -> CompletionRequest:
    values = {"text": source}
    if to_type == "script":
        values["title_line"] = f"标题：{title}"
    name = "convert_to_script" if to_type == "script" else "convert_to_novel"
    return CompletionRequest(
        task="convert",
        messages=prompts.render(name, **values),
        inputs={"text": source, "to_type": to_type, "title": title},
        max_tokens=int(len(source) * 2) + 256,
        temperature=0.4,
    )
