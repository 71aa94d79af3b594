"""`/readyz` follows the document store (README, "Operations"): 503 while it is down, 200 again
once it is back, so a load balancer stops sending sockets to a node that cannot store updates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.settings import Settings
from storage.docs.mongo import MongoDocStore
from tests.support.inprocess import RunningApp, running_app
from tests.support.secantus import SecantusServer
from tests.support.server import free_port
from tests.support.waiting import DEADLINE_S, eventually

pytestmark = pytest.mark.mongo


@pytest.fixture
def secantus() -> Iterator[SecantusServer]:
    server = SecantusServer(port=free_port()).start()  # a fixed port: restarted where it was
    try:
        yield server
    finally:
        server.remove()


async def readiness(app: RunningApp) -> httpx.Response:
    async with httpx.AsyncClient(base_url=app.http_url, timeout=DEADLINE_S) as http:
        return await http.get("/readyz")


async def test_readyz_is_503_while_the_document_store_is_down_and_200_once_it_is_back(
    tmp_path: Path, secantus: SecantusServer
) -> None:
    store = MongoDocStore(secantus.url, "readiness")
    settings = Settings(data_dir=tmp_path / "data", auth="off")
    async with running_app(settings, store=store) as app:
        ready = await readiness(app)
        assert ready.status_code == 200, ready.text
        assert ready.json() == {
            "status": "ready",
            "worker": 0,
            "database": "ok",
            "docs": "ok",
            "kv": "ok",
        }

        secantus.kill()

        async def unavailable() -> httpx.Response | None:
            response = await readiness(app)
            return response if response.status_code == 503 else None

        down = await eventually(unavailable, what="/readyz reports the store down")
        body = down.json()
        assert body["status"] == "unavailable"
        assert body["database"] == "ok" and body["docs"] != "ok", body

        secantus.start()

        async def ready_again() -> bool:
            return (await readiness(app)).status_code == 200

        await eventually(ready_again, what="/readyz reports the store back")
