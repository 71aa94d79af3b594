"""Invariant 1: a `kill -9` loses no update that any other peer had already received."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from pycrdt import Doc, Text

from storage.docs.schema import CONTENT
from tests.support.server import ServerProcess
from tests.support.waiting import eventually
from tests.support.yclient import YClient
from tests.support.ydocs import clocks

ROOM = "长篇/第十章"


async def test_kill_9_loses_nothing_any_peer_received(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    writers = [await YClient(server.sync_url, ROOM, name=f"w{i}").connect() for i in range(3)]
    observer = await YClient(server.sync_url, ROOM).connect()
    stop = asyncio.Event()

    async def type_continuously(client: YClient, tag: str) -> None:
        index = 0
        while not stop.is_set():
            client.append(f"{tag}{index}字；")
            index += 1
            await asyncio.sleep(0.005)  # part of the test: a typist still typing at the kill

    tasks = [
        asyncio.create_task(type_continuously(c, t)) for c, t in zip(writers, "甲乙丙", strict=True)
    ]

    def relayed() -> int:
        return sum(len(client.received_updates) for client in (*writers, observer))

    await eventually(lambda: relayed() > 100, what="plenty relayed before the kill")
    server.kill()  # mid-stream: clients are still sending
    stop.set()
    await asyncio.gather(*tasks)

    received = [u for client in (*writers, observer) for u in client.received_updates]

    restarted = ServerProcess(data)
    restarted.port = server.port
    restarted.start()
    try:
        reader = await YClient(restarted.sync_url, ROOM).connect()
        reloaded = reader.doc.get_update()
        with_everything_received: Doc = Doc()
        with_everything_received.apply_update(reloaded)
        for update in received:
            with_everything_received.apply_update(update)
        assert clocks(with_everything_received) == clocks(reader.doc)
        assert str(with_everything_received.get(CONTENT, type=Text)) == str(reader.text)
        await reader.close()
    finally:
        for client in (*writers, observer):
            with contextlib.suppress(Exception):
                await client.close()
        restarted.stop()
