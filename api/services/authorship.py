"""Who wrote what: every character of a chapter attributed to a person or an AI task.

A character's author is the Yjs client id that created its item (`text_items`), looked up in
`doc_authors` (recorded by `api.authorship_hook` before that client's first update is stored).
A client id is an AI task's when its row says so, when the task recorded it (`result.client_id`),
or when it wrote an `ai` format marker (only AI peers write those; `ai_agents.marks`). A REST save
(`PUT …/content`) and an import are attributed to the user who made them. Text the server wrote
itself (a version restore: new items, whoever wrote the restored words; a client id whose entry
could not be recorded) is `unknown`. Counts are characters other than white space, per author,
for a chapter and for a whole work: what co-authors split credit and royalties by.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, Text
from sqlalchemy import select

from ai_agents.marks import AI_ATTRIBUTE
from storage.docs.schema import CONTENT
from storage.sql.database import Database
from storage.sql.models import Chapter, DocAuthor, Task, User
from sync_server.rooms import RoomManager

from ..errors import AppError, Err
from ..security.roles import role_on_work
from .chapters import chapter_and_role
from .text_items import TextItems

UNKNOWN: dict[str, Any] = {"kind": "unknown", "id": None, "name": None}


def _key(author: dict[str, Any]) -> tuple[str, Any]:
    return author["kind"], author["id"]


def counted(text: str) -> int:
    return sum(1 for char in text if not char.isspace())


@dataclass(frozen=True, slots=True)
class ClientRuns:
    """A text's runs of consecutive characters written by one client id."""

    text: str
    runs: list[tuple[int, int, int]]  # from, to (str indices), client id
    ai_markers: dict[int, str]  # client id → the task whose `ai` marker it wrote


def client_runs(doc: Doc) -> ClientRuns:
    text = doc.get(CONTENT, type=Text)
    items = TextItems(text)
    runs: list[tuple[int, int, int]] = []
    for placed in items.placed:
        client = placed.block.client
        if runs and runs[-1][2] == client and runs[-1][1] == placed.start:
            runs[-1] = (runs[-1][0], placed.end, client)
        else:
            runs.append((placed.start, placed.end, client))
    markers = {
        block.client: block.value
        for block in items.blocks
        if block.key == AI_ATTRIBUTE and isinstance(block.value, str)
    }
    return ClientRuns(items.current, runs, markers)


