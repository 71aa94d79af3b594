"""Chapters: their rows, their live content and their named versions.

Content is never stored through SQL: the chapter's CRDT document is the truth (DESIGN, invariant
5). Reading content reads the live room's document; saving applies the difference to it as CRDT
operations through the room's write-ahead path, so connected editors see a REST save at once. The
SQL text projection follows (`api.projection`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import uuid4

from pycrdt import Doc, Map, Text
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import defer

from storage.docs.base import DocStore, VersionInfo, VersionNotFound
from storage.docs.edits import updates_from
from storage.docs.merge import read_state
from storage.docs.restore import apply_state, set_content
from storage.docs.schema import CONTENT, META, RESTORED
from storage.sql.database import Database
from storage.sql.models import Chapter, TrashedChapter, User, Work, WorkMember
from storage.sql.sqlite_driver import short_read
from storage.text.wordcount import count_words
from sync_server.rooms import RoomManager

from ..errors import AppError, Err
from ..security.roles import CALLER, role_from, role_on_work, with_role
from . import chapter_trash
from .access_changes import AccessChanges
from .chapter_pages import ChapterPage, chapter_page
from .chapter_trash import TrashedItem
from .counters import add_to_work, lock_counters
from .works import now, require_role, require_write, role_or_404

MAX_CONTENT_CHARS = 2_000_000
PRE_RESTORE = "恢复前"  # names the version a restore keeps of the text it replaces


def restore_state(state: bytes, stamp: dict[str, Any]) -> Callable[[Doc], None]:
    """An edit that brings the document back to `state` and, in the same transaction, records
    the restore in `meta[RESTORED]`: editors that see it clear their undo history."""

    def edit(doc: Doc) -> None:
        with doc.transaction():
            apply_state(doc, state)
            doc.get(META, type=Map)[RESTORED] = stamp

    return edit


def same_as(doc: Doc, state: bytes) -> bool:
    """Whether `doc` already has the text and meta of `state` (the restore stamp aside)."""
    text, meta = read_state(state)
    live_meta = doc.get(META, type=Map).to_py() or {}
    live_meta.pop(RESTORED, None)
    meta.pop(RESTORED, None)
    return str(doc.get(CONTENT, type=Text)) == text and live_meta == meta


# Results ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Content:
    chapter: Chapter
    role: str
    text: str
    meta: dict[str, Any]

    @property
    def word_count(self) -> int:
        return count_words(self.text)


@dataclass(slots=True)
class Saved:
    chapter: Chapter
    changed: bool
    word_count: int
    saved_at: datetime
    version: VersionInfo | None


@dataclass(slots=True)
class Restored:
    version: VersionInfo
    content: Content
    changed: bool
    pre_restore: VersionInfo | None  # the state just before: restoring it undoes this restore


@dataclass(slots=True)
class VersionText:
    info: VersionInfo
    text: str
    meta: dict[str, Any]


# Built once (`security.roles.CALLER`): the chapter with the caller's role, and a work's chapter
# count with it.
_CHAPTER_AND_ROLE = short_read(
    with_role(
        select(Chapter)
        .options(defer(Chapter.text))
        .join(Work, Work.id == Chapter.work_id)
        .where(Chapter.id == bindparam("chapter_id"))
    )
)
_COUNT_AND_ROLE = short_read(
    with_role(select(Work.chapter_count).where(Work.id == bindparam("work_id")))
)


async def chapter_and_role(
    database: Database, user_id: int, chapter_id: int
) -> tuple[Chapter, str]:
    """The chapter, without its stored text (up to millions of characters; the live document is
    the chapter's text), and the caller's role on its work, in one statement; 404 alike for
    missing and not-yours."""
    async with database.session() as session:
        ran = await session.execute(_CHAPTER_AND_ROLE, {"chapter_id": chapter_id, CALLER: user_id})
        row = ran.first()
    role = role_from(user_id, row)
    if row is None or role is None:
        raise AppError(Err.NOT_FOUND, f"no chapter {chapter_id}")
    return row.Chapter, role


@dataclass(frozen=True, slots=True)
class Chapters:
    database: Database
    store: DocStore
    rooms: RoomManager
    access: AccessChanges | None = None  # re-authorizes a trashed chapter's sync sockets

    # Access ---------------------------------------------------------------------------------

    async def _chapter(self, user_id: int, chapter_id: int) -> tuple[Chapter, str]:
        return await chapter_and_role(self.database, user_id, chapter_id)

    async def _writable(self, user_id: int, chapter_id: int) -> Chapter:
        chapter, role = await self._chapter(user_id, chapter_id)
        require_write(role)
        return chapter

    # Rows -----------------------------------------------------------------------------------

    async def page(
        self, user_id: int, work_id: int, *, limit: int, after: int | None, offset: int
    ) -> tuple[int, ChapterPage]:
        """One page of the work's chapters and how many it has (its `chapter_count`)."""
        async with self.database.session() as session:
            ran = await session.execute(_COUNT_AND_ROLE, {"work_id": work_id, CALLER: user_id})
            row = ran.first()
            require_role(role_from(user_id, row), work_id)
            assert row is not None  # require_role refused a missing work
            page = await chapter_page(session, work_id, limit=limit, after=after, offset=offset)
        return int(row.chapter_count or 0), page

    async def get(self, user_id: int, chapter_id: int) -> Chapter:
        return (await self._chapter(user_id, chapter_id))[0]

    async def create(self, user_id: int, work_id: int, title: str | None) -> Chapter:
        require_write(await role_or_404(self.database, user_id, work_id))
        async with self.database.session() as session:
            work = await lock_counters(session, work_id=work_id)  # serialises numbering too
            if work is None:
                raise AppError(Err.NOT_FOUND, f"no work {work_id}")
            # Positions are 1..n (create, delete and reorder keep them so): the last one, read
            # from `idx_chapters_work_order`, is the chapter count however long the work is.
            # Locking reads see what the creator before us committed (MariaDB's snapshot may not).
            last = await session.scalar(
                select(func.max(Chapter.sort_order))
                .where(Chapter.work_id == work_id)
                .with_for_update()
            )
            number = int(last or 0) + 1
            chapter = Chapter(
                work_id=work_id,
                chapter_number=number,
                sort_order=number,
                title=title if title is not None else f"第{number}章",
                content_id=f"chapter-{uuid4().hex}",
            )
            session.add(chapter)
            await session.flush()
            await add_to_work(session, work, chapters=1)
        return chapter

    async def rename(self, user_id: int, chapter_id: int, title: str) -> Chapter:
        chapter = await self._writable(user_id, chapter_id)
        async with self.database.session() as session:
            fresh = await session.get(Chapter, chapter.id)
            if fresh is None:
                raise AppError(Err.NOT_FOUND, f"no chapter {chapter_id}")
            fresh.title = title
        return fresh

    async def reorder(self, user_id: int, work_id: int, chapter_ids: list[int]) -> list[Chapter]:
        require_write(await role_or_404(self.database, user_id, work_id))
        async with self.database.session() as session:
            await lock_counters(session, work_id=work_id)
            chapters = {
                c.id: c
                for c in await session.scalars(
                    select(Chapter).options(defer(Chapter.text)).where(Chapter.work_id == work_id)
                )
            }
            if len(chapter_ids) != len(set(chapter_ids)) or set(chapter_ids) != set(chapters):
                raise AppError(
                    Err.VALIDATION,
                    "chapter_ids must list every chapter of this work exactly once",
                )
            ordered = [chapters[chapter_id] for chapter_id in chapter_ids]
            for position, chapter in enumerate(ordered, start=1):
                chapter.chapter_number = position
                chapter.sort_order = position
        return ordered

    async def delete(self, user_id: int, chapter_id: int) -> None:
        """Move a chapter to the trash (`chapter_trash`); the ones after it move up, and its
        open sync sockets are re-authorized (and refused: no live chapter names the document)."""
        chapter = await self._writable(user_id, chapter_id)
        async with self.database.session() as session:
            work = await lock_counters(session, work_id=chapter.work_id)
            doomed = await session.get(Chapter, chapter.id, with_for_update=True)
            if work is None or doomed is None:
                raise AppError(Err.NOT_FOUND, f"no chapter {chapter_id}")
            await chapter_trash.move_to_trash(session, work, doomed, user_id, now())
        await self._recheck_sockets(chapter.work_id)

    async def _recheck_sockets(self, work_id: int) -> None:
        if self.access is None:
            return
        async with self.database.session() as session:
            owner = await session.scalar(select(Work.user_id).where(Work.id == work_id))
            members = await session.scalars(
                select(WorkMember.user_id).where(WorkMember.work_id == work_id)
            )
            users = [*([owner] if owner is not None else []), *members]
        await self.access.changed(users)

    # Trash ----------------------------------------------------------------------------------

    async def trash(
        self, user_id: int, *, offset: int, limit: int
    ) -> tuple[int, list[TrashedItem]]:
        """The trashed chapters of the live works the user owns or edits, newest first."""
        async with self.database.session() as session:
            return await chapter_trash.trashed_page(session, user_id, offset=offset, limit=limit)

    async def _trashed(self, user_id: int, chapter_id: int) -> TrashedChapter:
        """A trashed chapter of a work the user may write; 404 alike for missing and not-yours,
        409 for a live chapter."""
        async with self.database.session() as session:
            trashed = await session.get(
                TrashedChapter, chapter_id, options=[defer(TrashedChapter.text)]
            )
        if trashed is None:
            await self._chapter(user_id, chapter_id)  # 404 unless it is a chapter the user sees
            raise AppError(Err.CONFLICT, "this chapter is not in the trash")
        role = await role_on_work(self.database, user_id, trashed.work_id)
        if role is None:
            raise AppError(Err.NOT_FOUND, f"no chapter {chapter_id}")
        require_write(role)
        return trashed

    async def restore(self, user_id: int, chapter_id: int) -> Chapter:
        """Out of the trash, at its old position (or the end), with its document's text now."""
        trashed = await self._trashed(user_id, chapter_id)
        async with self.rooms.hold(trashed.content_id) as room:
            text = str(room.doc.get(CONTENT, type=Text))
        async with self.database.session() as session:
            work = await lock_counters(session, work_id=trashed.work_id)
            again = await session.get(TrashedChapter, trashed.id, with_for_update=True)
            if work is None or again is None:  # restored or purged meanwhile
                raise AppError(Err.NOT_FOUND, f"no chapter {chapter_id} in the trash")
            return await chapter_trash.put_back(session, work, again, text)

    async def purge(self, user_id: int, chapter_id: int) -> None:
        """Delete a trashed chapter for good."""
        trashed = await self._trashed(user_id, chapter_id)
        async with self.database.session() as session:
            again = await session.get(TrashedChapter, trashed.id, with_for_update=True)
            if again is not None:
                await chapter_trash.purge(session, again)

    # Content --------------------------------------------------------------------------------

    async def content(self, user_id: int, chapter_id: int) -> Content:
        chapter, role = await self._chapter(user_id, chapter_id)
        async with self.rooms.hold(chapter.content_id) as room:
            text = str(room.doc.get(CONTENT, type=Text))
            meta = room.doc.get(META, type=Map).to_py() or {}
        return Content(chapter, role, text, meta)

    async def save(
        self, user: User, work_id: int, chapter_id: int, content: str, *, auto_save: bool
    ) -> Saved:
        """Apply the difference to the live document; a manual save also names a version."""
        chapter, role = await self._chapter(user.id, chapter_id)
        if chapter.work_id != work_id:
            raise AppError(Err.NOT_FOUND, f"work {work_id} has no chapter {chapter_id}")
        require_write(role)
        async with self.rooms.hold(chapter.content_id) as room:
            changed = await room.change(set_content(content), on_behalf_of=str(user.id))
            text = str(room.doc.get(CONTENT, type=Text))
        version = None
        if not auto_save:
            stamp = now().strftime("%Y-%m-%d %H:%M:%S")
            version = await self.store.create_version(
                chapter.content_id, f"手动保存 {stamp}", author=user.username
            )
        return Saved(chapter, changed, count_words(text), now(), version)

    # Versions -------------------------------------------------------------------------------

    async def create_version(self, user: User, chapter_id: int, name: str) -> VersionInfo:
        chapter = await self._writable(user.id, chapter_id)
        return await self.store.create_version(chapter.content_id, name, author=user.username)

    async def versions(self, user_id: int, chapter_id: int) -> list[VersionInfo]:
        chapter, _role = await self._chapter(user_id, chapter_id)
        return await self.store.list_versions(chapter.content_id)

    async def _version_state(self, chapter: Chapter, version_id: int) -> tuple[VersionInfo, bytes]:
        try:
            state = await self.store.read_version(chapter.content_id, version_id)
        except VersionNotFound:
            raise AppError(Err.NOT_FOUND, f"this chapter has no version {version_id}") from None
        infos = await self.store.list_versions(chapter.content_id)
        info = next((i for i in infos if i.id == version_id), None)
        if info is None:
            raise AppError(Err.NOT_FOUND, f"this chapter has no version {version_id}")
        return info, state

    async def version(self, user_id: int, chapter_id: int, version_id: int) -> VersionText:
        chapter, _role = await self._chapter(user_id, chapter_id)
        info, state = await self._version_state(chapter, version_id)
        text, meta = read_state(state)
        return VersionText(info, text, meta)

    async def restore_version(self, user: User, chapter_id: int, version_id: int) -> Restored:
        """Make the live document equal the version, as new operations (history is kept).

        The state just before is named a version first, and the restore is computed against
        exactly that state, so restoring it gives back what was there (DESIGN, invariant 4).
        Edits that arrive meanwhile are concurrent to the restore and survive it, as in any CRDT.
        """
        chapter, role = await self._chapter(user.id, chapter_id)
        require_write(role)
        info, state = await self._version_state(chapter, version_id)
        async with self.rooms.hold(chapter.content_id) as room:
            pre_restore = None
            if not same_as(room.doc, state):
                pre_restore = await self._keep_pre_restore(chapter, user)
                before = await self.store.read_version(chapter.content_id, pre_restore.id)
                stamp = {
                    "version_id": info.id,
                    "version_name": info.name,
                    "pre_restore_version_id": pre_restore.id,
                    "at": now().isoformat(),
                    "by": user.username,
                }
                for update in updates_from(before, restore_state(state, stamp)):
                    await room.submit(update, origin=None)
            text = str(room.doc.get(CONTENT, type=Text))
            meta = room.doc.get(META, type=Map).to_py() or {}
        content = Content(chapter, role, text, meta)
        return Restored(info, content, pre_restore is not None, pre_restore)

    async def _keep_pre_restore(self, chapter: Chapter, user: User) -> VersionInfo:
        stamp = now().strftime("%Y-%m-%d %H:%M:%S")
        name = f"{PRE_RESTORE} {stamp}"
        return await self.store.create_version(chapter.content_id, name, author=user.username)
