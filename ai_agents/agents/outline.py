"""Outline (大纲): chapter titles and summaries for a premise; optionally created in the work, each
chapter's summary in its document's meta as `outline`."""

from __future__ import annotations

import json
import re
from typing import Any

from storage.sql.database import Database
from storage.sql.models import Task

from .. import prompts
from ..context import KIND_NAMES, Bible, render_bible
from ..ports import Documents, Library
from ..providers.base import CompletionRequest
from ..providers.router import CallContext, Router
from ..safety import SensitiveWords
from .outcome import Outcome
from .work_context import work_context
from .work_notes import save_note

BIBLE_CHARS = 1500
_JSON_BLOCK = re.compile(r"\{.*\}", re.DOTALL)


async def outline(
    task: Task,
    *,
    database: Database,
    documents: Documents,
    library: Library,
    ai: Router,
    safety: SensitiveWords,
) -> Outcome:
    """`task.params`: `prompt` (the premise), `chapters` (how many), `type`, `genre`, `apply`."""
    params = task.params
    level = params.get("level", "free")
    work = await work_context(database, task.work_id, None, {})
    completion = await ai.complete(
        _request(params, work.bible, work.corpus),
        level=level,
        ctx=CallContext(task.user_id, task.work_id, task.id, "outline"),
    )
    chapters = parse_outline(completion.text)
    for chapter in chapters:
        chapter["title"] = safety.mask(chapter["title"])
        chapter["summary"] = safety.mask(chapter["summary"])
    result: dict[str, Any] = {"chapters": chapters, "applied": False}
    if params.get("apply"):
        assert task.work_id is not None
        created = []
        for item in chapters:
            row = await library.create_chapter(task.user_id, task.work_id, item["title"])
            await documents.set_meta(row.content_id, {"outline": item["summary"]})
            created.append(row.id)
        result.update(applied=True, chapter_ids=created)
        await save_note(database, task.work_id, "premise", params["prompt"])
    return Outcome(result, completion.provider, completion.model)


def _request(params: dict[str, Any], bible: Bible, corpus: list[str]) -> CompletionRequest:
    kind = params.get("type") or bible.kind
    return CompletionRequest(
        task="outline",
        messages=prompts.render(
            "outline",
            kind_name=KIND_NAMES.get(kind, "小说"),
            chapters=params["chapters"],
            genre=params.get("genre") or bible.genre or "未定",
            premise=params["prompt"],
            bible=render_bible(bible, BIBLE_CHARS),
        ),
        inputs={
            "premise": params["prompt"],
            "genre": params.get("genre") or bible.genre,
            "kind": kind,
            "chapters": params["chapters"],
            "corpus": corpus,
        },
        max_tokens=300 * int(params["chapters"]) + 200,
        temperature=0.7,
    )


def parse_outline(output: str) -> list[dict[str, str]]:
    """The chapters of an outline answer, tolerant of Markdown fences and chatter around it."""
    match = _JSON_BLOCK.search(output)
    if match is None:
        raise ValueError("the model's outline holds no JSON object")
    document = json.loads(match.group(0))
    chapters = document.get("chapters") if isinstance(document, dict) else None
    if not isinstance(chapters, list) or not chapters:
        raise ValueError("the model's outline has no chapters")
    return [
        {"title": str(c.get("title", "")).strip()[:200], "summary": str(c.get("summary", ""))}
        for c in chapters
        if isinstance(c, dict) and str(c.get("title", "")).strip()
    ]
