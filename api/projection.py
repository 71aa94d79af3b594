"""The derived text projection (DESIGN, invariant 3).

Each chapter's CRDT document is the truth; SQL holds what is derived from it: `chapters.text`,
`word_count`, `text_updated_at`, the search index, the work's `word_count` and its owner's
`total_words`. The projector is one of the rooms' hooks (`sync_server.hooks.RoomHooks`): told
of every change applied to a loaded document, it waits `debounce_s` after the last change to
that document (at most `max_wait_s` while changes keep coming), reads the text (from the room
while it is loaded, else from the store), and writes all of it in one transaction. Both delays
are measured on `clock`; `flush()` projects whatever is pending now. `rebuild`/`rebuild_all`
re-derive everything from the document store at any time.

It also adds up writing time (`users.total_time_seconds`): the gap between two consecutive
edits of one user counts when it is at most `idle_gap_s` (five minutes); a longer gap is a pause.

Nothing here raises into a room: errors are logged and the next change tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pycrdt import Text
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.docs.base import DocStore
from storage.docs.merge import load_content
from storage.docs.schema import CONTENT
from storage.sql.database import Database
from storage.sql.models import Chapter, User, Work
from storage.text.wordcount import count_words
from sync_server.hooks import RoomHooks
from sync_server.room import Room

from .services.counters import add_to_work, lock_counters, recount_user, recount_work
from .services.search_index import reindex, reindex_edit

log = logging.getLogger(__name__)

IDLE_GAP_S = 5 * 60
_ATTEMPTS = 3


class Projector(RoomHooks):
    def __init__(
        self,
        database: Database,
        store: DocStore,
        *,
        debounce_s: float,
        max_wait_s: float | None = None,
        idle_gap_s: float = IDLE_GAP_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._database = database
        self._store = store
        self.debounce_s = debounce_s
        self.max_wait_s = max(self.debounce_s * 10, 5.0) if max_wait_s is None else max_wait_s
        self.idle_gap_s = idle_gap_s
        self._clock = clock
        self._loaded: dict[str, Room] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._first_change: dict[str, float] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._last_edit: dict[int, float] = {}
        self._seconds: dict[int, float] = {}
        self._closed = False

    # Fed by the rooms ---------------------------------------------------------------------

    async def on_load(self, room: Room) -> None:
        self._loaded[room.name] = room

    def on_change(self, room: Room, principal: str | None) -> None:
        self.changed(room.name, principal)

    async def on_unload(self, room: Room) -> None:
        if self._loaded.get(room.name) is room:  # not a newer room of the same document
            del self._loaded[room.name]

    def changed(self, doc: str, principal: str | None) -> None:
        """`doc` changed (by `principal`, None for the server): cheap, never raises."""
        try:
            self._track_time(principal)
            if not self._closed:
                self._schedule(doc)
        except Exception:
            log.exception("projection could not schedule", extra={"doc": doc})

    def _track_time(self, principal: str | None) -> None:
        if principal is None or not principal.isdigit():
            return
        user_id = int(principal)
        moment = self._clock()
        last = self._last_edit.get(user_id)
        self._last_edit[user_id] = moment
        if last is not None and 0 < moment - last <= self.idle_gap_s:
            self._seconds[user_id] = self._seconds.get(user_id, 0.0) + (moment - last)

    def _schedule(self, doc: str) -> None:
        moment = self._clock()
        first = self._first_change.setdefault(doc, moment)
        delay = max(0.0, min(self.debounce_s, first + self.max_wait_s - moment))
        timer = self._timers.pop(doc, None)
        if timer is not None:
            timer.cancel()
        self._timers[doc] = asyncio.get_running_loop().call_later(delay, self._fire, doc)

    def _fire(self, doc: str) -> None:
        self._timers.pop(doc, None)
        self._first_change.pop(doc, None)
        if doc in self._running:  # one flush per document at a time; run once more after it
            self._again.add(doc)
            return
        self._running[doc] = asyncio.create_task(self._run(doc), name=f"project:{doc}")

    async def _run(self, doc: str) -> None:
        try:
            while True:
                self._again.discard(doc)
                await self._project_safely(doc, self._live_text(doc))
                if doc not in self._again:
                    return
        finally:
            self._running.pop(doc, None)

    # Reading the text -------------------------------------------------------------------------

    def _live_text(self, doc: str) -> str | None:
        room = self._loaded.get(doc)
        if room is None:
            return None
        try:
            return str(room.doc.get(CONTENT, type=Text))
        except RuntimeError:  # not (or no longer) loaded
            return None

    async def _stored_text(self, doc: str) -> str:
        return (await load_content(self._store, doc))[0]

    # Writing SQL --------------------------------------------------------------------------------

    async def _project_safely(
        self, doc: str, text: str | None, *, force: bool = False, recount: bool = False
    ) -> bool:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                if text is None:
                    text = await self._stored_text(doc)
                return await self._project(doc, text, force=force, recount=recount)
            except DBAPIError as exc:  # a deadlock or a lost connection: worth another try
                if attempt == _ATTEMPTS:
                    log.exception("projection failed", extra={"doc": doc})
                    return False
                log.warning("projection retry", extra={"doc": doc, "error": str(exc)})
                await asyncio.sleep(0.05 * attempt)
            except Exception:
                log.exception("projection failed", extra={"doc": doc})
                return False
        return False

    async def _project(self, doc: str, text: str, *, force: bool, recount: bool) -> bool:
        async with self._database.session() as session:
            await self._read_what_is_committed(session)
            changed = await self._write_chapter(session, doc, text, force=force, recount=recount)
        # Writing time goes to co-authors' rows too: a transaction of its own, so that this one
        # locks only in `lock_counters`' order.
        await self._flush_time()
        return changed

    async def _read_what_is_committed(self, session: AsyncSession) -> None:
        """On MySQL/MariaDB, each statement of the projection's transaction reads what was
        committed before it (READ COMMITTED), not the snapshot of the transaction's first read:
        a save's search terms are read after the chapter's row lock and must be those of the
        text under it, which another node may have written while this one waited for the lock
        (`reindex_edit` trusts them). On SQLite a stale reader cannot write: nothing to do."""
        if self._database.engine.dialect.name in ("mysql", "mariadb"):
            await session.connection(execution_options={"isolation_level": "READ COMMITTED"})

    async def _write_chapter(
        self, session: AsyncSession, doc: str, text: str, *, force: bool, recount: bool
    ) -> bool:
        """Write the chapter's projection; its work's totals move by the difference, or are
        recounted from all its chapters (`recount`: a repair)."""
        # One lock order for every writer of a work's totals (as `Chapters.create`): the work
        # row, then its chapters, then users. Any other order deadlocks on MariaDB.
        work_id = await session.scalar(select(Chapter.work_id).where(Chapter.content_id == doc))
        if work_id is None:  # not a chapter (or deleted meanwhile)
            return False
        work = await lock_counters(session, work_id=work_id)
        # A locking read: on MariaDB a plain one could see the word count from before another
        # node's projection of this chapter, and the totals would move by a stale difference.
        chapter = await session.scalar(
            select(Chapter).where(Chapter.content_id == doc).with_for_update()
        )
        if work is None or chapter is None or (not force and chapter.text == text):
            return False
        words = count_words(text)
        added = words - chapter.word_count
        before = chapter.text
        chapter.text = text
        chapter.word_count = words
        chapter.text_updated_at = datetime.now(UTC)
        if force:  # a rebuild: the stored terms may be anything
            await reindex(session, "chapter", chapter.id, text)
        else:
            await reindex_edit(session, "chapter", chapter.id, before, text)
        await session.flush()
        if recount:
            await recount_work(session, work_id)
            await recount_user(session, work.user_id)
        else:  # a recount would read every chapter of the work on every save
            await add_to_work(session, work, words=added)
        return True

    def _take_seconds(self) -> dict[int, int]:
        credits = {}
        for user_id, seconds in list(self._seconds.items()):
            whole = int(seconds)
            if whole > 0:
                credits[user_id] = whole
                self._seconds[user_id] = seconds - whole
        return credits

    def _give_back_seconds(self, credits: dict[int, int]) -> None:
        for user_id, seconds in sorted(credits.items()):
            self._seconds[user_id] = self._seconds.get(user_id, 0.0) + seconds

    # Control ------------------------------------------------------------------------------------

    def due(self, doc: str) -> float | None:
        """When (event-loop time) `doc`'s pending projection runs; None if none is waiting."""
        timer = self._timers.get(doc)
        return None if timer is None else timer.when()

    async def flush(self) -> None:
        """Project every pending document now and wait for it (shutdown, tests)."""
        pending = list(self._timers)
        for doc in pending:
            self._timers.pop(doc).cancel()
            self._first_change.pop(doc, None)
        for doc in pending:
            if doc in self._running:
                self._again.add(doc)
            else:
                self._running[doc] = asyncio.create_task(self._run(doc), name=f"project:{doc}")
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)
        if any(whole >= 1 for whole in self._seconds.values()):
            await self._flush_time()

    async def _flush_time(self) -> None:
        credits = self._take_seconds()
        if not credits:  # anonymous sockets, the server, a gap under a second: no transaction
            return
        try:
            async with self._database.session() as session:
                await _credit_time(session, credits)
        except Exception:
            self._give_back_seconds(credits)
            log.exception("could not store writing time")

    async def close(self) -> None:
        self._closed = True
        with contextlib.suppress(Exception):
            await self.flush()

    async def rebuild(self, chapter_id: int, *, recount: bool = False) -> bool:
        """Re-derive one chapter's projection from the document store; False if no such chapter.
        Its work's totals move by the difference, or with `recount` (a repair) are counted afresh
        from all its chapters, and its owner's from all their works."""
        async with self._database.session() as session:
            doc = await session.scalar(select(Chapter.content_id).where(Chapter.id == chapter_id))
        if doc is None:
            return False
        text = await self._stored_text(doc)
        return await self._project_safely(doc, text, force=True, recount=recount)

    async def rebuild_all(self) -> int:
        """Re-derive every chapter, then every work's and user's counters. Returns chapters done."""
        async with self._database.session() as session:
            chapter_ids = list(await session.scalars(select(Chapter.id).order_by(Chapter.id)))
        done = 0
        for chapter_id in chapter_ids:
            done += await self.rebuild(chapter_id, recount=False)  # all recounted below
        async with self._database.session() as session:
            for work_id in list(await session.scalars(select(Work.id))):
                await recount_work(session, work_id)
            for user_id in list(await session.scalars(select(User.id))):
                await recount_user(session, user_id)
        return done


async def _credit_time(session: AsyncSession, credits: dict[int, int]) -> None:
    """Add editing seconds to users' `total_time_seconds`."""
    for user_id, seconds in sorted(credits.items()):
        await session.execute(
            update(User)
            .where(User.id == user_id)
            .values(total_time_seconds=User.total_time_seconds + seconds)
            .execution_options(synchronize_session=False)
        )
