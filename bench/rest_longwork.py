"""One long work through REST: create N chapters, then list, search, export and review it.

On a fresh server per N: chapters of ~3,000 characters created one at a time (POST the chapter,
PUT its text: the time per chapter, first 100 against last 100); once the search index holds the
last chapter, the chapter list (one page where the endpoint pages) and a search for a common
word, 100 requests each, one at a time; then a txt and a PDF export (request → task completed,
then the download) and the offline long-text review, the server's RSS sampled every 50 ms
during each; RSS once settled after each step.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from processes import InkweaveNode
from progress import log
from rest_api_shape import Listing, items_of, next_cursor, search_path
from rest_server import Writer, rss_mb
from rest_text import COMMON_WORD, ChapterText, join, marker
from stats import percentile

EDGE = 100  # chapters timed at each end of the creation
REPEATS = 100  # timed requests per read row
INDEX_TIMEOUT_S = 300
EXPORT_TIMEOUT_S = 900
REVIEW_TIMEOUT_S = 600
SETTLE_S = 12  # past INKWEAVE_ROOM_UNLOAD_GRACE_S (10): rooms opened by a step are unloaded


class Peak:
    """The highest RSS of a process while a block runs (sampled every `every_s`)."""

    def __init__(self, pid: int, every_s: float = 0.05) -> None:
        self.pid, self.every_s = pid, every_s
        self.before = self.max = rss_mb(pid)

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[Peak]:
        async def sample() -> None:
            while True:
                self.max = max(self.max, rss_mb(self.pid))
                await asyncio.sleep(self.every_s)

        task = asyncio.create_task(sample())
        try:
            yield self
        finally:
            task.cancel()
            self.max = max(self.max, rss_mb(self.pid))


def took(step: dict[str, Any]) -> str:
    """`12.3 s`, or `> 900 s (timed out)`."""
    if step["s"] is None:
        return f"> {step['timed_out_s']:g} s (timed out)"
    return f"{step['s']:.3g} s"


async def settled_rss(pid: int) -> float:
    await asyncio.sleep(SETTLE_S)
    return rss_mb(pid)


async def timed(user: Writer, path: str, repeats: int = REPEATS, warmup: int = 3) -> dict[str, Any]:
    """p50/p99 (ms) of `repeats` GETs of `path` one after another, after `warmup` untimed ones;
    how many were not answered 2xx."""
    for _ in range(warmup):
        await user.send("GET", path)
    values, statuses = [], Counter[int]()
    for _ in range(repeats):
        started = time.perf_counter()
        statuses[(await user.send("GET", path)).status] += 1
        values.append((time.perf_counter() - started) * 1000)
    return {
        "n": repeats,
        "p50_ms": percentile(values, 50),
        "p99_ms": percentile(values, 99),
        "non_2xx": {str(k): v for k, v in statuses.items() if not 200 <= k < 300},
    }


async def create(user: Writer, work_id: int, chapters: int) -> dict[str, Any]:
    """N chapters, one at a time; ms per chapter (POST + PUT) at both ends."""
    text = ChapterText(seed=chapters)
    per_chapter, characters = [], 0
    started = time.monotonic()
    for number in range(1, chapters + 1):
        body = join(text.paragraphs(number))
        characters += len(body)
        began = time.perf_counter()
        await user.add_chapter(work_id, number, body)
        per_chapter.append((time.perf_counter() - began) * 1000)
        if number % 500 == 0:
            log(
                f"long work: {number}/{chapters} chapters, the last 100 took "
                f"{statistics.mean(per_chapter[-100:]):.1f} ms each"
            )
    first, last = per_chapter[:EDGE], per_chapter[-EDGE:]
    return {
        "total_s": time.monotonic() - started,
        "characters": characters,
        "first_ms": statistics.mean(first),
        "last_ms": statistics.mean(last),
        "first_p50_ms": statistics.median(first),
        "last_p50_ms": statistics.median(last),
        "last_over_first": statistics.mean(last) / statistics.mean(first),
        "last_over_first_p50": statistics.median(last) / statistics.median(first),
        "per_chapter_ms": [round(v, 2) for v in per_chapter],
    }


async def wait_indexed(user: Writer, openapi: dict[str, Any], numbers: list[int]) -> float:
    """Seconds until search finds each chapter's marker (at most INDEX_TIMEOUT_S)."""
    started = time.monotonic()
    for number in numbers:
        path = search_path(openapi, marker(number))
        while not items_of(await user.call("GET", path)):
            if time.monotonic() - started > INDEX_TIMEOUT_S:
                raise TimeoutError(f"chapter {number} not searchable after {INDEX_TIMEOUT_S} s")
            await asyncio.sleep(0.2)
    return time.monotonic() - started


