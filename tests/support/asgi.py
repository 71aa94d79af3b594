"""Serve an ASGI app with uvicorn inside the test's event loop, on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from .waiting import eventually


@asynccontextmanager
async def serving(app: Any, port: int, **config: Any) -> AsyncIterator[uvicorn.Server]:
    """Until the block ends; `config` goes to `uvicorn.Config` (lifespan, limits, ...)."""
    # As `inkweave serve`: the app, not uvicorn, decides whom to believe about the client, and
    # sockets are not compressed (`INKWEAVE_WS_PER_MESSAGE_DEFLATE`'s default).
    options: dict[str, Any] = {
        "log_config": None,
        "lifespan": "off",
        "proxy_headers": False,
        "ws_per_message_deflate": False,
        **config,
    }
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
    task = asyncio.create_task(server.serve())

    def started() -> bool:
        if task.done():
            task.result()  # it failed to start: raise why
        return server.started

    await eventually(started, what="uvicorn started")
    try:
        yield server
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
