"""The tables of `ai_stream.py`: latency to the first AI character, server CPU per piece."""

from __future__ import annotations

import statistics
from typing import Any

from ai_measurements import Config
from machine import noise_pct
from stats import MISSING, markdown_row, percentile
from stats import fmt_significant as fmt

Samples = list[dict[str, Any]]


def _column(samples: Samples, key: str) -> list[float]:
    return [s[key] for s in samples if s.get(key) is not None]


def _p(values: list[float], q: float) -> float | None:
    return percentile(values, q) if values else None


def latency_table(results: dict[str, Any]) -> list[str]:
    """Time from the POST to each event, p50 and p95."""
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
        lines.append(
            markdown_row([label, str(len(values)), fmt(_p(values, 50)), fmt(_p(values, 95))])
        )

    row(
        "offline provider (delay 0): first AI character at the watcher",
        _column(offline, "first_char_ms"),
    )
    row("… the POST's answer (task queued)", _column(offline, "post_answered_ms"))
    row("… the AI peer in the watcher's awareness", _column(offline, "ai_in_awareness_ms"))
    row(
        "fake OpenAI-compatible model, first piece at once: first AI character",
        _column(fake, "first_char_ms"),
    )
    row("… the POST's answer (task queued)", _column(fake, "post_answered_ms"))
    row("… the AI peer in the watcher's awareness", _column(fake, "ai_in_awareness_ms"))
    row("… the model request reaching the model server", _column(fake, "model_called_ms"))
    row("the fake model's own time to first piece (`openai` SDK, direct)", ttfb)
    overhead = [
        _p(_column(fake, "first_char_ms"), q) - _p(ttfb, q)  # type: ignore[operator]
        for q in (50, 95)
    ]
    lines.append(
        f"| platform overhead: fake model row − model's own row | | {fmt(overhead[0])} | "
        f"{fmt(overhead[1])} |"
    )
    row("model streaming 2 characters / 20 ms: first AI character", _column(paced, "first_char_ms"))
    row("… that model's own time to first piece (direct)", ttfb_paced)
    return lines


def _cost_row(label: str, runs: Samples, pieces_key: str, baseline: float, task_cost: float) -> str:
    cpu_s = statistics.median(r["server_cpu_s"] for r in runs)
    pieces = runs[0][pieces_key]
    chars = runs[0]["chars"]
    per_piece = cpu_s / pieces
    marginal = fmt((cpu_s - task_cost) / pieces * 1e6) if task_cost else MISSING
    updates = fmt(statistics.median(r["watcher_updates"] for r in runs))
    if "watcher_awareness_updates" in runs[0]:
        awareness = statistics.median(r["watcher_awareness_updates"] for r in runs)
        updates += f" / {fmt(awareness)}"
    span = statistics.median((r["last_char_ms"] - r.get("first_char_ms", 0)) / 1000 for r in runs)
    return (
        f"| {label} | {pieces:,} | {chars:,} | {fmt(cpu_s)} | {fmt(per_piece * 1e6)} | "
        f"{marginal} | {fmt(cpu_s / chars * 1e6)} | {fmt(per_piece / baseline, 2)} | "
        f"{updates} | {fmt(span)} |"
    )


def fixed_task_cost(results: dict[str, Any]) -> float:
    """Mean server CPU of the short fake-model tasks."""
    fake = results["ttfc_fake"]
    # psutil reads CPU time in 10 ms ticks: the mean over many short tasks, not one task's value
    return sum(s["server_cpu_s"] for s in fake) / len(fake)


def cost_table(results: dict[str, Any], config: Config) -> list[str]:
    """Server CPU while streaming: the AI's pieces against a typist's updates."""
    typists = results["cost_typist"]
    typist_per_update = statistics.median(t["server_cpu_s"] / t["updates"] for t in typists)
    fixed = fixed_task_cost(results)
    lines = [
        "| server CPU while streaming | pieces | characters | server CPU (s) | µs per piece "
        "| µs per piece less the fixed task cost | µs per character | ÷ typist per update "
        "| text / AI awareness updates the watcher received | stream duration (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    reps = f" (median of {len(typists)})" if len(typists) > 1 else ""
    paced_typist = results["cost_typist_paced"]
    paced_baseline = paced_typist["server_cpu_s"] / paced_typist["updates"]
    interval_ms = 1000 * config.paced_interval_s
    lines += [
        _cost_row(
            f"AI, fake model, no pacing{reps}",
            results["cost_ai"],
            "pieces",
            typist_per_update,
            fixed,
        ),
        _cost_row(
            f"typist, 2-character updates back to back{reps}",
            typists,
            "updates",
            typist_per_update,
            0,
        ),
        _cost_row(
            f"AI, fake model, one piece every {interval_ms:g} ms",
            [results["cost_ai_paced"]],
            "pieces",
            paced_baseline,
            fixed,
        ),
        _cost_row(
            f"typist, one update every {interval_ms:g} ms",
            [paced_typist],
            "updates",
            paced_baseline,
            0,
        ),
        _cost_row(
            "AI, offline provider (3-character pieces; includes its n-gram model)",
            [results["cost_offline"]],
            "pieces",
            typist_per_update,
            0,
        ),
    ]
    return lines


def footnote(results: dict[str, Any]) -> str:
    """The fixed cost of a task, and the noise over the latency and the CPU rows."""
    fake = results["ttfc_fake"]
    latency_runs = [*results["ttfc_offline"], *fake, *results["ttfc_fake_paced"]]
    cost_runs = [
        *results["cost_ai"],
        *results["cost_typist"],
        results["cost_ai_paced"],
        results["cost_typist_paced"],
        results["cost_offline"],
    ]
    return (
        f"Fixed server CPU per AI task (mean over the {len(fake)} short fake-model tasks, "
        f"40 characters each): {fmt(fixed_task_cost(results) * 1000)} ms. Noise, CPU used by "
        f"other processes during the measured windows: {noise_pct(latency_runs):.1f}% of the "
        f"machine for the latency rows, {noise_pct(cost_runs):.1f}% for the CPU rows."
    )


def table(results: dict[str, Any], config: Config) -> str:
    """Both tables and the footnote, as printed and saved."""
    return "\n".join(
        [*latency_table(results), "", *cost_table(results, config), "", footnote(results)]
    )
