"""A room: one loaded document and the peers connected to it.

Write-ahead: an update from a peer is validated, durably appended to the store, and only then
applied to the room's document and relayed. A newcomer's first sync is computed from the
document, so it too only ever contains stored updates. Everything else that follows the room
(other nodes, the text projection, metrics) is told through its hooks (`hooks.RoomHooks`).

Updates are written by one writer task per room, in the order they arrived: what queued while a
batch was being stored is the next batch, appended in one call, applied in one transaction and
relayed as one frame. Peers go on reading meanwhile (each up to `max_in_flight` updates ahead).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from pycrdt import Doc, Subscription, TransactionEvent, get_state, get_update, merge_updates

from storage.docs.base import DocStore, StoreUnavailable
from storage.docs.edits import updates_from, updates_made
from storage.docs.merge import apply_stored

from . import protocol
from .connection import Connection
from .first_sync import first_sync_frames
from .hooks import HookSet, Relayed
from .presence import STALE_AFTER_S, Presence
from .protocol import ProtocolError

log = logging.getLogger(__name__)

_EMPTY_UPDATE = b"\x00\x00"
_EMPTY_STATE = b"\x00"
_MAX_WRITE_BATCH = 256  # updates appended, applied and relayed together


@dataclass(slots=True)
class _Write:
    update: bytes
    origin: Connection | None
    done: asyncio.Future[None] | None = None  # a caller of `submit` waits on it
    on_behalf_of: str | None = None  # a server-side edit's principal (a REST save's user)

    @property
    def principal(self) -> str | None:
        """Who wrote it: the peer's principal, or whom a server-side edit was made for."""
        return self.origin.principal if self.origin is not None else self.on_behalf_of


@dataclass(frozen=True, slots=True)
class RoomPolicy:
    awareness_renewal_flush_s: float = 5.0
    sync_chunk_bytes: int = 256 * 1024
    compact_after_updates: int = 500
    compact_after_bytes: int = 4 * 1024 * 1024
    presence_stale_after_s: float = STALE_AFTER_S
    # Other processes (workers, nodes) append to the same documents: a server-side edit first
    # takes in what the store holds, since their updates reach this room over the bus later.
    shared_store: bool = False


