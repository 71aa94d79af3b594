"""`SyncRoute`: a WebSocket under `/sync/` goes straight to the sync endpoint, its document named by
the rest of the path (past any mount point); every other request goes on to the app it wraps."""

from __future__ import annotations

import httpx
from starlette.types import Receive, Scope, Send

from storage.docs.merge import load_content
from storage.docs.sql import SQLDocStore
from sync_server.auth import AllowAllAuthorizer
from sync_server.endpoint import EndpointLimits, SyncEndpoint, SyncRoute
from sync_server.metrics import SyncMetrics
from sync_server.room import RoomPolicy
from sync_server.rooms import RoomManager
from tests.support.asgi import serving
from tests.support.server import free_port
from tests.support.waiting import eventually
from tests.support.yclient import YClient

DOC = "路由/第1章"


async def test_sync_sockets_skip_the_wrapped_app_and_everything_else_reaches_it(
    store: SQLDocStore,
) -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        """Stands for the REST middleware and routing: records what reaches it, answers 404."""
        seen.append(f"{scope['type']} {scope['path']}")
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    rooms = RoomManager(store, policy=RoomPolicy(), unload_grace_s=0)
    limits = EndpointLimits(max_message_bytes=1 << 20, send_queue_limit=100)
    endpoint = SyncEndpoint(rooms, AllowAllAuthorizer(), SyncMetrics(), limits)
    port = free_port()
    async with serving(SyncRoute(app, endpoint=endpoint), port, root_path="/inkweave"):
        writer = await YClient(f"ws://127.0.0.1:{port}/sync", DOC).connect()
        writer.append("直达")

        async def stored() -> bool:
            return (await load_content(store, DOC))[0] == "直达"

        await eventually(stored, what="the update stored")
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"http://127.0.0.1:{port}/sync/{DOC}")
        await writer.close()
    await rooms.close()

    assert answer.status_code == 404
    assert seen == [f"http /inkweave/sync/{DOC}"], "only the HTTP request reached the app"
