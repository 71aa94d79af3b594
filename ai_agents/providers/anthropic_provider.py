"""Anthropic's Messages API through the `anthropic` SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic
from anthropic import AsyncAnthropic

from .base import CompletionRequest, ProviderError, StreamEvent, Usage
from .sdk import SdkProvider, status_error

# Error types Anthropic sends inside an already started stream that another try may cure.
_RETRYABLE_STREAM_ERRORS = {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}


class AnthropicProvider(SdkProvider):
    kind = "anthropic"
    client_class = AsyncAnthropic

    async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        messages: list[Any] = [
            {"role": m.role, "content": m.content} for m in request.messages if m.role != "system"
        ]
        # The SDK this project pins no longer takes `temperature` (newer models fix it).
        extra: dict[str, Any] = {"system": system} if system else {}
        prompt_tokens = 0
        completion_tokens = 0
        reported = False
        try:
            stream = await self._client.messages.create(
                model=model, max_tokens=request.max_tokens, messages=messages, stream=True, **extra
            )
            async with stream:
                async for event in stream:
                    if event.type == "message_start":
                        usage = event.message.usage
                        prompt_tokens = _input_tokens(usage)
                        completion_tokens = usage.output_tokens or 0
                        reported = True
                    elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                        if event.delta.text:
                            yield StreamEvent(text=event.delta.text)
                    elif event.type == "message_delta":
                        # Counts here are cumulative; input counts appear only in newer APIs.
                        if event.usage.input_tokens is not None:
                            prompt_tokens = _input_tokens(event.usage)
                        completion_tokens = event.usage.output_tokens
                        reported = True
        except anthropic.APIError as exc:
            raise provider_error(exc) from exc
        if reported:
            yield StreamEvent(usage=Usage(prompt_tokens, completion_tokens))


def _input_tokens(usage: Any) -> int:
    """Anthropic splits input into uncached, cache-writing and cache-reading tokens."""
    return sum(
        getattr(usage, name, None) or 0
        for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )


def provider_error(exc: anthropic.APIError) -> ProviderError:
    if isinstance(exc, anthropic.APITimeoutError):
        return ProviderError(f"timed out: {exc}", retryable=True)
    if isinstance(exc, anthropic.APIConnectionError):
        return ProviderError(f"connection failed: {exc}", retryable=True)
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        if status < 400:  # an `error` event inside a stream that had started with 200
            kind = _stream_error_type(exc.body)
            return ProviderError(
                f"error in stream: {exc}", retryable=kind in _RETRYABLE_STREAM_ERRORS
            )
        return status_error(str(exc), status, exc.response.headers)
    return ProviderError(f"error in stream: {exc}", retryable=True)


def _stream_error_type(body: object) -> str | None:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("type"), str):
            return error["type"]
    return None
