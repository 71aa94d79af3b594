"""The app under uvicorn inside the test's event loop, for tests that inject adapters."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from api.adapters import Adapters
from api.app import create_app
from api.composition import Services
from api.settings import Settings
from storage.docs.base import DocStore
from storage.kv.base import KeyValue
from sync_server.auth import Authorizer

from .asgi import serving
from .server import free_port


@dataclass
class RunningApp:
    app: FastAPI
    port: int

    @property
    def adapters(self) -> Adapters:
        """What the app was built from (its databases, stores, rooms): for a test to look in."""
        return self.app.state.adapters

    @property
    def services(self) -> Services:
        return self.app.state.services

    @property
    def sync_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/sync"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@asynccontextmanager
async def running_app(
    settings: Settings,
    *,
    authorizer: Authorizer | None = None,
    store: DocStore | None = None,
    kv: KeyValue | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[RunningApp]:
    port = free_port()
    app = create_app(
        settings,
        authorizer=authorizer,
        store=store,
        kv=kv,
        clock=clock,
        sync_url=f"ws://127.0.0.1:{port}/sync",
    )
    async with serving(app, port, lifespan="on", ws_max_size=1 << 26):
        yield RunningApp(app, port)
