"""The client's address, decided once per request and socket: what every limit keys on.

Behind a reverse proxy every request's peer is the proxy. The proxy names the client in
`X-Forwarded-For` (each proxy appends the peer it saw) or `X-Real-IP`, but anyone can send those
headers: they are believed only from a peer in `INKWEAVE_TRUSTED_PROXIES`. The client is then the
rightmost address of `X-Forwarded-For` that is not itself a trusted proxy (what a client wrote
further left is its own invention), or `X-Real-IP` when there is no `X-Forwarded-For`.

`ClientAddressMiddleware` writes the answer into the ASGI scope's `client` of every HTTP request
and WebSocket, so REST (the rate limits, the sign-in lock), `/sync` and the notification socket
read the same address through `client_address` or the connection's `client`. Run it without the
server's own proxy-header handling (`inkweave serve` turns uvicorn's off): that would have
rewritten the peer before this middleware sees it.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

UNKNOWN = "unknown"


def _parse(address: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(address.strip())
    except ValueError:
        return None


class TrustedProxies:
    def __init__(self, networks: Iterable[str]) -> None:
        self._networks = tuple(ip_network(network, strict=False) for network in networks)

    def __bool__(self) -> bool:
        return bool(self._networks)

    def _trusts(self, address: IPv4Address | IPv6Address) -> bool:
        return any(address in network for network in self._networks)

    def client(self, peer: str, headers: Headers) -> str:
        """The client behind `peer`: `peer` itself unless it is a trusted proxy that says who."""
        address = _parse(peer)
        if address is None or not self._trusts(address):
            return peer
        hops = [
            hop for value in headers.getlist("x-forwarded-for") for hop in value.split(",") if hop
        ]
        if hops:
            return self._rightmost_untrusted(hops, peer)
        real = _parse(headers.get("x-real-ip", ""))
        return str(real) if real is not None else peer

    def _rightmost_untrusted(self, hops: list[str], peer: str) -> str:
        client = peer
        for hop in reversed(hops):
            address = _parse(hop)
            if address is None:  # garbage a trusted proxy passed on: believe nothing left of it
                return client
            client = str(address)
            if not self._trusts(address):
                return client
        return client  # every hop is a proxy of ours: the leftmost one made the request


class ClientAddressMiddleware:
    """Sets `scope["client"]` to the real client of each HTTP request and WebSocket."""

    def __init__(self, app: ASGIApp, *, trusted: TrustedProxies) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = scope.get("client")
        if self.trusted and peer and scope["type"] in ("http", "websocket"):
            client = self.trusted.client(peer[0], Headers(scope=scope))
            if client != peer[0]:
                scope["client"] = (client, 0)  # in place: the access log reads it too
        await self.app(scope, receive, send)


def client_address(connection: HTTPConnection) -> str:
    """The address a request or socket comes from, as `ClientAddressMiddleware` decided."""
    return connection.client.host if connection.client else UNKNOWN
