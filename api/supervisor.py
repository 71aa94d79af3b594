"""`inkweave serve --workers N`: N server processes on one listening socket.

The supervising process prepares what must happen once (schema, starter materials, the secret
key file), binds the port, and starts N `inkweave serve --fd` processes that accept from that
socket in turn. Without Redis it also runs the local hub (`storage.hub`): the bus and the
counters the workers share, so that every client of a document converges whichever process it
lands on, and a rate limit or a revoked token holds across them. Each worker writes its
documents ahead into the shared store as a single server does (SQLite serialises writers across
processes; MySQL and MongoDB take concurrent appends).

A worker that exits on its own is started again (after a pause that grows while it keeps
failing); SIGTERM or SIGINT stops the workers, then the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from storage.hub.server import LocalHub
from storage.sql.database import Database

from .adapters import document_store
from .services.materials import seed_system_materials
from .settings import Settings

log = logging.getLogger("inkweave")

STOP_MARGIN_S = 10.0  # past a worker's own grace: rooms flushed, jobs handed back
MAX_RESTART_DELAY_S = 10.0


@dataclass
class Supervisor:
    settings: Settings
    listener: socket.socket
    host: str
    port: int
    workers: int
    _hub_dir: Path | None = None
    _processes: dict[int, asyncio.subprocess.Process] = field(default_factory=dict)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        await prepare_once(self.settings)
        hub = None
        if not self.settings.redis_url:
            self._hub_dir = Path(tempfile.mkdtemp(prefix="inkweave-hub-"))
            hub = LocalHub(self._hub_dir / "hub.sock")
            await hub.start()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stopping.set)
        log.info("starting workers", extra={"workers": self.workers, "port": self.port})
        try:
            async with asyncio.TaskGroup() as group:
                for index in range(self.workers):
                    group.create_task(self._keep_running(index, hub))
        finally:
            if hub is not None:
                await hub.close()
            if self._hub_dir is not None:
                with contextlib.suppress(OSError):
                    self._hub_dir.rmdir()

    async def _keep_running(self, index: int, hub: LocalHub | None) -> None:
        delay = 0.5
        while not self._stopping.is_set():
            process = await self._start(index, hub, restarted=index in self._processes)
            stopping = asyncio.create_task(self._stopping.wait())
            exited = asyncio.create_task(process.wait())
            await asyncio.wait({stopping, exited}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if self._stopping.is_set():
                await self._stop(process)
                return
            log.error(
                "worker exited; starting it again",
                extra={"worker": index, "code": exited.result(), "delay_s": delay},
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * 2, MAX_RESTART_DELAY_S)

    async def _start(
        self, index: int, hub: LocalHub | None, *, restarted: bool
    ) -> asyncio.subprocess.Process:
        env = {
            **os.environ,
            "INKWEAVE_DATA_DIR": str(self.settings.data_dir),
            "INKWEAVE_WORKERS": "1",
            # A worker started again must not take back the tasks the others are running.
            "INKWEAVE_WORKER_INDEX": str(index + self.workers if restarted else index),
            "INKWEAVE_AUTO_MIGRATE": "false",  # done once, here
        }
        if hub is not None:
            env["INKWEAVE_LOCAL_HUB"] = str(hub.path)
        fd = self.listener.fileno()
        command = [sys.executable, "-m", "api", "serve", "--host", self.host]
        command += ["--port", str(self.port), "--fd", str(fd)]
        process = await asyncio.create_subprocess_exec(*command, env=env, pass_fds=(fd,))
        self._processes[index] = process
        return process

    async def _stop(self, process: asyncio.subprocess.Process) -> None:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(
                    process.wait(), self.settings.shutdown_grace_s + STOP_MARGIN_S
                )
            except TimeoutError:
                process.kill()
                await process.wait()


async def prepare_once(settings: Settings) -> None:
    """What N processes starting together must not each do: create the secret key file,
    upgrade the schema, create the document store's tables (on SQLite, its new file), seed the
    starter materials."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.resolved_secret_key()
    database = Database(settings.resolved_database_url())
    try:
        if settings.should_migrate():
            await database.migrate()
        await seed_system_materials(database)
    finally:
        await database.close()
    if not settings.mongo_url:  # the SQL store's tables (MongoDB makes its indexes as it goes)
        store = document_store(settings)
        try:
            await store.start()
        finally:
            await store.close()


def supervise(
    settings: Settings, listener: socket.socket, host: str, port: int, workers: int
) -> None:
    listener.set_inheritable(True)
    asyncio.run(Supervisor(settings, listener, host, port, workers).run())
