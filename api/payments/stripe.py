"""Stripe Checkout over its REST API with httpx: sessions, expiry, refunds, signed webhooks.

Why Stripe rather than Alipay: its webhook scheme is an HMAC any test can reproduce with a
secret it makes up, its API is plain form-encoded HTTP that a small local server can speak
faithfully, and Checkout takes CNY with Alipay and WeChat Pay as payment methods.

Calls follow Stripe's wire format: `application/x-www-form-urlencoded` bodies with bracketed
keys (`line_items[0][price_data][currency]=cny`), `Authorization: Bearer sk_...`, an
`Idempotency-Key` on every create, amounts in the currency's minor unit, errors as
`{"error": {"type", "code", "message", "param"}}`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from .base import (
    AlreadyCompleted,
    Charge,
    Checkout,
    PaymentEvent,
    ProviderError,
    WebhookRejected,
    from_minor,
    to_minor,
    verify_signature_header,
)

SIGNATURE_HEADER = "Stripe-Signature"
# Stripe accepts a Checkout Session lifetime of 30 minutes to 24 hours.
MIN_SESSION_S, MAX_SESSION_S = 31 * 60, 24 * 3600
_PAID = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}


def form_encode(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Flatten nested params the way Stripe's libraries do: `a[b][0][c]=v`."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if value is None:
            continue
        if isinstance(value, Mapping):
            pairs += form_encode(value, name)
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                item_name = f"{name}[{index}]"
                if isinstance(item, Mapping):
                    pairs += form_encode(item, item_name)
                else:
                    pairs.append((item_name, _scalar(item)))
        else:
            pairs.append((name, _scalar(value)))
    return pairs


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _id(value: Any) -> str | None:
    """An expandable field: an id string, or the expanded object."""
    if isinstance(value, Mapping):
        return value.get("id")
    return value if isinstance(value, str) else None


class StripeProvider:
    name = "stripe"

    def __init__(
        self,
        api_key: str,
        webhook_secret: str | None,
        *,
        api_base: str = "https://api.stripe.com",
        tolerance_s: float = 300,
        timeout_s: float = 20.0,
    ) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.api_base = api_base.rstrip("/")
        self.tolerance_s = tolerance_s
        self.timeout_s = timeout_s

    async def _request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        body = form_encode(params or {})
        try:
            async with httpx.AsyncClient(base_url=self.api_base, timeout=self.timeout_s) as http:
                if method == "GET":
                    response = await http.get(path, params=body, headers=headers)
                else:
                    response = await http.post(path, data=dict(body), headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderError(f"Stripe unreachable: {exc.__class__.__name__}") from None
        try:
            payload = response.json()
        except ValueError:
            raise ProviderError(f"Stripe answered {response.status_code} without JSON") from None
        if response.status_code >= 400 or not isinstance(payload, dict):
            error = payload.get("error", {}) if isinstance(payload, dict) else {}
            raise ProviderError(
                f"Stripe: {error.get('message') or response.status_code}",
                status=response.status_code,
                code=error.get("code") or error.get("type"),
            )
        return payload

    async def create_checkout(self, charge: Charge) -> Checkout:
        now = datetime.now(UTC)
        lifetime = (charge.expires_at - now).total_seconds()
        if lifetime < MIN_SESSION_S:
            # Raised from the order's own expiry, not from now: a retry of the same order sends
            # the same parameters, which Stripe's idempotency key requires.
            expires_at = int(charge.expires_at.timestamp()) + MIN_SESSION_S
        else:
            expires_at = int(now.timestamp() + min(lifetime, MAX_SESSION_S))
        params: dict[str, Any] = {
            "mode": "payment",
            "client_reference_id": charge.order_no,
            "customer_email": charge.customer_email,
            "success_url": charge.return_url,
            "cancel_url": charge.return_url,
            "expires_at": expires_at,
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": charge.currency.lower(),
                        "unit_amount": to_minor(charge.amount, charge.currency),
                        "product_data": {"name": charge.description},
                    },
                }
            ],
            "metadata": {"order_no": charge.order_no},
            "payment_intent_data": {"metadata": {"order_no": charge.order_no}},
        }
        session = await self._request(
            "POST", "/v1/checkout/sessions", params, idempotency_key=f"checkout-{charge.order_no}"
        )
        return self._checkout(session)

    def _checkout(self, session: Mapping[str, Any]) -> Checkout:
        url, session_id = session.get("url"), session.get("id")
        if not isinstance(url, str) or not isinstance(session_id, str):
            raise ProviderError("Stripe answered a session without id or url")
        return Checkout(url, provider_ref=session_id)

    async def resume_checkout(self, charge: Charge) -> Checkout:
        if not charge.provider_ref:
            return await self.create_checkout(charge)
        session = await self._request("GET", f"/v1/checkout/sessions/{charge.provider_ref}")
        if session.get("status") != "open":
            raise AlreadyCompleted(f"the Checkout Session is {session.get('status')}")
        return self._checkout(session)

    async def cancel(self, charge: Charge) -> None:
        if not charge.provider_ref:
            return
        path = f"/v1/checkout/sessions/{charge.provider_ref}"
        try:
            await self._request("POST", f"{path}/expire")
        except ProviderError as exc:
            if exc.status is None or exc.status >= 500:
                raise
            # Only an open session can be expired: find out which way it closed.
            status = (await self._request("GET", path)).get("status")
            if status == "complete":
                raise AlreadyCompleted("the payer completed this Checkout Session") from None
            if status != "expired":
                raise

    async def refund(self, charge: Charge) -> None:
        if not charge.payment_id:
            raise ProviderError("this order has no Stripe PaymentIntent to refund")
        await self._request(
            "POST",
            "/v1/refunds",
            {
                "payment_intent": charge.payment_id,
                "amount": to_minor(charge.amount, charge.currency),
                "metadata": {"order_no": charge.order_no},
            },
            idempotency_key=f"refund-{charge.order_no}",
        )

    def parse_webhook(self, body: bytes, headers: Mapping[str, str], now: float) -> PaymentEvent:
        if not self.webhook_secret:
            raise WebhookRejected("no Stripe webhook secret is configured")
        verify_signature_header(
            body,
            headers.get(SIGNATURE_HEADER.lower()) or headers.get(SIGNATURE_HEADER),
            [self.webhook_secret],
            tolerance_s=self.tolerance_s,
            now=now,
        )
        try:
            event = json.loads(body)
            event_id, event_type = str(event["id"]), str(event["type"])
            obj = event["data"]["object"]
            if not isinstance(obj, dict):
                raise TypeError("data.object is not an object")
            return self._event(event_id, event_type, obj)
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected(f"unreadable Stripe event: {exc}") from None

    def _event(self, event_id: str, event_type: str, obj: dict[str, Any]) -> PaymentEvent:
        ignored = PaymentEvent(event_id, "ignored", event_type)
        if event_type.startswith("checkout.session."):
            order_no = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("order_no")
            currency = str(obj.get("currency") or "").upper() or None
            amount_total = obj.get("amount_total")
            common = {
                "order_no": order_no,
                "provider_ref": obj.get("id"),
                "payment_id": _id(obj.get("payment_intent")),
                "currency": currency,
                "amount": (
                    from_minor(amount_total, currency)
                    if isinstance(amount_total, int) and currency
                    else None
                ),
            }
            if event_type in _PAID:
                if obj.get("payment_status") != "paid":
                    return ignored  # an async method (bank debit) still settling
                return PaymentEvent(event_id, "paid", event_type, **common)
            if event_type == "checkout.session.expired":
                return PaymentEvent(event_id, "expired", event_type, **common)
            if event_type == "checkout.session.async_payment_failed":
                return PaymentEvent(event_id, "failed", event_type, **common)
            return ignored
        if event_type == "charge.refunded":
            if not obj.get("refunded"):
                return ignored  # a partial refund: billing only reverses whole orders
            currency = str(obj.get("currency") or "").upper()
            return PaymentEvent(
                event_id,
                "refunded",
                event_type,
                order_no=(obj.get("metadata") or {}).get("order_no"),
                payment_id=_id(obj.get("payment_intent")),
                amount=from_minor(int(obj["amount_refunded"]), currency),
                currency=currency,
            )
        return ignored