async def chapter_list(
    user: Writer, listing: Listing, work_id: int, chapters: int
) -> dict[str, Any]:
    """The first page, a page deep in the list (where it pages) and, for cursors, a walk."""
    first_path = listing.path(work_id)
    first = await user.send("GET", first_path)
    data = first.data()
    result: dict[str, Any] = {
        "query": listing.describe(),
        "first_page": await timed(user, first_path),
        "first_page_bytes": len(first.body),
        "first_page_rows": len(items_of(data)),
    }
    size = int(listing.query.get(listing.size_param or "", "0") or 0)
    deep: dict[str, str] = {}  # the row's name → the query of a page deep in the list
    cursor = next_cursor(data)
    if listing.paging == "cursor" and (param := listing.cursor_param()) and cursor is not None:
        walk = await walk_pages(user, listing, work_id, param, cursor, chapters // size)
        result["walk_all_pages"] = walk
        if walk["middle"] is not None:
            deep["deep_page"] = walk["middle"]
    if size and "page" in listing.params:
        deep["last_page_by_number"] = listing.path(work_id, {"page": str(-(-chapters // size))})
    for name, path in deep.items():
        result[name] = await timed(user, path)
        result[f"{name}_query"] = path.split("?", 1)[-1]
    return result


async def walk_pages(
    user: Writer, listing: Listing, work_id: int, param: str, cursor: str, pages: int
) -> dict[str, Any]:
    """Every page after the first, following the cursor: how long it took, and the path of the
    page in the middle."""
    started, walked, middle, next_page = time.perf_counter(), 1, None, cursor
    while next_page is not None and walked <= pages:
        path = listing.path(work_id, {param: next_page})
        if walked == max(1, pages // 2):
            middle = path
        next_page = next_cursor((await user.send("GET", path)).data())
        walked += 1
    return {"pages": walked, "ms": (time.perf_counter() - started) * 1000, "middle": middle}


async def search(user: Writer, openapi: dict[str, Any]) -> dict[str, Any]:
    path = search_path(openapi, COMMON_WORD)
    reply = await user.send("GET", path)
    data = reply.data()
    return {
        "query": path,
        "total": data.get("total"),
        "total_is_estimate": data.get("total_is_estimate"),
        "bytes": len(reply.body),
        **await timed(user, path),
    }


async def background_task(
    user: Writer,
    node: InkweaveNode,
    request: tuple[str, dict[str, Any]],
    view: str,
    timeout_s: float,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """POST `request`, poll `view` + the task id until the task ends (at most `timeout_s`): the
    time and the server's RSS peak meanwhile, and the task (None if it did not end in time)."""
    peak = Peak(node.pid)
    task = None
    async with peak.watching():
        started = time.perf_counter()
        queued = await user.call("POST", *request)
        with contextlib.suppress(TimeoutError):
            task = await user.finished_task(f"{view}/{queued['task_id']}", timeout_s)
        took = time.perf_counter() - started
    measured = {
        "s": took if task is not None else None,
        "timed_out_s": None if task is not None else timeout_s,
        "rss_before_mb": peak.before,
        "rss_peak_mb": peak.max,
        "rss_growth_mb": peak.max - peak.before,
    }
    if task is not None and task["status"] != "completed":
        raise RuntimeError(f"{request[0]}: task {task['status']}: {task.get('error')}")
    return measured, task


async def export(user: Writer, node: InkweaveNode, work_id: int, fmt: str) -> dict[str, Any]:
    """Request → task completed (polled every 50 ms), then the download; RSS peak meanwhile."""
    request = ("/api/v1/export", {"work_id": work_id, "format": fmt})
    measured, task = await background_task(
        user, node, request, "/api/v1/export/tasks", EXPORT_TIMEOUT_S
    )
    if task is None:
        return measured
    url = urlsplit(task["download_url"])
    started = time.perf_counter()
    download = await user.send("GET", f"{url.path}?{url.query}" if url.query else url.path)
    if download.status != 200:
        raise RuntimeError(f"{fmt} download: HTTP {download.status}")
    return {**measured, "download_s": time.perf_counter() - started, "bytes": len(download.body)}


async def review(user: Writer, node: InkweaveNode, work_id: int) -> dict[str, Any]:
    """The offline long-text review of the whole work: time, findings, RSS peak."""
    request = ("/api/v1/ai/review", {"work_id": work_id})
    measured, task = await background_task(
        user, node, request, "/api/v1/ai/tasks", REVIEW_TIMEOUT_S
    )
    if task is None:
        return measured
    findings = (task.get("result") or {}).get("findings", [])
    kinds = Counter(str(finding.get("kind")) for finding in findings)
    return {
        **measured,
        "findings": len(findings),
        "findings_by_kind": dict(kinds),
        "provider": task.get("provider"),
    }


async def long_work(
    node: InkweaveNode, user: Writer, openapi: dict[str, Any], listing: Listing, chapters: int
) -> dict[str, Any]:
    """Every long-work row for one N on a fresh server."""
    rss = {"start": rss_mb(node.pid)}
    work_id = await user.new_work(f"长篇{chapters}章")
    result: dict[str, Any] = {"chapters": chapters, "create": await create(user, work_id, chapters)}
    log(
        f"long work {chapters}: created in {result['create']['total_s']:.0f} s; "
        "waiting for the search index"
    )
    result["index_wait_s"] = await wait_indexed(user, openapi, [chapters, 1])
    rss["after_create"] = await settled_rss(node.pid)
    result["chapter_list"] = await chapter_list(user, listing, work_id, chapters)
    result["search"] = await search(user, openapi)
    steps = (("txt", "txt export"), ("pdf", "PDF export"), ("review", "review"))
    for key, name in steps:
        log(f"long work {chapters}: {name}")
        result[key] = await (
            review(user, node, work_id) if key == "review" else export(user, node, work_id, key)
        )
        rss[f"after_{key}"] = await settled_rss(node.pid)
        log(f"long work {chapters}: {name} {took(result[key])}")
    result["rss_mb"] = rss
    result["rss_return_mb"] = rss["after_review"] - rss["after_txt"]  # before the PDF export
    return result
