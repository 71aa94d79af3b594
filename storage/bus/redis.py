"""Redis pub/sub bus: every node publishes and subscribes per document channel.

Messages carry the publishing node's id, so a node drops its own. If the connection breaks, the
reader reconnects with backoff, subscribes to every channel again, and then runs the
`on_reconnect` callbacks (rooms re-sync from the store what was published meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .base import Handler

log = logging.getLogger(__name__)

_ID_BYTES = 16


class RedisBus:
    def __init__(self, url: str, *, prefix: str = "inkweave:") -> None:
        self.node_id = uuid.uuid4().hex
        self._node = bytes.fromhex(self.node_id)
        self._url = url
        self._prefix = prefix
        self._publisher = aioredis.from_url(url)
        self._subscriber = aioredis.from_url(url)
        self._pubsub = self._subscriber.pubsub()
        self._confirmed: dict[str, asyncio.Event] = {}
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._reconnect_callbacks: list[Callable[[], Awaitable[None]]] = []
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self.reconnects = 0

    def _channel(self, channel: str) -> str:
        return self._prefix + channel

    async def start(self) -> None:
        await self._publisher.ping()
        await self._pubsub.subscribe(self._channel("__bus__"))
        self._connected.set()
        self._reader = asyncio.create_task(self._read(), name="redis-bus")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
        await self._subscriber.aclose()
        await self._publisher.aclose()

    async def publish(self, channel: str, payload: bytes) -> None:
        try:
            await self._publisher.publish(self._channel(channel), self._node + payload)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            # The store has the update; peers on other nodes catch up when the bus is back.
            log.warning("bus publish failed", extra={"channel": channel})

    async def subscribe(self, channel: str, handler: Handler) -> None:
        first = not self._handlers.get(channel)
        self._handlers[channel].append(handler)
        if first:
            confirmed = self._confirmed.setdefault(self._channel(channel), asyncio.Event())
            try:
                await self._pubsub.subscribe(self._channel(channel))
                # Redis confirms once the subscription is active; only then may the caller load.
                await asyncio.wait_for(confirmed.wait(), 5)
            except (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError):
                log.warning("bus subscribe failed; will subscribe on reconnect")
            finally:
                self._confirmed.pop(self._channel(channel), None)

    async def unsubscribe(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.get(channel)
        if not handlers or handler not in handlers:
            return
        handlers.remove(handler)
        if not handlers:
            del self._handlers[channel]
            with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
                await self._pubsub.unsubscribe(self._channel(channel))

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._reconnect_callbacks.append(callback)

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except (RedisConnectionError, RedisTimeoutError, OSError):
                await self._reconnect()
                continue
            if message is None:
                continue
            if message.get("type") == "subscribe":
                confirmed = self._confirmed.get(message["channel"].decode())
                if confirmed is not None:
                    confirmed.set()
                continue
            if message.get("type") != "message":
                continue
            data: bytes = message["data"]
            if data[:_ID_BYTES] == self._node:
                continue
            channel = message["channel"].decode()[len(self._prefix) :]
            for handler in list(self._handlers.get(channel, ())):
                try:
                    handler(data[_ID_BYTES:])
                except Exception:
                    log.exception("bus handler failed", extra={"channel": channel})

    async def _reconnect(self) -> None:
        log.warning("bus connection lost; reconnecting")
        delay = 0.1
        while True:
            await asyncio.sleep(delay)
            try:
                with contextlib.suppress(Exception):
                    await self._pubsub.aclose()
                self._pubsub = self._subscriber.pubsub()
                channels = [self._channel(c) for c in self._handlers] or [self._channel("__bus__")]
                await self._pubsub.subscribe(*channels)
                break
            except (RedisConnectionError, RedisTimeoutError, OSError):
                delay = min(delay * 2, 5.0)
        self.reconnects += 1
        log.info("bus reconnected", extra={"channels": len(self._handlers)})
        for callback in self._reconnect_callbacks:
            try:
                await callback()
            except Exception:
                log.exception("bus reconnect callback failed")
