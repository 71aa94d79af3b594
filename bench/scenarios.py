"""The scenarios of `run.py`: which servers each starts, and which `load.mjs` runs it makes."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from load_generator import load
from processes import running
from profiling import Profiler
from servers_under_test import SERVER_NAMES, Hocuspocus, Inkweave, Server, YWebsocketServer

SCENARIOS = (
    "S2",
    "S3",
    "S3HEAVY",
    "JOINWAVE",
    "BURST",
    "S4",
    "APPENDS",
    "MEMORY",
    "AWARENESS",
    "CONNRATE",
)
# Scenarios that leave a server out: the connection-rate ramp is the longest per server, and
# the in-memory y-websocket reference says nothing new there.
SCENARIO_SERVERS = {"CONNRATE": ("inkweave", "hocuspocus")}
CONNRATE_CHAPTERS = 20


def servers_for(scenario: str) -> tuple[str, ...]:
    return SCENARIO_SERVERS.get(scenario, SERVER_NAMES)


@dataclass
class Config:
    """The run's settings: repetitions, scenario sizes, where Inkweave comes from, the folders."""

    quick: bool
    reps: int
    s2_updates: int = 100
    s3_docs: int = 200
    heavy_reps: int = 5  # heavy S3 swings run to run: the target compares medians of 5
    wave_docs: int = 200
    connrate_step_s: float = 2
    appends_s: float = 10
    memory_docs: int = 200
    awareness_idle_s: float = 35
    python: str = sys.executable
    inkweave_src: Path | None = None
    wait_quiet_s: float = 0
    logs: Path = field(default_factory=Path)
    tmp: Path = field(default_factory=Path)
    profiler: Profiler | None = None  # run.py --profile: py-spy on every Inkweave server started


def make_server(
    name: str, cfg: Config, data_dir: Path | None = None, extra_env: dict[str, str] | None = None
) -> Server:
    """The server `name`, not started; Inkweave on a fresh data dir unless given one."""
    if name == "inkweave":
        if data_dir is None:
            data_dir = Path(tempfile.mkdtemp(prefix="inkweave-", dir=cfg.tmp))
        return Inkweave(cfg.python, data_dir, cfg.logs, env=extra_env, pythonpath=cfg.inkweave_src)
    if name == "yws":
        return YWebsocketServer(cfg.logs)
    return Hocuspocus(cfg.logs)


@contextlib.contextmanager
def profiled(server: Server, cfg: Config) -> Iterator[None]:
    """py-spy on `server` for the block when `cfg.profiler` is set and it is Inkweave."""
    if cfg.profiler is not None and isinstance(server, Inkweave):
        with cfg.profiler.attached(server):
            yield
    else:
        yield


@contextlib.contextmanager
def serving(
    name: str, cfg: Config, data_dir: Path | None = None, extra_env: dict[str, str] | None = None
) -> Iterator[Server]:
    """The server `name` running (and `profiled`) for the block; `make_server`'s arguments."""
    with running(make_server(name, cfg, data_dir, extra_env)) as server, profiled(server, cfg):
        yield server


def scenario_s2(name: str, cfg: Config) -> dict[str, Any]:
    """Fan-out in one 50-client document, `reps` runs on one server."""
    out: dict[str, Any] = {"runs": []}
    with serving(name, cfg) as server:
        for _ in range(cfg.reps):
            out["runs"].append(load(server, "s2", "--updates", str(cfg.s2_updates)))
        negotiated = any("permessage-deflate" in str(r.get("ws_extensions")) for r in out["runs"])
        if name == "inkweave" and negotiated:
            # Diagnostic: the same load with clients that do not offer permessage-deflate.
            out["no_deflate"] = [
                load(server, "s2", "--updates", str(cfg.s2_updates), "--no-deflate")
                for _ in range(cfg.reps)
            ]
    return out


def scenario_s3(name: str, cfg: Config) -> dict[str, Any]:
    """Fan-out in many 2-client documents, `reps` runs on one server."""
    with serving(name, cfg) as server:
        return {"runs": [load(server, "s3", "--docs", str(cfg.s3_docs)) for _ in range(cfg.reps)]}


def scenario_s3heavy(name: str, cfg: Config) -> dict[str, Any]:
    """Heavy S3: one writer per 2-client document, ~4,000 updates/s for a second; `heavy_reps`."""
    with serving(name, cfg) as server:
        docs = str(cfg.s3_docs)
        return {"runs": [load(server, "s3heavy", "--docs", docs) for _ in range(cfg.heavy_reps)]}


def scenario_joinwave(name: str, cfg: Config) -> dict[str, Any]:
    """A wave of 2 x `wave_docs` clients opening new documents at once, then writing."""
    with serving(name, cfg) as server:
        docs = str(cfg.wave_docs)
        return {"runs": [load(server, "joinwave", "--docs", docs) for _ in range(cfg.reps)]}


