"""`inkweave serve --workers 2` on the embedded default: two processes on one port, sharing the
SQLite stores and the supervisor's local hub. Which process takes a connection is the kernel's
choice, so each check uses enough fresh connections that both processes take part. One server
for every check (starting three processes is the slow part)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.api import PASSWORD
from tests.support.cluster import NodeApi
from tests.support.server import ServerProcess
from tests.support.waiting import eventually
from tests.support.yclient import YClient

WORKERS = 2


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    node = ServerProcess(tmp_path / "data", env={"INKWEAVE_WORKERS": str(WORKERS)}).start()
    yield node
    node.stop()


def workers_of(server: ServerProcess) -> list[psutil.Process]:
    assert server.proc is not None
    return psutil.Process(server.proc.pid).children()


async def answering_workers(server: ServerProcess) -> set[int]:
    """Which worker answers `/readyz` on each of 20 new connections."""
    seen = set()
    for _ in range(20):
        async with httpx.AsyncClient(base_url=server.http_url) as client:
            seen.add((await client.get("/readyz")).json()["worker"])
    return seen


def server_story(server: ServerProcess) -> str:
    """What a failed check needs to be understood: the workers alive and the server's log."""
    lines = server.log_path.read_text(errors="replace").splitlines()
    told = [line for line in lines if "/readyz" not in line][-40:]
    alive = [(worker.pid, worker.status()) for worker in workers_of(server)]
    return f"workers alive: {alive}\nserver log (without /readyz):\n" + "\n".join(told)


async def test_two_processes_serve_one_port_as_one_server(server: ServerProcess) -> None:
    seen: set[int] = set()  # the workers that answered (`INKWEAVE_WORKER_INDEX`)

    async def until(answered: Callable[[set[int]], bool], what: str) -> None:
        async def probe() -> bool:
            seen.update(await answering_workers(server))
            return answered(seen)

        try:
            await eventually(probe, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: only {sorted(seen)}\n{server_story(server)}") from exc

    await until(lambda seen: seen == set(range(WORKERS)), "both workers answer")
    await clients_of_one_document_converge(server)
    await the_sign_in_limit_holds_across_processes(server)

    crashed = workers_of(server)[0]
    crashed.send_signal(signal.SIGKILL)
    crashed.wait(timeout=30)
    await eventually(
        lambda: len(workers_of(server)) == WORKERS and crashed not in workers_of(server),
        what="a new worker in the crashed one's place",
    )
    seen.clear()  # a worker started again counts from WORKERS: it answers beside the other
    await until(lambda seen: len(seen) == WORKERS and max(seen) >= WORKERS, "the new one answers")

    workers = workers_of(server)
    server.stop()  # SIGTERM to the supervisor
    assert server.proc is not None and server.proc.returncode == 0
    assert not any(worker.is_running() for worker in workers)


async def clients_of_one_document_converge(server: ServerProcess) -> None:
    clients = [await YClient(server.sync_url, "多进程同一章").connect() for _ in range(8)]
    for number, client in enumerate(clients):
        client.text.insert(len(client.text), f"第{number}行\n")
    expected = {f"第{number}行" for number in range(len(clients))}
    for client in clients:
        await eventually(
            lambda client=client: set(str(client.text).split()) == expected,
            what="every client has every line",
        )
    await asyncio.gather(*(client.close() for client in clients))


async def the_sign_in_limit_holds_across_processes(server: ServerProcess) -> None:
    """Ten failures per account whichever process counts them: the eleventh is refused though
    some of the ten went to the other process."""
    api = NodeApi(server)
    account = await api.sign_up()
    answers = []
    for _ in range(11):
        async with httpx.AsyncClient(base_url=server.http_url) as client:  # a new connection
            body = {"email": account.username, "password": PASSWORD + "错"}
            answers.append((await client.post("/api/v1/auth/login", json=body)).status_code)
    assert answers[:10] == [401] * 10 and answers[10] == 429, answers
