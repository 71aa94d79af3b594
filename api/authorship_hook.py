"""Who writes with which Yjs client id, recorded durably per document (`doc_authors`).

Every character of a chapter is an item created by one Yjs client id; the server knows which
user each socket belongs to, so it records `(doc, client_id) → user` (or the AI task whose peer
wrote it) the first time a client id writes. The entry is written *before* the update that
brings the client id is appended (`RoomHooks.before_store`): a node that dies between the two
leaves an entry without text, never text without its author. First writer wins: a client id
that another principal writes with later is logged as suspicious and keeps its first author.

Cheap on the hot path: a room's known client ids are read on its first attributed write (a room
that only readers or the server touch costs no query) and cached while it is loaded; an update's
client ids are read from its header (one client, the usual case, costs a few varints). A new
client id per socket is rare. If SQL is down the update is still stored (writing must not stop
for attribution): the client id stays unknown to the cache and the next update of that client
tries again; only a client that never writes again stays unattributed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ai_agents.marks import AI_ATTRIBUTE, decode_update
from storage.sql.database import Database
from storage.sql.models import DocAuthor
from sync_server.hooks import RoomHooks, Written
from sync_server.protocol import ProtocolError, Reader
from sync_server.room import Room
from sync_server.yjs_updates import skip_struct

log = logging.getLogger(__name__)

_MARKER = b"\x02" + AI_ATTRIBUTE.encode()  # how a format key "ai" starts in a v1 update

Author = tuple[int | None, str | None]  # user id, AI task id


def writing_clients(update: bytes) -> set[int]:
    """The client ids whose items `update` inserts (a deletion-only update has none)."""
    if update[:1] == b"\x01":  # one client's items, what a typing peer sends: read inline
        return {_one_client(update)}
    reader = Reader(update)
    clients: set[int] = set()
    sections = reader.var_uint()
    for section in range(sections):
        structs = reader.var_uint()
        clients.add(reader.var_uint())
        if section == sections - 1:
            break  # the last section's structs need not be read
        reader.var_uint()  # first clock
        for _ in range(structs):
            skip_struct(reader)
    return clients


def _one_client(update: bytes) -> int:
    """The client id of an update with one section: its varint after the struct count."""
    pos = 1
    try:
        while update[pos] & 0x80:  # the number of structs
            pos += 1
        pos += 1
        client = shift = 0
        while True:
            byte = update[pos]
            client |= (byte & 0x7F) << shift
            if byte < 0x80:
                return client
            pos += 1
            shift += 7
            if shift > 63:
                raise ProtocolError("varint too long")
    except IndexError:
        raise ProtocolError("truncated varint") from None


def _ai_tasks(update: bytes) -> dict[int, str]:
    """Per client id, the AI task whose `ai` format marker it wrote in `update`."""
    if _MARKER not in update:
        return {}
    try:
        blocks, _deletes = decode_update(update)
    except ProtocolError:
        return {}
    return {
        block.client: str(block.value)
        for block in blocks
        if block.key == AI_ATTRIBUTE and isinstance(block.value, str)
    }


def _user_id(principal: str | None) -> int | None:
    try:
        return int(principal) if principal is not None else None
    except ValueError:
        return None  # "anonymous" with authentication off


class AuthorshipRecorder(RoomHooks):
    def __init__(self, database: Database) -> None:
        self._database = database
        self._known: dict[str, dict[int, Author]] = {}  # per loaded document
        self._suspicious: set[tuple[str, int]] = set()

    async def _authors(self, doc: str) -> dict[int, Author]:
        known = self._known.get(doc)
        if known is not None:
            return known
        known = {}
        try:
            async with self._database.session() as session:
                rows = await session.execute(
                    select(DocAuthor.client_id, DocAuthor.user_id, DocAuthor.ai_task_id).where(
                        DocAuthor.doc == doc
                    )
                )
                known = {client: (user, task) for client, user, task in rows}
        except Exception:  # read again on the next write
            log.exception("could not read a document's authors", extra={"doc": doc})
            return known
        self._known[doc] = known
        return known

    async def on_unload(self, room: Room) -> None:
        self._known.pop(room.name, None)

    async def before_store(self, room: Room, writes: Sequence[Written]) -> None:
        known: dict[int, Author] | None = None
        new: dict[int, Author] = {}
        for update, principal in writes:
            user = _user_id(principal)
            if user is None:
                continue  # the server's own edits (a version restore) are nobody's
            try:
                clients = writing_clients(update)
            except ProtocolError:
                continue
            if known is None:
                known = await self._authors(room.name)
            for client in clients:
                first = known.get(client) or new.get(client)
                if first is None:
                    tasks = _ai_tasks(update)
                    new[client] = (user, tasks.get(client))
                elif first[0] != user:
                    self._suspect(room.name, client, first[0], user)
        if new and known is not None:
            await self._record(room.name, known, new)

    def _suspect(self, doc: str, client: int, first: int | None, other: int) -> None:
        if (doc, client) not in self._suspicious:
            self._suspicious.add((doc, client))
            log.warning(
                "a Yjs client id already claimed by another user: kept its first author",
                extra={"doc": doc, "client_id": client, "first": first, "other": other},
            )

    async def _record(self, doc: str, known: dict[int, Author], new: dict[int, Author]) -> None:
        try:
            async with self._database.session() as session:
                for client, (user, task) in new.items():
                    session.add(DocAuthor(doc=doc, client_id=client, user_id=user, ai_task_id=task))
            known.update(new)
        except IntegrityError:  # another node recorded one of them first: theirs wins
            await self._reload(doc, known, new)
        except Exception:
            log.exception("could not record who writes a document", extra={"doc": doc})

    async def _reload(self, doc: str, known: dict[int, Author], new: dict[int, Author]) -> None:
        try:
            async with self._database.session() as session:
                for client, author in new.items():
                    row = await session.get(DocAuthor, (doc, client))
                    if row is None:
                        session.add(
                            DocAuthor(
                                doc=doc, client_id=client, user_id=author[0], ai_task_id=author[1]
                            )
                        )
                        known[client] = author
                    else:
                        known[client] = (row.user_id, row.ai_task_id)
        except Exception:
            log.exception("could not record who writes a document", extra={"doc": doc})
