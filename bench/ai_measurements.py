"""What the AI benchmark measures: continuations followed to the end, a typist for comparison."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from ai_model_server import Reply, TimedFakeLLM, fake_llm_thread, model_text, model_ttfb
from ai_session import Session, sign_up_and_write
from ai_watcher import EVENT_TIMEOUT_S, Watcher
from cpu_accounting import Cpu, cpu_delta
from machine import wait_quiet
from processes import InkweaveNode
from progress import ai_log as log
from stats import ms

START_TIMEOUT_S = 40
SETTLE_S = 0.25  # after the AI leaves: its task row and call record are written


@dataclass
class Config:
    """The run's settings: how many requests and pieces, the interpreter, the folders."""

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
    """A started server, a writer with a chapter on it, and a watcher on that chapter."""
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


async def measure_offline(config: Config, results: dict[str, Any]) -> None:
    """The offline provider, no pacing: first-character latency, then one long answer."""
    n = config.requests
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


async def measure_fake_model(config: Config, results: dict[str, Any]) -> None:
    """An OpenAI-compatible model answering at once, served from this process."""
    n = config.requests
    with fake_llm_thread(START_TIMEOUT_S) as llm:
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
            await measure_streaming_cost(config, results, llm, session, watcher, cpu)


async def measure_streaming_cost(
    config: Config,
    results: dict[str, Any],
    llm: TimedFakeLLM,
    session: Session,
    watcher: Watcher,
    cpu: Cpu,
) -> None:
    """Cost per streamed piece, against a typist sending as many 2-character updates."""
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
    results["cost_typist_paced"] = await typist_run(watcher, cpu, config.paced_pieces, interval)
    log("paced runs done")


async def measure(config: Config) -> dict[str, Any]:
    """Every measurement, keyed as `ai_report.table` reads them."""
    results: dict[str, Any] = {}
    await measure_offline(config, results)
    await measure_fake_model(config, results)
    return results
