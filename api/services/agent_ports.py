"""The ports the AI agents are handed (`ai_agents.ports`), implemented with this app's parts."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, Map

from ai_agents.agents.task_runner import AgentPorts
from ai_agents.peer import document_url
from ai_agents.ports import Seat
from storage.docs.merge import load_content
from storage.docs.schema import META
from storage.sql.models import Chapter, User

from ..app_parts import Components
from .chapters import Chapters
from .notifications import notify_quietly
from .works import Works

PEER_ACCESS = "write"


class RoomDocuments:
    """Chapters' documents: read from the store, edited through their rooms, joined by peers at
    this server's (or `INKWEAVE_AI_SYNC_URL`'s) sync endpoint."""

    def __init__(self, parts: Components) -> None:
        self.parts = parts

    async def read(self, doc: str) -> tuple[str, dict[str, Any]]:
        return await load_content(self.parts.store, doc)

    def seat(self, user_id: int, doc: str) -> Seat:
        token = self.parts.tokens.issue_document(user_id, doc, PEER_ACCESS)
        base = self.parts.settings.ai_sync_url or self.parts.sync_url
        if not base:
            raise RuntimeError("no sync URL for AI peers: set INKWEAVE_AI_SYNC_URL")
        return Seat(document_url(base, doc), token)

    async def set_meta(self, doc: str, values: dict[str, Any]) -> None:
        def edit(ydoc: Doc) -> None:
            meta = ydoc.get(META, type=Map)
            with ydoc.transaction():
                for key, value in values.items():
                    meta[key] = value

        async with self.parts.rooms.hold(doc) as room:
            await room.change(edit)


class ServiceLibrary:
    """Works and chapters created by the same services as the REST endpoints'."""

    def __init__(self, parts: Components) -> None:
        self.parts = parts

    async def create_work(self, user_id: int, *, title: str, type_: str, genre: str | None) -> int:
        async with self.parts.database.session() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise RuntimeError(f"user {user_id} is gone")
        work = await Works(self.parts).create(user, {"title": title, "type": type_, "genre": genre})
        return work.id

    async def create_chapter(self, user_id: int, work_id: int, title: str) -> Chapter:
        return await Chapters(self.parts).create(user_id, work_id, title)


def agent_ports(parts: Components) -> AgentPorts:
    async def notify(user_id: int, kind: str, title: str, body: str, data: dict[str, Any]) -> None:
        await notify_quietly(parts, user_id, kind, title, body, data)

    return AgentPorts(
        database=parts.database,
        documents=RoomDocuments(parts),
        library=ServiceLibrary(parts),
        tasks=parts.tasks,
        ai=parts.ai,
        safety=parts.safety,
        notify=notify,
        context_chars=parts.settings.ai_context_chars,
    )
