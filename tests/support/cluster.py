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
import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from .api import Account, RestClient
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


class NodeApi(RestClient):
    """REST on one node, shaped like `tests.support.api.Api` so that the helpers of
    `tests.api.test_works` take it; sign-up reads the code from the node's outbox."""

    def __init__(self, node: ServerProcess) -> None:
        super().__init__(node.http_url)
        self.node = node

    def mails(self) -> list[dict[str, str]]:
        outbox = self.node.data_dir / "outbox.jsonl"
        return [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]

    def notifications_url(self, account: Account) -> str:
        return f"ws://127.0.0.1:{self.node.port}/api/v1/notifications/ws?token={account.token}"


def _delete_keys(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@asynccontextmanager
async def running_cluster(root: Path, *, recheck_s: float = RECHECK_S) -> AsyncIterator[Cluster]:
    """Nodes `a` and `b` on a fresh MariaDB database and their own Redis key prefix; open
    sockets re-check their user every `recheck_s`."""
    async with mariadb_database() as database_url:
        prefix = f"inkweave-test-{secrets.token_hex(4)}:"
        env = {
            "INKWEAVE_AUTH": "on",
            "INKWEAVE_SECRET_KEY": secrets.token_urlsafe(48),
            "INKWEAVE_DATABASE_URL": database_url,
            "INKWEAVE_REDIS_URL": REDIS_URL,
            "INKWEAVE_REDIS_PREFIX": prefix,
            "INKWEAVE_MEMBERSHIP_RECHECK_S": str(recheck_s),
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
