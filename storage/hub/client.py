"""One worker process's connection to the local hub, and the bus and key-value store over it.

`HubBus` and `HubKeyValue` share one `HubConnection`. The hub lives in the supervising process;
if the connection ends, the worker cannot keep its documents converged with the other workers,
so `on_lost` runs (the CLI stops the worker, and the supervisor starts a new one).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from ..bus.base import Handler
from .protocol import Frame, Op, encode, read_frame

log = logging.getLogger(__name__)


class HubUnavailable(ConnectionError):
    """The local hub did not answer: the supervising process is gone."""


class HubConnection:
    def __init__(self, path: Path, *, on_lost: Callable[[], None] | None = None) -> None:
        self.path = path
        self._on_lost = on_lost
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[bytes]] = {}
        self._ids = itertools.count(1)
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._users = 0
        self._closing = False
        self._connecting = asyncio.Lock()

    async def open(self) -> None:
        """Connect on the first call; later calls (the bus, then the key-value store) share it."""
        self._users += 1
        async with self._connecting:
            if self._writer is None:
                reader, self._writer = await asyncio.open_unix_connection(str(self.path))
                self._reader_task = asyncio.create_task(self._read(reader), name="local-hub")

    async def close(self) -> None:
        self._users -= 1
        if self._users > 0 or self._writer is None:
            return
        self._closing = True
        self._writer.close()
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
        self._writer = None

    def send(self, frame: Frame) -> None:
        if self._writer is None or self._writer.is_closing():
            raise HubUnavailable("the local hub is not connected")
        self._writer.write(encode(frame))

    async def request(self, op: Op, *, channel: str = "", body: bytes = b"") -> bytes:
        request = next(self._ids)
        answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[request] = answer
        try:
            self.send(Frame(op, request, channel, body))
            return await answer
        finally:
            self._pending.pop(request, None)

    def add_handler(self, channel: str, handler: Handler) -> bool:
        """Whether this is the channel's first handler (the hub must be told)."""
        self._handlers[channel].append(handler)
        return len(self._handlers[channel]) == 1

    def remove_handler(self, channel: str, handler: Handler) -> bool:
        """Whether that was the channel's last handler."""
        handlers = self._handlers.get(channel)
        if not handlers or handler not in handlers:
            return False
        handlers.remove(handler)
        if handlers:
            return False
        del self._handlers[channel]
        return True

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                frame = await read_frame(reader)
                if frame.op == Op.MESSAGE:
                    self._deliver(frame)
                else:
                    answer = self._pending.get(frame.request)
                    if answer is not None and not answer.done():
                        answer.set_result(frame.body)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if self._writer is not None:
                self._writer.close()  # so that every later `send` refuses at once
            for answer in self._pending.values():
                if not answer.done():
                    answer.set_exception(HubUnavailable("the local hub closed the connection"))
            if not self._closing:
                log.error("lost the local hub")
                if self._on_lost is not None:
                    self._on_lost()

    def _deliver(self, frame: Frame) -> None:
        for handler in list(self._handlers.get(frame.channel, ())):
            try:
                handler(frame.body)
            except Exception:
                log.exception("bus handler failed", extra={"channel": frame.channel})


class HubBus:
    """The bus between the worker processes of one node."""

    def __init__(self, connection: HubConnection) -> None:
        self.node_id = uuid.uuid4().hex
        self._connection = connection

    async def start(self) -> None:
        await self._connection.open()

    async def close(self) -> None:
        await self._connection.close()

    async def publish(self, channel: str, payload: bytes) -> None:
        self._connection.send(Frame(Op.PUBLISH, 0, channel, payload))

    async def subscribe(self, channel: str, handler: Handler) -> None:
        if self._connection.add_handler(channel, handler):
            await self._connection.request(Op.SUBSCRIBE, channel=channel)

    async def unsubscribe(self, channel: str, handler: Handler) -> None:
        if self._connection.remove_handler(channel, handler):
            with contextlib.suppress(HubUnavailable):
                await self._connection.request(Op.UNSUBSCRIBE, channel=channel)

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        """The hub never reconnects: a worker that loses it stops (`on_lost`)."""


class HubKeyValue:
    """Counters, revoked tokens and quotas shared by the worker processes of one node."""

    def __init__(self, connection: HubConnection) -> None:
        self._connection = connection
        self._opened: asyncio.Future[None] | None = None

    async def _call(self, method: str, *args: Any) -> Any:
        if self._opened is None:  # first use: limits are checked before the adapters start
            self._opened = asyncio.ensure_future(self._connection.open())
        await self._opened
        body = json.dumps([method, *args]).encode()
        answer = json.loads(await self._connection.request(Op.KV, body=body))
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["ok"]

    async def hit(self, key: str, window_s: float) -> tuple[int, float]:
        count, left = await self._call("hit", key, window_s)
        return int(count), float(left)

    async def hit_many(self, hits: Sequence[tuple[str, float]]) -> list[tuple[int, float]]:
        answers = await self._call("hit_many", [[key, window_s] for key, window_s in hits])
        return [(int(count), float(left)) for count, left in answers]

    async def release(self, key: str) -> None:
        await self._call("release", key)

    async def set(self, key: str, value: str, ttl_s: float) -> None:
        await self._call("set", key, value, ttl_s)

    async def get(self, key: str) -> str | None:
        value = await self._call("get", key)
        return None if value is None else str(value)

    async def delete(self, key: str) -> None:
        await self._call("delete", key)

    async def ping(self) -> None:
        await self._call("get", "__ping__")

    async def close(self) -> None:
        if self._opened is not None:
            self._opened = None
            await self._connection.close()
