"""`/api/v1/admin`: users and orders, for administrators (`member_level == "admin"`) only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from storage.sql.models import AccountStatus, User

from ..deps import AdminDep, CurrentUser, OrdersDep
from ..envelope import success
from ..errors import AppError, Err
from ..schemas import Envelope, IdField, IdPath, Page, PageQuery
from .orders import OrderNo, OrderOut, OrderStatus, order_out

Level = Literal["free", "basic", "premium", "admin"]


async def admin_user(user: CurrentUser) -> User:
    if user.member_level != "admin":
        raise AppError(Err.FORBIDDEN, "administrators only")
    return user


AdminUser = Annotated[User, Depends(admin_user)]
router = APIRouter(prefix="/admin", tags=["admin"])


class UserAdminOut(BaseModel):
    id: int
    username: str
    email: str
    phone: str | None
    member_level: str
    member_expire_at: datetime | None
    status: int = Field(description="1 active, 0 disabled")
    total_works: int
    total_words: int
    created_at: datetime


class AdminOrderOut(OrderOut):
    username: str
    email: str


class UserQuery(PageQuery):
    q: str | None = Field(
        None,
        max_length=100,
        description="Part of a username, or a whole email or phone (stored encrypted)",
    )
    level: Level | None = None
    status: int | None = Field(None, ge=0, le=1, description="1 active, 0 disabled")


class OrderQuery(PageQuery):
    q: str | None = Field(None, max_length=100, description="An order number, or part of a name")
    status: OrderStatus | None = None
    user_id: IdField | None = None
    refund_needed: bool = Field(False, description="Only cancelled orders paid late")


class LevelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: Level
    expire_at: datetime | None = Field(
        None, description="Required (in the future) for basic and premium; ignored otherwise"
    )


def user_admin_out(user: User) -> dict[str, Any]:
    fields = {name: getattr(user, name) for name in UserAdminOut.model_fields}
    return UserAdminOut.model_validate(fields).model_dump(mode="json")


def page(total: int, query: PageQuery, items: list[Any]) -> dict[str, Any]:
    return {"total": total, "page": query.page, "page_size": query.page_size, "items": items}


@router.get("/users", response_model=Envelope[Page[UserAdminOut]], summary="Find users")
async def list_users(
    query: Annotated[UserQuery, Query()], _admin: AdminUser, admin_users: AdminDep
) -> dict[str, object]:
    total, found = await admin_users.users(
        q=query.q,
        level=query.level,
        status=query.status,
        offset=query.offset,
        limit=query.page_size,
    )
    return success(page(total, query, [user_admin_out(user) for user in found]))


@router.get("/users/{user_id}", response_model=Envelope[UserAdminOut])
async def get_user(user_id: IdPath, _admin: AdminUser, admin_users: AdminDep) -> dict[str, object]:
    return success(user_admin_out(await admin_users.user(user_id)))


@router.put("/users/{user_id}/membership", response_model=Envelope[UserAdminOut])
async def set_level(
    user_id: IdPath, body: LevelIn, admin: AdminUser, admin_users: AdminDep
) -> dict[str, object]:
    user = await admin_users.set_level(admin.id, user_id, body.level, body.expire_at)
    return success(user_admin_out(user))


@router.post(
    "/users/{user_id}/disable",
    response_model=Envelope[UserAdminOut],
    summary="Refuse sign-in, revoke refresh tokens, close live sockets",
)
async def disable_user(
    user_id: IdPath, admin: AdminUser, admin_users: AdminDep
) -> dict[str, object]:
    return success(
        user_admin_out(await admin_users.set_status(admin.id, user_id, AccountStatus.DISABLED))
    )


@router.post("/users/{user_id}/enable", response_model=Envelope[UserAdminOut])
async def enable_user(
    user_id: IdPath, admin: AdminUser, admin_users: AdminDep
) -> dict[str, object]:
    return success(
        user_admin_out(await admin_users.set_status(admin.id, user_id, AccountStatus.ACTIVE))
    )


@router.get("/orders", response_model=Envelope[Page[AdminOrderOut]], summary="Find orders")
async def list_orders(
    query: Annotated[OrderQuery, Query()], _admin: AdminUser, orders: OrdersDep
) -> dict[str, object]:
    total, rows = await orders.search(
        q=query.q,
        status=query.status,
        user_id=query.user_id,
        refund_needed=query.refund_needed,
        offset=query.offset,
        limit=query.page_size,
    )
    items = [
        {**order_out(order), "username": user.username, "email": user.email} for order, user in rows
    ]
    return success(page(total, query, items))


@router.post(
    "/orders/{order_no}/refund",
    response_model=Envelope[OrderOut],
    summary="Refund through the provider and revert the membership period",
)
async def refund_order(
    order_no: OrderNo, _admin: AdminUser, orders: OrdersDep
) -> dict[str, object]:
    return success(order_out(await orders.refund(order_no)))
