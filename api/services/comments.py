"""Comments (批注) on a chapter: threads anchored to text, replies, resolve/reopen, mentions.

Comments live in the chapter's Yjs document (`storage.docs.comments`), so they sync live to
every editor and node like the text and no version restore removes them. They are written here,
by the server, through the room's write-ahead path (`Room.change`): every writer goes through
the same permission check, the author's name is the server's to set, a viewer may comment when
the work's owner allows it (a viewer's own sync updates are refused, DESIGN invariant 7), and
`@name` mentions notify those members.

An anchor is two Yjs relative positions (`{"from", "to"}`), made by the editor from its own
document so that concurrent edits never misplace it; a REST client may give character indices
instead. Reading resolves them against the text now: a thread whose text was deleted is
`orphaned` (kept, with the text it quoted), never lost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pycrdt import Doc, Map, Text
from sqlalchemy import select

from storage.docs.comments import COMMENTS, Comment, Thread, comments_of, record, threads
from storage.docs.schema import CONTENT
from storage.sql.database import Database
from storage.sql.models import Chapter, CommentPolicy, User, Work, WorkMember
from sync_server.room import Room
from sync_server.rooms import RoomManager

from ..errors import AppError, Err
from ..security.roles import WRITE_ROLES, role_on_work
from .chapters import chapter_and_role
from .notification_texts import Message
from .notifications import Notifier
from .text_items import TextItems
from .works import require_owner

KIND = "comment"  # notification kind of a mention
MAX_BODY = 5000
MAX_QUOTE = 500


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _comment_view(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "author": {"id": comment.author_id, "name": comment.author_name},
        "body": comment.body,
        "mentions": comment.mentions,
        "created_at": comment.created_at,
    }


def thread_view(thread: Thread, items: TextItems) -> dict[str, Any]:
    root = thread.root
    start = end = None
    if root.anchor is not None:
        if isinstance(root.anchor.get("from"), dict):
            start = items.index_of(root.anchor["from"])
        if isinstance(root.anchor.get("to"), dict):
            end = items.index_of(root.anchor["to"])
    orphaned = start is None or end is None or end <= start
    return {
        **_comment_view(root),
        "anchor": root.anchor,
        "quote": root.quote,
        "from": None if orphaned else start,
        "to": None if orphaned else end,
        "text": None if orphaned else items.current[start:end],
        "orphaned": orphaned,
        "resolved": root.resolved,
        "resolved_by": root.resolved_by,
        "resolved_at": root.resolved_at,
        "replies": [_comment_view(reply) for reply in thread.replies],
    }


def _valid_relative(position: Any) -> bool:
    if not isinstance(position, dict) or not isinstance(position.get("item"), dict):
        return False
    item = position["item"]
    return all(isinstance(item.get(k), int) and item[k] >= 0 for k in ("client", "clock")) and (
        isinstance(position.get("assoc", 0), int)
    )


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where a new thread goes: Yjs relative positions, or character indices of the text."""

    relative: dict[str, Any] | None = None
    start: int | None = None
    end: int | None = None
    quote: str | None = None


