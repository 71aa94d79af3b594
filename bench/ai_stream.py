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
import contextlib
import datetime as dt
import json
import math
import os
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WATCHER = BENCH / "ai_watch.mjs"
sys.path.insert(0, str(REPO))

from tests.support.fake_llm import FakeLLM, RecordedRequest, Reply, running_fake_llm  # noqa: E402

sys.path.insert(0, str(BENCH))
from processes import InkweaveNode  # noqa: E402
from processes import stop_all as stop_servers  # noqa: E402
from run import machine, wait_quiet  # noqa: E402

PASSWORD = "bench-horse-9"
START_TIMEOUT_S = 40
EVENT_TIMEOUT_S = 60
SETTLE_S = 0.25  # after the AI leaves: its task row and call record are written
# Chinese text for the chapter (the offline n-gram model learns from it) and for the fake model.
PROSE = (
    "雨停的时候，林晚推开了旧书店的门。门上的铜铃响了一声，像是替谁叹了口气。"
    "店里没有人，只有一盏台灯还亮着，灯下压着一封没有寄出的信。她认得那笔迹，"
    "是外祖母的。信上说，等到桂花开了，就回镇上来看看。林晚把信折好，放进口袋，"
    "抬头看见窗外的河面上起了一层薄雾，远处的石桥在雾里时隐时现。"
)
MODEL_TEXT = "春风吹过山岗，河水慢慢地流向远方，村口的老槐树下坐着几个说故事的老人。"


