#!/usr/bin/env python3
"""Side-by-side benchmark: Inkweave vs @y/websocket-server vs Hocuspocus, real Yjs clients.

    python bench/run.py [--quick] [--only S2,S3,S4,APPENDS,MEMORY,AWARENESS]

Starts each server in turn on 127.0.0.1 (Inkweave with write-ahead persistence into SQLite in a
fresh temporary data dir; the two Node reference servers in memory), drives it with
`bench/load.mjs`, and prints a Markdown table (median of the repetitions). Raw results go to
`bench/results/`. Every wait is bounded; every process started here is stopped on exit, errors
included.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from processes import PROCESSES, InkweaveNode, ServerProcess, stop_all

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
LOAD = BENCH / "load.mjs"
SCENARIOS = ("S2", "S3", "S4", "APPENDS", "MEMORY", "AWARENESS")
SERVER_NAMES = ("inkweave", "yws", "hocuspocus")
COLUMNS = {"inkweave": "Inkweave", "yws": "@y/websocket-server", "hocuspocus": "Hocuspocus"}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# servers


class Server(ServerProcess):
    """A server under test; subclasses say how to start it."""

    kind = "ywebsocket"  # which client drives it: ywebsocket | hocuspocus

    @property
    def cwd(self) -> Path:
        return REPO

    @property
    def sync_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/sync"

    @property
    def metrics_url(self) -> str | None:
        return None

    @property
    def gc_url(self) -> str | None:
        return None


class Inkweave(InkweaveNode, Server):
    """`inkweave serve` (auth off) as a server under test; see `processes.InkweaveNode`."""


class NodeServer(Server):
    script = ""

    def command(self) -> list[str]:
        return [
            "node",
            "--expose-gc",
            str(BENCH / "servers" / self.script),
            "--port",
            str(self.port),
            "--host",
            "127.0.0.1",
        ]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("YPERSISTENCE", None)
        return env

    @property
    def gc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/__gc"


class YWebsocketServer(NodeServer):
    name = "yws"
    script = "yws.mjs"


class Hocuspocus(NodeServer):
    name = "hocuspocus"
    kind = "hocuspocus"
    script = "hocuspocus.mjs"

    @property
    def sync_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


# --------------------------------------------------------------------------------------------
# load runs


@dataclass
class Config:
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


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine so far (/proc/stat; 0 where unreadable)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / 100


def wait_quiet(limit_s: float, threshold: float = 0.10) -> None:
    """Wait (at most `limit_s`) until the machine has been under `threshold` busy for 3 s."""
    if limit_s <= 0:
        return
    cores = os.cpu_count() or 1
    deadline = time.monotonic() + limit_s
    quiet = 0
    while time.monotonic() < deadline:
        before = machine_busy()
        time.sleep(1)
        share = (machine_busy() - before) / cores
        quiet = quiet + 1 if share < threshold else 0
        if quiet >= 3:
            return
    log(f"machine still busy after {limit_s:.0f} s of waiting; measuring anyway")


def load(server: Server, scenario: str, *args: str, timeout: float = 240) -> dict[str, Any]:
    """Run one load scenario against `server`; return its JSON result (raise on error)."""
    cmd = [
        "node",
        str(LOAD),
        scenario,
        "--kind",
        server.kind,
        "--url",
        server.sync_url,
        "--prefix",
        f"{scenario}{time.monotonic_ns() % 10**9}",
        "--timeout-s",
        str(int(timeout - 10)),
        *args,
    ]
    if "--pid" not in args:
        cmd += ["--pid", str(server.pid)]
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=BENCH, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    PROCESSES.append(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        raise RuntimeError(
            f"load {scenario} on {server.name} timed out: {err.decode()[-2000:]}"
        ) from None
    finally:
        with contextlib.suppress(ValueError):
            PROCESSES.remove(proc)
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(
            f"load {scenario} on {server.name} gave no result:\n{err.decode()[-3000:]}"
        )
    result = json.loads(lines[-1])
    if "error" in result:
        raise RuntimeError(
            f"load {scenario} on {server.name}: {result['error']}\n{err.decode()[-2000:]}"
        )
    if err.strip():
        log(f"{server.name} {scenario} stderr: {err.decode().strip()[-500:]}")
    log(f"{server.name} {scenario} done in {time.monotonic() - started:.1f} s")
    return result


def make_server(
    name: str, cfg: Config, data_dir: Path | None = None, extra_env: dict[str, str] | None = None
) -> Server:
    if name == "inkweave":
        if data_dir is None:
            data_dir = Path(tempfile.mkdtemp(prefix="inkweave-", dir=cfg.tmp))
        return Inkweave(cfg.python, data_dir, cfg.logs, env=extra_env, pythonpath=cfg.inkweave_src)
    if name == "yws":
        return YWebsocketServer(cfg.logs)
    return Hocuspocus(cfg.logs)


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


def scenario_s2(name: str, cfg: Config) -> dict[str, Any]:
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
    with running(make_server(name, cfg)) as server:
        return {"runs": [load(server, "s3", "--docs", str(cfg.s3_docs)) for _ in range(cfg.reps)]}


def scenario_s4(name: str, cfg: Config) -> dict[str, Any]:
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
    with running(make_server(name, cfg)) as server:
        args = ["--duration-s", str(cfg.appends_s)]
        if server.metrics_url:
            args += ["--metrics-url", server.metrics_url]
        return {"run": load(server, "appends", *args)}


def scenario_memory(name: str, cfg: Config) -> dict[str, Any]:
    with running(make_server(name, cfg)) as server:
        args = ["--docs", str(cfg.memory_docs)]
        if server.gc_url:
            args += ["--gc-url", server.gc_url]
        return {"run": load(server, "memory", *args)}


def scenario_awareness(name: str, cfg: Config) -> dict[str, Any]:
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


# --------------------------------------------------------------------------------------------
# table


def med(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def extract(raw: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, float | None], str]]:
    """Rows: (metric, {server: value}, target rule). Rule: 'lower', 'higher' or ''."""
    rows: list[tuple[str, dict[str, float | None], str]] = []

    def add(
        metric: str,
        scenario: str,
        getter: Callable[[dict[str, Any]], float | None],
        rule: str = "",
        only: tuple[str, ...] = SERVER_NAMES,
    ) -> None:
        values: dict[str, float | None] = {}
        for name in SERVER_NAMES:
            data = raw.get(name, {}).get(scenario)
            value = None
            if name in only and isinstance(data, dict) and "error" not in data:
                with contextlib.suppress(KeyError, TypeError, IndexError, ValueError):
                    value = getter(data)
            values[name] = value
        if any(v is not None for v in values.values()):
            rows.append((metric, values, rule))

    def lat(key: str, part: str) -> Callable[[dict[str, Any]], float | None]:
        return lambda d: med([r["latency_ms"][part] for r in d[key]])

    def cpu(key: str) -> Callable[[dict[str, Any]], float | None]:
        return lambda d: med([r.get("server_cpu_s") for r in d[key]])

    add("S2 fan-out p50 (ms)", "S2", lat("runs", "p50"))
    add("S2 fan-out p99 (ms)", "S2", lat("runs", "p99"), "lower")
    add(
        "S2 fan-out p50, clients without permessage-deflate (ms)",
        "S2",
        lat("no_deflate", "p50"),
        only=("inkweave",),
    )
    add(
        "S2 fan-out p99, clients without permessage-deflate (ms)",
        "S2",
        lat("no_deflate", "p99"),
        only=("inkweave",),
    )
    add("S2 server CPU per run (s)", "S2", cpu("runs"))
    add("S3 fan-out p50 (ms)", "S3", lat("runs", "p50"))
    add("S3 fan-out p99 (ms)", "S3", lat("runs", "p99"), "lower")
    add("S3 server CPU per run (s)", "S3", cpu("runs"))

    def s4(part: str, which: str) -> Callable[[dict[str, Any]], float | None]:
        def get(d: dict[str, Any]) -> float | None:
            if which == "cold" and "restarts" not in d:  # references: in memory only
                return med([j[part] for j in d["all"]["warm"]])
            if which == "restart":
                return med([r["cold"][0][part] for r in d["restarts"]])
            return med([j[part] for j in d["all"][which]])

        return get

    add(
        "S4 join p50 (ms): Inkweave loads from its store, references in memory",
        "S4",
        s4("p50", "cold"),
    )
    add(
        "S4 join p99 (ms): Inkweave loads from its store, references in memory",
        "S4",
        s4("p99", "cold"),
        "lower",
    )
    add("S4 join p50 (ms), document already in memory", "S4", s4("p50", "warm"))
    add("S4 join p99 (ms), document already in memory", "S4", s4("p99", "warm"), "lower")
    add(
        "S4 join p50 (ms), first join after a server restart",
        "S4",
        s4("p50", "restart"),
        only=("inkweave",),
    )
    add(
        "S4 join p99 (ms), first join after a server restart",
        "S4",
        s4("p99", "restart"),
        only=("inkweave",),
    )
    add(
        "S4 build: 2,000 updates through one client (s)",
        "S4",
        lambda d: d["all"]["build_ms"] / 1000,
    )
    add(
        "Updates/s acknowledged by relay, 20 closed-loop writers (higher is better)",
        "APPENDS",
        lambda d: d["run"]["acked_per_s"],
    )
    add(
        "Inkweave store appends/s (/metrics)",
        "APPENDS",
        lambda d: d["run"]["server"]["updates_received_per_s"],
        only=("inkweave",),
    )
    add(
        "Inkweave mean group-commit batch (updates)",
        "APPENDS",
        lambda d: d["run"]["server"]["mean_batch_size"],
        only=("inkweave",),
    )
    add(
        "Inkweave mean receive-to-durable append (ms)",
        "APPENDS",
        lambda d: d["run"]["server"]["mean_append_ms"],
        only=("inkweave",),
    )
    add(
        "Server memory per open document (KiB RSS)",
        "MEMORY",
        lambda d: d["run"]["per_doc_kib"],
        "lower",
    )
    add(
        "Awareness frames per client per minute, idle 20-client room",
        "AWARENESS",
        lambda d: d["run"]["awareness_per_client_per_min"],
        "lower",
    )

    # Noise: CPU that other processes on the machine used while this server was measured.
    others: dict[str, float | None] = {}
    for name in SERVER_NAMES:
        runs = list(_load_results(raw.get(name, {})))
        wall = sum(r["wall_s"] for r in runs)
        used = sum(r["others_cpu_s"] for r in runs)
        others[name] = 100 * used / (wall * (os.cpu_count() or 1)) if wall else None
    if any(v is not None for v in others.values()):
        rows.append(
            ("Noise: CPU used by other processes during the runs (% of the machine)", others, "")
        )
    return rows


def _load_results(node: Any) -> Iterator[dict[str, Any]]:
    """Every load.mjs result found in a scenario's nested output."""
    if isinstance(node, dict):
        if "others_cpu_s" in node and "wall_s" in node:
            yield node
        else:
            for value in node.values():
                yield from _load_results(value)
    elif isinstance(node, list):
        for value in node:
            yield from _load_results(value)


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(raw: dict[str, dict[str, Any]]) -> str:
    head = ["metric", *COLUMNS.values(), "Inkweave / Hocuspocus", "target: Inkweave ≤ Hocuspocus"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for metric, values, rule in extract(raw):
        ink, hp = values.get("inkweave"), values.get("hocuspocus")
        ratio = f"{ink / hp:.2f}" if ink is not None and hp not in (None, 0) else "—"
        verdict = ""
        if rule == "lower" and ink is not None and hp is not None:
            if ink <= hp:
                verdict = "met"
            else:
                verdict = f"missed by {fmt(ink - hp)} ({(ink / hp - 1) * 100:.0f}% over)"
        cells = [metric, *(fmt(values.get(n)) for n in SERVER_NAMES), ratio, verdict]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    versions = {}
    with contextlib.suppress(OSError, ValueError):
        lock = json.loads((BENCH / "package-lock.json").read_text())
        for pkg in (
            "yjs",
            "y-websocket",
            "ws",
            "@y/websocket-server",
            "@hocuspocus/server",
            "@hocuspocus/provider",
        ):
            versions[pkg] = lock["packages"][f"node_modules/{pkg}"]["version"]

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "inkweave_commit": git("rev-parse", "--short", "HEAD"),
        "inkweave_tree_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "node": node,
        "packages": versions,
    }