@dataclass(frozen=True, slots=True)
class Comments:
    database: Database
    rooms: RoomManager
    notifier: Notifier

    # Access -----------------------------------------------------------------------------------

    async def _chapter(self, user_id: int, chapter_id: int) -> tuple[Chapter, str]:
        return await chapter_and_role(self.database, user_id, chapter_id)

    async def viewers_may_comment(self, work_id: int) -> bool:
        async with self.database.session() as session:
            policy = await session.get(CommentPolicy, work_id)
        return bool(policy and policy.viewers_may_comment)

    async def _commentable(self, user_id: int, chapter_id: int) -> Chapter:
        chapter, role = await self._chapter(user_id, chapter_id)
        if role not in WRITE_ROLES and not await self.viewers_may_comment(chapter.work_id):
            raise AppError(Err.COMMENTS_CLOSED, "the owner does not let viewers comment")
        return chapter

    # Policy -----------------------------------------------------------------------------------

    async def policy(self, user_id: int, work_id: int) -> dict[str, Any]:
        if await role_on_work(self.database, user_id, work_id) is None:
            raise AppError(Err.NOT_FOUND, f"no work {work_id}")
        return {"work_id": work_id, "viewers_may_comment": await self.viewers_may_comment(work_id)}

    async def set_policy(self, user_id: int, work_id: int, viewers: bool) -> dict[str, Any]:
        role = await role_on_work(self.database, user_id, work_id)
        if role is None:
            raise AppError(Err.NOT_FOUND, f"no work {work_id}")
        require_owner(role)
        async with self.database.session() as session:
            policy = await session.get(CommentPolicy, work_id)
            if policy is None:
                session.add(CommentPolicy(work_id=work_id, viewers_may_comment=int(viewers)))
            else:
                policy.viewers_may_comment = int(viewers)
        return {"work_id": work_id, "viewers_may_comment": viewers}

    # Reading ----------------------------------------------------------------------------------

    async def list(self, user_id: int, chapter_id: int) -> list[dict[str, Any]]:
        chapter, _role = await self._chapter(user_id, chapter_id)
        async with self.rooms.hold(chapter.content_id) as room:
            return self._views(room.doc)

    @staticmethod
    def _views(doc: Doc) -> list[dict[str, Any]]:
        items = TextItems(doc.get(CONTENT, type=Text))
        return [thread_view(thread, items) for thread in threads(doc)]

    # Writing ----------------------------------------------------------------------------------

    async def _write(self, chapter: Chapter, comment: Comment) -> dict[str, Any]:
        def edit(doc: Doc) -> None:
            doc.get(COMMENTS, type=Map)[comment.id] = record(comment)

        async with self.rooms.hold(chapter.content_id) as room:
            await room.change(edit)
            views = self._views(room.doc)
        thread_id = comment.thread or comment.id
        return next(view for view in views if view["id"] == thread_id)

    async def create(
        self, user: User, chapter_id: int, body: str, anchor: Anchor
    ) -> dict[str, Any]:
        chapter = await self._commentable(user.id, chapter_id)
        async with self.rooms.hold(chapter.content_id) as room:
            items = TextItems(room.doc.get(CONTENT, type=Text))
        relative, quote = self._anchor(items, anchor)
        mentioned = await self._mentioned(chapter, user, body)
        comment = Comment(
            id=uuid.uuid4().hex,
            thread=None,
            author_id=user.id,
            author_name=user.username,
            body=body,
            created_at=_now(),
            anchor=relative,
            quote=quote[:MAX_QUOTE],
            mentions=[member.id for member in mentioned],
        )
        view = await self._write(chapter, comment)
        await self._notify(chapter, user, comment, mentioned)
        return view

    @staticmethod
    def _anchor(items: TextItems, anchor: Anchor) -> tuple[dict[str, Any], str]:
        if anchor.relative is not None:
            start_at, end_at = anchor.relative.get("from"), anchor.relative.get("to")
            if not (_valid_relative(start_at) and _valid_relative(end_at)):
                raise AppError(Err.VALIDATION, "anchor needs two Yjs relative positions")
            start, end = items.index_of(start_at), items.index_of(end_at)  # type: ignore[arg-type]
            quote = anchor.quote or ""
            if start is not None and end is not None and end > start:
                quote = items.current[start:end]
            return {"from": start_at, "to": end_at}, quote
        start, end = anchor.start, anchor.end
        if start is None or end is None or not 0 <= start < end <= len(items.current):
            raise AppError(Err.VALIDATION, "from and to must select text of the chapter")
        first, last = items.relative_at(start, 0), items.relative_at(end, -1)
        if first is None or last is None:
            raise AppError(Err.VALIDATION, "from and to must select text of the chapter")
        return {"from": first, "to": last}, items.current[start:end]

    async def reply(self, user: User, chapter_id: int, thread_id: str, body: str) -> dict[str, Any]:
        chapter = await self._commentable(user.id, chapter_id)
        await self._existing(chapter, thread_id)
        mentioned = await self._mentioned(chapter, user, body)
        comment = Comment(
            id=uuid.uuid4().hex,
            thread=thread_id,
            author_id=user.id,
            author_name=user.username,
            body=body,
            created_at=_now(),
            mentions=[member.id for member in mentioned],
        )
        view = await self._write(chapter, comment)
        await self._notify(chapter, user, comment, mentioned)
        return view

    async def _existing(self, chapter: Chapter, thread_id: str) -> Comment:
        async with self.rooms.hold(chapter.content_id) as room:
            found = comments_of(room.doc).get(thread_id)
        if found is None or found.thread is not None:
            raise AppError(Err.NOT_FOUND, f"no comment thread {thread_id}")
        return found

    async def resolve(
        self, user: User, chapter_id: int, thread_id: str, resolved: bool
    ) -> dict[str, Any]:
        chapter = await self._commentable(user.id, chapter_id)
        root = await self._existing(chapter, thread_id)
        root.resolved = resolved
        root.resolved_by = user.username if resolved else None
        root.resolved_at = _now() if resolved else None
        return await self._write(chapter, root)

    async def delete(self, user: User, chapter_id: int, comment_id: str) -> None:
        """The comment's author or the work's owner deletes a comment; a thread goes with its
        replies."""
        chapter, role = await self._chapter(user.id, chapter_id)
        async with self.rooms.hold(chapter.content_id) as room:
            comments = comments_of(room.doc)
            found = comments.get(comment_id)
            if found is None:
                raise AppError(Err.NOT_FOUND, f"no comment {comment_id}")
            if found.author_id != user.id and role != "owner":
                raise AppError(Err.FORBIDDEN, "only its author or the owner deletes a comment")
            await _remove(room, comments, comment_id)

    # Reports ----------------------------------------------------------------------------------

    async def reported(self, chapter_id: int, comment_id: str) -> tuple[Chapter, Comment] | None:
        """A comment someone reports, with its chapter (no one's permission is checked here)."""
        async with self.database.session() as session:
            chapter = await session.get(Chapter, chapter_id)
        if chapter is None:
            return None
        async with self.rooms.hold(chapter.content_id) as room:
            found = comments_of(room.doc).get(comment_id)
        return None if found is None else (chapter, found)

    async def hide(self, chapter_id: int, comment_id: str) -> None:
        """An administrator takes a reported comment (and a thread's replies) away."""
        async with self.database.session() as session:
            chapter = await session.get(Chapter, chapter_id)
        if chapter is None:
            return
        async with self.rooms.hold(chapter.content_id) as room:
            comments = comments_of(room.doc)
            if comment_id in comments:
                await _remove(room, comments, comment_id)

    # Mentions ---------------------------------------------------------------------------------

    async def _mentioned(self, chapter: Chapter, author: User, body: str) -> list[User]:
        """The work's members (owner included) named `@username` in `body`, the author aside."""
        if "@" not in body:
            return []
        async with self.database.session() as session:
            work = await session.get(Work, chapter.work_id)
            member_ids = set(
                await session.scalars(
                    select(WorkMember.user_id).where(WorkMember.work_id == chapter.work_id)
                )
            )
            if work is not None:
                member_ids.add(work.user_id)
            member_ids.discard(author.id)
            members = list(await session.scalars(select(User).where(User.id.in_(member_ids))))
        # The longest name first: "@林" must not claim "@林黛玉".
        members.sort(key=lambda member: -len(member.username))
        found: list[User] = []
        rest = body
        for member in members:
            tag = f"@{member.username}"
            if tag in rest:
                found.append(member)
                rest = rest.replace(tag, " ")
        return found

    async def _notify(
        self, chapter: Chapter, author: User, comment: Comment, mentioned: list[User]
    ) -> None:
        for member in mentioned:
            await self.notifier.notify_quietly(
                member.id,
                KIND,
                Message(
                    "comment.mention", {"user": author.username, "excerpt": comment.body[:200]}
                ),
                "",
                {
                    "work_id": chapter.work_id,
                    "chapter_id": chapter.id,
                    "thread_id": comment.thread or comment.id,
                    "comment_id": comment.id,
                },
            )


async def _remove(room: Room, comments: dict[str, Comment], comment_id: str) -> None:
    """The comment out of the document; a thread goes with its replies."""
    doomed = [comment_id] + [c.id for c in comments.values() if c.thread == comment_id]

    def edit(doc: Doc) -> None:
        entries = doc.get(COMMENTS, type=Map)
        with doc.transaction():
            for key in doomed:
                del entries[key]

    await room.change(edit)