def log(message: str) -> None:
    print(f"[ai-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def model_text(chars: int) -> str:
    return (MODEL_TEXT * (chars // len(MODEL_TEXT) + 1))[:chars]


def ms(ns: int | float) -> float:
    return ns / 1e6


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


# --------------------------------------------------------------------------------------------
# CPU accounting


@dataclass
class CpuSnapshot:
    at: float
    server: float
    watcher: float
    bench: float
    machine_busy: float


class Cpu:
    """CPU seconds of the server, the watcher, this process and the whole machine."""

    def __init__(self, server_pid: int, watcher_pid: int) -> None:
        self.server = psutil.Process(server_pid)
        self.watcher = psutil.Process(watcher_pid)
        self.bench = psutil.Process()

    @staticmethod
    def _seconds(proc: psutil.Process) -> float:
        times = proc.cpu_times()
        return times.user + times.system

    def snapshot(self) -> CpuSnapshot:
        machine = psutil.cpu_times()
        busy = machine.user + machine.nice + machine.system + machine.irq + machine.softirq
        busy += machine.steal
        return CpuSnapshot(
            time.monotonic(),
            self._seconds(self.server),
            self._seconds(self.watcher),
            self._seconds(self.bench),
            busy,
        )


def cpu_delta(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """Server CPU, and the machine's CPU spent by anything else (noise) as a share of it."""
    wall = after.at - before.at
    ours = sum(
        getattr(after, name) - getattr(before, name) for name in ("server", "watcher", "bench")
    )
    others = max(0.0, after.machine_busy - before.machine_busy - ours)
    return {
        "wall_s": wall,
        "server_cpu_s": after.server - before.server,
        "watcher_cpu_s": after.watcher - before.watcher,
        "bench_cpu_s": after.bench - before.bench,
        "others_cpu_s": others,
        "noise_pct": 100 * others / max(1e-9, wall * (os.cpu_count() or 1)),
    }


# --------------------------------------------------------------------------------------------
# processes

_WATCHER_PIDS: set[int] = set()


def stop_all() -> None:
    stop_servers()
    for pid in list(_WATCHER_PIDS):  # normally gone already: they exit when stdin closes
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).terminate()
    _WATCHER_PIDS.clear()


def inkweave_server(name: str, config: Config, env: dict[str, str]) -> InkweaveNode:
    """`inkweave serve` on a free port and a fresh data dir, auth on."""
    data_dir = config.tmp / name / "data"
    node_env = {
        "INKWEAVE_DATA_DIR": str(data_dir),
        "INKWEAVE_AUTH": "on",
        # The benchmark asks for more continuations than a free user's quota allows.
        "INKWEAVE_QUOTAS": json.dumps(
            {"free": {"ai_per_minute": None, "ai_per_day": None, "ai_continue_max_chars": 5000}}
        ),
        **env,
    }
    return InkweaveNode(config.python, data_dir, config.logs, env=node_env, name=name)


class Watcher:
    """`ai_watch.mjs`: events in, commands out, every wait bounded."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())
        self._stderr: list[str] = []
        self._stderr_reader = asyncio.create_task(self._read_stderr())

    @classmethod
    async def start(cls, server: InkweaveNode, doc: str, token: str) -> Watcher:
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(WATCHER),
            "--url",
            server.sync_url,
            "--doc",
            doc,
            "--token",
            token,
            cwd=BENCH,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _WATCHER_PIDS.add(proc.pid)
        watcher = cls(proc)
        await watcher.wait_for(lambda e: e["event"] == "synced", EVENT_TIMEOUT_S, "first sync")
        return watcher

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            event = json.loads(line)
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()
        async with self._changed:
            self.events.append({"event": "exited"})
            self._changed.notify_all()

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            self._stderr.append(line.decode(errors="replace"))
            del self._stderr[:-50]

    def find(
        self, predicate: Callable[[dict[str, Any]], bool], start: int = 0
    ) -> dict[str, Any] | None:
        return next((e for e in self.events[start:] if predicate(e)), None)

    async def wait_for(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float,
        what: str,
        start: int = 0,
    ) -> dict[str, Any]:
        """The first event from index `start` on that matches; an error or exit raises."""

        async def found() -> dict[str, Any]:
            async with self._changed:
                while True:
                    event = self.find(predicate, start)
                    if event is not None:
                        return event
                    failed = self.find(lambda e: e["event"] in ("error", "exited"))
                    if failed is not None:
                        raise RuntimeError(f"watcher: {failed} {''.join(self._stderr)[-2000:]}")
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(found(), timeout)
        except TimeoutError:
            raise TimeoutError(f"watcher: no {what} within {timeout} s") from None

    async def command(self, command: dict[str, Any], reply: str, timeout: float) -> dict[str, Any]:
        assert self.proc.stdin is not None
        seen = len(self.events)
        self.proc.stdin.write((json.dumps(command, ensure_ascii=False) + "\n").encode())
        await asyncio.wait_for(self.proc.stdin.drain(), timeout)
        return await self.wait_for(lambda e: e["event"] == reply, timeout, reply, start=seen)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                assert self.proc.stdin is not None
                self.proc.stdin.write(b'{"cmd":"quit"}\n')
                self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await asyncio.wait_for(self.proc.wait(), 5)
        _WATCHER_PIDS.discard(self.proc.pid)
        for task in (self._reader, self._stderr_reader):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


@dataclass
class TimedFakeLLM(FakeLLM):
    """The fake model server, noting when each request arrives (monotonic ns)."""

    arrivals: list[int] = field(default_factory=list)

    async def _receive(self, request: Any, api: Any) -> tuple[RecordedRequest, Reply]:
        self.arrivals.append(time.monotonic_ns())
        return await super()._receive(request, api)


@contextlib.contextmanager
def fake_llm_thread() -> Iterator[TimedFakeLLM]:
    """Serve the fake model from its own thread and event loop: it answers on time while this
    script's loop waits on the watcher, and uvicorn leaves the signal handlers alone there."""
    llm = TimedFakeLLM()
    ready = threading.Event()
    control: dict[str, Any] = {}

    async def serve() -> None:
        control["loop"], control["stop"] = asyncio.get_running_loop(), asyncio.Event()
        async with running_fake_llm(llm):
            ready.set()
            await control["stop"].wait()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:
            control["error"] = exc
            ready.set()

    thread = threading.Thread(target=run, name="fake-llm", daemon=True)
    thread.start()
    if not ready.wait(START_TIMEOUT_S) or "error" in control:
        raise RuntimeError(f"the fake model server did not start: {control.get('error')}")
    try:
        yield llm
    finally:
        control["loop"].call_soon_threadsafe(control["stop"].set)
        thread.join(20)


# --------------------------------------------------------------------------------------------
# the REST side


@dataclass
class Session:
    http: httpx.AsyncClient
    token: str
    work_id: int
    chapter_id: int
    content_id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self.http.request(method, path, headers=self.auth, **kwargs)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json()["data"]

    async def continue_(self, length: int) -> str:
        body = {
            "work_id": self.work_id,
            "chapter_id": self.chapter_id,
            "length": length,
            "position": None,
        }
        return (await self.call("POST", "/api/v1/ai/continue", json=body))["task_id"]

    async def finished_task(self, task_id: str, timeout: float = EVENT_TIMEOUT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            task = await self.call("GET", f"/api/v1/ai/tasks/{task_id}")
            if task["status"] not in ("queued", "processing"):
                return task
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {task_id} still {task['status']} after {timeout} s")
            await asyncio.sleep(0.1)


async def sign_up_and_write(server: InkweaveNode, http: httpx.AsyncClient) -> Session:
    """A user (code from the outbox), a novel, a chapter with ~2,000 characters of prose."""
    email = f"bench-{server.port}@example.com"
    sent = await http.post("/api/v1/auth/code", json={"email": email})
    sent.raise_for_status()
    outbox = server.data_dir / "outbox.jsonl"
    code = None
    deadline = time.monotonic() + 10
    while code is None:
        if outbox.exists():
            mails = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
            bodies = [m["body"] for m in mails if m["to"] == email]
            found = re.search(r"\b(\d{6})\b", bodies[-1]) if bodies else None
            code = found.group(1) if found else None
        if code is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no verification code in {outbox}")
            await asyncio.sleep(0.1)
    registered = await http.post(
        "/api/v1/auth/register",
        json={"username": "测速作者", "email": email, "password": PASSWORD, "code": code},
    )
    if registered.status_code != 201:
        raise RuntimeError(f"register: {registered.status_code} {registered.text[:500]}")
    token = registered.json()["data"]["token"]
    session = Session(http, token, 0, 0, "")
    work = await session.call("POST", "/api/v1/works", json={"title": "测速", "type": "novel"})
    session.work_id = work["work_id"]
    chapter = await session.call(
        "POST", f"/api/v1/works/{session.work_id}/chapters", json={"title": "第一章"}
    )
    session.chapter_id, session.content_id = chapter["id"], chapter["content_id"]
    await session.call(
        "PUT",
        f"/api/v1/works/{session.work_id}/content",
        json={"chapter_id": session.chapter_id, "content": "\n\n".join([PROSE] * 15)},
    )
    return session


# --------------------------------------------------------------------------------------------
# measurements


@dataclass
class Config:
    quick: bool
    requests: int
    pieces: int
    reps: int
    paced_pieces: int
    paced_interval_s: float
    python: str
    wait_quiet_s: float = 0
    logs: Path = Path()
    tmp: Path = Path()


async def one_task(
    session: Session,
    watcher: Watcher,
    cpu: Cpu,
    *,
    length: int,
    provider: str,
    llm: TimedFakeLLM | None = None,
) -> dict[str, Any]:
    """POST a continuation and follow it to the end, as the watcher saw it."""
    arrivals = len(llm.arrivals) if llm else 0
    before = cpu.snapshot()
    sent = time.monotonic_ns()
    task_id = await session.continue_(length)
    answered = time.monotonic_ns()
    first = await watcher.wait_for(
        lambda e: e["event"] == "first" and e["task"] == task_id, EVENT_TIMEOUT_S, "AI character"
    )
    await watcher.wait_for(
        lambda e: e["event"] == "ai_left" and e["task"] == task_id, 180, "AI peer leaving"
    )
    await asyncio.sleep(SETTLE_S)
    after = cpu.snapshot()
    task = await session.finished_task(task_id)
    stats = await watcher.command({"cmd": "stats", "task": task_id}, "stats", EVENT_TIMEOUT_S)
    if task["status"] != "completed" or task["provider"] != provider:
        raise RuntimeError(f"task {task_id}: {task['status']} via {task['provider']}: {task}")
    result_chars = task["result"]["chars"]
    if stats["chars"] != result_chars:
        raise RuntimeError(f"watcher saw {stats['chars']} of {result_chars} AI characters")
    sample: dict[str, Any] = {
        "task_id": task_id,
        "first_char_ms": ms(first["t_ns"] - sent),
        "post_answered_ms": ms(answered - sent),
        "ai_in_awareness_ms": ms(stats["joined_ns"] - sent) if stats["joined_ns"] else None,
        "last_char_ms": ms(stats["last_ns"] - sent),
        "chars": result_chars,
        "watcher_updates": stats["updates"],
        "watcher_awareness_updates": stats["awareness_updates"],
        "settled": True,
        **cpu_delta(before, after),
    }
    if llm is not None and len(llm.arrivals) > arrivals:
        sample["model_called_ms"] = ms(llm.arrivals[arrivals] - sent)
    return sample


async def model_ttfb(llm: TimedFakeLLM, count: int) -> list[float]:
    """The fake model's own time to its first content piece, through the same SDK, warm."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=llm.openai_base_url, api_key="k", max_retries=0, timeout=30)
    samples = []
    try:
        for _ in range(count + 1):  # the first one opens the connection: not counted
            started = time.monotonic_ns()
            stream = await client.chat.completions.create(
                model="m",
                messages=[{"role": "user", "content": "续写"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            first = None
            async with stream:
                async for chunk in stream:
                    if first is None and any(c.delta and c.delta.content for c in chunk.choices):
                        first = time.monotonic_ns()
            assert first is not None
            samples.append(ms(first - started))
    finally:
        await client.close()
    return samples[1:]


async def typist_run(watcher: Watcher, cpu: Cpu, updates: int, interval_s: float) -> dict[str, Any]:
    """A second plain y-websocket client types `updates` 2-character updates at the end."""
    await watcher.command({"cmd": "typist_open"}, "typist_ready", EVENT_TIMEOUT_S)
    try:
        before = cpu.snapshot()
        command = {
            "cmd": "type",
            "updates": updates,
            "text": "春风",
            "interval_ms": 1000 * interval_s,
        }
        typed = await watcher.command(command, "typed", 180)
        await asyncio.sleep(SETTLE_S)
        after = cpu.snapshot()
    finally:
        await watcher.command({"cmd": "typist_close"}, "typist_closed", EVENT_TIMEOUT_S)
    return {
        "updates": updates,
        "chars": typed["chars"],
        "watcher_updates": typed["watcher_updates"],
        "interval_s": interval_s,
        "last_char_ms": ms(typed["seen_ns"] - typed["start_ns"]),
        "sending_ms": ms(typed["sent_ns"] - typed["start_ns"]),
        **cpu_delta(before, after),
    }


async def check_clock(watcher: Watcher) -> None:
    """The watcher's hrtime and this process's monotonic clock must be the same clock."""
    before = time.monotonic_ns()
    reply = await watcher.command({"cmd": "clock"}, "clock", 10)
    after = time.monotonic_ns()
    if not before <= reply["t_ns"] <= after:
        raise RuntimeError(
            f"clocks differ: the watcher's {reply['t_ns']} is not within [{before}, {after}]"
        )


@contextlib.asynccontextmanager
async def running(
    name: str, config: Config, env: dict[str, str]
) -> AsyncIterator[tuple[InkweaveNode, Session, Watcher, Cpu]]:
    if config.wait_quiet_s > 0:
        await asyncio.to_thread(wait_quiet, config.wait_quiet_s)
    server = inkweave_server(name, config, env)
    log(f"starting inkweave ({name}) on port {server.port}")
    watcher: Watcher | None = None
    try:
        await asyncio.to_thread(server.start, START_TIMEOUT_S)
        async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as http:
            session = await sign_up_and_write(server, http)
            watcher = await Watcher.start(server, session.content_id, session.token)
            await check_clock(watcher)
            yield server, session, watcher, Cpu(server.pid, watcher.pid)
    except Exception:
        log(f"{name} server log tail:\n{server.log_tail()}")
        raise
    finally:
        if watcher is not None:
            await watcher.stop()
        server.stop()


async def measure(config: Config) -> dict[str, Any]:
    results: dict[str, Any] = {}
    n = config.requests

    # (a) the offline provider, no pacing
    offline_env = {"INKWEAVE_AI_OFFLINE_DELAY_MS": "0"}
    async with running("offline", config, offline_env) as (_server, session, watcher, cpu):
        await one_task(session, watcher, cpu, length=100, provider="offline")  # warm-up
        samples = []
        for index in range(n):
            samples.append(await one_task(session, watcher, cpu, length=100, provider="offline"))
            log(
                f"offline {index + 1}/{n}: first AI character {samples[-1]['first_char_ms']:.1f} ms"
            )
        results["ttfc_offline"] = samples
        long = await one_task(session, watcher, cpu, length=2 * config.pieces, provider="offline")
        long["pieces"] = -(-long["chars"] // 3)  # the offline provider's pieces are 3 characters
        results["cost_offline"] = long
        log(f"offline long answer: {long['chars']} chars, server {long['server_cpu_s']:.2f} s CPU")

    # (b) an OpenAI-compatible model answering at once, served from this process
    with fake_llm_thread() as llm:
        provider = {
            "name": "fake",
            "kind": "openai",
            "base_url": llm.openai_base_url,
            "api_key": "k",
            "model": "m",
        }
        fake_env = {"INKWEAVE_AI_PROVIDERS": json.dumps([provider])}
        async with running("fake", config, fake_env) as (_server, session, watcher, cpu):
            short = Reply(text=model_text(40), chunk_chars=2)
            llm.default = short
            results["model_ttfb"] = await model_ttfb(llm, n)
            await one_task(session, watcher, cpu, length=100, provider="fake", llm=llm)  # warm-up
            samples = []
            for index in range(n):
                samples.append(
                    await one_task(session, watcher, cpu, length=100, provider="fake", llm=llm)
                )
                first_ms = samples[-1]["first_char_ms"]
                log(f"fake {index + 1}/{n}: first AI character {first_ms:.1f} ms")
            results["ttfc_fake"] = samples

            # A model that streams 2 characters every 20 ms: the first character waits for the
            # stream filter's hold-back (see the README).
            paced_short = Reply(text=model_text(40), chunk_chars=2, chunk_delay_s=0.02)
            llm.default = paced_short
            results["model_ttfb_paced"] = await model_ttfb(llm, max(3, n // 4))
            results["ttfc_fake_paced"] = [
                await one_task(session, watcher, cpu, length=100, provider="fake", llm=llm)
                for _ in range(max(3, n // 4))
            ]

            # Cost per streamed piece, against a typist sending as many 2-character updates.
            results["cost_ai"], results["cost_typist"] = [], []
            llm.default = Reply(text=model_text(2 * config.pieces), chunk_chars=2)
            for rep in range(config.reps):
                ai = await one_task(
                    session,
                    watcher,
                    cpu,
                    length=min(5000, 2 * config.pieces),
                    provider="fake",
                    llm=llm,
                )
                ai["pieces"] = config.pieces
                results["cost_ai"].append(ai)
                typist = await typist_run(watcher, cpu, config.pieces, 0)
                results["cost_typist"].append(typist)
                log(
                    f"cost {rep + 1}/{config.reps}: AI {ai['server_cpu_s']:.2f} s, "
                    f"typist {typist['server_cpu_s']:.2f} s server CPU"
                )
            interval = config.paced_interval_s
            llm.default = Reply(
                text=model_text(2 * config.paced_pieces), chunk_chars=2, chunk_delay_s=interval
            )
            paced = await one_task(
                session,
                watcher,
                cpu,
                length=min(5000, 2 * config.paced_pieces),
                provider="fake",
                llm=llm,
            )
            paced["pieces"] = config.paced_pieces
            results["cost_ai_paced"] = paced
            results["cost_typist_paced"] = await typist_run(
                watcher, cpu, config.paced_pieces, interval
            )
            log("paced runs done")
    return results


# --------------------------------------------------------------------------------------------
# report


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def table(results: dict[str, Any], config: Config) -> str:
    def col(samples: list[dict[str, Any]], key: str) -> list[float]:
        return [s[key] for s in samples if s.get(key) is not None]

    def p(values: list[float], q: float) -> float | None:
        return percentile(values, q) if values else None

    offline, fake, paced = (
        results["ttfc_offline"],
        results["ttfc_fake"],
        results["ttfc_fake_paced"],
    )
    ttfb, ttfb_paced = results["model_ttfb"], results["model_ttfb_paced"]
    lines = [
        "| time from `POST /ai/continue` to … (ms) | n | p50 | p95 |",
        "| --- | --- | --- | --- |",
    ]

    def row(label: str, values: list[float]) -> None:
        lines.append(f"| {label} | {len(values)} | {fmt(p(values, 50))} | {fmt(p(values, 95))} |")

    row(
        "offline provider (delay 0): first AI character at the watcher",
        col(offline, "first_char_ms"),
    )
    row("… the POST's answer (task queued)", col(offline, "post_answered_ms"))
    row("… the AI peer in the watcher's awareness", col(offline, "ai_in_awareness_ms"))
    row(
        "fake OpenAI-compatible model, first piece at once: first AI character",
        col(fake, "first_char_ms"),
    )
    row("… the POST's answer (task queued)", col(fake, "post_answered_ms"))
    row("… the AI peer in the watcher's awareness", col(fake, "ai_in_awareness_ms"))
    row("… the model request reaching the model server", col(fake, "model_called_ms"))
    row("the fake model's own time to first piece (`openai` SDK, direct)", ttfb)
    overhead = [
        p(col(fake, "first_char_ms"), q) - p(ttfb, q)  # type: ignore[operator]
        for q in (50, 95)
    ]
    lines.append(
        f"| platform overhead: fake model row − model's own row | | {fmt(overhead[0])} | "
        f"{fmt(overhead[1])} |"
    )
    row("model streaming 2 characters / 20 ms: first AI character", col(paced, "first_char_ms"))
    row("… that model's own time to first piece (direct)", ttfb_paced)

    typists = results["cost_typist"]
    typist_per_update = statistics.median(t["server_cpu_s"] / t["updates"] for t in typists)
    # psutil reads CPU time in 10 ms ticks: the mean over many short tasks, not one task's value
    fixed = sum(s["server_cpu_s"] for s in fake) / len(fake)
    lines += [
        "",
        "| server CPU while streaming | pieces | characters | server CPU (s) | µs per piece "
        "| µs per piece less the fixed task cost | µs per character | ÷ typist per update "
        "| text / AI awareness updates the watcher received | stream duration (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def cost_row(
        label: str, runs: list[dict[str, Any]], pieces_key: str, baseline: float, task_cost: float
    ) -> None:
        cpu_s = statistics.median(r["server_cpu_s"] for r in runs)
        pieces = runs[0][pieces_key]
        chars = runs[0]["chars"]
        per_piece = cpu_s / pieces
        marginal = fmt((cpu_s - task_cost) / pieces * 1e6) if task_cost else "—"
        updates = fmt(statistics.median(r["watcher_updates"] for r in runs))
        if "watcher_awareness_updates" in runs[0]:
            awareness = statistics.median(r["watcher_awareness_updates"] for r in runs)
            updates += f" / {fmt(awareness)}"
        span = statistics.median(
            (r["last_char_ms"] - r.get("first_char_ms", 0)) / 1000 for r in runs
        )
        lines.append(
            f"| {label} | {pieces:,} | {chars:,} | {fmt(cpu_s)} | {fmt(per_piece * 1e6)} | "
            f"{marginal} | {fmt(cpu_s / chars * 1e6)} | {fmt(per_piece / baseline, 2)} | "
            f"{updates} | {fmt(span)} |"
        )

    reps = f" (median of {len(typists)})" if len(typists) > 1 else ""
    cost_row(
        f"AI, fake model, no pacing{reps}", results["cost_ai"], "pieces", typist_per_update, fixed
    )
    cost_row(
        f"typist, 2-character updates back to back{reps}",
        typists,
        "updates",
        typist_per_update,
        0,
    )
    paced_typist = results["cost_typist_paced"]
    paced_baseline = paced_typist["server_cpu_s"] / paced_typist["updates"]
    interval_ms = 1000 * config.paced_interval_s
    cost_row(
        f"AI, fake model, one piece every {interval_ms:g} ms",
        [results["cost_ai_paced"]],
        "pieces",
        paced_baseline,
        fixed,
    )
    cost_row(
        f"typist, one update every {interval_ms:g} ms", [paced_typist], "updates", paced_baseline, 0
    )
    cost_row(
        "AI, offline provider (3-character pieces; includes its n-gram model)",
        [results["cost_offline"]],
        "pieces",
        typist_per_update,
        0,
    )
    latency_runs = [*offline, *fake, *paced]
    cost_runs = [
        *results["cost_ai"],
        *typists,
        results["cost_ai_paced"],
        paced_typist,
        results["cost_offline"],
    ]
    lines += [
        "",
        f"Fixed server CPU per AI task (mean over the {len(fake)} short fake-model tasks, "
        f"40 characters each): {fmt(fixed * 1000)} ms. Noise, CPU used by other processes "
        f"during the measured windows: {noise_pct(latency_runs):.1f}% of the machine for the "
        f"latency rows, {noise_pct(cost_runs):.1f}% for the CPU rows.",
    ]
    return "\n".join(lines)


def noise_pct(runs: list[dict[str, Any]]) -> float:
    cores = os.cpu_count() or 1
    return 100 * sum(r["others_cpu_s"] for r in runs) / sum(r["wall_s"] * cores for r in runs)


# --------------------------------------------------------------------------------------------


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
    parser.add_argument(
        "--python", default=str(REPO / ".venv" / "bin" / "python"), help="Python for Inkweave"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (BENCH / "node_modules" / "y-websocket").is_dir():
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
    out = BENCH / "results"
    config.logs = out / f"ai-{stamp}-logs"
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
    report = table(results, config)
    record = {
        "started": started.isoformat(),
        "finished": dt.datetime.now(dt.UTC).isoformat(),
        "machine": machine(),
        "config": {k: str(v) for k, v in vars(config).items()},
        "results": results,
        "table": report,
    }
    (out / f"ai-{stamp}.json").write_text(json.dumps(record, indent=1, ensure_ascii=False))
    (out / f"ai-{stamp}.md").write_text(report + "\n")
    print(report)
    log(f"raw results: {out / f'ai-{stamp}.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
