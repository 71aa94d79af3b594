"""The scripted OpenAI-compatible model (`tests/support/fake_llm.py`), served from a thread.

Also the model's own time to its first piece, measured directly through the `openai` SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from paths import REPO
from stats import ms

sys.path.insert(1, str(REPO))  # after bench/: the test suite's scripted model lives in tests/
from tests.support.fake_llm import FakeLLM, RecordedRequest, Reply, running_fake_llm

__all__ = ["Reply", "TimedFakeLLM", "fake_llm_thread", "model_text", "model_ttfb"]

MODEL_TEXT = "春风吹过山岗，河水慢慢地流向远方，村口的老槐树下坐着几个说故事的老人。"


def model_text(chars: int) -> str:
    """`chars` characters of the model's Chinese prose."""
    return (MODEL_TEXT * (chars // len(MODEL_TEXT) + 1))[:chars]


@dataclass
class TimedFakeLLM(FakeLLM):
    """The fake model server, noting when each request arrives (monotonic ns)."""

    arrivals: list[int] = field(default_factory=list)

    async def _receive(self, request: Any, api: Any) -> tuple[RecordedRequest, Reply]:
        self.arrivals.append(time.monotonic_ns())
        return await super()._receive(request, api)


@contextlib.contextmanager
def fake_llm_thread(start_timeout: float) -> Iterator[TimedFakeLLM]:
    """Serve the fake model from its own thread and event loop: it answers on time while this
    script's loop waits on the watcher, and uvicorn leaves the signal handlers alone there."""
    llm = TimedFakeLLM()
    ready = threading.Event()
    control: dict[str, Any] = {}

    async def serve() -> None:
        control["loop"], control["stop"] = asyncio.get_running_loop(), asyncio.Event()
        async with running_fake_llm(llm):
            ready.set()
            await control["stop"].wait()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:
            control["error"] = exc
            ready.set()

    thread = threading.Thread(target=run, name="fake-llm", daemon=True)
    thread.start()
    if not ready.wait(start_timeout) or "error" in control:
        raise RuntimeError(f"the fake model server did not start: {control.get('error')}")
    try:
        yield llm
    finally:
        control["loop"].call_soon_threadsafe(control["stop"].set)
        thread.join(20)


async def model_ttfb(llm: TimedFakeLLM, count: int) -> list[float]:
    """The fake model's own time to its first content piece, through the same SDK, warm."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=llm.openai_base_url, api_key="k", max_retries=0, timeout=30)
    samples = []
    try:
        for _ in range(count + 1):  # the first one opens the connection: not counted
            started = time.monotonic_ns()
            stream = await client.chat.completions.create(
                model="m",
                messages=[{"role": "user", "content": "续写"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            first = None
            async with stream:
                async for chunk in stream:
                    if first is None and any(c.delta and c.delta.content for c in chunk.choices):
                        first = time.monotonic_ns()
            assert first is not None
            samples.append(ms(first - started))
    finally:
        await client.close()
    return samples[1:]
