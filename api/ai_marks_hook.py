"""The one place that holds the rule "a character is AI text if and only if the AI wrote it".

The AI peer writes its text with `{"ai": task_id}` so that every editor can highlight it. In Yjs a
plain insert inside or right after a formatted run inherits the formatting, so a co-author's
words typed there arrive marked as AI in every client, from stock y-websocket editors too. The
server is the one party that sees every change, so this room hook corrects it before anyone sees
it: for a document that holds AI marking, each batch of peers' updates is tried on a scratch copy,
and the characters that would carry an `ai` mark without having been written by that task's peer
(`ai_agents.marks.inherited_runs`, decided by authorship) lose it in an update of the server's
that the room stores, applies and relays together with the batch (`RoomHooks.amend`): a peer
receives the co-author's words already plain. Editors may strip the mark from their own inserts
earlier (the web editor does); they need not.

Documents that never held AI marking cost a byte search per update; one that does costs a copy of
its state per batch while it holds unreviewed AI text.
"""

from __future__ import annotations

from collections.abc import Sequence

from pycrdt import Doc, Text

from ai_agents.marks import AI_ATTRIBUTE, clear_inherited
from storage.docs.edits import updates_made
from storage.docs.schema import CONTENT
from sync_server.hooks import RoomHooks
from sync_server.room import Room

_MARKER = b"\x02" + AI_ATTRIBUTE.encode()  # how a format key "ai" starts in a v1 update


def _content(doc: Doc) -> Text:
    return doc.get(CONTENT, type=Text)


def _holds_ai_marking(doc: Doc) -> bool:
    return any(attrs and AI_ATTRIBUTE in attrs for _chunk, attrs in _content(doc).diff())


class AiMarksHook(RoomHooks):
    def __init__(self) -> None:
        # A document is looked at once, then tried only while it holds (or may hold) AI marking.
        self._seen: set[str] = set()
        self._marked: set[str] = set()

    def amend(self, room: Room, updates: Sequence[bytes]) -> list[bytes]:
        name = room.name
        if name not in self._seen:
            self._seen.add(name)
            if _holds_ai_marking(room.doc):
                self._marked.add(name)
        if name not in self._marked and not any(_MARKER in update for update in updates):
            return []
        scratch = Doc()
        scratch.apply_update(room.doc.get_update())
        for update in updates:
            scratch.apply_update(update)
        if not _holds_ai_marking(scratch):
            self._marked.discard(name)  # every task was accepted or rejected
            return []
        self._marked.add(name)
        return updates_made(scratch, lambda doc: clear_inherited(_content(doc)))

    async def on_unload(self, room: Room) -> None:
        self._seen.discard(room.name)
        self._marked.discard(room.name)
