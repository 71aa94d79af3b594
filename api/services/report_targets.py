"""What can be reported (举报), one resolver per kind of target.

A resolver says whether a user may report a target (they can see it and do not own it), finds
it for the admin queue, and hides it. Works and materials are rows (`RESOLVERS`); a comment
lives in its chapter's document, so its resolver is built with the comments service
(`targets_with_comments`). A comment's target id is `<chapter id>-<comment id>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.models import Material, Work

from ..errors import AppError, Err
from ..schemas import MAX_ID
from ..security.roles import role_in
from .comments import Comments
from .materials import readable

TargetKind = Literal["work", "material", "comment"]


@dataclass(frozen=True, slots=True)
class Target:
    kind: str
    id: str
    owner_id: int | None  # None: the system's (a starter material)
    title: str


class TargetResolver(Protocol):
    async def reportable(self, session: AsyncSession, user_id: int, target_id: str) -> Target:
        """The target, if `user_id` may report it; else NOT_FOUND or FORBIDDEN."""
        ...

    async def find(self, session: AsyncSession, target_id: str) -> Target | None: ...

    async def hide(self, session: AsyncSession, target_id: str) -> None:
        """Take the target out of everyone's sight but its owner's."""
        ...


def numeric_id(target_id: str) -> int:
    if not (target_id.isascii() and target_id.isdigit()) or int(target_id) > MAX_ID:
        raise AppError(Err.NOT_FOUND, f"no target {target_id!r}")
    return int(target_id)


class WorkTargets:
    """A work its members can read; any member but the owner may report it."""

    async def reportable(self, session: AsyncSession, user_id: int, target_id: str) -> Target:
        role = await role_in(session, user_id, numeric_id(target_id))
        if role is None:
            raise AppError(Err.NOT_FOUND, f"no work {target_id}")
        if role == "owner":
            raise AppError(Err.FORBIDDEN, "you cannot report your own work")
        target = await self.find(session, target_id)
        assert target is not None
        return target

    async def find(self, session: AsyncSession, target_id: str) -> Target | None:
        work = await session.get(Work, numeric_id(target_id))
        if work is None:
            return None
        return Target("work", target_id, work.user_id, work.title)

    async def hide(self, session: AsyncSession, target_id: str) -> None:
        """Works are never public (only members read them): nothing is withdrawn; the reports'
        `hidden` status and the owner's notification are the record."""


class MaterialTargets:
    """A public material someone else owns."""

    async def reportable(self, session: AsyncSession, user_id: int, target_id: str) -> Target:
        material = await readable(session, user_id, numeric_id(target_id))
        if material.user_id == user_id:
            raise AppError(Err.FORBIDDEN, "you cannot report your own material")
        if material.user_id is None:
            raise AppError(Err.FORBIDDEN, "the starter library is the platform's own")
        return Target("material", target_id, material.user_id, material.title)

    async def find(self, session: AsyncSession, target_id: str) -> Target | None:
        material = await session.get(Material, numeric_id(target_id))
        if material is None:
            return None
        return Target("material", target_id, material.user_id, material.title)

    async def hide(self, session: AsyncSession, target_id: str) -> None:
        material = await session.get(Material, numeric_id(target_id))
        if material is not None:
            material.is_public = 0


class CommentTargets:
    """A comment in a chapter the reporter can read, that someone else wrote."""

    def __init__(self, comments: Comments) -> None:
        self._comments = comments

    async def reportable(self, session: AsyncSession, user_id: int, target_id: str) -> Target:
        chapter_id, comment_id = _comment_id(target_id)
        found = await self._comments.reported(chapter_id, comment_id)
        if found is None or await role_in(session, user_id, found[0].work_id) is None:
            raise AppError(Err.NOT_FOUND, f"no comment {target_id}")
        if found[1].author_id == user_id:
            raise AppError(Err.FORBIDDEN, "you cannot report your own comment")
        return _comment_target(target_id, found[1].author_id, found[1].body)

    async def find(self, session: AsyncSession, target_id: str) -> Target | None:
        found = await self._comments.reported(*_comment_id(target_id))
        return (
            None if found is None else _comment_target(target_id, found[1].author_id, found[1].body)
        )

    async def hide(self, session: AsyncSession, target_id: str) -> None:
        await self._comments.hide(*_comment_id(target_id))


def _comment_id(target_id: str) -> tuple[int, str]:
    chapter, _, comment = target_id.partition("-")
    if not comment or len(comment) > 64:
        raise AppError(Err.NOT_FOUND, f"no comment {target_id!r}")
    return numeric_id(chapter), comment


def _comment_target(target_id: str, author_id: int | None, body: str) -> Target:
    return Target("comment", target_id, author_id, body[:50])


RESOLVERS: dict[str, TargetResolver] = {"work": WorkTargets(), "material": MaterialTargets()}


def targets_with_comments(comments: Comments) -> dict[str, TargetResolver]:
    return {**RESOLVERS, "comment": CommentTargets(comments)}


def resolver(kind: str, registry: Mapping[str, TargetResolver] = RESOLVERS) -> TargetResolver:
    found = registry.get(kind)
    if found is None:
        raise AppError(Err.REPORT_TARGET_UNSUPPORTED, f"{kind} cannot be reported yet")
    return found
