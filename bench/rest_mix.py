"""The REST mix at fixed arrival rates, and the soak: the same mix for minutes, RSS sampled.

The mix (one user, one novel of `mix_chapters` chapters of ~3,000 characters and a few more
works): 40% GET /chapters/{id}/content, 20% GET /works/{id}/chapters, 15% GET /works,
15% PUT /works/{id}/content (one paragraph of a chapter rewritten), 10% GET /search for a common
word. Operations are drawn from a seeded generator; each rate gets its own sequence.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from machine import busy_share, machine_busy, wait_quiet
from processes import InkweaveNode
from progress import log
from rest_api_shape import Listing
from rest_http import json_body
from rest_open_loop import Op, open_loop, summarize
from rest_server import (
    Writer,
    cpu_s,
    log_size,
    logged_errors,
    rss_mb,
    seed_work,
    server_cores,
)
from rest_text import SEARCH_WORDS, ChapterText, join
from stats import percentile

WEIGHTS = {"content": 40, "chapter_list": 20, "works_list": 15, "put_content": 15, "search": 10}
TIMEOUT_S = 10
OTHER_WORKS = 4
SATURATED_CPU_PCT = 90  # of the cores the server's processes can use, or of the machine
SATURATED_P99_MS = 1000
SATURATED_SHARE = 0.95  # answers per second below this share of the offered rate
# After a soak: past the rooms' unload grace (10 s) and the server's next heap trim (60 s).
IDLE_S = 75


class Mix:
    """An endless, seeded sequence of the mix's requests against one work."""

    def __init__(
        self, work_id: int, paragraphs: dict[int, list[str]], listing: Listing, seed: int
    ) -> None:
        self.random = random.Random(seed)
        self.text = ChapterText(seed + 1)
        self.work_id = work_id
        self.paragraphs = paragraphs
        self.chapter_ids = sorted(paragraphs)
        self.list_path = listing.path(work_id)

    def __iter__(self) -> Iterator[Op]:
        return self

    def __next__(self) -> Op:
        r = self.random
        name = r.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        match name:
            case "content":
                return Op(name, "GET", f"/api/v1/chapters/{r.choice(self.chapter_ids)}/content")
            case "chapter_list":
                return Op(name, "GET", self.list_path)
            case "works_list":
                return Op(name, "GET", "/api/v1/works")
            case "put_content":
                chapter_id = r.choice(self.chapter_ids)
                mine = self.paragraphs[chapter_id]
                mine[r.randrange(len(mine))] = self.text.paragraph()
                body = json_body({"chapter_id": chapter_id, "content": join(mine)})
                return Op(name, "PUT", f"/api/v1/works/{self.work_id}/content", body)
            case _:
                return Op(name, "GET", f"/api/v1/search?{urlencode({'q': r.choice(SEARCH_WORDS)})}")


async def seed_mix(user: Writer, chapters: int) -> tuple[int, dict[int, list[str]]]:
    """The mix's novel and a few other works (so that the works list has rows)."""
    for index in range(OTHER_WORKS):
        await user.new_work(f"别的作品{index + 1}")
    return await seed_work(user, "测速长篇", chapters, seed=7)


@dataclass
class Gauge:
    """CPU seconds of the server, of this process (the load generator) and of the machine; the
    errors the server logged."""

    node: InkweaveNode
    at: float = 0.0
    server: float = 0.0
    bench: float = 0.0
    machine: float = 0.0
    log_offset: int = 0

    def start(self) -> None:
        self.at, self.machine = time.monotonic(), machine_busy()
        self.server, self.bench = cpu_s(self.node.pid), time.process_time()
        self.log_offset = log_size(self.node)

    def since(self, requests: int) -> dict[str, Any]:
        wall = time.monotonic() - self.at
        server = cpu_s(self.node.pid) - self.server
        bench = time.process_time() - self.bench
        others = max(0.0, machine_busy() - self.machine - server - bench)
        return {
            "wall_s": wall,
            "server_cpu_s": server,
            "server_cpu_pct": 100 * server / wall,  # of one core
            "server_cpu_ms_per_request": 1000 * server / max(1, requests),
            "generator_cpu_pct": 100 * bench / wall,
            "generator_cpu_us_per_request": 1e6 * bench / max(1, requests),
            "others_cpu_s": others,
            "noise_pct": busy_share(others, wall),
            "machine_busy_pct": busy_share(server + bench + others, wall),
            "server_errors": logged_errors(self.node, self.log_offset),
        }


def saturated(rate: float, result: dict[str, Any]) -> bool:
    """Past what the server can take: it (or the machine it shares) uses all its cores, or it
    answers late, or fewer answers (of any status: a 503 is an answer) than requests come back.
    A 503 at a rate that is not saturated is refused too early."""
    answered = result["requests"] - result["timeouts"] - result["failed"]
    return (
        result["server_cpu_pct"] >= SATURATED_CPU_PCT * result["server_cores"]
        or result["machine_busy_pct"] >= SATURATED_CPU_PCT
        or (result["p99_ms"] or 0) > SATURATED_P99_MS
        or result["timeouts"] + result["failed"] > 0
        or answered / result["wall_s"] < SATURATED_SHARE * rate
    )


