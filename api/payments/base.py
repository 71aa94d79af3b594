"""The seam between billing and a payment provider, and the signature scheme webhooks use.

A provider turns an order into a checkout (a URL the payer opens), cancels or refunds it, and
turns a signed notification into a `PaymentEvent`. Billing (`api.services.orders`) owns every
state change; a provider only speaks its wire format.

Webhook signatures (Stripe's scheme, also used by the sandbox): the header is
`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (several `v1` entries during a secret
rotation); a timestamp further than the tolerance from now is refused, so that a captured
delivery cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

# ISO 4217 currencies without a minor unit, as Stripe lists them; the rest have cents.
ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split()  # noqa: SIM905
)

EventKind = Literal["paid", "failed", "expired", "refunded", "ignored"]


class WebhookRejected(Exception):
    """The notification is not authentic, too old, or unreadable."""


class ProviderError(Exception):
    """The provider refused a call or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class AlreadyCompleted(ProviderError):
    """The checkout cannot be cancelled any more: the payer already paid."""


@dataclass(frozen=True, slots=True)
class Charge:
    """What a provider needs to know about one order."""

    order_no: str
    amount: Decimal
    currency: str
    description: str
    expires_at: datetime
    return_url: str
    customer_email: str | None = None
    customer_id: int | None = None  # the order's owner, to whom the sandbox's pay page is bound
    provider_ref: str | None = None
    payment_id: str | None = None


@dataclass(frozen=True, slots=True)
class Checkout:
    pay_url: str
    provider_ref: str | None


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """A verified notification, in the provider's words (`type`) and in ours (`kind`)."""

    event_id: str
    kind: EventKind
    type: str
    order_no: str | None = None
    provider_ref: str | None = None
    payment_id: str | None = None
    amount: Decimal | None = None
    currency: str | None = None


class PaymentProvider(Protocol):
    name: str

    async def create_checkout(self, charge: Charge) -> Checkout: ...

    async def resume_checkout(self, charge: Charge) -> Checkout: ...

    async def cancel(self, charge: Charge) -> None: ...

    async def refund(self, charge: Charge) -> None: ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str], now: float) -> PaymentEvent:
        """Verify and read one notification; raise `WebhookRejected`."""
        ...


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount in the currency's smallest unit (fen, cents); refuses sub-unit fractions."""
    exponent = 0 if currency.upper() in ZERO_DECIMAL else 2
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise ValueError(f"{amount} {currency} is not a whole number of minor units")
    return int(minor)


def from_minor(value: int, currency: str) -> Decimal:
    exponent = 0 if currency.upper() in ZERO_DECIMAL else 2
    return Decimal(int(value)).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def signature(payload: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    return f"t={timestamp},v1={signature(payload, secret, timestamp)}"


def verify_signature_header(
    payload: bytes,
    header: str | None,
    secrets: Sequence[str],
    *,
    tolerance_s: float,
    now: float,
) -> int:
    """Check a `t=...,v1=...` header against the raw body; return its timestamp."""
    if not header:
        raise WebhookRejected("no signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise WebhookRejected("unreadable signature timestamp") from None
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise WebhookRejected("signature header lacks t= or v1=")
    expected = [signature(payload, secret, timestamp) for secret in secrets if secret]
    if not any(hmac.compare_digest(e, c) for e in expected for c in candidates):
        raise WebhookRejected("signature does not match the body")
    if abs(now - timestamp) > tolerance_s:
        raise WebhookRejected(f"signature timestamp is outside the {tolerance_s:.0f} s tolerance")
    return timestamp
