"""What the browser is told at the edge: security headers on every HTTP response, the API docs
under a policy of their own, and `/metrics` only for the clients allowed to scrape it.

Every response gets `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
`Referrer-Policy: no-referrer` and a Content-Security-Policy: an HTML page (the web editor) may
run scripts and load styles, fonts and images from this origin only and talk to this origin over
HTTP and WebSocket; anything else (JSON, downloads, avatars) may run and load nothing at all. A
route that sets its own policy keeps it: the Swagger page at `/docs` loads its bundle from a CDN
and allows its one inline script by hash. `Strict-Transport-Security` is sent when
`INKWEAVE_PUBLIC_URL` is https.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from ipaddress import ip_address, ip_network

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .client_address import client_address
from .settings import Settings

CSP = "content-security-policy"
DOCS_CDN = "https://cdn.jsdelivr.net"
HSTS = "max-age=31536000"

# Styles allow 'unsafe-inline': CodeMirror and y-codemirror.next colour remote carets and
# selections with `style` attributes, and CodeMirror falls back to a <style> element where a
# browser lacks constructable style sheets. Scripts never run inline.
_EDITOR_POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
NOTHING_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
FIXED_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def editor_policy(host: str | None) -> str:
    """The editor's policy; its sockets go to `ws(s)://` the host it was loaded from, named as
    well as `'self'` for browsers that do not count WebSocket schemes as `'self'`."""
    sockets = f" ws://{host} wss://{host}" if host and _HOST.match(host) else ""
    return "; ".join((*_EDITOR_POLICY, f"connect-src 'self'{sockets}"))


def docs_policy(html: str) -> str:
    """Swagger UI's page: its bundle and style sheet from the CDN, its inline start-up script
    by hash, requests to this origin only."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {DOCS_CDN} {hashes}",
            # Swagger UI (React) styles elements inline.
            f"style-src {DOCS_CDN} 'unsafe-inline'",
            "img-src 'self' data: https://fastapi.tiangolo.com",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


class SecurityHeaders:
    """Adds the headers to every HTTP response that does not carry its own."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._add(MutableHeaders(scope=message), host)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _add(self, headers: MutableHeaders, host: str | None) -> None:
        for name, value in FIXED_HEADERS.items():
            headers.setdefault(name, value)
        html = headers.get("content-type", "").startswith("text/html")
        headers.setdefault(CSP, editor_policy(host) if html else NOTHING_POLICY)
        if self.hsts:
            headers.setdefault("strict-transport-security", HSTS)


def install_security_headers(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(SecurityHeaders, hsts=settings.public_url.lower().startswith("https://"))


def install_docs(app: FastAPI) -> None:
    """`/docs`, when the app serves its schema (`INKWEAVE_DOCS_ENABLED`)."""
    if not app.openapi_url:
        return
    openapi_url = app.openapi_url

    async def swagger_ui(request: Request) -> HTMLResponse:
        root_path = request.scope.get("root_path", "").rstrip("/")
        page = get_swagger_ui_html(openapi_url=root_path + openapi_url, title=f"{app.title} API")
        page.headers[CSP] = docs_policy(bytes(page.body).decode())
        return page

    app.add_route("/docs", swagger_ui, include_in_schema=False)


def metrics_allowed(request: Request, settings: Settings) -> bool:
    """A scrape from an address in `INKWEAVE_METRICS_ALLOW`, or with `INKWEAVE_METRICS_TOKEN`."""
    if settings.metrics_token and _bearer_matches(request, settings.metrics_token):
        return True
    try:
        address = ip_address(client_address(request))
    except ValueError:
        return False
    return any(address in ip_network(net, strict=False) for net in settings.metrics_allow)


def _bearer_matches(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    return hmac.compare_digest(given.encode(), token.encode())
