"""The ports the AI agents are handed (`ai_agents.ports`), implemented with this app's adapters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, Map

from ai_agents.peer import document_url
from ai_agents.ports import Seat
from storage.docs.base import DocStore
from storage.docs.merge import load_content
from storage.docs.schema import META
from storage.sql.database import Database
from storage.sql.models import Chapter, User
from sync_server.rooms import RoomManager

from ..security.tokens import TokenService
from .chapters import Chapters
from .works import Works

PEER_ACCESS = "write"


@dataclass(frozen=True, slots=True)
class RoomDocuments:
    """Chapters' documents: read from the store, edited through their rooms, joined by peers at
    `sync_url` (this server's, or `INKWEAVE_AI_SYNC_URL`)."""

    store: DocStore
    rooms: RoomManager
    tokens: TokenService
    sync_url: str | None

    async def read(self, doc: str) -> tuple[str, dict[str, Any]]:
        return await load_content(self.store, doc)

    def seat(self, user_id: int, doc: str) -> Seat:
        if not self.sync_url:
            raise RuntimeError("no sync URL for AI peers: set INKWEAVE_AI_SYNC_URL")
        token = self.tokens.issue_document(user_id, doc, PEER_ACCESS)
        return Seat(document_url(self.sync_url, doc), token)

    async def set_meta(self, doc: str, values: dict[str, Any]) -> None:
        def edit(ydoc: Doc) -> None:
            meta = ydoc.get(META, type=Map)
            with ydoc.transaction():
                for key, value in values.items():
                    meta[key] = value

        async with self.rooms.hold(doc) as room:
            await room.change(edit)


@dataclass(frozen=True, slots=True)
class ServiceLibrary:
    """Works and chapters created by the same services as the REST endpoints'."""

    database: Database
    works: Works
    chapters: Chapters

    async def create_work(self, user_id: int, *, title: str, type_: str, genre: str | None) -> int:
        async with self.database.session() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise RuntimeError(f"user {user_id} is gone")
        work = await self.works.create(user, {"title": title, "type": type_, "genre": genre})
        return work.id

    async def create_chapter(self, user_id: int, work_id: int, title: str) -> Chapter:
        return await self.chapters.create(user_id, work_id, title)
