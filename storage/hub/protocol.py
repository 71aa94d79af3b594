"""The local hub's frames: length-prefixed, one operation each, on a Unix socket.

A frame is `length (u32) | op (u8) | request id (u32) | channel length (u16) | channel | body`.
`length` counts everything after itself. Requests that need an answer carry a non-zero id, and
the answer carries the same id.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass
from enum import IntEnum

_HEAD = struct.Struct(">IBIH")
_LENGTH = struct.Struct(">I")
MAX_FRAME = 64 << 20  # a document update is bounded far below this (INKWEAVE_MAX_MESSAGE_BYTES)


class Op(IntEnum):
    SUBSCRIBE = 1
    UNSUBSCRIBE = 2
    PUBLISH = 3
    KV = 4  # body: JSON [method, *args]
    DONE = 0x80  # the answer to SUBSCRIBE / UNSUBSCRIBE
    RESULT = 0x81  # the answer to KV, body: JSON {"ok": value} or {"error": text}
    MESSAGE = 0x82  # the hub delivers a PUBLISH to another subscriber


@dataclass(frozen=True, slots=True)
class Frame:
    op: Op
    request: int = 0
    channel: str = ""
    body: bytes = b""


def encode(frame: Frame) -> bytes:
    channel = frame.channel.encode()
    size = _HEAD.size - _LENGTH.size + len(channel) + len(frame.body)
    return _HEAD.pack(size, frame.op, frame.request, len(channel)) + channel + frame.body


async def read_frame(reader: asyncio.StreamReader) -> Frame:
    """The next frame; `asyncio.IncompleteReadError` at the end of the stream."""
    (size,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    if size > MAX_FRAME or size < _HEAD.size - _LENGTH.size:
        raise ValueError(f"hub frame of {size} bytes")
    data = await reader.readexactly(size)
    op, request, channel_length = struct.unpack_from(">BIH", data)
    start = _HEAD.size - _LENGTH.size
    channel = data[start : start + channel_length].decode()
    return Frame(Op(op), request, channel, data[start + channel_length :])