@dataclass(frozen=True, slots=True)
class Authorship:
    database: Database
    rooms: RoomManager

    async def _chapter(self, user_id: int, chapter_id: int) -> Chapter:
        return (await chapter_and_role(self.database, user_id, chapter_id))[0]

    async def _client_runs(self, chapter: Chapter) -> ClientRuns:
        async with self.rooms.hold(chapter.content_id) as room:
            return client_runs(room.doc)

    async def authors_of(
        self, docs: dict[str, ClientRuns], chapter_ids: Iterable[int]
    ) -> dict[tuple[str, int], dict[str, Any]]:
        """Per (doc, client id), its author (`{kind, id, name}`, AI tasks with `user_id`)."""
        async with self.database.session() as session:
            rows = (
                await session.execute(select(DocAuthor).where(DocAuthor.doc.in_(list(docs))))
            ).scalars()
            recorded = {(row.doc, row.client_id): row for row in rows}
            tasks = (
                await session.execute(
                    select(Task.id, Task.type, Task.user_id, Task.result).where(
                        Task.kind == "ai", Task.chapter_id.in_(list(chapter_ids))
                    )
                )
            ).all()
            user_ids = {row.user_id for row in recorded.values() if row.user_id is not None}
            user_ids |= {task.user_id for task in tasks}
            found = await session.execute(
                select(User.id, User.username).where(User.id.in_(user_ids))
            )
            names = {user_id: name for user_id, name in found}
        task_of = {task.id: task for task in tasks}
        ran_by: dict[tuple[str, int], str] = {}
        for task in tasks:
            result = task.result if isinstance(task.result, dict) else {}
            if isinstance(result.get("client_id"), int) and isinstance(result.get("doc"), str):
                ran_by[(result["doc"], result["client_id"])] = task.id
        authors: dict[tuple[str, int], dict[str, Any]] = {}
        for doc, found in docs.items():
            for client in {client for _start, _end, client in found.runs}:
                row = recorded.get((doc, client))
                task_id = (
                    (row.ai_task_id if row is not None else None)
                    or ran_by.get((doc, client))
                    or found.ai_markers.get(client)
                )
                if task_id is not None:
                    task = task_of.get(task_id)
                    runner = row.user_id if row is not None else (task.user_id if task else None)
                    kind = task.type if task is not None else "ai"
                    authors[(doc, client)] = {
                        "kind": "ai",
                        "id": task_id,
                        "name": f"AI · {kind}",
                        "user_id": runner,
                        "user_name": names.get(runner),
                    }
                elif row is not None and row.user_id is not None:
                    authors[(doc, client)] = {
                        "kind": "user",
                        "id": row.user_id,
                        "name": names.get(row.user_id),
                    }
        return authors

    async def chapter(self, user_id: int, chapter_id: int) -> dict[str, Any]:
        """The chapter's runs `{from, to, author}` (str indices, whitespace included) and its
        characters per author."""
        chapter = await self._chapter(user_id, chapter_id)
        found = await self._client_runs(chapter)
        authors = await self.authors_of({chapter.content_id: found}, [chapter.id])
        runs: list[dict[str, Any]] = []
        for start, end, client in found.runs:
            author = authors.get((chapter.content_id, client), UNKNOWN)
            if runs and _key(runs[-1]["author"]) == _key(author) and runs[-1]["to"] == start:
                runs[-1]["to"] = end
            else:
                runs.append({"from": start, "to": end, "author": author})
        return {
            "chapter_id": chapter.id,
            "length": len(found.text),
            "runs": runs,
            "authors": _totals([(found.text, runs)]),
        }

    async def work(self, user_id: int, work_id: int) -> dict[str, Any]:
        """Characters per author over every chapter of the work, and per chapter."""
        if await role_on_work(self.database, user_id, work_id) is None:
            raise AppError(Err.NOT_FOUND, f"no work {work_id}")
        async with self.database.session() as session:
            chapters = list(
                (
                    await session.execute(
                        select(Chapter)
                        .where(Chapter.work_id == work_id)
                        .order_by(Chapter.sort_order, Chapter.id)
                    )
                ).scalars()
            )
        docs = {chapter.content_id: await self._client_runs(chapter) for chapter in chapters}
        authors = await self.authors_of(docs, [chapter.id for chapter in chapters])
        per_chapter: list[dict[str, Any]] = []
        everything: list[tuple[str, list[dict[str, Any]]]] = []
        for chapter in chapters:
            found = docs[chapter.content_id]
            runs = [
                {"from": s, "to": e, "author": authors.get((chapter.content_id, c), UNKNOWN)}
                for s, e, c in found.runs
            ]
            everything.append((found.text, runs))
            per_chapter.append(
                {
                    "chapter_id": chapter.id,
                    "title": chapter.title,
                    "authors": _totals([(found.text, runs)]),
                }
            )
        return {"work_id": work_id, "authors": _totals(everything), "chapters": per_chapter}


def _totals(texts: list[tuple[str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """Per author, characters (white space aside) and their share, most first."""
    totals: dict[tuple[str, Any], dict[str, Any]] = {}
    for text, runs in texts:
        for run in runs:
            author = run["author"]
            entry = totals.setdefault(_key(author), {"author": author, "chars": 0})
            entry["chars"] += counted(text[run["from"] : run["to"]])
    whole = sum(entry["chars"] for entry in totals.values())
    for entry in totals.values():
        entry["share"] = round(entry["chars"] / whole, 4) if whole else 0.0
    return sorted(
        (entry for entry in totals.values() if entry["chars"]),
        key=lambda entry: -entry["chars"],
    )
