"""A small but faithful Stripe for tests: its request and response formats, under uvicorn.

It speaks what the Checkout adapter uses: form-encoded bodies with bracketed keys, Bearer API
keys, `Idempotency-Key` (a replay returns the first answer; another body under the same key is
an `idempotency_error`), Checkout Sessions (create, retrieve, expire), refunds, and Stripe's
error shape `{"error": {"type", "code", "param", "message"}}`. A test plays the customer with
`complete(session_id)`, which pays the session and sends `checkout.session.completed` to the
webhook URL, signed with the endpoint secret (`Stripe-Signature: t=...,v1=...`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .asgi import serving
from .server import free_port

API_VERSION = "2024-06-20"


class StripeError(Exception):
    def __init__(
        self, status: int, message: str, *, code: str | None = None, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param

    def response(self) -> JSONResponse:
        error: dict[str, Any] = {"type": "invalid_request_error", "message": self.message}
        if self.code:
            error["code"] = self.code
        if self.param:
            error["param"] = self.param
        return JSONResponse({"error": error}, status_code=self.status)


def parse_form(body: bytes) -> dict[str, Any]:
    """`a[b][0][c]=v` → {"a": {"b": [{"c": "v"}]}}, as Stripe's API reads its bodies."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        _assign(root, re.findall(r"[^\[\]]+", key), value)
    return root


def _assign(node: Any, parts: list[str], value: str) -> None:
    head, rest = parts[0], parts[1:]
    empty: Any = ([] if rest[0].isdigit() else {}) if rest else None
    if isinstance(node, list):
        index = int(head)
        node.extend([None] * (index + 1 - len(node)))
        if not rest:
            node[index] = value
            return
        if node[index] is None:
            node[index] = empty
        _assign(node[index], rest, value)
    elif not rest:
        node[head] = value
    else:
        _assign(node.setdefault(head, empty), rest, value)


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256)
    return f"t={stamp},v1={digest.hexdigest()}"


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


@dataclass
class Recorded:
    method: str
    path: str
    form: dict[str, Any]
    raw: bytes
    headers: dict[str, str]