async def measure(
    node: InkweaveNode, user: Writer, mix: Mix, rate: float, duration_s: float
) -> dict[str, Any]:
    """One open-loop run of the mix; the connections are closed before and after."""
    await user.http.close()
    gauge = Gauge(node)
    gauge.start()
    samples = await open_loop(user.http, mix, rate, duration_s, TIMEOUT_S)
    result = summarize(samples, time.monotonic() - gauge.at)
    result |= gauge.since(len(samples))
    result |= {"rate": rate, "duration_s": duration_s, "server_rss_mb": rss_mb(node.pid)}
    result["server_cores"] = server_cores(node.pid)
    result["saturated"] = saturated(rate, result)
    await user.http.close()
    return result


async def sweep(
    node: InkweaveNode,
    user: Writer,
    listing: Listing,
    rates: list[float],
    duration_s: float,
    mix_chapters: int,
    wait_quiet_s: float,
) -> dict[str, Any]:
    """The mix at each rate in turn (lowest first), after a warm-up at the lowest."""
    work_id, paragraphs = await seed_mix(user, mix_chapters)
    log(f"mix: seeded {mix_chapters} chapters; warm-up")
    await measure(node, user, Mix(work_id, paragraphs, listing, seed=1), min(rates), 3)
    runs = []
    for rate in sorted(rates):
        wait_quiet(wait_quiet_s)
        await asyncio.sleep(1)
        run = await measure(
            node, user, Mix(work_id, paragraphs, listing, seed=int(rate)), rate, duration_s
        )
        log(
            f"mix {rate:g}/s: p50 {run['p50_ms']:.1f} ms, p99 {run['p99_ms']:.1f} ms, "
            f"2xx {run['2xx']}/{run['requests']}, server CPU {run['server_cpu_pct']:.0f}%"
        )
        runs.append(run)
    return {
        "chapters": mix_chapters,
        "chapter_list": listing.describe(),
        "runs": runs,
        **capacity(runs),
    }


def capacity(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Requests per second the server can take: its cores over its CPU per request at the rates
    it kept up with, but no more than the first rate it did not."""
    kept = [r for r in runs if not r["saturated"]]
    per_core = [r["server_cpu_ms_per_request"] / r["server_cores"] for r in kept]
    estimate = 1000 / percentile(per_core, 50) if per_core else None
    first_saturated = min((r["rate"] for r in runs if r["saturated"]), default=None)
    if estimate is not None and first_saturated is not None:
        estimate = min(estimate, first_saturated)
    elif estimate is None:
        estimate = first_saturated
    return {
        "capacity_per_s": estimate,
        "highest_kept_rate": max((r["rate"] for r in kept), default=None),
        "first_saturated_rate": first_saturated,
    }


async def soak(
    node: InkweaveNode,
    user: Writer,
    listing: Listing,
    rate: float,
    minutes: float,
    mix_chapters: int,
    sample_s: float = 10,
) -> dict[str, Any]:
    """The mix at `rate` for `minutes`; the server's RSS every `sample_s` seconds."""
    work_id, paragraphs = await seed_mix(user, mix_chapters)
    rss: list[tuple[float, float]] = []
    started = time.monotonic()

    async def sample() -> None:
        while True:
            elapsed = time.monotonic() - started
            rss.append((elapsed / 60, rss_mb(node.pid)))
            if len(rss) % 6 == 1:
                log(
                    f"soak {rate:g}/s: {elapsed / 60:.1f} of {minutes:g} min, "
                    f"RSS {rss[-1][1]:.1f} MB"
                )
            await asyncio.sleep(sample_s)

    sampler = asyncio.create_task(sample())
    try:
        result = await measure(
            node, user, Mix(work_id, paragraphs, listing, seed=99), rate, minutes * 60
        )
    finally:
        sampler.cancel()
    rss.append(((time.monotonic() - started) / 60, rss_mb(node.pid)))
    log(f"soak: load stopped; {IDLE_S} s idle (rooms unload, the heap is trimmed)")
    await asyncio.sleep(IDLE_S)
    idle_mb = rss_mb(node.pid)
    values = [mb for _t, mb in rss]
    settled = [point for point in rss if point[0] >= minutes / 10]
    return {
        **result,
        "minutes": minutes,
        "rss_samples": rss,
        "rss_start_mb": values[0],
        "rss_end_mb": values[-1],
        "rss_max_mb": max(values),
        "rss_idle_mb": idle_mb,
        "rss_slope_mb_per_min": slope(settled),
    }


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of y over x."""
    if len(points) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else None
