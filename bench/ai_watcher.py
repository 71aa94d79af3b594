"""`ai_watch.mjs`, a stock y-websocket client on the chapter: events in, commands out."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import psutil
from paths import BENCH
from processes import InkweaveNode

WATCHER = BENCH / "ai_watch.mjs"
EVENT_TIMEOUT_S = 60

_WATCHER_PIDS: set[int] = set()

Event = dict[str, Any]


def stop_watchers() -> None:
    """Terminate any watcher still running (normally gone already: they exit when stdin closes)."""
    for pid in list(_WATCHER_PIDS):
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).terminate()
    _WATCHER_PIDS.clear()


class Watcher:
    """`ai_watch.mjs`: events in, commands out, every wait bounded."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.events: list[Event] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())
        self._stderr: list[str] = []
        self._stderr_reader = asyncio.create_task(self._read_stderr())

    @classmethod
    async def start(cls, server: InkweaveNode, doc: str, token: str) -> Watcher:
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(WATCHER),
            "--url",
            server.sync_url,
            "--doc",
            doc,
            "--token",
            token,
            cwd=BENCH,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _WATCHER_PIDS.add(proc.pid)
        watcher = cls(proc)
        await watcher.wait_for(lambda e: e["event"] == "synced", EVENT_TIMEOUT_S, "first sync")
        return watcher

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            event = json.loads(line)
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()
        async with self._changed:
            self.events.append({"event": "exited"})
            self._changed.notify_all()

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            self._stderr.append(line.decode(errors="replace"))
            del self._stderr[:-50]

    def find(self, predicate: Callable[[Event], bool], start: int = 0) -> Event | None:
        return next((e for e in self.events[start:] if predicate(e)), None)

    async def wait_for(
        self,
        predicate: Callable[[Event], bool],
        timeout: float,
        what: str,
        start: int = 0,
    ) -> Event:
        """The first event from index `start` on that matches; an error or exit raises."""

        async def found() -> Event:
            async with self._changed:
                while True:
                    event = self.find(predicate, start)
                    if event is not None:
                        return event
                    failed = self.find(lambda e: e["event"] in ("error", "exited"))
                    if failed is not None:
                        raise RuntimeError(f"watcher: {failed} {''.join(self._stderr)[-2000:]}")
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(found(), timeout)
        except TimeoutError:
            raise TimeoutError(f"watcher: no {what} within {timeout} s") from None

    async def command(self, command: dict[str, Any], reply: str, timeout: float) -> Event:
        """Send `command`; the first `reply` event after it."""
        assert self.proc.stdin is not None
        seen = len(self.events)
        self.proc.stdin.write((json.dumps(command, ensure_ascii=False) + "\n").encode())
        await asyncio.wait_for(self.proc.stdin.drain(), timeout)
        return await self.wait_for(lambda e: e["event"] == reply, timeout, reply, start=seen)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                assert self.proc.stdin is not None
                self.proc.stdin.write(b'{"cmd":"quit"}\n')
                self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await asyncio.wait_for(self.proc.wait(), 5)
        _WATCHER_PIDS.discard(self.proc.pid)
        for task in (self._reader, self._stderr_reader):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