# --------------------------------------------------------------------------------------------
# main


def default_python() -> str:
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one repetition, shorter idle periods, fewer documents: about 3 minutes instead of 10",
    )
    parser.add_argument("--only", default="", help=f"comma-separated subset of {SCENARIOS}")
    parser.add_argument(
        "--servers",
        default=",".join(SERVER_NAMES),
        help=f"comma-separated subset of {SERVER_NAMES}",
    )
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 3; 1 quick)")
    parser.add_argument(
        "--python",
        default=default_python(),
        help="interpreter that runs Inkweave (default: the repo's .venv)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each scenario, wait up to SECONDS for the machine to be "
        "idle (under 10%% busy for 3 s): for shared machines",
    )
    parser.add_argument(
        "--inkweave-src",
        type=Path,
        default=None,
        help="run Inkweave from this source tree instead of the repo (e.g. "
        "`git archive HEAD | tar -x -C DIR`); it goes first on PYTHONPATH",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (BENCH / "node_modules" / "yjs").exists():
        print("bench/node_modules is missing: run `npm ci --prefix bench` first.", file=sys.stderr)
        return 1
    if shutil.which("node") is None:
        print("node is not on PATH (Node 20+ is needed).", file=sys.stderr)
        return 1
    scenarios = [s.strip().upper() for s in args.only.split(",") if s.strip()] or list(SCENARIOS)
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = [s for s in scenarios if s not in SCENARIOS] + [
        s for s in servers if s not in SERVER_NAMES
    ]
    if unknown:
        print(f"unknown scenario or server: {unknown}", file=sys.stderr)
        return 2

    stamp = time.strftime("%Y%m%d-%H%M%S")
    results_dir = BENCH / "results"
    logs = results_dir / f"{stamp}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    reps = args.reps or (1 if args.quick else 3)
    tmp = Path(tempfile.mkdtemp(prefix="inkweave-bench-"))
    cfg = Config(
        quick=args.quick,
        reps=reps,
        python=args.python,
        logs=logs,
        tmp=tmp,
        inkweave_src=args.inkweave_src.resolve() if args.inkweave_src else None,
        wait_quiet_s=args.wait_quiet,
    )
    if args.quick:
        cfg.appends_s, cfg.memory_docs, cfg.awareness_idle_s = 3, 60, 18

    def on_term(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    raw: dict[str, dict[str, Any]] = {name: {} for name in servers}
    started = time.monotonic()
    failures = 0
    try:
        # Scenario by scenario, the servers one after another: each comparison is made within a
        # minute or two, so that a burst of other work on the machine hits them alike.
        for scenario in scenarios:
            for name in servers:
                wait_quiet(cfg.wait_quiet_s)
                log(f"{name}: {scenario}")
                try:
                    raw[name][scenario] = RUNNERS[scenario](name, cfg)
                except (RuntimeError, TimeoutError, OSError) as exc:
                    failures += 1
                    log(f"{name} {scenario} FAILED: {exc}")
                    raw[name][scenario] = {"error": str(exc)}
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)

    elapsed = time.monotonic() - started
    info = machine()
    info["inkweave_src"] = str(cfg.inkweave_src or REPO)
    report = {
        "machine": info,
        "mode": "quick" if args.quick else "full",
        "reps": reps,
        "elapsed_s": round(elapsed, 1),
        "config": {k: v for k, v in vars(cfg).items() if k not in ("logs", "tmp")},
        "results": raw,
    }
    out = results_dir / f"{stamp}{'-quick' if args.quick else ''}.json"
    out.write_text(json.dumps(report, indent=1, default=str))
    md = table(raw)
    header = (
        f"{report['mode']} run, {reps} repetition(s), median shown; {info['date']}; "
        f"{info['nproc']} CPUs ({info['cpu_model']}), shared by servers and load generator; "
        f"Node {info['node']}, Python {info['python']}; Inkweave from {info['inkweave_src']} "
        f"(repo HEAD {info['inkweave_commit']}); took {elapsed:.0f} s"
    )
    (results_dir / f"{stamp}{'-quick' if args.quick else ''}.md").write_text(
        header + "\n\n" + md + "\n"
    )
    print(header)
    print()
    print(md)
    noise = [values for metric, values, _ in extract(raw) if metric.startswith("Noise:")]
    if noise and any((v or 0) > 20 for v in noise[0].values()):
        print(
            "\nwarning: other processes used over 20% of the machine during some runs; the "
            "latency figures are noisy (rerun when the machine is quiet)",
            file=sys.stderr,
        )
    print(f"\nraw results: {out.relative_to(REPO)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        stop_all()