class Room:
    def __init__(
        self,
        name: str,
        store: DocStore,
        policy: RoomPolicy,
        *,
        request_compaction: Callable[[str], None],
        hooks: HookSet,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`hooks` are those the room follows (decided once per node, see `HookSet`); `clock`
        measures presence staleness; a test moves it instead of waiting."""
        self.name = name
        self.connections: set[Connection] = set()
        self._clock = clock
        self.presence = Presence(clock=clock, stale_after_s=policy.presence_stale_after_s)
        # Which of this node's peers owns each awareness client id (see `_owned`).
        self._owners: dict[int, Connection] = {}
        self._store = store
        self._policy = policy
        self._request_compaction = request_compaction
        self._hooks = hooks  # a no-op default hook is in none of its tuples: no call per update
        self._writes: list[_Write] = []  # queued for the writer, oldest first
        self._writing: list[bytes] = []  # the batch between its append and its relay
        self._writer: asyncio.Task[None] | None = None
        self._early: list[Callable[[], None]] = []  # changes from elsewhere during the load
        self._doc: Doc | None = None
        self._unloaded = False
        self._subscription: Subscription | None = None
        self._load_task: asyncio.Task[None] | None = None
        self._pending_renewals: dict[int, protocol.AwarenessEntry] = {}
        self._renewal_timer: asyncio.TimerHandle | None = None
        self._expiry_timer: asyncio.TimerHandle | None = None
        self._closed = asyncio.Event()
        self._relay: list[bytes] = []
        self._fresh_sync: list[bytes] | None = None
        self._log_updates = 0
        self._log_bytes = 0
        # Looks at the store before server-side edits (`_up_to_date`), numbered from 1 as they
        # start; they run one at a time. `_stale_since`: after a failed append, the document may
        # lack what the store holds until a look started later than that look number finishes.
        self._looks_started = 0
        self._looks_finished = 0
        self._look: asyncio.Task[None] | None = None
        # The stored entries (length, hash) the last look found in the document: skipped by the
        # next one, which then compares only what was stored since with the document.
        self._checked: set[tuple[int, int]] = set()
        self._stale_since: int | None = None
        self._turns: dict[str, asyncio.Lock] = {}  # a principal's edits take turns (`change`)
        self._writing_as: dict[str, int] = {}  # principal -> the client id its edits write as

    @property
    def doc(self) -> Doc:
        if self._doc is None:
            raise RuntimeError(f"room {self.name!r} is not loaded")
        return self._doc

    async def ready(self) -> None:
        """Load the document once, however many peers wait for it."""
        if self._load_task is None:
            self._load_task = asyncio.create_task(self._load(), name=f"load:{self.name}")
        await asyncio.shield(self._load_task)

    async def _load(self) -> None:
        for hook in self._hooks.on_load:
            await hook.on_load(self)
        stored = await self._store.load(self.name)
        doc: Doc = Doc()
        apply_stored(doc, stored, name=self.name)
        self._subscription = doc.observe(self._collect_relay)
        self._log_updates = len(stored.updates)
        self._log_bytes = stored.log_bytes
        self._doc = doc
        early, self._early = self._early, []
        for apply in early:
            apply()

    def _collect_relay(self, event: TransactionEvent) -> None:
        self._relay.append(event.update)
        self._fresh_sync = None  # any change, deletions included (they keep the state vector)

    async def detach(self) -> None:
        """Tell the hooks that the room is gone (after `unload`); the room is then closed."""
        try:
            if self._load_task is not None:  # hooks hear of a room's unload only if of its load
                for hook in self._hooks.on_unload:
                    try:
                        await hook.on_unload(self)
                    except Exception:
                        log.exception("an unload hook failed", extra={"doc": self.name})
        finally:
            self._closed.set()

    async def wait_closed(self) -> None:
        """Until the room is unloaded and listens to nothing any more."""
        await self._closed.wait()

    def unload(self) -> None:
        if self._renewal_timer is not None:
            self._renewal_timer.cancel()
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
            self._expiry_timer = None
        if self._doc is not None and self._subscription is not None:
            # The document holds this callback in Rust, out of reach of Python's cycle collector.
            self._doc.unobserve(self._subscription)
        self._subscription = None
        self._doc = None
        self._unloaded = True
        self._early.clear()
        self._fresh_sync = None
        self._pending_renewals.clear()

    def join(self, conn: Connection) -> None:
        self.connections.add(conn)
        conn.send(protocol.sync_step1(self.doc.get_state()))
        present = self.presence.snapshot()
        if present:
            conn.send(protocol.awareness(present))

    def leave(self, conn: Connection) -> None:
        self.connections.discard(conn)
        removals = self.presence.remove(conn.client_ids)
        for client_id in conn.client_ids:
            if self._owners.get(client_id) is conn:
                del self._owners[client_id]
        if removals:
            self._broadcast(protocol.awareness(removals), exclude=None, kind="awareness")
            self._announce(removals)

    async def handle(self, conn: Connection, message: protocol.Message) -> None:
        match message:
            case protocol.SyncStep1(state_vector):
                # Answered after this socket's updates are stored: a client may use a step 1 as
                # a barrier (the AI peer does before it leaves, so a finished task's text is in).
                await conn.drain()
                for frame in self._first_sync(state_vector):
                    conn.send(frame)
            case protocol.SyncStep2(update) | protocol.SyncUpdate(update):
                if not conn.can_write:
                    if not conn.denied_notified:
                        conn.denied_notified = True
                        conn.send(protocol.permission_denied("read-only access to this document"))
                    return
                if update != _EMPTY_UPDATE:
                    # Pipelined: the next frame is read while this one is being stored, so a
                    # fast typist's updates share group commits instead of queueing behind each.
                    if conn.writes_full:
                        await conn.room_to_write()
                    self._queue_write(_Write(update, conn))
            case protocol.AwarenessMessage(payload):
                self._handle_awareness(conn, protocol.parse_awareness(payload))
            case protocol.QueryAwareness():
                conn.send(protocol.awareness(self.presence.snapshot()))

    def _first_sync(self, state_vector: bytes) -> list[bytes]:
        """The answer to a sync step 1. A brand-new client's answer is computed once per
        document state and shared: twenty people opening a chapter cost one encoding."""
        fresh = state_vector == _EMPTY_STATE
        if fresh and self._fresh_sync is not None:
            return self._fresh_sync
        try:
            missing = self.doc.get_update(state_vector)
        except ValueError as exc:
            raise ProtocolError("sync step 1 carries an invalid state vector") from exc
        try:
            frames = first_sync_frames(missing, self._policy.sync_chunk_bytes)
        except ProtocolError:  # a struct this server cannot measure: send it whole
            log.warning("could not split a first sync", extra={"doc": self.name})
            frames = [protocol.sync_step2(missing)]
        if fresh:
            self._fresh_sync = frames
        return frames

    async def submit(
        self, update: bytes, origin: Connection | None, *, on_behalf_of: str | None = None
    ) -> None:
        """The write-ahead path for a server-side edit (or a test): returns once `update` is
        stored and relayed; raises `ProtocolError` for garbage, or what storing it raised.
        `on_behalf_of`: the principal the hooks see as its writer when `origin` is None."""
        done = asyncio.get_running_loop().create_future()
        self._queue_write(_Write(update, origin, done, on_behalf_of))
        await done

    async def flushed(self) -> None:
        """Until every update queued so far is written (or refused)."""
        while self._writer is not None:
            await asyncio.shield(self._writer)

    def _queue_write(self, write: _Write) -> None:
        self._writes.append(write)
        if write.origin is not None:
            write.origin.write_queued()
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(
                self._write_queued(), name=f"write:{self.name}"
            )

    async def _write_queued(self) -> None:
        try:
            while self._writes:
                batch = self._writes[:_MAX_WRITE_BATCH]
                del self._writes[:_MAX_WRITE_BATCH]
                try:
                    await self._write([write for write in batch if not _abandoned(write)])
                except Exception as exc:  # stored maybe, relayed maybe not: peers re-sync
                    log.exception("storing or relaying updates failed", extra={"doc": self.name})
                    self._stale_since = self._looks_started
                    for write in batch:
                        _failed(write, exc)
                finally:
                    for write in batch:
                        if write.origin is not None:
                            write.origin.write_done()
        finally:
            self._writer = None

    async def _write(self, batch: list[_Write]) -> None:
        """Validate, store, announce, then apply and relay one batch (a write that fails is
        answered by the caller, `_write_queued`)."""
        valid = [write for write in batch if _valid(write)]
        if not valid:
            return
        for hook in self._hooks.amend:
            amendments = hook.amend(self, [write.update for write in valid])
            valid += [_Write(update, None) for update in amendments]
        if self._hooks.before_store:
            written = [(w.update, w.principal) for w in valid]
            for hook in self._hooks.before_store:
                await hook.before_store(self, written)
        started = time.perf_counter()
        self._writing = [write.update for write in valid]
        try:
            await self._store.append(self.name, *self._writing)
            seconds = time.perf_counter() - started
            for write in valid:
                for hook in self._hooks.on_stored:
                    # Before any local peer sees it: if this node dies right after, the other
                    # nodes still get every update that a peer here could have received.
                    await hook.on_stored(self, write.update, seconds)
            self._integrate(valid)
        finally:
            self._writing = []
        for write in valid:
            if write.done is not None and not write.done.done():
                write.done.set_result(None)

    def _integrate(self, writes: list[_Write]) -> None:
        """Apply stored updates in one transaction; relay what it changed as one frame."""
        doc = self._doc
        if doc is None:  # unloaded meanwhile: the store has them, nobody to relay to
            return
        self._relay.clear()
        with doc.transaction():
            for write in writes:
                try:
                    doc.apply_update(write.update)
                except ValueError:
                    log.exception("a stored update could not be applied", extra={"doc": self.name})
        changed = bool(self._relay)
        # To the senders too, as y-websocket's server does: applying these updates may also have
        # integrated other pending updates, which a sender has not seen yet. Except a lone update
        # that went in exactly as it was sent: its sender has all of it already.
        lone = writes[0] if len(writes) == 1 else None
        echo_free = lone.origin if lone is not None and self._relay == [lone.update] else None
        for integrated in self._relay:
            self._broadcast(protocol.sync_update(integrated), exclude=echo_free, kind="updates")
        self._relay.clear()
        if changed and self._hooks.on_change:
            for principal in _principals(writes):
                for hook in self._hooks.on_change:
                    hook.on_change(self, principal)
        self._count_for_compaction(writes)

    def _count_for_compaction(self, writes: list[_Write]) -> None:
        self._log_updates += len(writes)
        self._log_bytes += sum(len(write.update) for write in writes)
        if (
            self._log_updates >= self._policy.compact_after_updates
            or self._log_bytes >= self._policy.compact_after_bytes
        ):
            self._log_updates = 0
            self._log_bytes = 0
            self._request_compaction(self.name)

    async def change(self, edit: Callable[[Doc], None], *, on_behalf_of: str | None = None) -> bool:
        """Make a server-side edit through the write-ahead path; False when it changed nothing.

        The edit runs on a scratch copy; only the update it produces is submitted, so the room's
        document never holds anything that is not yet stored. `on_behalf_of`: the principal
        whose edit it is (a REST save's user: the hooks attribute it to them); None, the
        server's own.

        A principal's edits take turns, each made against the document as the one before left
        it: a save sent twice (a double click, an autosave beside a manual save, a retry)
        changes nothing the second time, where two made from the same state would each insert
        the new words. A caller that gives up while waiting for its turn leaves nothing behind;
        once its edit is minted, the edit runs to its end (its update may be stored whatever
        the caller does) and the next one starts after it. They write as one Yjs client id
        while the room stays loaded, as an editor's keystrokes do; a new id per save would add
        an entry to the document's state for good, and a `doc_authors` row. An edit that fails,
        or whose updates the room's document does not hold afterwards, retires the id: the next
        one must not claim clocks that may be stored already.
        """
        if on_behalf_of is None:  # the server's own (an AI task's): attributed by what it carries
            await self._up_to_date()
            return await self._submit_all(updates_from(self.doc.get_update(), edit), None)
        turn = self._turns.setdefault(on_behalf_of, asyncio.Lock())
        await turn.acquire()  # a caller that gives up while waiting leaves nothing behind
        try:
            await self._up_to_date()
        except BaseException:
            turn.release()
            raise
        edit_task = asyncio.ensure_future(self._edit_as(on_behalf_of, edit, turn))
        edit_task.add_done_callback(_retrieve)  # its caller may be gone: nothing to log twice
        return await asyncio.shield(edit_task)

    async def _edit_as(
        self, principal: str, edit: Callable[[Doc], None], turn: asyncio.Lock
    ) -> bool:
        """Mint and submit `principal`'s edit; the turn ends when its updates are in (or failed)."""
        try:
            client_id = self._writing_as.pop(principal, None)
            scratch: Doc = Doc() if client_id is None else Doc(client_id=client_id)
            scratch.apply_update(self.doc.get_update())
            changed = await self._submit_all(updates_made(scratch, edit), principal)
            if self._doc is not None and _holds_all_of(self._doc, scratch):
                self._writing_as[principal] = scratch.client_id
            return changed
        finally:
            turn.release()

    async def _up_to_date(self) -> None:
        """Before a server-side edit, take in what the store holds and the document lacks, so
        that the edit is made against the stored text: a REST save diffed against an older copy
        would insert its words a second time when they are stored already. The document may
        lack some after one of its appends failed once it was stored (a connection lost before
        the answer), and, where other processes write the same documents (`shared_store`),
        whenever their updates are still on their way over the bus (a save retried on another
        worker, or the next save of a client that landed on another worker). Such an edit waits
        for a look at the store that started after it arrived; one look serves every edit
        waiting for it (shielded: a caller that gives up does not stop it). Peers need no such
        help: the one whose update failed is closed and sends it again when it reconnects."""
        after = self._looks_started if self._policy.shared_store else self._stale_since
        if after is None:
            return
        while self._looks_finished <= after:
            if self._look is None or self._look.done():
                self._looks_started += 1
                self._look = asyncio.ensure_future(self._take_in_stored(self._looks_started))
                self._look.add_done_callback(_retrieve)
            await asyncio.shield(self._look)

    async def _take_in_stored(self, look: int) -> None:
        """Apply, in one transaction, what the stored snapshot and log entries hold that the
        document lacks (as a rule nothing, or the one or two entries another process stored a
        moment ago; deletions included: a save that puts deleted words back must not find them
        still there). Each entry is compared with the document's state rather than the whole
        log replayed into a new document, and an entry the last look found in the document is
        not compared again. The batch this room is storing right now is left to its writer,
        which relays it and credits its writer. What changed is announced to the other nodes
        (`on_taken_in`: one of this room's appends may have failed after it was stored, and
        nobody else has it), then relayed to the peers."""
        stored = await self._store.load(self.name)
        doc = self.doc
        have = doc.get_state()
        writing, checked = set(self._writing), self._checked  # a set only when looking
        now_checked: set[tuple[int, int]] = set()
        missing: dict[tuple[int, int], bytes] = {}
        for part in stored.parts:
            if part in writing:
                continue
            key = (len(part), hash(part))
            now_checked.add(key)
            if key in checked:
                continue
            difference = _difference(part, have, self.name)
            if difference is not None:
                missing[key] = difference
        self._relay.clear()
        if missing:
            now_checked -= self._apply_stored_differences(missing)
        self._checked = now_checked
        changes, self._relay = self._relay, []
        try:
            for update in changes:
                for hook in self._hooks.on_taken_in:
                    await hook.on_taken_in(self, update)
        except Exception:  # the other nodes re-read the store after a bus outage
            log.exception("announcing updates taken in failed", extra={"doc": self.name})
        finally:
            for update in changes:
                self._broadcast(protocol.sync_update(update), exclude=None, kind="updates")
        if changes:
            for hook in self._hooks.on_change:
                hook.on_change(self, None)
        self._looks_finished = look
        if self._stale_since is not None and look > self._stale_since:
            self._stale_since = None

    def _apply_stored_differences(
        self, differences: dict[tuple[int, int], bytes]
    ) -> set[tuple[int, int]]:
        """Apply stored entries' differences in one transaction: merged into one update (each
        carries its entry's deletions), or one by one if the merge cannot be applied. Returns
        the keys of those that could not be applied (logged)."""
        doc = self.doc
        with doc.transaction():
            try:
                doc.apply_update(merge_updates(*differences.values()))
                return set()
            except ValueError:
                pass
            failed = set()
            for key, difference in differences.items():
                try:
                    doc.apply_update(difference)
                except ValueError:
                    failed.add(key)
        log.error("stored updates could not be applied", extra={"doc": self.name})
        return failed

    async def _submit_all(self, updates: list[bytes], on_behalf_of: str | None) -> bool:
        for update in updates:
            await self.submit(update, origin=None, on_behalf_of=on_behalf_of)
        return bool(updates)

    def _handle_awareness(self, conn: Connection, entries: list[protocol.AwarenessEntry]) -> None:
        applied = self.presence.apply(self._owned(conn, entries))
        self._schedule_expiry()
        if applied.changed:
            self._broadcast(protocol.awareness(applied.changed), exclude=conn, kind="awareness")
            self._announce(applied.changed)
        if applied.renewed:
            if self._policy.awareness_renewal_flush_s <= 0:
                self._broadcast(protocol.awareness(applied.renewed), exclude=conn, kind="awareness")
                self._announce(applied.renewed)
                return
            for entry in applied.renewed:
                self._pending_renewals[entry.client_id] = entry
            if self._renewal_timer is None:
                self._renewal_timer = asyncio.get_running_loop().call_later(
                    self._policy.awareness_renewal_flush_s, self.flush_renewals
                )

    def _owned(
        self, conn: Connection, entries: list[protocol.AwarenessEntry]
    ) -> list[protocol.AwarenessEntry]:
        """The entries `conn` may apply: those of the client ids it owns.

        The first entry a peer announces for a client id nobody owns makes it the owner, until
        it leaves. Entries for another peer's ids (or ids present on another node) are dropped,
        so nobody sets or removes someone else's presence; stale ones (y-websocket clients echo
        what they receive) are dropped by `Presence` as before, and are not counted. The same
        principal may take over its own id: a client that reconnected before the server noticed
        that its old socket died.
        """
        owners = self._owners
        owned: list[protocol.AwarenessEntry] = []
        refused = 0
        for entry in entries:
            client_id = entry.client_id
            owner = owners.get(client_id)
            if owner is conn:
                owned.append(entry)
            elif not self.presence.is_fresh(entry):
                if owner is None and not entry.removed:
                    self._remind_of_departure(conn, client_id)
            elif owner is None and client_id not in self.presence:
                if not entry.removed:  # nobody's entry: nothing to remove
                    self._claim(conn, client_id)
                    owned.append(entry)
            elif owner is not None and not entry.removed and _same_principal(owner, conn):
                owner.client_ids.discard(client_id)
                self._claim(conn, client_id)
                owned.append(entry)
            else:
                refused += 1
        if refused:
            conn.presence_refused(refused)
            log.debug(
                "dropped awareness entries for client ids another peer owns",
                extra={"doc": self.name, "principal": conn.principal, "entries": refused},
            )
        return owned

    def _claim(self, conn: Connection, client_id: int) -> None:
        """`conn` owns `client_id` from now until it leaves (or the entry goes stale)."""
        self._owners[client_id] = conn
        conn.client_ids.add(client_id)

    def _remind_of_departure(self, conn: Connection, client_id: int) -> None:
        """A client that comes back with the clock it had when it left (a y-websocket client
        reconnecting) is told of its departure: it announces itself again with a newer clock."""
        departure = self.presence.departure(client_id)
        if departure is not None:
            conn.send(protocol.awareness([departure]))

    def flush_renewals(self) -> None:
        """Relay the batched keep-alives: runs every flush period by itself; public for a
        caller that decides when (a test)."""
        if self._renewal_timer is not None:
            self._renewal_timer.cancel()
        self._renewal_timer = None
        if not self._pending_renewals:
            return
        present = self.presence.snapshot()
        still_here = {entry.client_id for entry in present}
        renewals = [e for e in self._pending_renewals.values() if e.client_id in still_here]
        self._pending_renewals.clear()
        if renewals:
            # The owners get their own entry back too; clients ignore an entry they already have.
            self._broadcast(protocol.awareness(renewals), exclude=None, kind="awareness")
            self._announce(renewals)

    def expire_presence(self) -> list[protocol.AwarenessEntry]:
        """Announce to this node's peers that clients nobody renewed in time are gone.

        Runs by itself when the oldest entry goes stale; public for a caller that moves the
        clock. Not published: every node retires another node's silent clients on its own.
        """
        removals = self.presence.expire()
        if removals:
            for entry in removals:
                owner = self._owners.pop(entry.client_id, None)
                if owner is not None:
                    owner.client_ids.discard(entry.client_id)
            self._broadcast(protocol.awareness(removals), exclude=None, kind="awareness")
        self._schedule_expiry()
        return removals

    def _schedule_expiry(self) -> None:
        if self._expiry_timer is not None or self._doc is None:
            return
        due = self.presence.next_expiry()
        if due is not None:
            delay = max(0.0, due - self._clock())
            self._expiry_timer = asyncio.get_running_loop().call_later(delay, self._expiry_due)

    def _expiry_due(self) -> None:
        self._expiry_timer = None
        self.expire_presence()

    def _announce(self, entries: list[protocol.AwarenessEntry]) -> None:
        for hook in self._hooks.on_presence:
            hook.on_presence(self, entries)

    def _when_loaded(self, apply: Callable[[], None]) -> bool:
        """False when the document is loaded (apply now); else keep `apply` for the end of the
        load, or drop it once the room is unloaded."""
        if self._doc is not None:
            return False
        if not self._unloaded:
            self._early.append(apply)
        return True

    def apply_from_elsewhere(self, update: bytes) -> None:
        """Apply an update that is already stored (another node's, or re-read from the store)."""
        if self._when_loaded(lambda: self.apply_from_elsewhere(update)):
            return
        assert self._doc is not None
        self._relay.clear()
        try:
            self._doc.apply_update(update)
        except ValueError:
            log.warning("an update from elsewhere could not be applied", extra={"doc": self.name})
            return
        for integrated in self._relay:
            self._broadcast(protocol.sync_update(integrated), exclude=None, kind="updates")
        self._relay.clear()

    def apply_presence_from_elsewhere(self, entries: list[protocol.AwarenessEntry]) -> None:
        """Apply presence that peers of another node announced."""
        if self._when_loaded(lambda: self.apply_presence_from_elsewhere(entries)):
            return
        # A client id one of this node's peers owns is this node's to say.
        applied = self.presence.apply([e for e in entries if e.client_id not in self._owners])
        self._schedule_expiry()
        fresh = applied.changed + applied.renewed
        if fresh:
            self._broadcast(protocol.awareness(fresh), exclude=None, kind="awareness")

    def _broadcast(self, frame: bytes, *, exclude: Connection | None, kind: Relayed) -> None:
        sent = 0
        for peer in self.connections:
            if peer is not exclude:
                peer.send(frame)
                sent += 1
        for hook in self._hooks.on_relay:
            hook.on_relay(self, kind, sent)


def _valid(write: _Write) -> bool:
    """Whether `write` holds a Yjs update (decoded whole, so garbage is refused before it is
    stored); if not, its caller hears of it or its peer is closed."""
    try:
        get_state(write.update)
    except ValueError:
        _failed(write, ProtocolError("not a valid Yjs update"))
        return False
    return True


def _failed(write: _Write, error: Exception) -> None:
    """The caller of `submit` hears of `error`; a peer is closed for it."""
    if write.done is not None:
        if not write.done.done():
            write.done.set_exception(error)
    elif write.origin is not None and isinstance(error, ProtocolError):
        write.origin.refuse_malformed(error)
    elif write.origin is not None:
        write.origin.fail(store_unavailable=isinstance(error, StoreUnavailable))


def _holds_all_of(doc: Doc, other: Doc) -> bool:
    """Whether `doc` holds every item of `other`."""
    return _no_items(other.get_update(doc.get_state()))


def _difference(update: bytes, state: bytes, name: str) -> bytes | None:
    """What a stored `update` holds beyond `state`: its items a document with that state lacks,
    and its deletions; None for an unreadable one."""
    try:
        return get_update(update, state)
    except ValueError:
        log.error("skipped an unreadable stored update", extra={"doc": name})
        return None


def _no_items(update: bytes) -> bool:
    """Whether `update` inserts nothing (it starts with zero clients; deletions may follow)."""
    return update[:1] == b"\x00"


def _retrieve(turn: asyncio.Future[bool]) -> None:
    if not turn.cancelled():
        turn.exception()


def _abandoned(write: _Write) -> bool:
    """A peer's update queued behind one of its own that could not be stored: dropped unstored.
    The peer was closed and sends both again when it reconnects; meanwhile this one would only
    wait out the store's timeouts again, or be relayed without the update it follows."""
    return write.done is None and write.origin is not None and write.origin.failed


def _principals(writes: list[_Write]) -> list[str | None]:
    """Who wrote `writes` (None: the server), each once, in order."""
    return list(dict.fromkeys(w.principal for w in writes))


def _same_principal(owner: Connection, conn: Connection) -> bool:
    return owner.principal is not None and owner.principal == conn.principal
