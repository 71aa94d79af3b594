"""The table of `run.py`: one row per metric, one column per server, Inkweave vs Hocuspocus."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from machine import noise_pct
from servers_under_test import COLUMNS, SERVER_NAMES
from stats import MISSING, fmt_decimals, markdown_row, median_or_none

Getter = Callable[[dict[str, Any]], float | None]
NOISE = "Noise: CPU used by other processes during the runs (% of the machine)"


def _latency(key: str, part: str, field: str = "latency_ms") -> Getter:
    return lambda d: median_or_none([r[field][part] for r in d[key]])


def _cpu(key: str) -> Getter:
    return lambda d: median_or_none([r.get("server_cpu_s") for r in d[key]])


def _cpu_per_delivery(d: dict[str, Any]) -> float | None:
    """Server CPU while the updates flowed, per update delivered to a client (µs)."""
    return median_or_none(
        [
            1e6 * r["load_server_cpu_s"] / r["received"]
            for r in d["runs"]
            if r.get("load_server_cpu_s") is not None and r.get("received")
        ]
    )


def _s4(part: str, which: str) -> Getter:
    def get(d: dict[str, Any]) -> float | None:
        if which == "cold" and "restarts" not in d:  # references: in memory only
            return median_or_none([j[part] for j in d["all"]["warm"]])
        if which == "restart":
            return median_or_none([r["cold"][0][part] for r in d["restarts"]])
        return median_or_none([j[part] for j in d["all"][which]])

    return get


class Target(NamedTuple):
    """Inkweave's value against `factor` times Hocuspocus's: at most (lower is better) or at
    least (`higher`)."""

    factor: float
    higher: bool = False

    @property
    def label(self) -> str:
        return f"{'≥' if self.higher else '≤'} {self.factor:g}×"

    def met(self, ink: float, hp: float) -> bool:
        # Multiplied, never divided: a Hocuspocus figure of 0 is a valid bound.
        return ink >= self.factor * hp if self.higher else ink <= self.factor * hp


P99 = Target(0.8)  # fan-out p99 in S2, S3, heavy S3, the join wave; join p99 in S4
P50 = Target(1.5)  # p50 in every scenario
NO_MORE = Target(1.0)  # server CPU per delivered update; memory; idle awareness traffic
AT_LEAST = Target(1.0, higher=True)  # durable updates/s against relayed updates/s


class Metric(NamedTuple):
    """One row: how to read its value from a scenario's output, and for which servers."""

    label: str
    scenario: str
    get: Getter
    target: Target | None = None
    only: tuple[str, ...] = SERVER_NAMES


INKWEAVE = ("inkweave",)
CPU_PER_DELIVERY = "server CPU per delivered update while it runs (µs)"


def _fan_out(scenario: str, name: str) -> tuple[Metric, ...]:
    """The rows every fan-out scenario has: p50, p99, server CPU per delivered update."""
    return (
        Metric(f"{name} fan-out p50 (ms)", scenario, _latency("runs", "p50"), P50),
        Metric(f"{name} fan-out p99 (ms)", scenario, _latency("runs", "p99"), P99),
        Metric(f"{name} {CPU_PER_DELIVERY}", scenario, _cpu_per_delivery, NO_MORE),
    )


METRICS = (
    *_fan_out("S2", "S2"),
    Metric(
        "S2 fan-out p50, clients without permessage-deflate (ms)",
        "S2",
        _latency("no_deflate", "p50"),
        only=INKWEAVE,
    ),
    Metric(
        "S2 fan-out p99, clients without permessage-deflate (ms)",
        "S2",
        _latency("no_deflate", "p99"),
        only=INKWEAVE,
    ),
    Metric("S2 server CPU per run (s)", "S2", _cpu("runs")),
    *_fan_out("S3", "S3"),
    Metric("S3 server CPU per run (s)", "S3", _cpu("runs")),
    *_fan_out("S3HEAVY", "Heavy S3 (200 writers x 20 updates, 50 ms apart)"),
    *_fan_out("JOINWAVE", "Join wave (400 new clients, 200 new documents)"),
    Metric("Join wave: join p50 (ms)", "JOINWAVE", _latency("runs", "p50", "join_ms"), P50),
    Metric("Join wave: join p99 (ms)", "JOINWAVE", _latency("runs", "p99", "join_ms")),
    Metric(
        "Join wave: last of the 400 synced (ms after the first was created)",
        "JOINWAVE",
        lambda d: median_or_none([r["wave_synced_ms"] for r in d["runs"]]),
    ),
    Metric(
        "Burst (10 writers x 100 back to back) fan-out p50 (ms)",
        "BURST",
        _latency("runs", "p50"),
        P50,
    ),
    Metric("Burst fan-out p99 (ms)", "BURST", _latency("runs", "p99")),
    Metric(
        "Burst: last delivery (ms after the first update)",
        "BURST",
        lambda d: median_or_none([r["drain_ms"] for r in d["runs"]]),
    ),
    Metric(f"Burst {CPU_PER_DELIVERY}", "BURST", _cpu_per_delivery, NO_MORE),
    Metric(
        "S4 join p50 (ms): Inkweave loads from its store, references in memory",
        "S4",
        _s4("p50", "cold"),
        P50,
    ),
    Metric(
        "S4 join p99 (ms): Inkweave loads from its store, references in memory",
        "S4",
        _s4("p99", "cold"),
        P99,
    ),
    Metric("S4 join p50 (ms), document already in memory", "S4", _s4("p50", "warm"), P50),
    Metric("S4 join p99 (ms), document already in memory", "S4", _s4("p99", "warm"), P99),
    Metric(
        "S4 join p50 (ms), first join after a server restart",
        "S4",
        _s4("p50", "restart"),
        only=INKWEAVE,
    ),
    Metric(
        "S4 join p99 (ms), first join after a server restart",
        "S4",
        _s4("p99", "restart"),
        only=INKWEAVE,
    ),
    Metric(
        "S4 build: 2,000 updates through one client (s)",
        "S4",
        lambda d: d["all"]["build_ms"] / 1000,
    ),
    Metric(
        "Updates/s acknowledged by relay, 20 closed-loop writers (Inkweave: durable; higher is "
        "better)",
        "APPENDS",
        lambda d: d["run"]["acked_per_s"],
        AT_LEAST,
    ),
    Metric(
        "Inkweave store appends/s (/metrics)",
        "APPENDS",
        lambda d: d["run"]["server"]["updates_received_per_s"],
        only=INKWEAVE,
    ),
    Metric(
        "Inkweave mean group-commit batch (updates)",
        "APPENDS",
        lambda d: d["run"]["server"]["mean_batch_size"],
        only=INKWEAVE,
    ),
    Metric(
        "Inkweave mean receive-to-durable append (ms)",
        "APPENDS",
        lambda d: d["run"]["server"]["mean_append_ms"],
        only=INKWEAVE,
    ),
    Metric(
        "Server memory per open document (KiB RSS)",
        "MEMORY",
        lambda d: d["run"]["per_doc_kib"],
        NO_MORE,
    ),
    Metric(
        "Awareness frames per client per minute, idle 20-client room",
        "AWARENESS",
        lambda d: d["run"]["awareness_per_client_per_min"],
        NO_MORE,
    ),
    Metric(
        "New clients/s until a first sync waits > 100 ms (Inkweave: authenticated; higher is "
        "better)",
        "CONNRATE",
        lambda d: d["run"]["max_rate_per_s"],
    ),
    Metric(
        "Connection rate: server CPU per new client over the ramp (ms)",
        "CONNRATE",
        lambda d: 1000 * d["run"]["steps_server_cpu_s"] / d["run"]["clients_opened"],
    ),
)


