"""An HTTP client for the REST API with the steps every test needs: sign up, sign in."""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from api.settings import Settings
from storage.kv.base import KeyValue

from .inprocess import RunningApp, running_app

PASSWORD = "correct-horse-9"
_serial = itertools.count(1)


@dataclass
class Account:
    id: int
    username: str
    email: str
    token: str
    refresh_token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class RestClient:
    """REST at `base_url` with the steps every test needs; sign-up reads the code from the mails
    that `mails()` returns (each `{"to", "subject", "body"}`)."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)

    async def close(self) -> None:
        await self.http.aclose()

    def mails(self) -> list[dict[str, str]]:
        raise NotImplementedError

    def last_code(self, email: str) -> str:
        mails = [m for m in self.mails() if m["to"] == email]
        match = re.search(r"\b(\d{6})\b", mails[-1]["body"])
        assert match, mails[-1]
        return match.group(1)

    async def sign_up(self, username: str | None = None, password: str = PASSWORD) -> Account:
        tag = (
            f"{next(_serial)}x{secrets.token_hex(3)}"  # unique across processes sharing a database
        )
        username, email = username or f"作者{tag}", f"u{tag}@example.com"
        sent = await self.http.post("/api/v1/auth/code", json={"email": email})
        assert sent.status_code == 200, sent.text
        body = {
            "username": username,
            "email": email,
            "password": password,
            "code": self.last_code(email),
        }
        response = await self.http.post("/api/v1/auth/register", json=body)
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        return Account(data["user_id"], username, email, data["token"], data["refresh_token"])

    async def call(
        self, method: str, path: str, account: Account | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {**(account.auth if account else {}), **kwargs.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kwargs)


class Api(RestClient):
    """REST on an app running in this process; its mails are read from the app's outbox."""

    def __init__(self, app: RunningApp) -> None:
        super().__init__(app.http_url)
        self.app = app

    def mails(self) -> list[dict[str, str]]:
        return self.app.adapters.mailer.read()


@asynccontextmanager
async def running_api(
    settings: Settings,
    *,
    kv: KeyValue | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[Api]:
    """The app on a free port and an HTTP client for it, both closed when the block ends.

    `kv` replaces the configured key-value store (a `MemoryKeyValue` on a `ManualClock`);
    `clock` is the one the app's rooms and projection measure delays on."""
    async with running_app(settings, kv=kv, clock=clock) as app:
        client = Api(app)
        try:
            yield client
        finally:
            await client.close()
