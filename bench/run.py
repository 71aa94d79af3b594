#!/usr/bin/env python3
"""Side-by-side benchmark: Inkweave vs @y/websocket-server vs Hocuspocus, real Yjs clients.

    python bench/run.py [--quick] [--only S2,S3,S3HEAVY,JOINWAVE,BURST,S4,APPENDS,...]
    python bench/run.py --profile S2,S3HEAVY      # py-spy on Inkweave: where its CPU goes

Starts each server in turn on 127.0.0.1 (Inkweave with write-ahead persistence into SQLite in a
fresh temporary data dir; the two Node reference servers in memory), drives it with
`bench/load.mjs`, and prints a Markdown table (median of the repetitions). Raw results go to
`bench/results/`. Every wait is bounded; every process started here is stopped on exit, errors
included.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from comparison_table import noise, table, targets_summary
from machine import machine_info, wait_quiet
from paths import NODE_MODULES, REPO, RESULTS, default_python
from processes import stop_all
from profile_breakdown import breakdown
from profile_breakdown import report as profile_report
from profiling import Profiler
from progress import log
from scenarios import RUNNERS, SCENARIOS, Config, servers_for
from servers_under_test import SERVER_NAMES


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
        "--profile",
        default="",
        metavar="SCENARIOS",
        help="comma-separated scenarios to run on Inkweave alone under py-spy (one repetition "
        "unless --reps); prints where the server's CPU goes",
    )
    parser.add_argument("--profile-rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument(
        "--profile-blocking",
        action="store_true",
        help="let py-spy pause the server for each sample (exact stacks, slower server)",
    )
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
        "--nice",
        type=int,
        default=0,
        metavar="N",
        help="run this script and every process it starts at niceness N (e.g. -10, as root): on "
        "a machine shared with other work, the servers and the load generator then lose the CPU "
        "less often; the other work gets less CPU meanwhile",
    )
    parser.add_argument(
        "--inkweave-src",
        type=Path,
        default=None,
        help="run Inkweave from this source tree instead of the repo (e.g. "
        "`git archive HEAD | tar -x -C DIR`); it goes first on PYTHONPATH",
    )
    return parser.parse_args(argv)


def run_all(
    scenarios: list[str], servers: list[str], cfg: Config
) -> tuple[dict[str, dict[str, Any]], int]:
    """Every scenario on every server: the raw results and the number of failures."""
    raw: dict[str, dict[str, Any]] = {name: {} for name in servers}
    failures = 0
    # Scenario by scenario, the servers one after another: each comparison is made within a
    # minute or two, so that a burst of other work on the machine hits them alike.
    for scenario in scenarios:
        for name in (s for s in servers if s in servers_for(scenario)):
            wait_quiet(cfg.wait_quiet_s)
            log(f"{name}: {scenario}")
            try:
                raw[name][scenario] = RUNNERS[scenario](name, cfg)
            except (RuntimeError, TimeoutError, OSError) as exc:
                failures += 1
                log(f"{name} {scenario} FAILED: {exc}")
                raw[name][scenario] = {"error": str(exc)}
    return raw, failures


def profile_all(scenarios: list[str], cfg: Config) -> tuple[dict[str, dict[str, Any]], int, str]:
    """Each scenario on Inkweave under py-spy: the raw results, failures, the breakdowns."""
    assert cfg.profiler is not None
    raw: dict[str, dict[str, Any]] = {"inkweave": {}}
    failures = 0
    sections = []
    for scenario in scenarios:
        first = len(cfg.profiler.recordings)
        result, failed = run_all([scenario], ["inkweave"], cfg)
        raw["inkweave"].update(result["inkweave"])
        failures += failed
        recordings = cfg.profiler.recordings[first:]
        for n, recording in enumerate(recordings, 1):
            label = scenario if len(recordings) == 1 else f"{scenario}, server {n}"
            sections.append(profile_report(label, breakdown(recording, cfg.inkweave_src or REPO)))
    return raw, failures, "\n\n".join(sections)


def _venv_python() -> None:
    """Re-run under the repo's .venv when this interpreter lacks its packages (httpx: the
    connection-rate scenario signs a writer up over REST)."""
    venv = REPO / ".venv"
    if importlib.util.find_spec("httpx") is None and Path(sys.prefix).resolve() != venv.resolve():
        python = default_python()
        os.execv(python, [python, *sys.argv])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (NODE_MODULES / "yjs").exists():
        print("bench/node_modules is missing: run `npm ci --prefix bench` first.", file=sys.stderr)
        return 1
    if shutil.which("node") is None:
        print("node is not on PATH (Node 20+ is needed).", file=sys.stderr)
        return 1
    profiled = [s.strip().upper() for s in args.profile.split(",") if s.strip()]
    scenarios = [s.strip().upper() for s in args.only.split(",") if s.strip()] or list(SCENARIOS)
    scenarios = profiled or scenarios
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = [s for s in scenarios if s not in SCENARIOS] + [
        s for s in servers if s not in SERVER_NAMES
    ]
    if unknown:
        print(f"unknown scenario or server: {unknown}", file=sys.stderr)
        return 2

    if args.nice:
        os.nice(args.nice)  # inherited by the servers, the load generator and py-spy
    stamp = time.strftime("%Y%m%d-%H%M%S")
    logs = RESULTS / f"{stamp}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    reps = args.reps or (1 if args.quick or profiled else 3)
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
        cfg.heavy_reps, cfg.connrate_step_s = 2, 1
    if args.reps:
        cfg.heavy_reps = max(args.reps, 5) if not args.quick else args.reps
    if profiled:
        cfg.heavy_reps = reps
        cfg.profiler = Profiler(
            RESULTS / f"{stamp}-profile", args.profile_rate, nonblocking=not args.profile_blocking
        )

    def on_term(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    started = time.monotonic()
    profile = ""
    try:
        if profiled:
            raw, failures, profile = profile_all(scenarios, cfg)
        else:
            raw, failures = run_all(scenarios, servers, cfg)
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)

    elapsed = time.monotonic() - started
    info = machine_info()
    info["inkweave_src"] = str(cfg.inkweave_src or REPO)
    report = {
        "machine": info,
        "mode": "profile" if profiled else "quick" if args.quick else "full",
        "reps": reps,
        "elapsed_s": round(elapsed, 1),
        "config": {k: v for k, v in vars(cfg).items() if k not in ("logs", "tmp")},
        "results": raw,
    }
    suffix = "-profile" if profiled else "-quick" if args.quick else ""
    out = RESULTS / f"{stamp}{suffix}.json"
    out.write_text(json.dumps(report, indent=1, default=str))
    md = table(raw)
    if not profiled:
        md += "\n\n" + targets_summary(raw)
    header = (
        f"{report['mode']} run, {reps} repetition(s) ({cfg.heavy_reps} for heavy S3), median "
        f"shown; {info['date']}; "
        f"{info['nproc']} CPUs ({info['cpu_model']}), shared by servers and load generator; "
        f"Node {info['node']}, Python {info['python']}; Inkweave from {info['inkweave_src']} "
        f"(repo HEAD {info['inkweave_commit']}); took {elapsed:.0f} s"
    )
    if profile:
        md += "\n\n" + profile
    (RESULTS / f"{stamp}{suffix}.md").write_text(header + "\n\n" + md + "\n")
    print(header)
    print()
    print(md)
    if any((v or 0) > 20 for v in noise(raw).values()):
        print(
            "\nwarning: other processes used over 20% of the machine during some runs; the "
            "latency figures are noisy (rerun when the machine is quiet)",
            file=sys.stderr,
        )
    print(f"\nraw results: {out.relative_to(REPO)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    _venv_python()
    try:
        sys.exit(main())
    finally:
        stop_all()
