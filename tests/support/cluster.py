"""Production's shape on one machine: two `inkweave serve` nodes with authentication on, one
MariaDB (relational data and documents) and one Redis (bus, revoked tokens, rate limits, job
broker); `Cluster.process_env` configures more processes of it (a worker, the CLI).

For tests of what must hold across nodes: a token revoked on one node is refused on the other, a
role changed through one node reaches sockets open on the other, a notification made anywhere
reaches the user's socket wherever it is connected.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis

from .api import PASSWORD, Account
from .mariadb import mariadb_database
from .server import ServerProcess

REDIS_URL = "redis://127.0.0.1:6379/0"
RECHECK_S = 0.2  # how often open sockets re-check their user (INKWEAVE_MEMBERSHIP_RECHECK_S)


@dataclass
class Cluster:
    a: ServerProcess
    b: ServerProcess
    env: dict[str, str]  # the settings every process of the cluster shares
    root: Path

    def process_env(self, name: str) -> dict[str, str]:
        """The settings for another process of this cluster (a worker, the CLI)."""
        return {**self.env, "INKWEAVE_DATA_DIR": str(self.root / name)}


class NodeApi:
    """REST on one node, shaped like `tests.support.api.Api` so that the helpers of
    `tests.api.test_works` take it; sign-up reads the code from the node's outbox."""

    def __init__(self, node: ServerProcess) -> None:
        self.node = node
        self.http = httpx.AsyncClient(base_url=node.http_url, timeout=30)

    async def close(self) -> None:
        await self.http.aclose()

    async def call(
        self, method: str, path: str, account: Account | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {**(account.auth if account else {}), **kwargs.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kwargs)

    def last_code(self, email: str) -> str:
        outbox = self.node.data_dir / "outbox.jsonl"
        mails = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
        match = re.search(r"\b(\d{6})\b", [m for m in mails if m["to"] == email][-1]["body"])
        assert match, mails[-1]
        return match.group(1)

    async def sign_up(self, username: str | None = None) -> Account:
        tag = secrets.token_hex(4)
        username, email = username or f"作者{tag}", f"u{tag}@example.com"
        sent = await self.http.post("/api/v1/auth/code", json={"email": email})
        assert sent.status_code == 200, sent.text
        body = {
            "username": username,
            "email": email,
            "password": PASSWORD,
            "code": self.last_code(email),
        }
        response = await self.http.post("/api/v1/auth/register", json=body)
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        return Account(data["user_id"], username, email, data["token"], data["refresh_token"])

    def notifications_url(self, account: Account) -> str:
        return f"ws://127.0.0.1:{self.node.port}/api/v1/notifications/ws?token={account.token}"


def _delete_keys(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@asynccontextmanager
async def running_cluster(root: Path) -> AsyncIterator[Cluster]:
    """Nodes `a` and `b` on a fresh MariaDB database and their own Redis key prefix."""
    async with mariadb_database() as database_url:
        prefix = f"inkweave-test-{secrets.token_hex(4)}:"
        env = {
            "INKWEAVE_AUTH": "on",
            "INKWEAVE_SECRET_KEY": secrets.token_urlsafe(48),
            "INKWEAVE_DATABASE_URL": database_url,
            "INKWEAVE_REDIS_URL": REDIS_URL,
            "INKWEAVE_REDIS_PREFIX": prefix,
            "INKWEAVE_MEMBERSHIP_RECHECK_S": str(RECHECK_S),
            "INKWEAVE_RATE_LIMIT_USER_PER_MIN": "100000",
            "INKWEAVE_LOG_LEVEL": "WARNING",
        }
        a = ServerProcess(root / "a", env={**env, "INKWEAVE_AUTO_MIGRATE": "true"})
        b = ServerProcess(root / "b", env=env)
        try:
            await asyncio.to_thread(a.start)  # migrates, before the other node starts
            await asyncio.to_thread(b.start)
            yield Cluster(a, b, env, root)
        finally:
            for node in (a, b):
                await asyncio.to_thread(node.stop)
            await asyncio.to_thread(_delete_keys, prefix)


async def make_admin(cluster: Cluster, username: str) -> None:
    """`inkweave set-level USER admin`, the documented way to make the first admin."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "api",
        "set-level",
        username,
        "admin",
        env={**os.environ, **cluster.process_env("cli")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode(errors="replace")
