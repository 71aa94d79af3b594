"""The one place that holds the rule "a character is AI text if and only if the AI wrote it".

The AI peer writes its text with `{"ai": task_id}` so that every editor can highlight it. In Yjs a
plain insert inside or right after a formatted run inherits the formatting, so a co-author's
words typed there arrive marked as AI in every client, from stock y-websocket editors too. The
server is the one party that sees every change, so this room hook corrects it: after a change to
a document that holds AI marking, the characters that carry an `ai` mark but were not written by
that task's peer (`ai_agents.marks.inherited_runs`, decided by authorship) lose it, as a server
edit through the write-ahead path that every client receives. Editors may strip the mark from
their own inserts earlier (the web editor does); they need not.

Checks of one document never overlap and a burst of changes is checked once, right after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from pycrdt import Doc, Text

from ai_agents.marks import AI_ATTRIBUTE, clear_inherited, inherited_runs
from storage.docs.schema import CONTENT
from sync_server.hooks import RoomHooks
from sync_server.room import Room

log = logging.getLogger(__name__)

_MARKER = b"\x02" + AI_ATTRIBUTE.encode()  # how a format key "ai" starts in a v1 update


def _content(doc: Doc) -> Text:
    return doc.get(CONTENT, type=Text)


def _holds_ai_marking(doc: Doc) -> bool:
    return any(attrs and AI_ATTRIBUTE in attrs for _chunk, attrs in _content(doc).diff())


def _clear_inherited(doc: Doc) -> None:
    clear_inherited(_content(doc))


class AiMarksHook(RoomHooks):
    def __init__(self) -> None:
        # Cheap per update: a document is looked at once, then checked only while it holds (or
        # may hold) AI marking; documents that never held AI text are never checked.
        self._seen: set[str] = set()
        self._marked: set[str] = set()
        self._checks: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()

    async def on_stored(self, room: Room, update: bytes, append_seconds: float) -> None:
        if _MARKER in update:
            self._marked.add(room.name)

    def on_change(self, room: Room, principal: str | None) -> None:
        if room.name not in self._seen:
            self._seen.add(room.name)
            if _holds_ai_marking(room.doc):
                self._marked.add(room.name)
        if room.name not in self._marked:
            return
        if room.name in self._checks:
            self._again.add(room.name)
            return
        self._checks[room.name] = asyncio.get_running_loop().create_task(
            self._check(room), name=f"ai-marks:{room.name}"
        )

    async def on_unload(self, room: Room) -> None:
        self._seen.discard(room.name)
        self._marked.discard(room.name)
        self._again.discard(room.name)
        check = self._checks.pop(room.name, None)
        if check is not None:
            check.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await check

    async def _check(self, room: Room) -> None:
        try:
            while True:
                await asyncio.sleep(0)  # the rest of this burst lands first
                self._again.discard(room.name)
                if inherited_runs(_content(room.doc)):
                    await room.change(_clear_inherited)
                elif not _holds_ai_marking(room.doc):
                    self._marked.discard(room.name)  # every task was accepted or rejected
                if room.name not in self._again:
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not clear inherited AI marks", extra={"doc": room.name})
        finally:
            self._checks.pop(room.name, None)
