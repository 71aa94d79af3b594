"""`/api/v1/users`: the signed-in user's profile, avatar and password."""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from storage.crypto.lookup import matches
from storage.sql.models import User, same_username

from ..deps import AccountsDep, BlobsDep, CurrentUser, DatabaseDep
from ..envelope import success
from ..errors import AppError, Err
from ..schemas import Envelope, IdPath, UncheckedRename, username_refused
from ..services.avatars import MAX_UPLOAD_BYTES, STORED_TYPE, reencode
from ..services.usernames import is_username

router = APIRouter(prefix="/users", tags=["users"])


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str
    phone: str | None
    avatar_url: str | None
    member_level: str
    member_expire_at: datetime | None
    total_words: int
    total_works: int
    total_time: int = Field(description="Hours spent editing (brief §3.1.1)")
    total_time_seconds: int
    created_at: datetime


class UserPatch(BaseModel):
    username: UncheckedRename | None = None
    phone: str | None = Field(None, pattern=r"^\+?[0-9]{5,20}$")


class PasswordIn(BaseModel):
    old_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=8, max_length=128)


def user_out(user: User) -> dict[str, object]:
    return UserOut.model_validate(
        {
            **{c: getattr(user, c) for c in UserOut.model_fields if hasattr(user, c)},
            "total_time": user.total_time_seconds // 3600,
        }
    ).model_dump(mode="json")


@router.get("/me", response_model=Envelope[UserOut])
async def me(user: CurrentUser) -> dict[str, object]:
    return success(user_out(user))


@router.patch("/me", response_model=Envelope[UserOut])
async def update_me(body: UserPatch, user: CurrentUser, database: DatabaseDep) -> dict[str, object]:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if changes.get("username") == user.username:
        del changes["username"]
    elif "username" in changes and not is_username(changes["username"]):
        error = username_refused()
        raise RequestValidationError(
            [{"type": error.type, "loc": ("body", "username"), "msg": error.message()}]
        )
    async with database.session() as session:
        if "username" in changes:
            taken = await session.scalar(
                select(User.id).where(same_username(changes["username"]), User.id != user.id)
            )
            if taken is not None:
                raise AppError(Err.USERNAME_TAKEN)
        if "phone" in changes:
            taken = await session.scalar(
                select(User.id).where(matches(User.phone, changes["phone"]), User.id != user.id)
            )
            if taken is not None:
                raise AppError(Err.CONFLICT, "phone number already registered")
        fresh = await session.get(User, user.id)
        assert fresh is not None
        for field, value in changes.items():
            setattr(fresh, field, value)
    return success(user_out(fresh))


@router.put("/me/password", response_model=Envelope[None])
async def change_password(
    body: PasswordIn, user: CurrentUser, accounts: AccountsDep
) -> dict[str, object]:
    await accounts.change_password(user, body.old_password, body.new_password)
    return success(None)


@router.post("/me/avatar", response_model=Envelope[UserOut])
async def upload_avatar(
    file: UploadFile, user: CurrentUser, database: DatabaseDep, blobs: BlobsDep
) -> dict[str, object]:
    """A PNG, JPEG, WebP or GIF of at most 2 MiB and 4096×4096 pixels, recognised by its content
    (the declared type and name are ignored); stored re-encoded as a WebP of at most 512×512
    without metadata (413 41301/41302, 415 41502 otherwise)."""
    avatar = await asyncio.to_thread(reencode, await file.read(MAX_UPLOAD_BYTES + 1))
    await blobs.put(f"avatars/{user.id}", avatar.data, avatar.content_type)
    async with database.session() as session:
        fresh = await session.get(User, user.id)
        assert fresh is not None
        fresh.avatar_url = f"/api/v1/users/{user.id}/avatar"
    return success(user_out(fresh))


@router.get(
    "/{user_id}/avatar", response_class=Response, responses={200: {"content": {STORED_TYPE: {}}}}
)
async def avatar(user_id: IdPath, blobs: BlobsDep) -> Response:
    try:
        data, content_type = await blobs.get(f"avatars/{user_id}")
    except KeyError:
        raise AppError(Err.NOT_FOUND, "no avatar") from None
    # nosniff: a browser takes the type as stored (that of the re-encoded image), never a guess
    headers = {"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"}
    return Response(data, media_type=content_type, headers=headers)
