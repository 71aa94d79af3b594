"""The derived text projection (DESIGN, invariant 3).

Each chapter's CRDT document is the truth; SQL holds what is derived from it: `chapters.text`,
`word_count`, `text_updated_at`, the search index, the work's `word_count` and its owner's
`total_words`. The projector is one of the rooms' hooks (`sync_server.hooks.RoomHooks`): told
of every change applied to a loaded document, it waits `debounce_s` after the last change to
that document (at most `max_wait_s` while changes keep coming), reads the text (from the room
while it is loaded, else from the store), and writes it. Both delays are measured on `clock`;
`flush()` projects whatever is pending now. `rebuild`/`rebuild_all` re-derive everything from
the document store at any time.

Cheap per change and per document: a change only moves its document's deadline (the timer is
re-armed when it fires early, not on every change). Documents that fall due while a batch is
written wait for the next one, and a batch is one transaction: its chapters, their search terms
and their works' totals are read and written with a few `IN (...)` statements, not a session
per document. A document that is no chapter costs its share of one look-up (which documents are
chapters is remembered: a chapter's content id and work never change); an unchanged text writes
nothing, and a text whose terms did not change leaves the search index alone.

It also adds up writing time (`users.total_time_seconds`): the gap between two consecutive
edits of one user counts when it is at most `idle_gap_s` (five minutes); a longer gap is a pause.

Nothing here raises into a room: errors are logged and the next change tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
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
from .services.search_index import reindex_counts, term_counts

log = logging.getLogger(__name__)

IDLE_GAP_S = 5 * 60
_ATTEMPTS = 3
BATCH = 200  # documents per transaction: bounds how long one holds the counters' locks
_KNOWN_CHAPTERS = 100_000
_EARLY_S = 0.001  # a timer this close to its deadline counts as due (timers round to ms)


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    work_id: int
    text: str
    word_count: int


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
        self._deadline: dict[str, float] = {}  # event-loop time; the timer may be due earlier
        self._first_change: dict[str, float] = {}
        self._due: set[str] = set()  # waiting for the next batch
        self._batch: asyncio.Task[None] | None = None
        self._work_of: dict[str, int] = {}  # content id → work, for documents that are chapters
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
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        self._deadline[doc] = deadline
        timer = self._timers.get(doc)
        # A timer due no later than the deadline stays: when it fires it waits the rest.
        if timer is None or timer.when() > deadline:
            if timer is not None:
                timer.cancel()
            self._timers[doc] = loop.call_at(deadline, self._fire, doc)

    def _fire(self, doc: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = self._deadline.get(doc, 0.0)
        if deadline - loop.time() > _EARLY_S:  # changed since the timer was set
            self._timers[doc] = loop.call_at(deadline, self._fire, doc)
            return
        self._timers.pop(doc, None)
        self._deadline.pop(doc, None)
        self._first_change.pop(doc, None)
        self._due.add(doc)
        self._start_batch()

    def _start_batch(self) -> None:
        if self._batch is None:
            self._batch = asyncio.create_task(self._run_batches(), name="projection")

    async def _run_batches(self) -> None:
        """Project what is due, a batch at a time, until nothing is; one batch at a time, so a
        document is never projected twice at once."""
        try:
            while self._due:
                docs = sorted(self._due)[:BATCH]
                self._due.difference_update(docs)
                await self._project_safely(docs)
        finally:
            self._batch = None

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

    async def _chapters_among(self, docs: Sequence[str]) -> dict[str, int]:
        """Those of `docs` that are chapters, and their works (one look-up for those not known
        to be)."""
        unknown = [doc for doc in docs if doc not in self._work_of]
        if unknown:
            if len(self._work_of) > _KNOWN_CHAPTERS:  # a bound on memory, not a policy
                self._work_of.clear()
            async with self._database.session() as session:
                rows = await session.execute(
                    select(Chapter.content_id, Chapter.work_id).where(
                        Chapter.content_id.in_(unknown)
                    )
                )
                self._work_of.update({doc: work for doc, work in rows})
        return {doc: self._work_of[doc] for doc in docs if doc in self._work_of}

    async def _texts(self, docs: Iterable[str], given: Mapping[str, str]) -> dict[str, str]:
        texts = {}
        for doc in docs:
            text = given.get(doc)
            if text is None:
                text = self._live_text(doc)
            texts[doc] = await self._stored_text(doc) if text is None else text
        return texts

    # Writing SQL --------------------------------------------------------------------------------

    async def _project_safely(
        self,
        docs: Sequence[str],
        given: Mapping[str, str] | None = None,
        *,
        force: bool = False,
        recount: bool = False,
    ) -> set[str]:
        """Project `docs` (their text from `given`, the room, else the store) in one
        transaction; the documents whose projection changed. A batch that keeps failing is
        retried document by document: one bad document must not hold the others back."""
        error: Exception | None = None
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                chapters = await self._chapters_among(docs)
                if not chapters:
                    return set()
                texts = await self._texts(chapters, given or {})
                return await self._project(texts, works=chapters, force=force, recount=recount)
            except DBAPIError as exc:  # a deadlock or a lost connection: worth another try
                error = exc
                if attempt == _ATTEMPTS:
                    break
                log.warning("projection retry", extra={"docs": len(docs), "error": str(exc)})
                await asyncio.sleep(0.05 * attempt)
            except Exception as exc:
                error = exc
                break
        if len(docs) > 1:
            done: set[str] = set()
            for doc in docs:
                done |= await self._project_safely([doc], given, force=force, recount=recount)
            return done
        log.error("projection failed", exc_info=error, extra={"doc": docs[0]})
        return set()

    async def _project(
        self, texts: Mapping[str, str], *, works: Mapping[str, int], force: bool, recount: bool
    ) -> set[str]:
        """Write the projections of `texts` (chapters, in the `works`) in one transaction."""
        async with self._database.session() as session:
            changed = await self._write(session, texts, works, force=force, recount=recount)
        # Writing time goes to co-authors' rows too: a transaction of its own, so that this one
        # locks only in `lock_counters`' order.
        await self._flush_time()
        return changed

    async def _write(
        self,
        session: AsyncSession,
        texts: Mapping[str, str],
        work_of: Mapping[str, int],
        *,
        force: bool,
        recount: bool,
    ) -> set[str]:
        """Write the chapters' projections; their works' totals move by the difference, or are
        recounted from all their chapters (`recount`: a repair)."""
        works = await self._lock_works(session, set(work_of.values()))
        # A locking read: on MariaDB a plain one could see the word count from before another
        # node's projection of a chapter, and the totals would move by a stale difference.
        rows = {
            doc: _Row(chapter_id, work_id, text, words)
            for doc, chapter_id, work_id, text, words in await session.execute(
                select(
                    Chapter.content_id,
                    Chapter.id,
                    Chapter.work_id,
                    Chapter.text,
                    Chapter.word_count,
                )
                .where(Chapter.content_id.in_(list(texts)))
                .with_for_update()
            )
        }
        now = datetime.now(UTC)
        written: list[dict[str, object]] = []
        changed: set[str] = set()
        terms: dict[int, Counter[str]] = {}
        added: Counter[int] = Counter()  # words, per work
        for doc, row in rows.items():
            text = texts[doc]
            if row.work_id not in works or (not force and row.text == text):
                continue  # (the work went meanwhile: the chapter with it)
            words = count_words(text)
            added[row.work_id] += words - row.word_count
            written.append(
                {"id": row.id, "text": text, "word_count": words, "text_updated_at": now}
            )
            changed.add(doc)
            wanted = term_counts(text)
            if force or wanted != term_counts(row.text):
                terms[row.id] = wanted
        if written:
            await session.execute(update(Chapter), written)  # ORM bulk UPDATE by primary key
        if terms:
            await reindex_counts(session, "chapter", terms)
        if recount:
            for work_id in sorted({rows[doc].work_id for doc in rows} & works.keys()):
                await recount_work(session, work_id)
            for user_id in sorted({work.user_id for work in works.values()}):
                await recount_user(session, user_id)
        else:  # a recount would read every chapter of the work on every save
            for work_id, words in sorted(added.items()):
                await add_to_work(session, works[work_id], words=words)
        return changed

    @staticmethod
    async def _lock_works(session: AsyncSession, work_ids: Collection[int]) -> dict[int, Work]:
        """Lock the works and their owners in `lock_counters`' order: every owner (by id), then
        every work (by id). Works that no longer exist are left out."""
        ids = sorted(work_ids)
        owners = await session.scalars(select(Work.user_id).where(Work.id.in_(ids)))
        await lock_counters(session, user_ids=set(owners))
        works = await session.scalars(
            select(Work)
            .where(Work.id.in_(ids))
            .order_by(Work.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return {work.id: work for work in works}

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
        return self._deadline.get(doc) if doc in self._timers else None

    async def flush(self) -> None:
        """Project every pending document now and wait for it (shutdown, tests)."""
        for timer in self._timers.values():
            timer.cancel()
        self._due.update(self._timers)
        self._timers.clear()
        self._deadline.clear()
        self._first_change.clear()
        if self._due:
            self._start_batch()
        while self._batch is not None:
            await asyncio.wait({self._batch})
        if any(whole >= 1 for whole in self._seconds.values()):
            await self._flush_time()

    async def _flush_time(self) -> None:
        credits = self._take_seconds()
        if not credits:
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
        return bool(await self._project_safely([doc], {doc: text}, force=True, recount=recount))

    async def rebuild_all(self) -> int:
        """Re-derive every chapter, then every work's and user's counters. Returns chapters done."""
        async with self._database.session() as session:
            docs = list(await session.scalars(select(Chapter.content_id).order_by(Chapter.id)))
        done = 0
        for start in range(0, len(docs), BATCH):
            batch = docs[start : start + BATCH]
            texts = {doc: await self._stored_text(doc) for doc in batch}
            done += len(await self._project_safely(batch, texts, force=True))  # recounted below
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
