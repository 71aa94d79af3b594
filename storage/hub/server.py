"""The local hub: what the processes of one `inkweave serve --workers N` share without Redis.

The supervising process runs it on a Unix socket; each worker process connects once and uses it
as its bus (a document's updates and awareness, access changes, notifications) and its key-value
store (rate limits, revoked tokens, quotas). One event loop serves every request in turn, so a
counter's `hit` is atomic across the processes, as Redis's INCR is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..kv.memory import MemoryKeyValue
from .protocol import Frame, Op, encode, read_frame

log = logging.getLogger(__name__)


class _Peer:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.channels: set[str] = set()

    def send(self, frame: Frame) -> None:
        if not self.writer.is_closing():
            self.writer.write(encode(frame))


class LocalHub:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._kv = MemoryKeyValue()
        self._subscribers: dict[str, set[_Peer]] = defaultdict(set)
        self._server: asyncio.AbstractServer | None = None
        self._peers: set[_Peer] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for peer in list(self._peers):
            peer.writer.close()
        if self._server is not None:
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _Peer(writer)
        self._peers.add(peer)
        try:
            while True:
                frame = await read_frame(reader)
                await self._handle(peer, frame)
                if writer.transport.get_write_buffer_size() > 1 << 20:
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:
            log.exception("hub peer failed")
        finally:
            self._peers.discard(peer)
            for channel in peer.channels:
                self._drop(channel, peer)
            writer.close()

    async def _handle(self, peer: _Peer, frame: Frame) -> None:
        if frame.op == Op.PUBLISH:
            message = Frame(Op.MESSAGE, 0, frame.channel, frame.body)
            for other in self._subscribers.get(frame.channel, ()):
                if other is not peer:
                    other.send(message)
        elif frame.op == Op.SUBSCRIBE:
            peer.channels.add(frame.channel)
            self._subscribers[frame.channel].add(peer)
            peer.send(Frame(Op.DONE, frame.request))
        elif frame.op == Op.UNSUBSCRIBE:
            peer.channels.discard(frame.channel)
            self._drop(frame.channel, peer)
            peer.send(Frame(Op.DONE, frame.request))
        elif frame.op == Op.KV:
            peer.send(Frame(Op.RESULT, frame.request, body=await self._kv_call(frame.body)))
        else:
            raise ValueError(f"unexpected hub op {frame.op!r}")

    def _drop(self, channel: str, peer: _Peer) -> None:
        subscribers = self._subscribers.get(channel)
        if subscribers is not None:
            subscribers.discard(peer)
            if not subscribers:
                del self._subscribers[channel]

    async def _kv_call(self, body: bytes) -> bytes:
        method, *args = json.loads(body)
        answer: dict[str, Any]
        if method not in {"hit", "hit_many", "release", "set", "get", "delete"}:
            answer = {"error": f"unknown key-value method {method!r}"}
        else:
            answer = {"ok": await getattr(self._kv, method)(*args)}
        return json.dumps(answer).encode()
