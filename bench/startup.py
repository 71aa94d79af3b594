"""What a bare `inkweave serve` costs before and just after its first client.

Starts `python -m api serve` (embedded default: SQLite, memory bus, in-process jobs, offline AI)
on a fresh temporary data dir N times, one at a time, and reads the server's resident memory
(VmRSS) and CPU seconds (utime + stime of /proc/PID/stat) at four moments: when `/readyz` first
answers 200 (the schema was just created); after one writer signed up (code from the outbox) and
made a work and a chapter over REST; with one `/sync` socket on that chapter open and synced;
and when `/readyz` answers after a restart on the same data dir (the schema is at its newest
migration already). Also the CPU and peak RSS of a fresh interpreter that only imports
`api.app`. With `--workers N` the figures are the sums over the supervising process and its
workers. Prints a Markdown table of medians, one column per source tree: give `--inkweave-src`
twice (say, a `git archive` of the base commit and this repo) to compare them run by run, under
the same noise. Bounded: each start 30 s, each call and the socket 10 s.

    python bench/startup.py [--runs 5] [--python .venv/bin/python] [--inkweave-src DIR ...]
        [--workers 1] [--cached-bytecode]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from paths import REPO, default_python
from processes import InkweaveNode, stop_all
from progress import logger
from websockets.sync.client import connect

log = logger("startup")
TIMEOUT_S = 10.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# y-websocket: messageSync, syncStep1, an empty state vector.
SYNC_STEP_1 = bytes([0, 0, 1, 0])
TARGETS = {
    "rss_ready_mib": "≤ 100",
    "cpu_ready_s": "≤ 1.0",
    "rss_restart_mib": "≤ 100",
    "cpu_restart_s": "≤ 1.0",
}
ROWS = [
    ("rss_ready_mib", "RSS at /readyz, fresh data dir (MiB)"),
    ("cpu_ready_s", "CPU at /readyz, fresh data dir (s)"),
    ("rss_rest_mib", "RSS after sign-up + REST (MiB)"),
    ("cpu_rest_s", "CPU after sign-up + REST (s)"),
    ("rss_sync_mib", "RSS with one /sync socket (MiB)"),
    ("cpu_sync_s", "CPU with one /sync socket (s)"),
    ("rss_restart_mib", "RSS at /readyz, restart on that data dir (MiB)"),
    ("cpu_restart_s", "CPU at /readyz, restart on that data dir (s)"),
    ("import_cpu_s", "CPU of `python -c 'import api.app'`, start to exit (s)"),
    ("import_rss_mib", "peak RSS of `python -c 'import api.app'` (MiB)"),
]


def tree(pid: int) -> list[int]:
    """`pid` and its descendants (`inkweave serve --workers N` runs N processes under one)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(p for child in children for p in tree(int(child)))]


def rss_mib(pid: int) -> float:
    """VmRSS of `pid` and its descendants, summed."""
    total_kib = 0
    for each in tree(pid):
        status = Path(f"/proc/{each}/status").read_text()
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        total_kib += int(found.group(1)) if found else 0
    return total_kib / 1024


def cpu_s(pid: int) -> float:
    """utime + stime of `pid` and its living descendants, plus cutime + cstime of `pid` (the
    children it has waited for: a helper process that already exited counts too)."""
    ticks = 0
    for each in tree(pid):
        # The command name (field 2) may hold spaces: count the fields after its ")".
        fields = Path(f"/proc/{each}/stat").read_text().rpartition(")")[2].split()
        ticks += int(fields[11]) + int(fields[12])
        if each == pid:
            ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def call(node: InkweaveNode, method: str, path: str, body: Any, token: str | None = None) -> Any:
    """The `data` of a successful JSON answer; anything else raises."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        node.http_url + path, json.dumps(body).encode(), headers, method=method
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        return json.load(response)["data"]


def mailed_code(outbox: Path, email: str) -> str:
    """The 6-digit code of the latest mail to `email` (waits at most TIMEOUT_S)."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if outbox.exists():
            mails = [json.loads(line) for line in outbox.read_text("utf-8").splitlines()]
            bodies = [mail["body"] for mail in mails if mail["to"] == email]
            found = re.search(r"\b(\d{6})\b", bodies[-1]) if bodies else None
            if found:
                return found.group(1)
        time.sleep(0.05)
    raise TimeoutError(f"no verification code in {outbox}")


def sign_up_and_write(node: InkweaveNode) -> tuple[str, str]:
    """A signed-up writer with a work and a chapter: (access token, the chapter's document)."""
    email = f"startup-{node.port}@example.com"
    call(node, "POST", "/api/v1/auth/code", {"email": email})
    code = mailed_code(node.data_dir / "outbox.jsonl", email)
    registered = call(
        node,
        "POST",
        "/api/v1/auth/register",
        {"username": "启动测量", "email": email, "password": "startup-horse-9", "code": code},
    )
    token = registered["token"]
    work = call(node, "POST", "/api/v1/works", {"title": "启动", "type": "novel"}, token)
    chapter = call(
        node, "POST", f"/api/v1/works/{work['work_id']}/chapters", {"title": "第一章"}, token
    )
    return token, chapter["content_id"]


