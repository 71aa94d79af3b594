"""Relayed frames written straight to a peer's socket, where the server allows it.

A room sends the same frame to every peer: through ASGI, each peer's copy costs a wake-up of its
sender task, the server's send coroutine and a WebSocket framing of its own. Under uvicorn's
sans-I/O WebSocket protocol (what `inkweave serve` runs), a socket that negotiated no extension
(no permessage-deflate) takes a server frame as plain bytes: the frame is built once per
broadcast and written to each peer's transport at once. Whenever that cannot be done right now
(another server, an extension, a transport uvicorn has paused because the peer reads slowly, a
socket that is closing) the frame goes through ASGI as before, so flow control and the
too-slow limit still apply.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from starlette.types import Send

WriteNow = Callable[[bytes], bool]  # the frame's payload; False: not written, send it the slow way

_BINARY_FIN = 0x82  # FIN + opcode 2; a server's frames are never masked
_OPEN = "OPEN"


def direct_writer(send: Send) -> WriteNow | None:
    """For the ASGI `send` of an accepted WebSocket: a function that writes one binary message
    to its socket at once if it can; None where the server is not one this knows."""
    server: Any = getattr(send, "__self__", None)
    if type(server).__name__ != "WebSocketsSansIOProtocol":
        return None
    try:
        protocol, transport, writable = server.conn, server.transport, server.writable
        if protocol.extensions or protocol.state.name != _OPEN:
            return None
    except AttributeError:  # another version of it
        return None

    def write_now(payload: bytes) -> bool:
        if (
            not writable.is_set()
            or server.close_sent
            or server.disconnected
            or protocol.state.name != _OPEN
            or transport.is_closing()
        ):
            return False
        transport.write(framed(payload))
        return True

    return write_now


_last: tuple[bytes | None, bytes] = (None, b"")


def framed(payload: bytes) -> bytes:
    """`payload` as one unmasked binary WebSocket frame. The frame of the last payload is kept:
    a broadcast frames its payload once for all its peers."""
    global _last
    if _last[0] is payload:
        return _last[1]
    size = len(payload)
    if size < 126:
        header = bytes((_BINARY_FIN, size))
    elif size < 1 << 16:
        header = struct.pack("!BBH", _BINARY_FIN, 126, size)
    else:
        header = struct.pack("!BBQ", _BINARY_FIN, 127, size)
    frame = header + payload
    _last = (payload, frame)
    return frame
