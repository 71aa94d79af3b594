"""The sandbox provider: a pay page on this server and webhooks signed like Stripe's.

No money moves. The pay page (`/api/v1/payments/sandbox/{order_no}`) plays the provider: its
pay button makes a `payment.succeeded` event, signs it with a key derived from the server's
secret, and delivers it to the same webhook handler a real provider's notification reaches, so
the whole verified, idempotent path runs. Offer it only where free membership is harmless
(`INKWEAVE_PAYMENT_SANDBOX`).

The page is opened in a browser tab, without the API's bearer token, so the pay URL carries the
owner's authority itself: `?t=` an HMAC over the order number and its owner's id, handed out only
by the owner's authenticated `POST /orders` and `POST /orders/{no}/pay`. It is honoured while the
order can still be paid (`INKWEAVE_ORDER_TTL_S`, plus `PAGE_GRACE_S` to see the outcome). The page
puts a per-page CSRF token in its form, an HMAC over the order, its owner and a random nonce that
goes into a `SameSite=Strict`, HttpOnly cookie scoped to the page (the signed double-submit
pattern), so a POST needs the pay token, the form's CSRF token and the cookie of the browser that
rendered the form.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .base import (
    Charge,
    Checkout,
    PaymentEvent,
    WebhookRejected,
    signature_header,
    verify_signature_header,
)

SIGNATURE_HEADER = "Inkweave-Signature"
PAGE_PATH = "/api/v1/payments/sandbox/"
PAGE_GRACE_S = 600  # how long after the order expired its page still shows the outcome
_PAGE_CONTEXT = b"inkweave sandbox pay page v1\x00"
_FORM_CONTEXT = b"inkweave sandbox pay form v1\x00"
_KINDS = {
    "payment.succeeded": "paid",
    "payment.cancelled": "failed",
    "payment.refunded": "refunded",
}


class SandboxProvider:
    name = "sandbox"

    def __init__(self, server_secret: str, public_url: str, *, tolerance_s: float = 300) -> None:
        # A key of its own, so that a leaked sandbox key signs nothing else.
        self.key = hmac.new(
            server_secret.encode(), b"inkweave sandbox payments", hashlib.sha256
        ).hexdigest()
        self.public_url = public_url.rstrip("/")
        self.tolerance_s = tolerance_s

    def _mac(self, context: bytes, *parts: str | int) -> str:
        message = context + "\x00".join(str(part) for part in parts).encode()
        return hmac.new(self.key.encode(), message, hashlib.sha256).hexdigest()

    def page_token(self, order_no: str, owner_id: int) -> str:
        """What lets the owner's browser open the pay page of `order_no`."""
        return self._mac(_PAGE_CONTEXT, order_no, owner_id)

    def form_token(self, order_no: str, owner_id: int, nonce: str) -> str:
        """The CSRF token of one rendering of the page; `nonce` is in that browser's cookie."""
        return self._mac(_FORM_CONTEXT, order_no, owner_id, nonce)

    def page_url(self, order_no: str, owner_id: int) -> str:
        token = self.page_token(order_no, owner_id)
        return f"{self.public_url}{PAGE_PATH}{order_no}?t={token}"

    async def create_checkout(self, charge: Charge) -> Checkout:
        if charge.customer_id is None:
            raise ValueError("a sandbox pay page is bound to the order's owner")
        url = self.page_url(charge.order_no, charge.customer_id)
        return Checkout(url, provider_ref=f"sb_{charge.order_no}")

    async def resume_checkout(self, charge: Charge) -> Checkout:
        return await self.create_checkout(charge)

    async def cancel(self, charge: Charge) -> None:
        return None

    async def refund(self, charge: Charge) -> None:
        return None

    def event_body(
        self,
        order_no: str,
        amount: Decimal,
        currency: str,
        *,
        type: str = "payment.succeeded",
        event_id: str | None = None,
    ) -> bytes:
        event = {
            "id": event_id or f"evt_sb_{secrets.token_hex(12)}",
            "type": type,
            "created": int(time.time()),
            "data": {
                "order_no": order_no,
                "amount": str(amount),
                "currency": currency,
                "provider_ref": f"sb_{order_no}",
                "payment_id": f"sbpay_{order_no}",
            },
        }
        return json.dumps(event, separators=(",", ":")).encode()

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = int(time.time()) if timestamp is None else timestamp
        return {SIGNATURE_HEADER: signature_header(body, self.key, stamp)}

    def parse_webhook(self, body: bytes, headers: Mapping[str, str], now: float) -> PaymentEvent:
        verify_signature_header(
            body,
            headers.get(SIGNATURE_HEADER.lower()) or headers.get(SIGNATURE_HEADER),
            [self.key],
            tolerance_s=self.tolerance_s,
            now=now,
        )
        try:
            event: dict[str, Any] = json.loads(body)
            data = event["data"]
            event_type = str(event["type"])
            amount = Decimal(str(data["amount"]))
            if not amount.is_finite():
                raise ValueError("amount is not a number")
            return PaymentEvent(
                event_id=str(event["id"]),
                kind=_KINDS.get(event_type, "ignored"),  # type: ignore[arg-type]
                type=event_type,
                order_no=str(data["order_no"]),
                provider_ref=data.get("provider_ref"),
                payment_id=data.get("payment_id"),
                amount=amount,
                currency=str(data["currency"]).upper(),
            )
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            raise WebhookRejected(f"unreadable sandbox event: {exc}") from None
