"""The servers under test: Inkweave, @y/websocket-server and Hocuspocus, each on its own port."""

from __future__ import annotations

import os
from pathlib import Path

from paths import BENCH, REPO
from processes import HOST, InkweaveNode, ServerProcess

SERVER_NAMES = ("inkweave", "yws", "hocuspocus")
COLUMNS = {"inkweave": "Inkweave", "yws": "@y/websocket-server", "hocuspocus": "Hocuspocus"}


class Server(ServerProcess):
    """A server under test; subclasses say how to start it."""

    kind = "ywebsocket"  # which client drives it: ywebsocket | hocuspocus

    @property
    def cwd(self) -> Path:
        return REPO

    @property
    def sync_url(self) -> str:
        return f"ws://{HOST}:{self.port}/sync"

    @property
    def metrics_url(self) -> str | None:
        return None

    @property
    def gc_url(self) -> str | None:
        return None


class Inkweave(InkweaveNode, Server):
    """`inkweave serve` (auth off) as a server under test; see `processes.InkweaveNode`."""


class NodeServer(Server):
    """A reference server from `servers/`, in memory, with a `GET /__gc` hook."""

    script = ""

    def command(self) -> list[str]:
        return [
            "node",
            "--expose-gc",
            str(BENCH / "servers" / self.script),
            "--port",
            str(self.port),
            "--host",
            HOST,
        ]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("YPERSISTENCE", None)
        return env

    @property
    def gc_url(self) -> str:
        return f"http://{HOST}:{self.port}/__gc"


class YWebsocketServer(NodeServer):
    """`@y/websocket-server`, no persistence."""

    name = "yws"
    script = "yws.mjs"


class Hocuspocus(NodeServer):
    """`@hocuspocus/server`, no extensions; its own protocol at the root path."""

    name = "hocuspocus"
    kind = "hocuspocus"
    script = "hocuspocus.mjs"

    @property
    def sync_url(self) -> str:
        return f"ws://{HOST}:{self.port}"
