"""What a REST save costs when other processes write the same documents, in this process.

A room on SQLite (`storage.docs.sql.SQLDocStore` in a temporary directory) holds a chapter of
the REST bench's text (10 paragraphs); each save rewrites one paragraph (`set_content`, as
`PUT …/content` does) on behalf of one user. First `--log` saves fill the chapter's stored log,
then `--saves` are timed (process CPU and wall, per save), alone (`RoomPolicy()`) and with the
look at the store that `shared_store` makes before every server-side edit (`Room.change`),
alternating `--rounds` times on fresh chapters. Prints a Markdown table. No server; seconds.

    python bench/shared_save.py [--log 100] [--saves 200] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from rest_text import ChapterText, join

from storage.docs.restore import set_content
from storage.docs.sql import SQLDocStore
from sync_server.room import RoomPolicy
from sync_server.rooms import RoomManager


async def timed_saves(
    store: SQLDocStore, shared: bool, log: int, saves: int
) -> tuple[float, float]:
    """CPU and wall milliseconds per save of a chapter whose log holds `log` saves already."""
    text = ChapterText(random.randrange(1 << 30))
    paragraphs = [text.paragraph() for _ in range(10)]
    manager = RoomManager(store, policy=RoomPolicy(shared_store=shared), unload_grace_s=60)
    async with manager.hold(f"chapter-{random.randrange(1 << 30)}") as room:
        for _ in range(log):
            paragraphs[random.randrange(10)] = text.paragraph()
            await room.change(set_content(join(paragraphs)), on_behalf_of="1")
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(saves):
            paragraphs[random.randrange(10)] = text.paragraph()
            await room.change(set_content(join(paragraphs)), on_behalf_of="1")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await manager.close()
    return cpu / saves * 1e3, wall / saves * 1e3


async def main(log: int, saves: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = SQLDocStore(f"sqlite+aiosqlite:///{Path(directory) / 'docs.sqlite3'}")
        await store.start()
        print("| round | alone: ms CPU / wall per save | shared_store: ms CPU / wall per save |")
        print("| --- | --- | --- |")
        for round_ in range(1, rounds + 1):
            alone = await timed_saves(store, False, log, saves)
            shared = await timed_saves(store, True, log, saves)
            cells = [f"{cpu:.2f} / {wall:.2f}" for cpu, wall in (alone, shared)]
            print(f"| {round_} | {' | '.join(cells)} |")
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=int, default=100, help="saves stored before timing")
    parser.add_argument("--saves", type=int, default=200, help="saves timed per chapter")
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.log, arguments.saves, arguments.rounds))
