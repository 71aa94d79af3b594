"""Which model providers the settings configure, and building each one.

The SDK-backed providers are imported only when one is configured: each SDK takes a while to
import, and a deployment on the offline provider needs neither.
"""

from __future__ import annotations

from typing import Protocol

from .base import Provider, ProviderConfig
from .sdk import SdkProvider


class AiSettings(Protocol):
    """The settings the router reads (`api.settings.Settings` has them)."""

    ai_providers: list[ProviderConfig]
    openai_api_key: str | None
    openai_base_url: str | None
    openai_model: str
    anthropic_api_key: str | None
    anthropic_base_url: str | None
    anthropic_model: str
    ai_routes: dict[str, list[str]]
    ai_call_timeout_s: float
    ai_idle_timeout_s: float
    ai_first_piece_timeout_s: float
    ai_retries: int
    ai_backoff_s: float
    ai_offline_fallback: bool
    ai_offline_delay_ms: float


def provider_configs(settings: AiSettings) -> list[ProviderConfig]:
    """`ai_providers`, then the `openai_*` / `anthropic_*` shortcuts unless that name is taken."""
    configs = list(settings.ai_providers)
    names = {config.name for config in configs}
    # (name and kind, whether it is configured, base URL, key, model)
    shortcuts = (
        (
            "openai",
            bool(settings.openai_api_key or settings.openai_base_url),
            settings.openai_base_url,
            settings.openai_api_key,
            settings.openai_model,
        ),
        (
            "anthropic",
            bool(settings.anthropic_api_key),
            settings.anthropic_base_url,
            settings.anthropic_api_key,
            settings.anthropic_model,
        ),
    )
    for kind, configured, base_url, api_key, model in shortcuts:
        if configured and kind not in names:
            configs.append(
                ProviderConfig(
                    name=kind, kind=kind, base_url=base_url, api_key=api_key, model=model
                )
            )
    return configs


def build_provider(config: ProviderConfig, *, timeout_s: float) -> Provider:
    provider_class = _sdk_provider_class(config.kind)
    return provider_class(
        config.name, base_url=config.base_url, api_key=config.api_key, timeout_s=timeout_s
    )


def _sdk_provider_class(kind: str) -> type[SdkProvider]:
    if kind == "anthropic":
        from .anthropic_provider import AnthropicProvider

        return AnthropicProvider
    from .openai_compat import OpenAICompatProvider

    return OpenAICompatProvider
