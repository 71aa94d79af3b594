"""Request limits (brief §6.3.1): per signed-in user and per client address, per minute.

Counters live in the key-value store, so they are shared by every node when it is Redis.
"""

from __future__ import annotations

import json
import logging
import math

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from storage.kv.base import KeyValue

from .client_address import client_address
from .envelope import failure_body
from .errors import Err
from .security.tokens import ACCESS, InvalidToken, TokenService
from .settings import Settings

log = logging.getLogger(__name__)

WINDOW_S = 60.0


class RateLimitMiddleware:
    def __init__(
        self, app: ASGIApp, *, kv: KeyValue, tokens: TokenService, settings: Settings
    ) -> None:
        self.app = app
        self.kv = kv
        self.tokens = tokens
        self.settings = settings

    def _user(self, request: Request) -> int | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        try:
            return self.tokens.decode(header[7:].strip(), ACCESS).subject
        except InvalidToken:
            return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        address = client_address(request)
        limits = [(f"rl:ip:{address}", self.settings.rate_limit_ip_per_min)]
        user_id = self._user(request)
        if user_id is not None:
            limits.append((f"rl:user:{user_id}", self.settings.rate_limit_user_per_min))
        # Both windows in one round trip (to Redis, or to the hub of `serve --workers`). A
        # request the address's window refuses is taken back from the user's (a user behind a
        # busy shared address keeps their own minute); one the user's refuses still counts
        # against the address.
        answers = await self.kv.hit_many([(key, WINDOW_S) for key, _limit in limits])
        for index, ((_key, limit), (count, left)) in enumerate(zip(limits, answers, strict=True)):
            if count > limit:
                for later, _limit in limits[index + 1 :]:
                    try:
                        await self.kv.release(later)
                    except Exception:  # the refusal stands; the user's minute counts it
                        log.exception("could not take back a rate-limit hit")
                await self._refuse(request, send, math.ceil(left))
                return
        await self.app(scope, receive, send)

    async def _refuse(self, request: Request, send: Send, retry_after: int) -> None:
        body = json.dumps(
            failure_body(request, Err.RATE_LIMITED, f"retry after {retry_after} s"),
            ensure_ascii=False,
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"retry-after", str(max(retry_after, 1)).encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
