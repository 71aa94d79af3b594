"""A scriptable model server on loopback speaking OpenAI's and Anthropic's streaming wire formats.

`POST /v1/chat/completions` answers as OpenAI's Chat Completions API does with `stream: true`
(chunks with `choices[0].delta.content`, a usage chunk when `stream_options.include_usage`, then
`data: [DONE]`); `POST /v1/messages` as Anthropic's Messages API does (message_start with usage,
content_block_start, content_block_delta text_delta, content_block_stop, message_delta with usage,
message_stop). Both also answer without `stream`, in one JSON body.

Script the next answers with `llm.script(Reply(...), ...)` (each request takes the next one; when
none is left, `llm.default` answers); every request is kept in `llm.requests`. Point the real SDKs
at it with `llm.openai_base_url` / `llm.anthropic_base_url`, or the app with
`INKWEAVE_AI_PROVIDERS=[llm.provider_config("openai")]`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .asgi import serving
from .server import free_port

Api = Literal["openai", "anthropic"]


@dataclass
class Reply:
    """One scripted answer."""

    text: str = "好的。"
    chunk_chars: int = 2  # the text goes out in pieces of this many characters...
    chunks: list[str] | None = None  # ...unless given piece by piece
    status: int = 200  # anything else: an error body in the API's format
    headers: dict[str, str] = field(default_factory=dict)  # e.g. {"retry-after": "0"}
    error_message: str = "scripted failure"
    delay_s: float = 0.0  # before the response starts
    chunk_delay_s: float = 0.0  # before each piece
    stall_after: int | None = None  # after this many pieces, go silent for stall_s
    stall_s: float = 0.0
    error_after: int | None = None  # after this many pieces, send an error event and stop
    usage: tuple[int, int] | None = None  # (prompt, completion) tokens; default: characters
    report_usage: bool = True

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        size = max(1, self.chunk_chars)
        return [self.text[i : i + size] for i in range(0, len(self.text), size)]


@dataclass(frozen=True)
class RecordedRequest:
    api: Api
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def model(self) -> str:
        return str(self.body.get("model"))

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    @property
    def system(self) -> str:
        """The system prompt, wherever the API puts it."""
        if self.api == "anthropic":
            system = self.body.get("system") or ""
            if isinstance(system, list):
                return "".join(block.get("text", "") for block in system)
            return str(system)
        return "\n\n".join(m["content"] for m in self.messages if m.get("role") == "system")

    @property
    def prompt_chars(self) -> int:
        text = self.system + "".join(
            str(m.get("content")) for m in self.messages if m.get("role") != "system"
        )
        return len(text)


@dataclass
class FakeLLM:
    port: int = field(default_factory=free_port)
    default: Reply = field(default_factory=Reply)
    replies: deque[Reply] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)
    # `POST /v1/moderations` flags an input holding any of these (category "harassment").
    flagged_words: set[str] = field(default_factory=set)

    @property
    def openai_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def provider_config(
        self, name: str, kind: Api = "openai", *, model: str = "fake-model"
    ) -> dict[str, Any]:
        """An entry for `Settings.ai_providers` that points at this server."""
        base_url = self.openai_base_url if kind == "openai" else self.anthropic_base_url
        return {
            "name": name,
            "kind": kind,
            "base_url": base_url,
            "api_key": "sk-fake",
            "model": model,
        }

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._openai, methods=["POST"]),
                Route("/v1/messages", self._anthropic, methods=["POST"]),
                Route("/v1/moderations", self._moderations, methods=["POST"]),
            ]
        )

    def _take(self) -> Reply:
        return self.replies.popleft() if self.replies else self.default

    async def _receive(self, request: Request, api: Api) -> tuple[RecordedRequest, Reply]:
        body = await request.json()
        recorded = RecordedRequest(api, request.url.path, dict(request.headers), body)
        self.requests.append(recorded)
        return recorded, self._take()

    async def _moderations(self, request: Request) -> Response:
        """OpenAI's moderation endpoint: one result per input, flagged by `flagged_words`."""
        body = await request.json()
        recorded = RecordedRequest("openai", request.url.path, dict(request.headers), body)
        self.requests.append(recorded)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        results = []
        for text in inputs:
            flagged = any(word in text for word in self.flagged_words)
            categories = {"harassment": flagged, "violence": False, "sexual": False}
            scores = {name: 0.9 if on else 0.01 for name, on in categories.items()}
            results.append(
                {"flagged": flagged, "categories": categories, "category_scores": scores}
            )
        return JSONResponse({"id": "modr-fake", "model": body.get("model"), "results": results})

    async def _openai(self, request: Request) -> Response:
        recorded, reply = await self._receive(request, "openai")
        if not await _pause(request, reply.delay_s):
            return Response(status_code=499)
        if reply.status != 200:
            error_type = "rate_limit_exceeded" if reply.status == 429 else "server_error"
            body = {"error": {"message": reply.error_message, "type": error_type, "code": None}}
            return JSONResponse(body, status_code=reply.status, headers=reply.headers)
        prompt, completion = reply.usage or (recorded.prompt_chars, len(reply.text))
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        if not recorded.body.get("stream"):
            message = {"role": "assistant", "content": reply.text}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            body = _openai_chunk(recorded.model, [], object_="chat.completion")
            body.update(choices=[choice], usage=usage if reply.report_usage else None)
            return JSONResponse(body, headers=reply.headers)
        include_usage = bool((recorded.body.get("stream_options") or {}).get("include_usage"))

        async def events() -> AsyncIterator[str]:
            model = recorded.model
            yield _sse(_openai_chunk(model, [_delta({"role": "assistant", "content": ""})]))
            for count, piece in enumerate(reply.pieces()):
                if not await _before_piece(request, reply, count):
                    return
                if reply.error_after is not None and count >= reply.error_after:
                    yield _sse({"error": {"message": reply.error_message, "type": "server_error"}})
                    return
                yield _sse(_openai_chunk(model, [_delta({"content": piece})]))
            yield _sse(_openai_chunk(model, [_delta({}, finish_reason="stop")]))
            if include_usage and reply.report_usage:
                yield _sse(_openai_chunk(model, [], usage=usage))
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream", headers=reply.headers)

    async def _anthropic(self, request: Request) -> Response:
        recorded, reply = await self._receive(request, "anthropic")
        if not await _pause(request, reply.delay_s):
            return Response(status_code=499)
        if reply.status != 200:
            error_type = {429: "rate_limit_error", 529: "overloaded_error"}.get(
                reply.status, "api_error"
            )
            body = {"type": "error", "error": {"type": error_type, "message": reply.error_message}}
            return JSONResponse(body, status_code=reply.status, headers=reply.headers)
        prompt, completion = reply.usage or (recorded.prompt_chars, len(reply.text))
        message = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": recorded.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": prompt, "output_tokens": 1},
        }
        if not recorded.body.get("stream"):
            message.update(
                content=[{"type": "text", "text": reply.text}],
                stop_reason="end_turn",
                usage={"input_tokens": prompt, "output_tokens": completion},
            )
            return JSONResponse(message, headers=reply.headers)

        async def events() -> AsyncIterator[str]:
            yield _sse({"type": "message_start", "message": message}, "message_start")
            block = {"type": "content_block_start", "index": 0}
            block["content_block"] = {"type": "text", "text": ""}
            yield _sse(block, "content_block_start")
            yield _sse({"type": "ping"}, "ping")
            for count, piece in enumerate(reply.pieces()):
                if not await _before_piece(request, reply, count):
                    return
                if reply.error_after is not None and count >= reply.error_after:
                    error = {"type": "overloaded_error", "message": reply.error_message}
                    yield _sse({"type": "error", "error": error}, "error")
                    return
                delta = {"type": "text_delta", "text": piece}
                yield _sse(
                    {"type": "content_block_delta", "index": 0, "delta": delta},
                    "content_block_delta",
                )
            yield _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
            delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}
            if reply.report_usage:
                delta["usage"] = {"output_tokens": completion}
            else:
                delta["usage"] = {"output_tokens": 0}
            yield _sse(delta, "message_delta")
            yield _sse({"type": "message_stop"}, "message_stop")

        return StreamingResponse(events(), media_type="text/event-stream", headers=reply.headers)


def _openai_chunk(
    model: str,
    choices: list[dict[str, Any]],
    *,
    usage: dict[str, int] | None = None,
    object_: str = "chat.completion.chunk",
) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": object_,
        "created": int(time.time()),
        "model": model,
        "choices": choices,
    }
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def _delta(delta: dict[str, Any], *, finish_reason: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "finish_reason": finish_reason}


def _sse(data: dict[str, Any], event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _before_piece(request: Request, reply: Reply, count: int) -> bool:
    pause = reply.chunk_delay_s
    if reply.stall_after is not None and count == reply.stall_after:
        pause += reply.stall_s
    return await _pause(request, pause)


async def _pause(request: Request, seconds: float) -> bool:
    """Sleep, but stop early (False) once the client has gone, so a shutdown never waits on it."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(0.05, left))  # part of the test: the scripted model pause
        if await request.is_disconnected():
            return False
    return True


@asynccontextmanager
async def running_fake_llm(llm: FakeLLM | None = None) -> AsyncIterator[FakeLLM]:
    """Serve `llm` (a new one by default) on 127.0.0.1 until the block ends."""
    llm = llm or FakeLLM()
    async with serving(llm.app(), llm.port, timeout_graceful_shutdown=2):
        yield llm
