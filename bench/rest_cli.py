"""REST benchmark: the open-loop request mix at rising rates, one long work, and a soak.

    python bench/rest.py [--quick] [--db sqlite|mariadb|both] [--only mix,longwork,soak]

Starts `inkweave serve` (auth on, a signed-up user) on a fresh temporary data dir, on SQLite
and/or on a MariaDB database of its own (127.0.0.1:3306, root without a password; created and
dropped here), and prints Markdown tables with a target column. Raw results and the tables go
to `bench/results/rest-<stamp>.json` / `.md`, the servers' logs to `rest-<stamp>-logs/`. Every
wait is bounded; every process started here is stopped on exit, errors and Ctrl-C included.
`bench/rest.py` is the entry point (it makes sure this runs in the repo's venv).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from machine import machine_info
from paths import REPO, RESULTS, default_python
from processes import InkweaveNode, stop_all
from progress import log
from rest_api_shape import chapter_listing
from rest_longwork import long_work
from rest_mix import soak, sweep
from rest_report import tables
from rest_server import DATABASES, Writer, served, writer

PARTS = ("mix", "longwork", "soak")
SOAK_SHARE = 0.8
DEFAULT_SOAK_RATE = 160  # 80% of the 200/s target, when the mix did not run to measure capacity


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="rates 50,100,200 for 5 s, 100 and 1,000 chapters, a 1-minute soak",
    )
    parser.add_argument("--db", choices=[*DATABASES, "both"], default="both")
    parser.add_argument(
        "--only", default=",".join(PARTS), help=f"comma-separated subset of {PARTS}"
    )
    parser.add_argument(
        "--rates", default=None, help="requests/s of the mix (default 50,100,150,200,300)"
    )
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds per rate (default 15; 5 quick)"
    )
    parser.add_argument("--chapters", default=None, help="long-work sizes (default 100,1000,5000)")
    parser.add_argument("--soak-minutes", type=float, default=None, help="default 30; 1 quick")
    parser.add_argument(
        "--soak-rate",
        type=float,
        default=None,
        help="requests/s of the soak (default: 80%% of the capacity the mix measured)",
    )
    parser.add_argument("--mix-chapters", type=int, default=100, help="chapters of the mix's work")
    parser.add_argument(
        "--client", choices=["raw", "httpx"], default="raw", help="the load generator's HTTP client"
    )
    parser.add_argument("--python", default=default_python(), help="interpreter that runs Inkweave")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="INKWEAVE_WORKERS of the server: processes on its port (0, the default: one per core)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="INKWEAVE_X=VALUE",
        help="another setting for the server (repeatable), e.g. INKWEAVE_HTTP_QUEUE_LIMIT=64",
    )
    parser.add_argument(
        "--inkweave-src",
        type=Path,
        default=None,
        help="run Inkweave from this source tree (e.g. `git archive HEAD | tar -x -C DIR`): "
        "first on PYTHONPATH",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each rate, wait up to SECONDS for the machine to be idle (shared machines)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.rates = [
        float(r)
        for r in (args.rates or ("50,100,200" if quick else "50,100,150,200,300")).split(",")
    ]
    args.chapters = [
        int(c) for c in (args.chapters or ("100,1000" if quick else "100,1000,5000")).split(",")
    ]
    args.duration = args.duration or (5 if quick else 15)
    args.soak_minutes = args.soak_minutes or (1 if quick else 30)
    args.parts = [p.strip() for p in args.only.split(",") if p.strip()]
    if unknown := [p for p in args.parts if p not in PARTS]:
        parser.error(f"unknown part {unknown}; known: {PARTS}")
    args.dbs = list(DATABASES) if args.db == "both" else [args.db]
    if bad := [e for e in args.env if "=" not in e]:
        parser.error(f"--env wants NAME=VALUE, not {bad}")
    args.server_env = {"INKWEAVE_WORKERS": str(args.workers)}
    args.server_env |= dict(e.split("=", 1) for e in args.env)
    return args


@contextlib.asynccontextmanager
async def session(
    args: argparse.Namespace, db: str, name: str, client: str = "raw"
) -> AsyncIterator[tuple[InkweaveNode, Writer, dict[str, Any]]]:
    """A fresh server on `db`, a signed-up writer on it, and the server's OpenAPI document."""
    async with (
        served(
            args.python,
            db,
            args.tmp,
            args.logs,
            f"{name}-{db}",
            source=args.inkweave_src,
            env=args.server_env,
        ) as node,
        writer(node, client) as user,
    ):
        reply = await user.send("GET", "/openapi.json")
        yield node, user, json.loads(reply.body) if reply.status == 200 else {}