@dataclass
class FakeStripe:
    api_key: str = field(default_factory=lambda: "sk_test_" + secrets.token_hex(16))
    webhook_secret: str = field(default_factory=lambda: "whsec_" + secrets.token_hex(24))
    webhook_url: str | None = None
    port: int = field(default_factory=free_port)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    deliveries: list[httpx.Response] = field(default_factory=list)
    _idempotent: dict[str, tuple[bytes, int, Any]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # The API -----------------------------------------------------------------------------

    def app(self) -> Starlette:
        routes = [
            Route("/v1/checkout/sessions", self._create_session, methods=["POST"]),
            Route("/v1/checkout/sessions/{sid}", self._get_session, methods=["GET"]),
            Route("/v1/checkout/sessions/{sid}/expire", self._expire_session, methods=["POST"]),
            Route("/v1/refunds", self._create_refund, methods=["POST"]),
        ]
        return Starlette(routes=routes)

    async def _call(self, request: Request, handler: Any) -> JSONResponse:
        raw = await request.body()
        form = parse_form(raw) if request.method == "POST" else dict(request.query_params)
        self.requests.append(
            Recorded(request.method, request.url.path, form, raw, dict(request.headers))
        )
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            shown = request.headers.get("authorization", "")[-4:]
            return StripeError(401, f"Invalid API Key provided: ****{shown}").response()
        key = request.headers.get("idempotency-key")
        if key and key in self._idempotent:
            first_raw, status, payload = self._idempotent[key]
            if first_raw != raw:
                return StripeError(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters",
                    code="idempotency_error",
                ).response()
            return JSONResponse(
                payload, status_code=status, headers={"Idempotent-Replayed": "true"}
            )
        try:
            payload = await handler(request, form)
            status = 200
        except StripeError as error:
            return error.response()
        if key:
            self._idempotent[key] = (raw, status, payload)
        return JSONResponse(payload, status_code=status, headers={"Stripe-Version": API_VERSION})

    async def _create_session(self, request: Request) -> JSONResponse:
        return await self._call(request, self._new_session)

    async def _new_session(self, _request: Request, form: dict[str, Any]) -> dict[str, Any]:
        if form.get("mode") != "payment":
            raise StripeError(
                400, "Missing required param: mode.", code="parameter_missing", param="mode"
            )
        if not form.get("success_url"):
            raise StripeError(
                400,
                "Missing required param: success_url.",
                code="parameter_missing",
                param="success_url",
            )
        items = form.get("line_items")
        if not isinstance(items, list) or not items:
            raise StripeError(
                400,
                "Missing required param: line_items.",
                code="parameter_missing",
                param="line_items",
            )
        total, currency = 0, None
        for index, item in enumerate(items):
            price = item.get("price_data") or {}
            try:
                unit_amount = int(price["unit_amount"])
                quantity = int(item.get("quantity", "1"))
            except (KeyError, ValueError):
                raise StripeError(
                    400,
                    "Invalid integer",
                    code="parameter_invalid_integer",
                    param=f"line_items[{index}][price_data][unit_amount]",
                ) from None
            if not (price.get("product_data") or {}).get("name"):
                raise StripeError(
                    400,
                    "Missing required param: product_data.name",
                    code="parameter_missing",
                    param=f"line_items[{index}][price_data][product_data][name]",
                )
            currency = price.get("currency")
            if not currency or currency != currency.lower():
                raise StripeError(
                    400,
                    "Invalid currency",
                    code="parameter_invalid_string",
                    param=f"line_items[{index}][price_data][currency]",
                )
            total += unit_amount * quantity
        now = int(time.time())
        expires_at = int(form.get("expires_at") or now + 24 * 3600)
        if not now + 30 * 60 <= expires_at <= now + 24 * 3600:
            raise StripeError(
                400,
                "expires_at must be 30 minutes to 24 hours from now",
                code="parameter_invalid_integer",
                param="expires_at",
            )
        session_id = "cs_test_" + secrets.token_hex(16)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": form.get("cancel_url"),
            "client_reference_id": form.get("client_reference_id"),
            "created": now,
            "currency": currency,
            "customer_email": form.get("customer_email"),
            "expires_at": expires_at,
            "livemode": False,
            "metadata": form.get("metadata") or {},
            "mode": "payment",
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": form["success_url"],
            "url": f"{self.url}/c/pay/{session_id}",
            "_payment_intent_metadata": (form.get("payment_intent_data") or {}).get("metadata")
            or {},
        }
        self.sessions[session_id] = session
        return self._public(session)

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _session(self, sid: str) -> dict[str, Any]:
        if sid not in self.sessions:
            raise StripeError(
                404, f"No such checkout.session: '{sid}'", code="resource_missing", param="session"
            )
        return self.sessions[sid]

    async def _get_session(self, request: Request) -> JSONResponse:
        async def get(_request: Request, _form: dict[str, Any]) -> dict[str, Any]:
            return self._public(self._session(request.path_params["sid"]))

        return await self._call(request, get)

    async def _expire_session(self, request: Request) -> JSONResponse:
        async def expire(_request: Request, _form: dict[str, Any]) -> dict[str, Any]:
            session = self._session(request.path_params["sid"])
            if session["status"] != "open":
                raise StripeError(
                    400, 'Only Checkout Sessions with a status in ["open"] can be expired.'
                )
            session["status"] = "expired"
            self._schedule("checkout.session.expired", self._public(session))
            return self._public(session)

        return await self._call(request, expire)

    async def _create_refund(self, request: Request) -> JSONResponse:
        return await self._call(request, self._new_refund)

    async def _new_refund(self, _request: Request, form: dict[str, Any]) -> dict[str, Any]:
        intent = self.payment_intents.get(form.get("payment_intent", ""))
        if intent is None:
            raise StripeError(
                404,
                f"No such payment_intent: '{form.get('payment_intent')}'",
                code="resource_missing",
                param="payment_intent",
            )
        remaining = intent["amount"] - intent["amount_refunded"]
        amount = int(form.get("amount") or remaining)
        if amount > remaining or amount <= 0:
            raise StripeError(
                400,
                "Refund amount is greater than unrefunded amount on charge",
                code="amount_too_large",
                param="amount",
            )
        intent["amount_refunded"] += amount
        refund = {
            "id": _id("re"),
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "charge": intent["latest_charge"],
            "metadata": form.get("metadata") or {},
            "status": "succeeded",
            "created": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        charge = {
            "id": intent["latest_charge"],
            "object": "charge",
            "amount": intent["amount"],
            "amount_refunded": intent["amount_refunded"],
            "currency": intent["currency"],
            "metadata": {},
            "payment_intent": intent["id"],
            "refunded": intent["amount_refunded"] == intent["amount"],
        }
        self._schedule("charge.refunded", charge)
        return refund

    # The customer and the webhooks ------------------------------------------------------

    def event(self, event_type: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
        event = {
            "id": event_id or _id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        return json.dumps(event).encode()

    def signed(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        return {
            "Stripe-Signature": sign(body, self.webhook_secret, timestamp),
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }

    async def deliver(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        assert self.webhook_url, "set webhook_url first"
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(
                self.webhook_url, content=body, headers=headers or self.signed(body)
            )
        self.deliveries.append(response)
        return response

    def _schedule(self, event_type: str, obj: dict[str, Any]) -> None:
        """Stripe sends events after answering the call that caused them."""
        if self.webhook_url:
            body = self.event(event_type, obj)
            asyncio.get_running_loop().call_later(
                0.05, lambda: asyncio.ensure_future(self.deliver(body))
            )

    def pay(self, session_id: str) -> dict[str, Any]:
        """The customer pays the session: a succeeded PaymentIntent, the session complete."""
        session = self.sessions[session_id]
        intent_id = _id("pi")
        self.payment_intents[intent_id] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_refunded": 0,
            "currency": session["currency"],
            "latest_charge": _id("ch"),
            "metadata": session["_payment_intent_metadata"],
            "status": "succeeded",
        }
        session.update(status="complete", payment_status="paid", payment_intent=intent_id)
        return self._public(session)

    async def complete(self, session_id: str) -> httpx.Response:
        """Pay, then notify `checkout.session.completed` as Stripe would."""
        paid = self.pay(session_id)
        return await self.deliver(self.event("checkout.session.completed", paid))


@asynccontextmanager
async def running_fake_stripe(stripe: FakeStripe | None = None) -> AsyncIterator[FakeStripe]:
    stripe = stripe or FakeStripe()
    async with serving(stripe.app(), stripe.port, lifespan="auto"):
        yield stripe
