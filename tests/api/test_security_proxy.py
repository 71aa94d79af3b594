"""Clients behind a proxy: the sign-in lock, the rate limits and the socket limits key on the
real client address, which `X-Forwarded-For` / `X-Real-IP` name only when the request's peer is
a trusted proxy (`INKWEAVE_TRUSTED_PROXIES`).

The server listens on 127.0.0.1. Direct clients connect from 127.0.0.1; the proxy stands in for
the docker-compose nginx (a peer that is not 127.0.0.1, as a container is not) by connecting
from 127.0.0.2, another loopback address.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import websockets
import yaml
from starlette.datastructures import Headers

from api.client_address import TrustedProxies
from api.settings import Settings
from sync_server.limits import CLOSE_TOO_MANY
from tests.api.test_works import make_chapter, make_work
from tests.jobs.conftest import SQLITE_ONLY
from tests.support.api import PASSWORD, Account, Api, running_api
from tests.support.waiting import DEADLINE_S

PROXY = "127.0.0.2"
LOGIN = "/api/v1/auth/login"
ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def api_with(settings: Settings, **changes: Any) -> AsyncIterator[Api]:
    async with running_api(settings.model_copy(update=changes)) as api:
        yield api


@asynccontextmanager
async def via_proxy(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client whose requests come from the proxy's address."""
    transport = httpx.AsyncHTTPTransport(local_address=PROXY)
    async with httpx.AsyncClient(base_url=api.app.http_url, transport=transport) as client:
        yield client


async def failed_sign_ins(http: httpx.AsyncClient, headers: dict[str, str], times: int) -> None:
    for attempt in range(times):
        body = {"email": f"nobody{attempt}@example.com", "password": "wrong"}
        assert (await http.post(LOGIN, json=body, headers=headers)).status_code == 401


async def sign_in(http: httpx.AsyncClient, account: Account, headers: dict[str, str]) -> int:
    body = {"email": account.email, "password": PASSWORD}
    response = await http.post(LOGIN, json=body, headers=headers)
    if response.status_code == 429:
        assert response.json()["code"] == 42902
    return response.status_code


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_without_trusted_proxies_forged_forwarding_headers_share_the_login_lock(
    settings: Settings,
) -> None:
    async with api_with(settings, login_failures_per_15_min=3, trusted_proxies=[]) as api:
        account = await api.sign_up()
        for attempt in range(3):
            forged = {"X-Forwarded-For": f"203.0.113.{attempt}", "X-Real-IP": "203.0.113.99"}
            await failed_sign_ins(api.http, forged, 1)
        fresh = {"X-Forwarded-For": "198.51.100.7", "X-Real-IP": "198.51.100.7"}
        assert await sign_in(api.http, account, fresh) == 429, "a forged header escaped the lock"


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_without_trusted_proxies_forged_forwarding_headers_share_the_rate_limit(
    settings: Settings,
) -> None:
    async with api_with(settings, rate_limit_ip_per_min=3, trusted_proxies=[]) as api:
        statuses = []
        for n in range(4):
            forged = {"X-Forwarded-For": f"203.0.113.{n}"}
            statuses.append((await api.http.get("/api/v1/users/me", headers=forged)).status_code)
        assert statuses == [401, 401, 401, 429]


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_behind_a_trusted_proxy_each_client_has_its_own_login_lock(
    settings: Settings,
) -> None:
    async with (
        api_with(settings, login_failures_per_15_min=3, trusted_proxies=[PROXY]) as api,
        via_proxy(api) as proxy,
    ):
        account = await api.sign_up()
        await failed_sign_ins(proxy, {"X-Forwarded-For": "203.0.113.1"}, 3)
        assert await sign_in(proxy, account, {"X-Forwarded-For": "203.0.113.1"}) == 429
        assert await sign_in(proxy, account, {"X-Real-IP": "203.0.113.1"}) == 429
        # The client wrote its own X-Forwarded-For; the proxy appended the address it saw.
        forged = {"X-Forwarded-For": "198.51.100.9, 203.0.113.1"}
        assert await sign_in(proxy, account, forged) == 429, "the rightmost untrusted hop counts"
        assert await sign_in(proxy, account, {"X-Forwarded-For": "203.0.113.2"}) == 200
        assert await sign_in(proxy, account, {"X-Real-IP": "203.0.113.3"}) == 200
        # 127.0.0.1 is no trusted proxy: what it says about the locked client is not believed.
        assert await sign_in(api.http, account, {"X-Forwarded-For": "203.0.113.1"}) == 200


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_behind_a_trusted_proxy_each_client_has_its_own_rate_limit(
    settings: Settings,
) -> None:
    changes = {"rate_limit_ip_per_min": 3, "trusted_proxies": [f"{PROXY}/32"]}
    async with api_with(settings, **changes) as api, via_proxy(api) as proxy:

        async def status(http: httpx.AsyncClient, client: str) -> int:
            response = await http.get("/api/v1/users/me", headers={"X-Forwarded-For": client})
            return response.status_code

        assert [await status(proxy, "203.0.113.1") for _ in range(4)] == [401, 401, 401, 429]
        assert await status(proxy, "203.0.113.2") == 401
        assert await status(api.http, "203.0.113.1") == 401, "a direct peer is itself"


