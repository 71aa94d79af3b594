"""An open-loop load: requests sent on a fixed schedule whatever the answers, latency measured
from each request's scheduled send time (so a slow server cannot slow the load down and hide its
own queueing: no coordinated omission)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rest_http import Http
from stats import percentile

TIMEOUT = 0  # the status of a request with no answer within the timeout
FAILED = -1  # the status of a request whose connection failed


@dataclass(frozen=True, slots=True)
class Op:
    name: str
    method: str
    path: str
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class Sample:
    op: str
    status: int
    latency_ms: float  # scheduled send time → answer (or the timeout)
    lag_ms: float  # scheduled send time → the moment the generator got to send it
    failure: str = ""  # with FAILED: the exception's type


async def open_loop(
    http: Http,
    ops: Iterator[Op],
    rate: float,
    duration_s: float,
    timeout_s: float,
) -> list[Sample]:
    """Send `rate × duration_s` requests from `ops`, one every 1/rate s; wait (at most
    `timeout_s` more) for the last answers."""
    loop = asyncio.get_running_loop()
    samples: list[Sample] = []
    pending: set[asyncio.Task[None]] = set()

    async def one(op: Op, at: float) -> None:
        lag, failure = loop.time() - at, ""
        try:
            async with asyncio.timeout_at(at + timeout_s):
                status = (await http.request(op.method, op.path, op.body)).status
        except TimeoutError:
            status = TIMEOUT
        except Exception as exc:  # a connection refused or reset, a garbled answer: counted
            status, failure = FAILED, type(exc).__name__
        samples.append(Sample(op.name, status, (loop.time() - at) * 1000, lag * 1000, failure))

    start = loop.time() + 0.05
    count = round(rate * duration_s)
    for index in range(count):
        at = start + index / rate
        if (delay := at - loop.time()) > 0:
            await asyncio.sleep(delay)
        task = loop.create_task(one(next(ops), at))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.wait(set(pending), timeout=timeout_s + 5)
    for task in list(pending):  # only if something ignored its timeout
        task.cancel()
    return samples


def summarize(samples: list[Sample], wall_s: float) -> dict[str, Any]:
    """Counts by kind of answer, latency percentiles (a timeout counts as its full wait) overall
    and per operation, and how late the generator itself sent."""
    counts = {"2xx": 0, "4xx": 0, "503": 0, "5xx_other": 0, "timeouts": 0, "failed": 0, "other": 0}
    for sample in samples:
        counts[_kind(sample.status)] += 1
    result: dict[str, Any] = {"requests": len(samples), **counts}
    result["achieved_2xx_per_s"] = counts["2xx"] / wall_s if wall_s > 0 else None
    result.update(_latency(samples))
    result["lag_p99_ms"] = percentile([s.lag_ms for s in samples], 99) if samples else None
    result["by_op"] = {
        name: {"requests": len(mine), **_latency(mine)}
        for name in sorted({s.op for s in samples})
        for mine in [[s for s in samples if s.op == name]]
    }
    result["error_statuses"] = sorted({s.status for s in samples if s.status >= 400})
    result["failures"] = dict(Counter(s.failure for s in samples if s.status == FAILED))
    return result


def _kind(status: int) -> str:
    if status == TIMEOUT:
        return "timeouts"
    if status == FAILED:
        return "failed"
    if 200 <= status < 300:
        return "2xx"
    if 400 <= status < 500:
        return "4xx"
    if status == 503:
        return "503"
    if status >= 500:
        return "5xx_other"
    return "other"


def _latency(samples: list[Sample]) -> dict[str, float | None]:
    if not samples:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    values = [s.latency_ms for s in samples]
    return {
        "p50_ms": percentile(values, 50),
        "p99_ms": percentile(values, 99),
        "max_ms": max(values),
    }
