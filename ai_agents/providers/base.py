"""The one streaming interface every model provider speaks, and the configuration of one.

Kept free of SDK imports: `api.settings` imports `ProviderConfig` from here.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, model_validator

Role = Literal["system", "user", "assistant"]
Tier = Literal["economy", "standard", "premium"]
TIERS: tuple[Tier, ...] = ("economy", "standard", "premium")


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    task: str  # outline | continue | polish | convert | summary | snowflake | review
    messages: list[Message]  # the rendered prompt, for model providers
    inputs: Mapping[str, Any] = field(default_factory=dict)  # raw inputs, for the offline provider
    max_tokens: int = 1024
    temperature: float = 0.8

    def prompt_text(self) -> str:
        """The prompt as one text, as it is kept in the call record."""
        if self.messages:
            return "\n\n".join(f"[{m.role}]\n{m.content}" for m in self.messages)
        return json.dumps(dict(self.inputs), ensure_ascii=False, default=str)


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """A piece of the answer, or (once, usually last) the usage the API reported."""

    text: str = ""
    usage: Usage | None = None


class ProviderError(Exception):
    """A provider call failed. `retryable`: the same call may succeed later (429, 5xx, timeouts,
    dropped connections); otherwise (bad key, bad request) only another provider can help."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after_s = retry_after_s


class Provider(Protocol):
    name: str  # e.g. "openai", "qwen", "anthropic", "offline"
    kind: str  # "openai" | "anthropic" | "offline"

    def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        """Stream the answer; raise `ProviderError` on failure."""
        ...

    async def aclose(self) -> None: ...


class ProviderConfig(BaseModel):
    """One model provider in `INKWEAVE_AI_PROVIDERS`.

    `model` is used for every tier that `models` does not name; tiers are `economy` (free users,
    simple tasks), `standard` and `premium` (paying members, demanding tasks).
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=50)
    kind: Literal["openai", "anthropic"] = "openai"
    base_url: str | None = None
    api_key: str | None = Field(None, repr=False)
    model: str | None = None
    models: dict[Tier, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_a_model(self) -> ProviderConfig:
        if self.name == "offline":
            raise ValueError('"offline" is the built-in offline provider\'s name')
        if not self.model and not self.models:
            raise ValueError(f"provider {self.name!r} needs `model` or `models`")
        return self

    def model_for(self, tier: Tier) -> str:
        """The tier's own model, else the default, else the nearest tier below, then above."""
        if tier in self.models:
            return self.models[tier]
        if self.model:
            return self.model
        index = TIERS.index(tier)
        for candidate in (*reversed(TIERS[:index]), *TIERS[index + 1 :]):
            if candidate in self.models:
                return self.models[candidate]
        raise AssertionError("validated to have a model")


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """`retry-after-ms` (OpenAI) or `Retry-After` (seconds or an HTTP date), if present."""
    if not headers:
        return None
    lowered = {key.lower(): value for key, value in headers.items()}
    try:
        if "retry-after-ms" in lowered:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        value = lowered.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