def started(python: str, src: Path | None, data_dir: Path, workers: int) -> InkweaveNode:
    node = InkweaveNode(
        python,
        data_dir,
        data_dir.parent,
        # As bare as `inkweave serve` gets; the token of a signed-up writer opens the socket.
        env={
            "INKWEAVE_AUTH": "on",
            "INKWEAVE_LOG_LEVEL": "INFO",
            "INKWEAVE_WORKERS": str(workers),
        },
        pythonpath=src,
        name=data_dir.name,
    )
    node.start(timeout=30)
    return node


def one_run(python: str, src: Path | None, data_dir: Path, workers: int) -> dict[str, float]:
    """A first start on an empty data dir (schema created), one client, then a restart."""
    node = started(python, src, data_dir, workers)
    try:
        pid = node.pid
        result = {"rss_ready_mib": rss_mib(pid), "cpu_ready_s": cpu_s(pid)}
        token, doc = sign_up_and_write(node)
        result |= {"rss_rest_mib": rss_mib(pid), "cpu_rest_s": cpu_s(pid)}
        url = f"{node.sync_url}/{doc}?token={token}"
        with connect(url, open_timeout=TIMEOUT_S, close_timeout=TIMEOUT_S) as socket:
            socket.send(SYNC_STEP_1)
            socket.recv(timeout=TIMEOUT_S)  # the server's answer: the document has loaded
            result |= {"rss_sync_mib": rss_mib(pid), "cpu_sync_s": cpu_s(pid)}
    finally:
        node.stop()
    node = started(python, src, data_dir, workers)
    try:
        return result | {"rss_restart_mib": rss_mib(node.pid), "cpu_restart_s": cpu_s(node.pid)}
    finally:
        node.stop()


def import_cost(python: str, src: Path | None, cwd: Path) -> dict[str, float]:
    """CPU seconds and peak RSS of a fresh interpreter that imports `api.app` and exits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INKWEAVE_")}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    proc = subprocess.Popen([python, "-c", "import api.app"], cwd=cwd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"import api.app failed: exit {proc.returncode}")
    return {
        "import_cpu_s": usage.ru_utime + usage.ru_stime,
        "import_rss_mib": usage.ru_maxrss / 1024,
    }


def table(runs: dict[str, list[dict[str, float]]]) -> str:
    """One column per source tree: the median, and the range in parentheses."""
    count = min(len(each) for each in runs.values())
    lines = [
        f"| measure (median of {count}, min–max) | {' | '.join(runs)} | target |",
        f"| --- | {' | '.join('---:' for _ in runs)} | --- |",
    ]
    for key, label in ROWS:
        cells = []
        for each in runs.values():
            values = [run[key] for run in each]
            cells.append(f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})")
        lines.append(f"| {label} | {' | '.join(cells)} | {TARGETS.get(key, '')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", default=default_python())
    parser.add_argument(
        "--inkweave-src",
        type=Path,
        action="append",
        help="run Inkweave from this source tree; repeat it to compare trees, run by run "
        "in turn (default: this repo)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="INKWEAVE_WORKERS (0: one per core); sums them"
    )
    parser.add_argument(
        "--cached-bytecode",
        action="store_true",
        help="read .pyc files from a warmed cache (PYTHONPYCACHEPREFIX), as after `pip install`, "
        "rather than as this environment does (PYTHONDONTWRITEBYTECODE=1 compiles the project "
        "at every start)",
    )
    args = parser.parse_args()
    sources = [src.resolve() for src in args.inkweave_src or [REPO]]
    runs: dict[str, list[dict[str, float]]] = {str(src): [] for src in sources}
    with tempfile.TemporaryDirectory(prefix="inkweave-startup-") as tmp:
        root = Path(tmp)
        if args.cached_bytecode:
            os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
            os.environ["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
        try:
            for index in range(args.runs + args.cached_bytecode):  # run 0 warms the cache
                for number, src in enumerate(sources):
                    run = one_run(args.python, src, root / f"data-{index}-{number}", args.workers)
                    run |= import_cost(args.python, src, root)
                    if args.cached_bytecode and index == 0:
                        continue
                    log(f"{src} run {len(runs[str(src)]) + 1}/{args.runs}: " + json.dumps(run))
                    runs[str(src)].append(run)
        finally:
            stop_all()
    bytecode = os.environ.get("PYTHONPYCACHEPREFIX") or (
        "compiled at each start" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "as found"
    )
    print(f"INKWEAVE_WORKERS={args.workers}; bytecode: {bytecode}; {machine_line()}\n")
    print(table(runs))


def machine_line() -> str:
    load = Path("/proc/loadavg").read_text().split()[:3]
    return f"{os.cpu_count()} CPUs, load average {' '.join(load)}"


if __name__ == "__main__":
    main()
