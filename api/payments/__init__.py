"""Payment providers behind one interface (`base.PaymentProvider`): `sandbox` and `stripe`."""

from __future__ import annotations

from ..settings import Settings
from .base import PaymentProvider
from .sandbox import SandboxProvider


class Payments:
    """The providers this deployment knows, and those it offers for new orders.

    Orders already made with a provider that is no longer offered can still be cancelled and
    refunded through it; the sandbox's webhooks are refused once it is switched off.
    """

    def __init__(self, settings: Settings) -> None:
        self.sandbox = SandboxProvider(
            settings.resolved_secret_key(),
            settings.public_url,
            tolerance_s=settings.stripe_webhook_tolerance_s,
        )
        self.providers: dict[str, PaymentProvider] = {"sandbox": self.sandbox}
        if settings.stripe_secret_key:
            from .stripe import StripeProvider  # httpx loads only where Stripe is configured

            self.providers["stripe"] = StripeProvider(
                settings.stripe_secret_key,
                settings.stripe_webhook_secret,
                api_base=settings.stripe_api_base,
                tolerance_s=settings.stripe_webhook_tolerance_s,
            )
        sandbox_on = settings.payment_sandbox
        if sandbox_on is None:
            sandbox_on = "stripe" not in self.providers
        self.offered = [name for name in self.providers if name != "sandbox" or sandbox_on]

    def get(self, name: str) -> PaymentProvider | None:
        return self.providers.get(name)


__all__ = ["PaymentProvider", "Payments", "SandboxProvider"]
