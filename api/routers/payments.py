"""`/api/v1/payments`: providers on offer, provider webhooks, and the sandbox's pay page.

The pay page is the owner's alone: its URL carries the owner's page token, its form a per-page
CSRF token checked against a cookie (see `api.payments.sandbox`). Anyone else's GET or POST is
refused (403) and changes nothing.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import timedelta
from html import escape
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from storage.sql.models import Order

from ..deps import OrdersDep, SettingsDep
from ..envelope import success
from ..errors import AppError, Err
from ..payments.sandbox import PAGE_GRACE_S, PAGE_PATH
from ..schemas import Envelope
from ..services.membership import LEVEL_NAMES, PERIOD_NAMES, utcnow
from ..services.orders import Orders
from ..settings import Settings
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


PAGE_COOKIE = "inkweave_pay_nonce"
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
PageToken = Annotated[str, Query(max_length=128, description="From the order's `pay_url`")]
FormToken = Annotated[str, Form(max_length=128)]


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


async def _sandbox_order(orders: Orders, order_no: str, page_token: str) -> Order:
    """The order, for the browser holding its owner's page token (while it can be paid, and
    `PAGE_GRACE_S` after); 403 for anyone else."""
    order = await orders.get(order_no)
    if order.payment_method != "sandbox" or "sandbox" not in orders.payments.offered:
        raise AppError(Err.NOT_FOUND, f"no sandbox order {order_no}")
    expected = orders.payments.sandbox.page_token(order.order_no, order.user_id)
    if not page_token or not _same(page_token, expected):
        raise AppError(Err.FORBIDDEN, "open the pay page through the pay_url of your order")
    if utcnow() > order.created_at + orders.ttl + timedelta(seconds=PAGE_GRACE_S):
        raise AppError(Err.FORBIDDEN, "this pay link has expired; see the order in Inkweave")
    return order


def _form(orders: Orders, order: Order, page_token: str, nonce: str) -> str:
    csrf = orders.payments.sandbox.form_token(order.order_no, order.user_id, nonce)
    return (
        f'<form method="post" action="{escape(PAGE_PATH + order.order_no)}">'
        f'<input type="hidden" name="t" value="{escape(page_token)}">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        '<button name="action" value="pay">支付 Pay</button>'
        '<button name="action" value="cancel">取消 Cancel</button>'
        "</form>"
    )


def _set_nonce(response: HTMLResponse, order: Order, nonce: str, settings: Settings) -> None:
    """The CSRF nonce, for this order's page only, never sent along by another site's form."""
    secure = settings.public_url.startswith("https://")
    response.set_cookie(
        PAGE_COOKIE,
        nonce,
        max_age=settings.order_ttl_s + PAGE_GRACE_S,
        path=PAGE_PATH + order.order_no,
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def _page(content: str) -> HTMLResponse:
    # The URL carries the owner's token: keep the page out of caches.
    return HTMLResponse(_PAGE.format(content=content), headers={"Cache-Control": "no-store"})


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


@router.get(
    "/sandbox/{order_no}",
    response_class=HTMLResponse,
    summary="Sandbox pay page",
    description="Open the `pay_url` of your order (it carries `t`); 403 without it.",
)
async def sandbox_page(
    order_no: OrderNo,
    orders: OrdersDep,
    settings: SettingsDep,
    request: Request,
    t: PageToken = "",
) -> HTMLResponse:
    order = await _sandbox_order(orders, order_no, t)
    if order.status != "pending":
        return _page(_details(order))
    nonce = request.cookies.get(PAGE_COOKIE, "")
    if not _NONCE.fullmatch(nonce):  # a second tab keeps the first one's nonce, so both forms work
        nonce = secrets.token_urlsafe(24)
    response = _page(_details(order) + _form(orders, order, t, nonce))
    _set_nonce(response, order, nonce, settings)
    return response


@router.post(
    "/sandbox/{order_no}",
    response_class=HTMLResponse,
    summary="The sandbox pay page's buttons",
    description="Plays the provider: makes a `payment.succeeded` (or `payment.cancelled`) "
    "event, signs it with the sandbox key and delivers it to the webhook handler. Only the "
    "form of the page: the owner's page token `t`, the page's `csrf` token and its cookie.",
)
async def sandbox_action(
    order_no: OrderNo,
    action: Annotated[Literal["pay", "cancel"], Form()],
    orders: OrdersDep,
    settings: SettingsDep,
    request: Request,
    t: FormToken = "",
    csrf: FormToken = "",
) -> HTMLResponse:
    order = await _sandbox_order(orders, order_no, t)
    nonce = request.cookies.get(PAGE_COOKIE, "")
    expected = orders.payments.sandbox.form_token(order.order_no, order.user_id, nonce)
    if not _NONCE.fullmatch(nonce) or not csrf or not _same(csrf, expected):
        raise AppError(Err.FORBIDDEN, "the pay page's form has expired: open the pay_url again")
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
    return _page(content)
