"""A review in spawned processes, one for each of its parts, running side by side.

A review's tables grow with the text (the repeated-passage finder holds every paragraph's
shingles), and memory that a long-lived server frees mostly stays with it; a process's goes back
when it ends. The chapters are handed to the processes as they are read, so the caller holds one
chapter at a time, not the work, and each process learns what it can from a chapter (names,
shingles) while the next is being read.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import AsyncIterable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from . import PARTS, Limits, PartReviewer, Review, combined
from .findings import Chapter

_JOIN_S = 10.0


async def review_in_processes(
    chapters: AsyncIterable[Chapter], limits: Limits | None = None
) -> Review:
    """`review` of the chapters, given in reading order as they are read."""
    limits = limits or Limits()
    spawn = multiprocessing.get_context("spawn")
    children: list[tuple[Connection, BaseProcess]] = []
    try:
        for part in PARTS:
            ours, theirs = spawn.Pipe()
            process = spawn.Process(
                target=_review_part,
                args=(theirs, part, limits),
                name=f"inkweave-review-{part}",
                daemon=True,
            )
            process.start()
            theirs.close()
            children.append((ours, process))
        chapter_ids = []
        connections = [connection for connection, _process in children]
        async for chapter in chapters:
            chapter_ids.append(chapter[0])
            await asyncio.to_thread(_send_to_all, connections, chapter)
        await asyncio.to_thread(_send_to_all, connections, None)
        parts = [await asyncio.to_thread(_answer, connection) for connection, _ in children]
    finally:
        for connection, process in children:
            connection.close()
            await asyncio.to_thread(_end, process)
    return combined(chapter_ids, parts, limits)


def _send_to_all(connections: list[Connection], chapter: Chapter | None) -> None:
    for connection in connections:
        connection.send(chapter)


def _answer(connection: Connection) -> Review:
    try:
        answer = connection.recv()
    except EOFError:
        raise RuntimeError("a review process ended before it answered") from None
    if isinstance(answer, BaseException):
        raise answer
    if not isinstance(answer, Review):
        raise RuntimeError(f"a review process answered {type(answer).__name__}")
    return answer


def _end(process: BaseProcess) -> None:
    process.join(_JOIN_S)
    if process.is_alive():
        process.kill()
        process.join()


def _review_part(connection: Connection, part: str, limits: Limits) -> None:
    try:
        reviewer = PartReviewer(part)
        while (chapter := connection.recv()) is not None:
            reviewer.add(chapter)
        connection.send(reviewer.finish(limits))
    except EOFError:
        pass  # the server went away or gave up: nobody to answer
    except Exception as error:  # handed to the server, which raises it as its own
        connection.send(RuntimeError(f"{type(error).__name__}: {error}"))
    finally:
        connection.close()
