"""OpenAI-compatible chat APIs (OpenAI, Qwen, DeepSeek, Ollama, vLLM) through the `openai` SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
from openai import AsyncOpenAI

from .base import CompletionRequest, ProviderError, StreamEvent, Usage
from .sdk import SdkProvider, status_error


class OpenAICompatProvider(SdkProvider):
    kind = "openai"
    key_placeholder = "not-needed"  # local servers (Ollama, vLLM) accept any key
    client_class = AsyncOpenAI

    async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        usage: Usage | None = None
        try:
            stream = await self._client.chat.completions.create(
                model=model,
                messages=[{"role": m.role, "content": m.content} for m in request.messages],
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                stream=True,
                stream_options={"include_usage": True},
            )
            async with stream:
                async for chunk in stream:
                    if chunk.usage is not None:
                        usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                    for choice in chunk.choices:
                        if choice.delta is not None and choice.delta.content:
                            yield StreamEvent(text=choice.delta.content)
        except openai.APIError as exc:
            raise provider_error(exc) from exc
        if usage is not None:
            yield StreamEvent(usage=usage)


def provider_error(exc: openai.APIError) -> ProviderError:
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(f"timed out: {exc}", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError(f"connection failed: {exc}", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        return status_error(str(exc), exc.status_code, exc.response.headers)
    # An error event inside a started stream: the server's trouble, worth another try.
    return ProviderError(f"error in stream: {exc}", retryable=True)