def scenario_burst(name: str, cfg: Config) -> dict[str, Any]:
    """One document, 10 writers sending 100 updates each back to back."""
    with serving(name, cfg) as server:
        return {"runs": [load(server, "burst") for _ in range(cfg.reps)]}


async def _chapters(server: Inkweave, count: int) -> tuple[str, list[str]]:
    """A signed-up writer's access token and the content ids of `count` chapters of one work."""
    import httpx  # the repo's .venv has it (run.py re-runs itself there); the rest is stdlib
    from ai_session import sign_up_and_write

    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as http:
        session = await sign_up_and_write(server, http)
        docs = [session.content_id]
        for n in range(2, count + 1):
            chapter = await session.call(
                "POST", f"/api/v1/works/{session.work_id}/chapters", json={"title": f"第{n}章"}
            )
            docs.append(chapter["content_id"])
        return session.token, docs


def scenario_connrate(name: str, cfg: Config) -> dict[str, Any]:
    """New clients per second until one waits over 100 ms for its first sync.

    Inkweave runs with authentication on: every client presents a signed-up writer's access
    token and opens one of the work's chapters, so each connection is authorised (token, account,
    membership) as in production. The references check no token.
    """
    args = ["--step-s", str(cfg.connrate_step_s), "--docs", str(CONNRATE_CHAPTERS)]
    if name != "inkweave":
        with serving(name, cfg) as server:
            return {"run": load(server, "connrate", *args)}
    env = {"INKWEAVE_AUTH": "on", "INKWEAVE_WS_CONNECTIONS_PER_USER": "0"}
    with running(make_server(name, cfg, extra_env=env)) as server:
        assert isinstance(server, Inkweave)
        token, docs = asyncio.run(_chapters(server, CONNRATE_CHAPTERS))
        args += ["--token", token, "--doc-list", ",".join(docs)]
        with profiled(server, cfg):  # the clients, not the sign-up
            return {"run": load(server, "connrate", *args)}


def scenario_s4(name: str, cfg: Config) -> dict[str, Any]:
    """Joins to a 200,000-character document: in memory, from the store, after restarts."""
    if name != "inkweave":
        with serving(name, cfg) as server:
            return {
                "all": load(
                    server, "s4", "--joins", str(cfg.reps), "--dump-dir", str(cfg.logs), timeout=300
                )
            }
    # Inkweave: rooms unload as soon as they are empty, so that joins after the builder left
    # load the document from the store; then restarts on the same data dir (truly cold).
    with serving(name, cfg, extra_env={"INKWEAVE_ROOM_UNLOAD_GRACE_S": "0"}) as server:
        assert isinstance(server, Inkweave)
        first = load(
            server,
            "s4",
            "--joins",
            str(cfg.reps),
            "--cold-joins",
            str(cfg.reps),
            "--metrics-url",
            server.metrics_url,
            "--dump-dir",
            str(cfg.logs),
            timeout=300,
        )
    restarts = []
    for _ in range(cfg.reps):
        with serving(
            name, cfg, data_dir=server.data_dir, extra_env={"INKWEAVE_ROOM_UNLOAD_GRACE_S": "0"}
        ) as again:
            restarts.append(
                load(
                    again,
                    "s4",
                    "--phase",
                    "cold",
                    "--doc",
                    first["doc"],
                    "--cold-joins",
                    "1",
                    "--dump-dir",
                    str(cfg.logs),
                )
            )
    return {"all": first, "restarts": restarts}


def scenario_appends(name: str, cfg: Config) -> dict[str, Any]:
    """Updates per second acknowledged to closed-loop writers."""
    with serving(name, cfg) as server:
        args = ["--duration-s", str(cfg.appends_s)]
        if server.metrics_url:
            args += ["--metrics-url", server.metrics_url]
        return {"run": load(server, "appends", *args)}


def scenario_memory(name: str, cfg: Config) -> dict[str, Any]:
    """Server memory per open document."""
    with serving(name, cfg) as server:
        args = ["--docs", str(cfg.memory_docs)]
        if server.gc_url:
            args += ["--gc-url", server.gc_url]
        return {"run": load(server, "memory", *args)}


def scenario_awareness(name: str, cfg: Config) -> dict[str, Any]:
    """Awareness frames an idle room sends."""
    with serving(name, cfg) as server:
        return {"run": load(server, "awareness", "--idle-s", str(cfg.awareness_idle_s))}


RUNNERS: dict[str, Callable[[str, Config], dict[str, Any]]] = {
    "S2": scenario_s2,
    "S3": scenario_s3,
    "S3HEAVY": scenario_s3heavy,
    "JOINWAVE": scenario_joinwave,
    "BURST": scenario_burst,
    "S4": scenario_s4,
    "APPENDS": scenario_appends,
    "MEMORY": scenario_memory,
    "AWARENESS": scenario_awareness,
    "CONNRATE": scenario_connrate,
}
