"""Two-node mode: what one more `inkweave serve` node costs in fan-out latency.

Starts a throwaway redis-server and two Inkweave nodes that share one document store and one
database (SQLite files in WAL mode; production would use MongoDB and MySQL) and meet on Redis.
Then runs the S2 fan-out scenario of `load.mjs` (50 clients on one document, 5 writers x 100
updates at 20 ms) twice per repetition, alternately: all 50 clients on node A, then the clients
spread over A and B (the writers on A, half the readers on B: every other delivery crosses nodes).
Prints a Markdown table of medians. Bounded: about a minute per repetition.

    python bench/two_nodes.py [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from paths import BENCH, REPO
from processes import PROCESSES, InkweaveNode, free_port, stop_all

S2 = ["--clients", "50", "--writers", "5", "--updates", "100", "--interval-ms", "20"]


def start_node(python: str, shared: Path, name: str, redis_url: str) -> InkweaveNode:
    """A node on its own data dir in `shared`, meeting the others on `redis_url`."""
    env = {
        "INKWEAVE_DATABASE_URL": f"sqlite+aiosqlite:///{shared / 'inkweave.sqlite3'}",
        "INKWEAVE_DOCS_URL": f"sqlite+aiosqlite:///{shared / 'docs.sqlite3'}",
        "INKWEAVE_REDIS_URL": redis_url,
        "PYTHONPATH": str(REPO),
    }
    node = InkweaveNode(python, shared / name, shared, env=env, name=name)
    node.start()
    return node


def run_s2(urls: list[str], prefix: str) -> dict[str, float]:
    command = [
        "node",
        str(BENCH / "load.mjs"),
        "s2",
        "--kind",
        "ywebsocket",
        "--url",
        ",".join(urls),
        "--prefix",
        prefix,
        *S2,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=BENCH)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    data = json.loads(result.stdout.strip().splitlines()[-1])
    latency = data["latency_ms"]
    if data.get("missing"):
        print(f"missing deliveries: {json.dumps(data['missing'])}", file=sys.stderr)
    return {
        "p50": latency["p50"],
        "p99": latency["p99"],
        "delivered": data["received"] / data["expected"],
        "disconnects": data.get("disconnects", 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--python", default=str(REPO / ".venv" / "bin" / "python"))
    args = parser.parse_args()
    if not (BENCH / "node_modules").exists():
        sys.exit("run `npm ci --prefix bench` first")

    shared = Path(tempfile.mkdtemp(prefix="inkweave-two-nodes-"))
    redis_port = free_port()
    try:
        redis_bin = shutil.which("redis-server") or "/usr/bin/redis-server"
        PROCESSES.append(
            subprocess.Popen(
                [
                    redis_bin,
                    "--port",
                    str(redis_port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        time.sleep(0.5)
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        url_a = start_node(args.python, shared, "a", redis_url).sync_url
        url_b = start_node(args.python, shared, "b", redis_url).sync_url

        single, double = [], []
        for rep in range(args.reps):
            single.append(run_s2([url_a], f"one{rep}"))
            double.append(run_s2([url_a, url_b], f"two{rep}"))
            print(f"rep {rep + 1}: one node {single[-1]}, two nodes {double[-1]}", file=sys.stderr)

        def median(runs: list[dict[str, float]], key: str) -> float:
            return statistics.median(run[key] for run in runs)

        print(
            f"two-node mode, {args.reps} repetition(s), median shown; "
            f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')}; {os.cpu_count()} CPUs shared by both "
            "nodes, Redis and the load generator\n"
        )
        print(
            "| S2 fan-out, 50 clients, 5 writers | one node | two nodes, clients split | two/one |"
        )
        print("| --- | --- | --- | --- |")
        for key in ("p50", "p99"):
            one, two = median(single, key), median(double, key)
            print(f"| {key} (ms) | {one:.1f} | {two:.1f} | {two / one:.2f} |")
        one = min(run["delivered"] for run in single)
        two = min(run["delivered"] for run in double)
        print(f"| deliveries seen within 20 s, worst run | {one:.2%} | {two:.2%} | |")
    finally:
        stop_all(timeout=15)  # the nodes, then Redis
        shutil.rmtree(shared, ignore_errors=True)


if __name__ == "__main__":
    main()
