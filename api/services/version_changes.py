"""Who changed what between two states of a chapter: runs of kept, inserted and deleted text.

Every state of a chapter (a version, the live document) is the same Yjs document at another
moment, so a character is the same Yjs item in both, and items never change their order. The
diff is therefore exact, not guessed: a character visible in both states is `same`, one only in
the newer is `inserted` (its author is the client id that created the item, looked up as the
authorship service does), one only in the older is `deleted`. Where both happen between the same
two kept characters the deleted text is listed first.

Yjs deletions carry no author: a delete set names the deleted items, never who deleted them. A
deleted run's `author` is therefore null; its `written_by` is the author of the removed text.
Per author, `inserted` counts their new characters and `deleted` the characters of theirs that
were removed (by anyone). Counts leave out white space, as the authorship counts do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, Text

from storage.docs.base import DocStore, VersionInfo, VersionNotFound
from storage.docs.schema import CONTENT
from storage.sql.database import Database
from storage.sql.models import Chapter

from ..errors import AppError, Err
from .authorship import UNKNOWN, Authorship, ClientRuns, client_runs, counted
from .chapters import chapter_and_role
from .text_items import TextItems

CURRENT = "current"

ItemId = tuple[int, int]  # Yjs client id, clock of the character


@dataclass(frozen=True, slots=True)
class State:
    """One side of a comparison: the chapter as a version or as it is now."""

    label: dict[str, Any]
    doc: Doc


def visible_chars(doc: Doc) -> list[tuple[str, ItemId]]:
    """The document's text, one entry per character with the Yjs item id that carries it."""
    items = TextItems(doc.get(CONTENT, type=Text))
    chars: list[tuple[str, ItemId]] = []
    for placed in items.placed:
        block = placed.block
        assert block.text is not None
        clock = block.clock
        for char in block.text:
            chars.append((char, (block.client, clock)))
            clock += 2 if ord(char) > 0xFFFF else 1
    return chars


def compare(older: Doc, newer: Doc) -> Iterator[tuple[str, str, int]]:
    """`(kind, char, client id)` for every character of either text, in document order."""
    before, after = visible_chars(older), visible_chars(newer)
    in_before = {item for _char, item in before}
    in_after = {item for _char, item in after}
    i = j = 0
    while i < len(before) or j < len(after):
        if i < len(before) and before[i][1] not in in_after:
            yield "deleted", before[i][0], before[i][1][0]
            i += 1
        elif j < len(after) and after[j][1] not in in_before:
            yield "inserted", after[j][0], after[j][1][0]
            j += 1
        elif i < len(before) and j < len(after) and before[i][1] == after[j][1]:
            # Both sides hold this item here: Yjs keeps the order of the items it kept.
            yield "same", after[j][0], after[j][1][0]
            i += 1
            j += 1
        elif i < len(before):  # not one document's history: shown as replaced, never lost
            yield "deleted", before[i][0], before[i][1][0]
            i += 1
        else:
            yield "inserted", after[j][0], after[j][1][0]
            j += 1


def _doc(state: bytes) -> Doc:
    doc: Doc = Doc()
    doc.apply_update(state)
    return doc


def _version_label(info: VersionInfo) -> dict[str, Any]:
    return {
        "version_id": info.id,
        "name": info.name,
        "author": info.author,
        "created_at": info.created_at.isoformat(),
    }


@dataclass(frozen=True, slots=True)
class VersionChanges:
    database: Database
    store: DocStore
    authorship: Authorship

    async def _chapter(self, user_id: int, chapter_id: int) -> Chapter:
        return (await chapter_and_role(self.database, user_id, chapter_id))[0]

    async def _version(self, chapter: Chapter, info: VersionInfo) -> State:
        try:
            state = await self.store.read_version(chapter.content_id, info.id)
        except VersionNotFound:
            raise AppError(Err.NOT_FOUND, f"this chapter has no version {info.id}") from None
        return State(_version_label(info), _doc(state))

    async def _current(self, chapter: Chapter) -> State:
        async with self.authorship.rooms.hold(chapter.content_id) as room:
            state = room.doc.get_update()
        return State({"current": True}, _doc(state))

    async def changes(
        self, user_id: int, chapter_id: int, version_id: int, against: str | None = None
    ) -> dict[str, Any]:
        """The changes that made version `version_id`: from the version before it (none: from an
        empty chapter), from version `against`, or, with `against="current"`, from this version
        to the live chapter (what changed since)."""
        chapter = await self._chapter(user_id, chapter_id)
        infos = await self.store.list_versions(chapter.content_id)
        by_id = {info.id: info for info in infos}
        if version_id not in by_id:
            raise AppError(Err.NOT_FOUND, f"this chapter has no version {version_id}")
        this = await self._version(chapter, by_id[version_id])
        if against == CURRENT:
            older, newer = this, await self._current(chapter)
        elif against is not None:
            if not against.isdigit():
                raise AppError(Err.BAD_REQUEST, "against: a version id or 'current'")
            if int(against) not in by_id:
                raise AppError(Err.NOT_FOUND, f"this chapter has no version {against}")
            older, newer = await self._version(chapter, by_id[int(against)]), this
        else:
            earlier = [info for info in infos if info.id < version_id]
            older = (
                await self._version(chapter, earlier[-1])
                if earlier
                else State({"empty": True}, Doc())
            )
            newer = this
        return await self._describe(chapter, older, newer)

    async def _describe(self, chapter: Chapter, older: State, newer: State) -> dict[str, Any]:
        compared = list(compare(older.doc, newer.doc))
        sides = [client_runs(older.doc), client_runs(newer.doc)]
        found = ClientRuns(  # the clients of both states, for their authors
            sides[1].text,
            sides[0].runs + sides[1].runs,
            {**sides[0].ai_markers, **sides[1].ai_markers},
        )
        doc = chapter.content_id
        known = await self.authorship.authors_of({doc: found}, [chapter.id])
        runs: list[dict[str, Any]] = []
        totals: dict[tuple[str, Any], dict[str, Any]] = {}
        for kind, char, client in compared:
            writer = known.get((doc, client), UNKNOWN)
            author = writer if kind == "inserted" else None
            written_by = writer if kind == "deleted" else None
            last = runs[-1] if runs else None
            if (
                last is not None
                and last["kind"] == kind
                and last["author"] == author
                and last.get("written_by") == written_by
            ):
                last["text"] += char
            else:
                run: dict[str, Any] = {"kind": kind, "text": char, "author": author}
                if kind == "deleted":
                    run["written_by"] = written_by
                runs.append(run)
            if kind != "same" and counted(char):
                entry = totals.setdefault(
                    (writer["kind"], writer["id"]),
                    {"author": writer, "inserted": 0, "deleted": 0},
                )
                entry[kind] += 1
        authors = sorted(totals.values(), key=lambda e: -(e["inserted"] + e["deleted"]))
        return {
            "chapter_id": chapter.id,
            "from": older.label,
            "to": newer.label,
            "runs": runs,
            "authors": authors,
            "inserted": sum(entry["inserted"] for entry in authors),
            "deleted": sum(entry["deleted"] for entry in authors),
        }
