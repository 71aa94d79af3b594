"""`/api/v1/payments`: providers on offer, provider webhooks, and the sandbox's pay page."""

from __future__ import annotations

from html import escape
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from storage.sql.models import Order

from ..deps import OrdersDep, SettingsDep
from ..envelope import success
from ..errors import AppError, Err
from ..schemas import Envelope
from ..services.membership import LEVEL_NAMES, PERIOD_NAMES
from ..services.orders import Orders
from .orders import OrderNo

router = APIRouter(prefix="/payments", tags=["payments"])

ProviderName = Annotated[str, Path(min_length=1, max_length=20, pattern=r"^[a-z0-9_]+$")]


class ProvidersOut(BaseModel):
    providers: list[str] = Field(description="Names to pass as `provider` when ordering")


class DeliveryOut(BaseModel):
    outcome: str = Field(
        description="paid, already_paid, refund_needed, cancelled, refunded, already_refunded, "
        "ignored, duplicate or unknown_order"
    )
    order_no: str | None


@router.get("/providers", response_model=Envelope[ProvidersOut])
async def providers(orders: OrdersDep) -> dict[str, object]:
    return success({"providers": orders.payments.offered})


@router.post(
    "/webhooks/{provider}",
    response_model=Envelope[DeliveryOut],
    summary="Provider notifications (signed)",
    description="Called by the payment provider. The raw body must carry a valid signature "
    "header (`Stripe-Signature`, or `Inkweave-Signature` for the sandbox). A delivery already "
    "processed is acknowledged with outcome `duplicate` and changes nothing.",
)
async def webhook(provider: ProviderName, request: Request, orders: OrdersDep) -> dict[str, object]:
    body = await request.body()
    delivery = await orders.receive(provider, body, request.headers)
    return success({"outcome": delivery.outcome, "order_no": delivery.order_no})


# The sandbox pay page ----------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Inkweave 沙箱支付 · Sandbox payment</title>
<style>body{{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}}
dt{{color:#666}}button{{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem}}</style>
</head><body>
<h1>沙箱支付 <small>Sandbox payment</small></h1>
<p>不会产生真实扣款。No money moves here.</p>
{content}
</body></html>"""


async def _sandbox_order(orders: Orders, order_no: str) -> Order:
    order = await orders.get(order_no)
    if order.payment_method != "sandbox" or "sandbox" not in orders.payments.offered:
        raise AppError(Err.NOT_FOUND, f"no sandbox order {order_no}")
    return order


def _details(order: Order) -> str:
    level = LEVEL_NAMES[order.level]
    period = PERIOD_NAMES[order.plan_type]
    return (
        "<dl>"
        f"<dt>订单号 Order</dt><dd>{escape(order.order_no)}</dd>"
        f"<dt>套餐 Plan</dt><dd>{level[0]} · {period[0]} ({level[1]}, {period[1]})</dd>"
        f"<dt>金额 Amount</dt><dd><strong>{order.amount} {escape(order.currency)}</strong></dd>"
        f"<dt>状态 Status</dt><dd>{escape(order.status)}</dd>"
        "</dl>"
    )


@router.get("/sandbox/{order_no}", response_class=HTMLResponse, summary="Sandbox pay page")
async def sandbox_page(order_no: OrderNo, orders: OrdersDep) -> HTMLResponse:
    order = await _sandbox_order(orders, order_no)
    content = _details(order)
    if order.status == "pending":
        action = f"/api/v1/payments/sandbox/{escape(order.order_no)}"
        content += (
            f'<form method="post" action="{action}">'
            '<button name="action" value="pay">支付 Pay</button>'
            '<button name="action" value="cancel">取消 Cancel</button>'
            "</form>"
        )
    return HTMLResponse(_PAGE.format(content=content))


@router.post(
    "/sandbox/{order_no}",
    response_class=HTMLResponse,
    summary="The sandbox pay page's buttons",
    description="Plays the provider: makes a `payment.succeeded` (or `payment.cancelled`) "
    "event, signs it with the sandbox key and delivers it to the webhook handler.",
)
async def sandbox_action(
    order_no: OrderNo,
    action: Annotated[Literal["pay", "cancel"], Form()],
    orders: OrdersDep,
    settings: SettingsDep,
) -> HTMLResponse:
    order = await _sandbox_order(orders, order_no)
    if order.status != "pending":
        outcome = order.status  # the page was stale: nothing to pay or cancel
    elif await orders.expire_if_due(order):
        outcome = "expired"
    else:
        sandbox = orders.payments.sandbox
        event_type = "payment.succeeded" if action == "pay" else "payment.cancelled"
        body = sandbox.event_body(order.order_no, order.amount, order.currency, type=event_type)
        headers = {name.lower(): value for name, value in sandbox.sign(body).items()}
        outcome = (await orders.receive("sandbox", body, headers)).outcome
    order = await orders.get(order_no)
    back = f"{settings.public_url.rstrip('/')}/?order_no={order.order_no}"
    content = (
        f"<p>结果 Outcome: <strong>{escape(outcome)}</strong></p>{_details(order)}"
        f'<p><a href="{escape(back)}">返回 Back to Inkweave</a></p>'
    )
    return HTMLResponse(_PAGE.format(content=content))
