"""Medians, percentiles and the number formats of the benchmark tables."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable

MISSING = "—"


def median_or_none(values: Iterable[float | None]) -> float | None:
    """The median of the values that are not None; None if there are none."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def ms(ns: float) -> float:
    """Nanoseconds to milliseconds."""
    return ns / 1e6


def fmt_decimals(value: float | None) -> str:
    """Whole from 100 up (thousands separated), 1 decimal from 10 up, 2 below."""
    if value is None:
        return MISSING
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def fmt_significant(value: float | None, digits: int = 3) -> str:
    """Whole from 100 up (thousands separated), `digits` significant digits below."""
    if value is None:
        return MISSING
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def markdown_row(cells: Iterable[str]) -> str:
    """`| a | b |`."""
    return "| " + " | ".join(cells) + " |"
