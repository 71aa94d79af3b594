"""Bounded waits on a condition: how a test waits for something that happens in another task,
thread or process, instead of sleeping for a guessed time.

The deadline is generous (a busy 2-core machine stretches everything); a test that waits here
only fails when the awaited thing never happens, never because the machine was slow.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

DEADLINE_S = 60.0
POLL_S = 0.02


async def eventually(
    probe: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = DEADLINE_S,
    interval: float = POLL_S,
    what: str = "",
) -> T:
    """Call `probe` (sync or async) until it returns something truthy; return that value.

    An `AssertionError` raised by the probe counts as "not yet", so a probe may be a block of
    assertions. After `timeout` the last error (or a plain failure) is raised.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: BaseException | None = None
    while True:
        try:
            value = probe()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value  # type: ignore[return-value]
        except AssertionError as exc:
            last = exc
        if loop.time() >= deadline:
            message = f"not within {timeout:g}s: {what or getattr(probe, '__name__', 'probe')}"
            raise AssertionError(message) from last
        await asyncio.sleep(interval)  # the poll interval of a bounded wait, not a timing guess


def eventually_sync(
    probe: Callable[[], T],
    *,
    timeout: float = DEADLINE_S,
    interval: float = POLL_S,
    what: str = "",
) -> T:
    """`eventually` for code outside an event loop (subprocess start-up, threads)."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            value = probe()
            if value:
                return value
        except AssertionError as exc:
            last = exc
        if time.monotonic() >= deadline:
            message = f"not within {timeout:g}s: {what or getattr(probe, '__name__', 'probe')}"
            raise AssertionError(message) from last
        time.sleep(interval)  # the poll interval of a bounded wait, not a timing guess