async def notification_socket(
    api: Api, account: Account, forwarded_for: str
) -> int | websockets.ClientConnection:
    """The notification socket opened through the proxy: open once it said hello, or the code
    it was closed with."""
    url = f"ws://127.0.0.1:{api.app.port}/api/v1/notifications/ws?token={account.token}"
    socket = await websockets.connect(
        url, additional_headers={"X-Forwarded-For": forwarded_for}, local_addr=(PROXY, 0)
    )
    try:
        hello = json.loads(await asyncio.wait_for(socket.recv(), DEADLINE_S))
    except websockets.ConnectionClosed as closed:
        assert closed.rcvd is not None
        return closed.rcvd.code
    assert hello["type"] == "hello"
    return socket


async def sync_socket(api: Api, account: Account, doc: str, forwarded_for: str) -> int | None:
    """A `/sync` socket opened through the proxy: None once the server's first message came,
    or the code it was closed with."""
    url = f"{api.app.sync_url}/{doc}?token={account.token}"
    async with websockets.connect(
        url, additional_headers={"X-Forwarded-For": forwarded_for}, local_addr=(PROXY, 0)
    ) as socket:
        try:
            await asyncio.wait_for(socket.recv(), DEADLINE_S)
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code
    return None


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_socket_limits_per_address_key_on_the_client_behind_the_proxy(
    settings: Settings,
) -> None:
    changes = {
        "trusted_proxies": [PROXY],
        "ws_connections_per_address": 1,
        "ws_connections_per_user": 0,
    }
    async with api_with(settings, **changes) as api:
        first, second = await api.sign_up(), await api.sign_up()
        work = await make_work(api, second)
        doc = (await make_chapter(api, second, work["work_id"]))["content_id"]
        held = await notification_socket(api, first, "203.0.113.1")
        assert not isinstance(held, int)
        assert await notification_socket(api, second, "203.0.113.1") == CLOSE_TOO_MANY
        assert await sync_socket(api, second, doc, "203.0.113.1") == CLOSE_TOO_MANY
        assert await sync_socket(api, second, doc, "203.0.113.2") is None
        other = await notification_socket(api, second, "203.0.113.2")
        assert not isinstance(other, int), "another client behind the same proxy"
        await held.close()
        await other.close()


def test_the_trusted_proxy_header_parsing() -> None:
    trusted = TrustedProxies(["10.0.0.0/8", "::1"])

    def client(peer: str, **headers: str) -> str:
        raw = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
        return trusted.client(peer, Headers(raw=raw))

    assert client("203.0.113.5", x_forwarded_for="1.2.3.4") == "203.0.113.5"
    assert client("10.0.0.2", x_forwarded_for="1.2.3.4, 198.51.100.1, 10.1.1.1") == "198.51.100.1"
    assert client("::1", x_real_ip="2001:db8::0:1") == "2001:db8::1"
    assert client("10.0.0.2", x_forwarded_for="10.0.0.9, 10.0.0.8") == "10.0.0.9"
    assert client("10.0.0.2", x_forwarded_for="nonsense") == "10.0.0.2"
    assert client("10.0.0.2") == "10.0.0.2"


def test_compose_nginx_names_the_client_and_the_app_trusts_only_nginx() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    nginx_networks = services["nginx"]["networks"]
    (nginx_address,) = [net["ipv4_address"] for net in nginx_networks.values()]
    for name in ("web1", "web2"):
        proxies = services[name]["environment"]["INKWEAVE_TRUSTED_PROXIES"]
        assert proxies.split(",") == [nginx_address], "the web nodes trust nginx, nobody else"
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    locations = re.findall(r"location [^{]+\{(.*?)\n    \}", conf, re.S)
    assert locations
    for body in locations:
        assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in body
        assert "proxy_set_header X-Real-IP $remote_addr;" in body
