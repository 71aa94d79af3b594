"""HTTP clients for the REST benchmark: one interface, two implementations.

`RawHttp` is HTTP/1.1 with keep-alive on asyncio streams, a pool of connections each carrying one
request at a time. Against a trivial local server it took 0.2–0.4 ms of CPU per request where
httpx took 1.3–4 ms (2026-12-06, busy 2-core machine): that matters when the load generator
shares two cores with the server it measures. `HttpxHttp` is `httpx.AsyncClient`
behind the same interface (`--client httpx`), to compare.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

MAX_CONNECTIONS = 256
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes

    def data(self) -> Any:
        """The envelope's `data`; raises unless the status is 2xx."""
        if not 200 <= self.status < 300:
            raise RuntimeError(f"HTTP {self.status}: {self.body[:500]!r}")
        return json.loads(self.body)["data"]


class Http(Protocol):
    async def request(self, method: str, path: str, body: bytes | None = None) -> Reply: ...

    async def close(self) -> None:
        """Close the idle connections; a later request opens new ones."""


class RawHttp:
    """Requests to one `host:port` with fixed headers (the bearer token) on pooled connections.

    A reused connection that the server closed while idle (uvicorn's keep-alive timeout) gets
    the request again on a new connection, once. At most `MAX_CONNECTIONS` requests are in
    flight; the others wait for a connection (their time counts: the open loop measures from
    the scheduled send time).
    """

    def __init__(self, host: str, port: int, headers: Mapping[str, str]) -> None:
        self.host, self.port = host, port
        self._head = "".join(
            f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items()
        )
        self._idle: list[Connection] = []
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self.connections_opened = 0

    async def request(self, method: str, path: str, body: bytes | None = None) -> Reply:
        message = self._message(method, path, body)
        async with self._slots:
            if self._idle:
                conn = self._idle.pop()
                try:
                    return await self._exchange(conn, message)
                except (ConnectionError, asyncio.IncompleteReadError):
                    pass  # closed by the server while idle: once more on a new connection
            return await self._exchange(await self._open(), message)

    async def close(self) -> None:
        """Close the idle connections (those in use close when their request ends)."""
        idle, self._idle = self._idle, []
        for _reader, writer in idle:
            writer.close()

    def _message(self, method: str, path: str, body: bytes | None) -> bytes:
        head = f"{method} {path} HTTP/1.1\r\n{self._head}"
        if body is None:
            return (head + "\r\n").encode()
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        return head.encode() + body

    async def _open(self) -> Connection:
        self.connections_opened += 1
        return await asyncio.open_connection(self.host, self.port)

    async def _exchange(self, conn: Connection, message: bytes) -> Reply:
        reader, writer = conn
        try:
            writer.write(message)
            status_line = await reader.readuntil(b"\r\n")
            status = int(status_line.split(b" ", 2)[1])
            block = await reader.readuntil(b"\r\n\r\n")
            headers = {}
            for line in block[:-4].split(b"\r\n"):
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip().lower()
            if b"content-length" in headers:
                body = await reader.readexactly(int(headers[b"content-length"]))
            elif headers.get(b"transfer-encoding") == b"chunked":
                body = await _chunked(reader)
            else:
                body = await reader.read()
                headers[b"connection"] = b"close"
        except BaseException:
            writer.close()
            raise
        if headers.get(b"connection") == b"close":
            writer.close()
        else:
            self._idle.append(conn)
        return Reply(status, body)


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        parts.append((await reader.readexactly(size + 2))[:-2])
    await reader.readuntil(b"\r\n")  # no trailers
    return b"".join(parts)


class HttpxHttp:
    """The same requests through `httpx.AsyncClient`."""

    def __init__(self, host: str, port: int, headers: Mapping[str, str]) -> None:
        self.base_url, self.headers = f"http://{host}:{port}", dict(headers)
        self.limits = httpx.Limits(
            max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
        )
        self.client: httpx.AsyncClient | None = None

    async def request(self, method: str, path: str, body: bytes | None = None) -> Reply:
        if self.client is None:
            self.client = httpx.AsyncClient(
                base_url=self.base_url, headers=self.headers, limits=self.limits, timeout=None
            )
        headers = {"Content-Type": "application/json"} if body is not None else None
        response = await self.client.request(method, path, content=body, headers=headers)
        return Reply(response.status_code, response.content)

    async def close(self) -> None:
        """Close the connections; a later request opens new ones."""
        client, self.client = self.client, None
        if client is not None:
            await client.aclose()


CLIENTS: dict[str, type[RawHttp] | type[HttpxHttp]] = {"raw": RawHttp, "httpx": HttpxHttp}


def json_body(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()
