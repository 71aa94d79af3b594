"""The table of `run.py`: one row per metric, one column per server, Inkweave vs Hocuspocus."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from machine import noise_pct
from servers_under_test import COLUMNS, SERVER_NAMES
from stats import MISSING, fmt_decimals, markdown_row, median_or_none

Getter = Callable[[dict[str, Any]], float | None]
Row = tuple[str, dict[str, float | None], str]
NOISE = "Noise: CPU used by other processes during the runs (% of the machine)"


def _latency(key: str, part: str) -> Getter:
    return lambda d: median_or_none([r["latency_ms"][part] for r in d[key]])


def _cpu(key: str) -> Getter:
    return lambda d: median_or_none([r.get("server_cpu_s") for r in d[key]])


def _s4(part: str, which: str) -> Getter:
    def get(d: dict[str, Any]) -> float | None:
        if which == "cold" and "restarts" not in d:  # references: in memory only
            return median_or_none([j[part] for j in d["all"]["warm"]])
        if which == "restart":
            return median_or_none([r["cold"][0][part] for r in d["restarts"]])
        return median_or_none([j[part] for j in d["all"][which]])

    return get


class Metric(NamedTuple):
    """One row: how to read its value from a scenario's output, and for which servers."""

    label: str
    scenario: str
    get: Getter
    rule: str = ""  # "lower": Inkweave's target is at most Hocuspocus's value
    only: tuple[str, ...] = SERVER_NAMES


INKWEAVE = ("inkweave",)
METRICS = (
    Metric("S2 fan-out p50 (ms)", "S2", _latency("runs", "p50")),
    Metric("S2 fan-out p99 (ms)", "S2", _latency("runs", "p99"), "lower"),
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
    Metric("S3 fan-out p50 (ms)", "S3", _latency("runs", "p50")),
    Metric("S3 fan-out p99 (ms)", "S3", _latency("runs", "p99"), "lower"),
    Metric("S3 server CPU per run (s)", "S3", _cpu("runs")),
    Metric(
        "S4 join p50 (ms): Inkweave loads from its store, references in memory",
        "S4",
        _s4("p50", "cold"),
    ),
    Metric(
        "S4 join p99 (ms): Inkweave loads from its store, references in memory",
        "S4",
        _s4("p99", "cold"),
        "lower",
    ),
    Metric("S4 join p50 (ms), document already in memory", "S4", _s4("p50", "warm")),
    Metric("S4 join p99 (ms), document already in memory", "S4", _s4("p99", "warm"), "lower"),
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
        "Updates/s acknowledged by relay, 20 closed-loop writers (higher is better)",
        "APPENDS",
        lambda d: d["run"]["acked_per_s"],
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
        "lower",
    ),
    Metric(
        "Awareness frames per client per minute, idle 20-client room",
        "AWARENESS",
        lambda d: d["run"]["awareness_per_client_per_min"],
        "lower",
    ),
)


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
    """Rows: (metric, {server: value}, target rule) for each metric some server has a value for."""
    rows: list[Row] = []
    for metric in METRICS:
        values = _values(raw, metric)
        if any(v is not None for v in values.values()):
            rows.append((metric.label, values, metric.rule))
    others = noise(raw)
    if any(v is not None for v in others.values()):
        rows.append((NOISE, others, ""))
    return rows


def table(raw: dict[str, dict[str, Any]]) -> str:
    """The Markdown table, with the Inkweave / Hocuspocus ratio and the verdict on each target."""
    head = ["metric", *COLUMNS.values(), "Inkweave / Hocuspocus", "target: Inkweave ≤ Hocuspocus"]
    lines = [markdown_row(head), "|" + " --- |" * len(head)]
    for metric, values, rule in extract(raw):
        ink, hp = values.get("inkweave"), values.get("hocuspocus")
        ratio = f"{ink / hp:.2f}" if ink is not None and hp not in (None, 0) else MISSING
        verdict = ""
        if rule == "lower" and ink is not None and hp is not None:
            if ink <= hp:
                verdict = "met"
            else:
                verdict = f"missed by {fmt_decimals(ink - hp)} ({(ink / hp - 1) * 100:.0f}% over)"
        cells = [metric, *(fmt_decimals(values.get(n)) for n in SERVER_NAMES), ratio, verdict]
        lines.append(markdown_row(cells))
    return "\n".join(lines)
