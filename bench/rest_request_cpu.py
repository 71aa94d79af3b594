"""CPU per REST request of each kind the mix sends, measured in one process.

The app runs in this process (`tests.support.api.running_api`: uvicorn on a free loopback port,
the embedded default, authentication on, rate limits out of the way) with an httpx client beside
it; each kind of request is sent `--requests` times one after another and the process's CPU time
(all its threads) is divided by the count. The client's share (~0.9 ms a request here) is in
every figure, so compare trees, not absolute values. Saves rewrite one paragraph of one of 20
chapters of ~3,000 characters, 10 ms apart, and the figure includes the projection they cause.

Give `--inkweave-src` several times (say, a `git archive` of the base commit and of this one) to
compare trees: each round runs every tree once, in order, in a fresh interpreter, and the table
shows the median of the rounds. Bounded: each tree's run at most 5 minutes.

    python bench/rest_request_cpu.py [--rounds 2] [--requests 300] [--inkweave-src DIR ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from paths import REPO, default_python
from progress import logger

log = logger("request-cpu")
KINDS = ("content", "chapter_list", "works_list", "search", "save", "healthz")
CHAPTERS = 20
PARAGRAPHS = 12
WARMUP = 20
SAVE_GAP_S = 0.01
PROJECTION_WAIT_S = 2.5  # past the projection's debounce: its writes count with the saves
RUN_TIMEOUT_S = 300


async def _measure(requests: int) -> dict[str, float]:
    """In the child: ms of CPU per request of each kind."""
    from rest_text import ChapterText, join

    from api.settings import Settings
    from tests.support.api import running_api

    data = Path(tempfile.mkdtemp(prefix="inkweave-request-cpu-"))
    settings = Settings(
        data_dir=data / "data",
        auth="on",
        log_level="WARNING",
        rate_limit_user_per_min=10**9,
        rate_limit_ip_per_min=10**9,
    )
    async with running_api(settings) as api:
        headers = (await api.sign_up()).auth
        http = api.http

        async def call(method: str, path: str, body: Any = None) -> None:
            reply = await http.request(method, path, headers=headers, json=body)
            assert reply.status_code in (200, 201), (path, reply.text[:300])

        work = await http.post(
            "/api/v1/works", json={"title": "长篇", "type": "novel"}, headers=headers
        )
        work_id = work.json()["data"]["id"]
        text, chapters = ChapterText(5), {}
        for number in range(CHAPTERS):
            path = f"/api/v1/works/{work_id}/chapters"
            made = await http.post(path, json={"title": f"第{number + 1}章"}, headers=headers)
            chapter_id = made.json()["data"]["id"]
            chapters[chapter_id] = [text.paragraph() for _ in range(PARAGRAPHS)]
            body = {"chapter_id": chapter_id, "content": join(chapters[chapter_id])}
            await call("PUT", f"/api/v1/works/{work_id}/content", body)
        await asyncio.sleep(PROJECTION_WAIT_S)
        first = min(chapters)
        gets = {
            "content": f"/api/v1/chapters/{first}/content",
            "chapter_list": f"/api/v1/works/{work_id}/chapters?page_size=100",
            "works_list": "/api/v1/works",
            "search": "/api/v1/search?q=时候",
            "healthz": "/healthz",
        }
        pick = random.Random(2)

        async def save() -> None:
            chapter_id = pick.choice(sorted(chapters))
            paragraphs = chapters[chapter_id]
            paragraphs[pick.randrange(PARAGRAPHS)] = text.paragraph()
            body = {"chapter_id": chapter_id, "content": join(paragraphs)}
            await call("PUT", f"/api/v1/works/{work_id}/content", body)
            await asyncio.sleep(SAVE_GAP_S)

        out: dict[str, float] = {}
        for kind in KINDS:
            for _ in range(WARMUP):
                await (save() if kind == "save" else call("GET", gets[kind]))
            await asyncio.sleep(PROJECTION_WAIT_S)
            started = time.process_time()
            for _ in range(requests):
                await (save() if kind == "save" else call("GET", gets[kind]))
            if kind == "save":
                await asyncio.sleep(PROJECTION_WAIT_S)
            out[kind] = (time.process_time() - started) / requests * 1000
    return out


def _run_tree(python: str, source: Path, requests: int) -> dict[str, float]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("INKWEAVE_")}
    path = [str(source), str(REPO / "bench"), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, path))
    done = subprocess.run(
        [python, __file__, "--child", "--requests", str(requests)],
        cwd=tempfile.gettempdir(),  # no developer's .env
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{source}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=300, help="of each kind, per run")
    parser.add_argument("--python", default=default_python())
    parser.add_argument("--inkweave-src", type=Path, action="append", default=[])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_measure(args.requests))))
        return
    trees = args.inkweave_src or [REPO]
    runs: dict[Path, list[dict[str, float]]] = {tree: [] for tree in trees}
    for round_number in range(1, args.rounds + 1):
        for tree in trees:
            runs[tree].append(_run_tree(args.python, tree, args.requests))
            figures = ", ".join(f"{kind} {ms:.2f}" for kind, ms in runs[tree][-1].items())
            log(f"round {round_number}, {tree}: {figures}")
    print(f"\nms of CPU per request (client and server), median of {args.rounds} rounds")
    print(f"\n| request | {' | '.join(str(tree) for tree in trees)} |")
    print(f"| --- |{' ---: |' * len(trees)}")
    for kind in KINDS:
        cells = [f"{statistics.median(run[kind] for run in runs[tree]):.2f}" for tree in trees]
        print(f"| {kind} | {' | '.join(cells)} |")


if __name__ == "__main__":
    sys.exit(main())
