"""The scenarios of `run.py`: which servers each starts, and which `load.mjs` runs it makes."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from load_generator import load
from processes import running
from servers_under_test import Hocuspocus, Inkweave, Server, YWebsocketServer

SCENARIOS = ("S2", "S3", "S4", "APPENDS", "MEMORY", "AWARENESS")


@dataclass
class Config:
    """The run's settings: repetitions, scenario sizes, where Inkweave comes from, the folders."""

    quick: bool
    reps: int
    s2_updates: int = 100
    s3_docs: int = 200
    appends_s: float = 10
    memory_docs: int = 200
    awareness_idle_s: float = 35
    python: str = sys.executable
    inkweave_src: Path | None = None
    wait_quiet_s: float = 0
    logs: Path = field(default_factory=Path)
    tmp: Path = field(default_factory=Path)


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


def scenario_s2(name: str, cfg: Config) -> dict[str, Any]:
    """Fan-out in one 50-client document, `reps` runs on one server."""
    out: dict[str, Any] = {"runs": []}
    with running(make_server(name, cfg)) as server:
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
    with running(make_server(name, cfg)) as server:
        return {"runs": [load(server, "s3", "--docs", str(cfg.s3_docs)) for _ in range(cfg.reps)]}


def scenario_s4(name: str, cfg: Config) -> dict[str, Any]:
    """Joins to a 200,000-character document: in memory, from the store, after restarts."""
    if name != "inkweave":
        with running(make_server(name, cfg)) as server:
            return {
                "all": load(
                    server, "s4", "--joins", str(cfg.reps), "--dump-dir", str(cfg.logs), timeout=300
                )
            }
    # Inkweave: rooms unload as soon as they are empty, so that joins after the builder left
    # load the document from the store; then restarts on the same data dir (truly cold).
    server = make_server(name, cfg, extra_env={"INKWEAVE_ROOM_UNLOAD_GRACE_S": "0"})
    assert isinstance(server, Inkweave)
    with running(server):
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
        again = make_server(
            name, cfg, data_dir=server.data_dir, extra_env={"INKWEAVE_ROOM_UNLOAD_GRACE_S": "0"}
        )
        with running(again):
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
    with running(make_server(name, cfg)) as server:
        args = ["--duration-s", str(cfg.appends_s)]
        if server.metrics_url:
            args += ["--metrics-url", server.metrics_url]
        return {"run": load(server, "appends", *args)}


def scenario_memory(name: str, cfg: Config) -> dict[str, Any]:
    """Server memory per open document."""
    with running(make_server(name, cfg)) as server:
        args = ["--docs", str(cfg.memory_docs)]
        if server.gc_url:
            args += ["--gc-url", server.gc_url]
        return {"run": load(server, "memory", *args)}


def scenario_awareness(name: str, cfg: Config) -> dict[str, Any]:
    """Awareness frames an idle room sends."""
    with running(make_server(name, cfg)) as server:
        return {"run": load(server, "awareness", "--idle-s", str(cfg.awareness_idle_s))}


RUNNERS: dict[str, Callable[[str, Config], dict[str, Any]]] = {
    "S2": scenario_s2,
    "S3": scenario_s3,
    "S4": scenario_s4,
    "APPENDS": scenario_appends,
    "MEMORY": scenario_memory,
    "AWARENESS": scenario_awareness,
}