async def run_db(db: str, args: argparse.Namespace) -> dict[str, Any]:
    """Every part asked for on one database, each on a fresh server."""
    out: dict[str, Any] = {}
    if "mix" in args.parts:
        log(f"{db}: mix at {args.rates} requests/s, {args.duration:g} s each")
        async with session(args, db, "mix", args.client) as (node, user, openapi):
            out["mix"] = await sweep(
                node, user, chapter_listing(openapi), args.rates, args.duration,
                args.mix_chapters, args.wait_quiet,
            )  # fmt: skip
    if "longwork" in args.parts:
        out["longwork"] = []
        for chapters in args.chapters:
            log(f"{db}: long work of {chapters} chapters")
            try:
                async with session(args, db, f"long{chapters}") as (node, user, openapi):
                    listing = chapter_listing(openapi)
                    out["longwork"].append(await long_work(node, user, openapi, listing, chapters))
            except (RuntimeError, TimeoutError, OSError) as exc:
                log(f"{db}: long work of {chapters} chapters FAILED: {exc}")
                out["longwork"].append({"chapters": chapters, "error": str(exc)})
    if "soak" in args.parts:
        capacity = (out.get("mix") or {}).get("capacity_per_s")
        rate = args.soak_rate or (round(SOAK_SHARE * capacity) if capacity else DEFAULT_SOAK_RATE)
        log(f"{db}: soak at {rate:g} requests/s for {args.soak_minutes:g} min")
        async with session(args, db, "soak", args.client) as (node, user, openapi):
            listing = chapter_listing(openapi)
            out["soak"] = await soak(
                node, user, listing, rate, args.soak_minutes, args.mix_chapters
            )
        out["soak"]["rate_from"] = (
            "--soak-rate"
            if args.soak_rate
            else "80% of the mix's capacity"
            if capacity
            else "default"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    args.logs = RESULTS / f"rest-{stamp}-logs"
    args.logs.mkdir(parents=True, exist_ok=True)
    args.tmp = Path(tempfile.mkdtemp(prefix="inkweave-rest-bench-"))
    if args.inkweave_src is not None:
        args.inkweave_src = args.inkweave_src.resolve()

    def on_term(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in background
    started = time.monotonic()
    results: dict[str, dict[str, Any]] = {}
    failed = False
    try:
        for db in args.dbs:
            try:
                results[db] = asyncio.run(run_db(db, args))
            except (RuntimeError, TimeoutError, OSError) as exc:
                log(f"{db} FAILED: {exc}")
                results[db] = {"error": str(exc)}
                failed = True
    finally:
        stop_all()
        shutil.rmtree(args.tmp, ignore_errors=True)
    elapsed = time.monotonic() - started
    info = machine_info()
    mode = "quick" if args.quick else "full"
    dirty = " (tree modified)" if info["inkweave_tree_dirty"] else ""
    server_env = ", ".join(f"{k}={v}" for k, v in args.server_env.items())
    source = args.inkweave_src or f"the repo at {info['inkweave_commit']}{dirty}"
    settings = {k: v for k, v in vars(args).items() if k not in ("only", "db", "logs", "tmp")}
    name = f"rest-{stamp}{'-quick' if args.quick else ''}"
    report = {
        "machine": info,
        "mode": mode,
        "elapsed_s": round(elapsed, 1),
        "settings": settings,
        "results": results,
    }
    (RESULTS / f"{name}.json").write_text(
        json.dumps(report, indent=1, default=str, ensure_ascii=False)
    )
    header = (
        f"{mode} run, {info['date']}; {info['nproc']} CPUs ({info['cpu_model']}) shared by "
        f"the server and the load generator ({args.client} HTTP client); Python "
        f"{info['python']}; Inkweave from {source} with {server_env}; took {elapsed:.0f} s"
    )
    md = header + "\n\n" + tables(results)
    (RESULTS / f"{name}.md").write_text(md + "\n")
    print(md)
    for db, r in results.items():
        if "error" in r:
            print(f"{db}: FAILED: {r['error']}")
    print(f"\nraw results: {(RESULTS / f'{name}.json').relative_to(REPO)}", file=sys.stderr)
    return (
        1
        if failed or any("error" in w for r in results.values() for w in r.get("longwork", []))
        else 0
    )
