"""`/api/v1/orders`: buy a plan, follow the order, pay again, cancel."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from storage.sql.models import Order

from ..deps import CurrentUser, OrdersDep
from ..envelope import success
from ..schemas import Envelope, Page, PageQuery

router = APIRouter(prefix="/orders", tags=["orders"])

OrderNo = Annotated[str, Path(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_-]+$")]
OrderStatus = Literal["pending", "paid", "cancelled", "refunded"]


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: Literal["basic", "premium"]
    plan_type: Literal["monthly", "quarterly", "yearly"]
    provider: str = Field(
        "sandbox", max_length=20, description="See GET /payments/providers for those offered"
    )


class OrderOut(BaseModel):
    order_no: str
    user_id: int
    level: str
    plan_type: str
    amount: str = Field(description='Exact decimal, e.g. "39.90"')
    currency: str
    status: str = Field(description="pending, paid, cancelled or refunded")
    payment_method: str
    payment_time: datetime | None
    expire_time: datetime | None = Field(description="Membership end this order set, once paid")
    cancelled_at: datetime | None
    cancel_reason: str | None = Field(description="user, expired, failed or provider")
    refund_needed: bool = Field(description="Paid after it was cancelled: awaiting a refund")
    refunded_at: datetime | None
    created_at: datetime
    updated_at: datetime


class PlacedOut(OrderOut):
    pay_url: str = Field(description="Open this to pay")


class PayUrlOut(BaseModel):
    order_no: str
    pay_url: str


class OrderListQuery(PageQuery):
    status: OrderStatus | None = None


def order_out(order: Order) -> dict[str, Any]:
    fields = {name: getattr(order, name) for name in OrderOut.model_fields if hasattr(order, name)}
    fields["amount"] = str(order.amount)
    fields["refund_needed"] = order.status == "cancelled" and order.late_paid_at is not None
    return OrderOut.model_validate(fields).model_dump(mode="json")


@router.post("", response_model=Envelope[PlacedOut], status_code=201, summary="Buy a plan")
async def create_order(body: OrderIn, user: CurrentUser, orders: OrdersDep) -> dict[str, object]:
    placed = await orders.create(user.id, body.level, body.plan_type, body.provider)
    return success({**order_out(placed.order), "pay_url": placed.pay_url})


@router.get("", response_model=Envelope[Page[OrderOut]], summary="My orders, newest first")
async def list_orders(
    query: Annotated[OrderListQuery, Query()], user: CurrentUser, orders: OrdersDep
) -> dict[str, object]:
    total, rows = await orders.search(
        user_id=user.id, status=query.status, offset=query.offset, limit=query.page_size
    )
    items = [order_out(order) for order, _user in rows]
    return success(
        {"total": total, "page": query.page, "page_size": query.page_size, "items": items}
    )


@router.get("/{order_no}", response_model=Envelope[OrderOut])
async def get_order(order_no: OrderNo, user: CurrentUser, orders: OrdersDep) -> dict[str, object]:
    return success(order_out(await orders.get(order_no, user.id)))


@router.post("/{order_no}/pay", response_model=Envelope[PayUrlOut], summary="Pay a pending order")
async def pay_order(order_no: OrderNo, user: CurrentUser, orders: OrdersDep) -> dict[str, object]:
    url = await orders.pay_url(user.id, order_no)
    return success({"order_no": order_no, "pay_url": url})


@router.post("/{order_no}/cancel", response_model=Envelope[OrderOut], summary="Cancel if unpaid")
async def cancel_order(
    order_no: OrderNo, user: CurrentUser, orders: OrdersDep
) -> dict[str, object]:
    return success(order_out(await orders.cancel(order_no, user_id=user.id)))
