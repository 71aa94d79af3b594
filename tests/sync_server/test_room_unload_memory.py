"""Room unload frees memory: documents that nobody holds do not stay in the process."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import psutil
import pytest

from tests.support.metrics import metric
from tests.support.server import ServerProcess
from tests.support.waiting import eventually
from tests.support.yclient import YClient


async def cycle(server: ServerProcess, names: list[str]) -> None:
    semaphore = asyncio.Semaphore(20)

    async def one(name: str) -> None:
        async with semaphore:
            client = await YClient(server.sync_url, name).connect()
            client.append(f"{name}：" + "字" * 200)
            await client.close()

    await asyncio.gather(*(one(name) for name in names))


@pytest.mark.slow
# 4,200 bounded connect-write-close cycles: minutes on a loaded 2-core machine. The suite's
# 120 s guard is for hangs; this test's work is finite, so it gets a longer guard.
@pytest.mark.timeout(600)
async def test_a_thousand_documents_come_and_go_without_growth(tmp_path: Path) -> None:
    # Not measured by coverage: its paths are covered elsewhere, and the tracer's CPU and data
    # would sit on top of what this test measures.
    server = ServerProcess(
        tmp_path / "data",
        env={"INKWEAVE_ROOM_UNLOAD_GRACE_S": "0"},
        migrated=True,
        measured=False,
    ).start()
    try:
        process = psutil.Process(server.proc.pid)
        await cycle(server, [f"预热/{i}" for i in range(200)])
        rss = []
        for round_ in range(4):
            await cycle(server, [f"第{round_}轮/文档{i}" for i in range(1000)])
            await eventually(
                lambda: metric(server.metrics(), "inkweave_open_rooms") == 0,
                what="every room unloaded",
            )
            assert metric(server.metrics(), "inkweave_connections") == 0
            rss.append(process.memory_info().rss)
        # Leaking the rooms (their documents are held from Rust, out of the cycle collector's
        # reach) grew the server by 4 to 7 MiB every round here; without the leak it is flat. A
        # busy machine can add a one-off step (an allocator arena), so the quietest of the
        # later rounds is judged: a leak shows in every one of them.
        growth_mb = min(later - earlier for earlier, later in itertools.pairwise(rss[1:])) / 2**20
        assert growth_mb < 3, f"server grew {growth_mb:.1f} MiB per 1,000 more documents: {rss}"
        # Every document is still there after its room was unloaded.
        reader = await YClient(server.sync_url, "第3轮/文档999").connect()
        assert str(reader.text).startswith("第3轮/文档999：")
        await reader.close()
    finally:
        server.stop()
