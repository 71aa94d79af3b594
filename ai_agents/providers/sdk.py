"""What the SDK-backed providers (`openai_compat`, `anthropic_provider`) share: a client that never
reads the environment and never retries, and how an HTTP status becomes a `ProviderError`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .base import ProviderError, retry_after_seconds

RETRYABLE_STATUSES = frozenset({408, 409, 429})


class SdkProvider:
    """A provider that talks to its API through an SDK whose async client is `client_class`."""

    kind: str
    client_class: ClassVar[type[Any]]
    # Sent when no key is configured, so the SDK never falls back to the environment.
    key_placeholder = "not-configured"

    def __init__(
        self, name: str, *, base_url: str | None, api_key: str | None, timeout_s: float
    ) -> None:
        self.name = name
        # Retries belong to the router, which also fails over to the next provider.
        self._client = self.client_class(
            base_url=base_url or None,
            api_key=api_key or self.key_placeholder,
            max_retries=0,
            timeout=timeout_s,
        )

    async def aclose(self) -> None:
        await self._client.close()


def status_error(message: str, status: int, headers: Mapping[str, str] | None) -> ProviderError:
    """An HTTP error answer: rate limits, timeouts, conflicts and server errors may pass."""
    return ProviderError(
        message,
        retryable=status in RETRYABLE_STATUSES or status >= 500,
        status=status,
        retry_after_s=retry_after_seconds(headers),
    )