Row = tuple[str, dict[str, float | None], Target | None]


def _values(raw: dict[str, dict[str, Any]], metric: Metric) -> dict[str, float | None]:
    """The metric for each server; None where it failed, lacks the data or is left out."""
    values: dict[str, float | None] = {}
    for name in SERVER_NAMES:
        data = raw.get(name, {}).get(metric.scenario)
        value = None
        if name in metric.only and isinstance(data, dict) and "error" not in data:
            with contextlib.suppress(KeyError, TypeError, IndexError, ValueError):
                value = metric.get(data)
        values[name] = value
    return values


def _load_results(node: Any) -> Iterator[dict[str, Any]]:
    """Every load.mjs result found in a scenario's nested output."""
    if isinstance(node, dict):
        if "others_cpu_s" in node and "wall_s" in node:
            yield node
        else:
            for value in node.values():
                yield from _load_results(value)
    elif isinstance(node, list):
        for value in node:
            yield from _load_results(value)


def noise(raw: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """Per server: CPU that other processes on the machine used while it was measured."""
    others: dict[str, float | None] = {}
    for name in SERVER_NAMES:
        runs = list(_load_results(raw.get(name, {})))
        others[name] = noise_pct(runs) if sum(r["wall_s"] for r in runs) else None
    return others


def extract(raw: dict[str, dict[str, Any]]) -> list[Row]:
    """Rows: (metric, {server: value}, target) for each metric some server has a value for."""
    rows: list[Row] = []
    for metric in METRICS:
        values = _values(raw, metric)
        if any(v is not None for v in values.values()):
            rows.append((metric.label, values, metric.target))
    others = noise(raw)
    if any(v is not None for v in others.values()):
        rows.append((NOISE, others, None))
    return rows


def verdict(target: Target | None, ink: float | None, hp: float | None) -> str:
    """`met (≤ 0.8×)`, `not met (≤ 0.8×)`, or empty without a target or a value to judge."""
    if target is None or ink is None or hp is None:
        return ""
    return f"{'met' if target.met(ink, hp) else 'not met'} ({target.label})"


def table(raw: dict[str, dict[str, Any]]) -> str:
    """The Markdown table, with the Inkweave / Hocuspocus ratio and the verdict on each target."""
    head = ["metric", *COLUMNS.values(), "Inkweave / Hocuspocus", "target: Inkweave vs Hocuspocus"]
    lines = [markdown_row(head), "|" + " --- |" * len(head)]
    for metric, values, target in extract(raw):
        ink, hp = values.get("inkweave"), values.get("hocuspocus")
        ratio = f"{ink / hp:.2f}" if ink is not None and hp else MISSING
        cells = [
            metric,
            *(fmt_decimals(values.get(n)) for n in SERVER_NAMES),
            ratio,
            verdict(target, ink, hp),
        ]
        lines.append(markdown_row(cells))
    return "\n".join(lines)


def targets_summary(raw: dict[str, dict[str, Any]]) -> str:
    """One line: how many of the targets that could be judged were met, and which were not."""
    judged = [
        (metric, verdict(target, values.get("inkweave"), values.get("hocuspocus")))
        for metric, values, target in extract(raw)
    ]
    judged = [(metric, v) for metric, v in judged if v]
    missed = [metric for metric, v in judged if v.startswith("not met")]
    met = len(judged) - len(missed)
    line = f"Targets met: {met} of {len(judged)}."
    return line + (f" Not met: {'; '.join(missed)}." if missed else "")
