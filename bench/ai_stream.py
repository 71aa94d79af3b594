#!/usr/bin/env python3
"""AI streaming benchmark: time to the first AI character, server CPU per streamed piece.

    .venv/bin/python bench/ai_stream.py [--quick] [--requests N] [--pieces N] [--wait-quiet S]

Starts `inkweave serve` twice on 127.0.0.1 (auth on, fresh temporary data dirs): once with only
the offline provider (`INKWEAVE_AI_OFFLINE_DELAY_MS=0`), once with an OpenAI-compatible provider
pointing at `tests/support/fake_llm.py`, served from a thread of this process. A stock
y-websocket client (`bench/ai_watch.mjs`) watches the chapter; this script asks for
continuations over REST and compares its `time.monotonic_ns()` with the watcher's
`process.hrtime.bigint()` (both CLOCK_MONOTONIC; checked at start). Server CPU is the server
process's user + system time (psutil). Prints a Markdown table; raw results go to
`bench/results/ai-<stamp>.json` (and the table to `.md`, the server logs to `-logs/`). Every
wait is bounded; every process started here is stopped on exit, on error and on Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from ai_measurements import Config, measure
from ai_report import table
from ai_watcher import stop_watchers
from machine import machine_info
from paths import NODE_MODULES, RESULTS, default_python
from processes import stop_all
from progress import ai_log as log


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and pieces (~1 min)")
    parser.add_argument("--requests", type=int, help="continuations per latency row (20; quick 8)")
    parser.add_argument(
        "--pieces", type=int, help="pieces per long answer (2000; quick 500; at most 2500)"
    )
    parser.add_argument("--reps", type=int, help="long answers and typist runs (3; quick 1)")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="S",
        help="before each server start, wait (at most S seconds) until the machine is quiet",
    )
    parser.add_argument("--python", default=default_python(), help="Python for Inkweave")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (NODE_MODULES / "y-websocket").is_dir():
        log("bench/node_modules is missing: run `npm ci --prefix bench` first")
        return 2
    config = Config(
        quick=args.quick,
        requests=args.requests or (8 if args.quick else 20),
        pieces=min(2500, args.pieces or (500 if args.quick else 2000)),
        reps=args.reps or (1 if args.quick else 3),
        paced_pieces=200 if args.quick else 1000,
        paced_interval_s=0.01,
        python=args.python,
        wait_quiet_s=args.wait_quiet,
    )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    config.logs = RESULTS / f"ai-{stamp}-logs"
    config.logs.mkdir(parents=True, exist_ok=True)

    def on_sigterm(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in background
    started = dt.datetime.now(dt.UTC)
    try:
        with tempfile.TemporaryDirectory(prefix="inkweave-ai-bench-") as tmp:
            config.tmp = Path(tmp)
            results = asyncio.run(measure(config))
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        stop_all()
        stop_watchers()
    report = table(results, config)
    record = {
        "started": started.isoformat(),
        "finished": dt.datetime.now(dt.UTC).isoformat(),
        "machine": machine_info(),
        "config": {k: str(v) for k, v in vars(config).items()},
        "results": results,
        "table": report,
    }
    (RESULTS / f"ai-{stamp}.json").write_text(json.dumps(record, indent=1, ensure_ascii=False))
    (RESULTS / f"ai-{stamp}.md").write_text(report + "\n")
    print(report)
    log(f"raw results: {RESULTS / f'ai-{stamp}.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
