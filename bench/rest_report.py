"""The REST benchmark's tables, each with a target column that says met / not met."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stats import MISSING, fmt_significant, markdown_row

MIX_P99_MS = 50
MIX_P99_RATE = 200
LIST_P99_MS = 20
SEARCH_P99_MS = 50
TXT_S = 10
PDF_S = 60
PDF_RSS_MB = 200
REVIEW_S = 30
CREATE_DRIFT = 1.20
RSS_RETURN_MB = 50
TARGET_CHAPTERS = 5000
SOAK_SLOPE_MB_PER_MIN = 0.5

OPS = ("content", "chapter_list", "works_list", "put_content", "search")


def verdict(ok: bool) -> str:
    return "met" if ok else "not met"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = [markdown_row(header), markdown_row(["---"] * len(header))]
    return "\n".join([*lines, *(markdown_row(r) for r in rows)])


def f(value: float | None) -> str:
    return fmt_significant(value)


def pair(first: float | None, second: float | None, sep: str = " / ") -> str:
    return f"{f(first)}{sep}{f(second)}"


def dig(value: Any, *keys: str) -> Any:
    """`value[k1][k2]...`, None where a level is missing."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def failures(run: dict[str, Any]) -> str:
    return str(run["timeouts"] + run["failed"])


def logged_500s(run: dict[str, Any]) -> int:
    return sum(run.get("server_errors", {}).values())


def no_5xx(run: dict[str, Any]) -> str:
    """Neither answered nor logged by the server (a 500 after the client's timeout is logged)."""
    return f"no 5xx but 503: {verdict(run['5xx_other'] == 0 and logged_500s(run) == 0)}"


def mix_checks(run: dict[str, Any]) -> str:
    checks = []
    if run["rate"] == MIX_P99_RATE:
        checks.append(f"p99 ≤ {MIX_P99_MS} ms: {verdict(run['p99_ms'] <= MIX_P99_MS)}")
    checks.append(no_5xx(run))
    if run["503"]:
        checks.append(f"503 only above saturation: {verdict(run['saturated'])}")
    return "; ".join(checks)


MIX_HEADER = [
    "db", "offered /s", "2xx /s", "p50 ms", "p99 ms", "max ms", "2xx", "4xx", "503", "other 5xx",
    "timeouts (10 s) + failed", "500s in the server's log", "server CPU (% of a core)",
    "server CPU ms / request", "server RSS MB", "generator CPU % of a core (µs / request)",
    "noise %", "saturated", "target",
]  # fmt: skip


def mix_row(db: str, run: dict[str, Any]) -> list[str]:
    counts = [str(run[k]) for k in ("2xx", "4xx", "503", "5xx_other")]
    generator = f"{f(run['generator_cpu_pct'])} ({f(run['generator_cpu_us_per_request'])})"
    return [
        db,
        f"{run['rate']:g}",
        f(run["achieved_2xx_per_s"]),
        *(f(run[k]) for k in ("p50_ms", "p99_ms", "max_ms")),
        *counts,
        failures(run),
        str(logged_500s(run)),
        *(f(run[k]) for k in ("server_cpu_pct", "server_cpu_ms_per_request", "server_rss_mb")),
        generator,
        f(run["noise_pct"]),
        "yes" if run["saturated"] else "no",
        mix_checks(run),
    ]


def mix_table(results: dict[str, dict[str, Any]]) -> str:
    rows = [mix_row(db, run) for db, mix in results.items() for run in mix["runs"]]
    return table(MIX_HEADER, rows)


def op_table(results: dict[str, dict[str, Any]]) -> str:
    header = ["db", "offered /s", *(f"{op} p50 / p99 ms" for op in OPS)]
    rows = []
    for db, mix in results.items():
        for run in mix["runs"]:
            cells = []
            for op in OPS:
                mine = run["by_op"].get(op)
                cells.append(pair(mine["p50_ms"], mine["p99_ms"]) if mine else MISSING)
            rows.append([db, f"{run['rate']:g}", *cells])
    return table(header, rows)


def capacity_lines(results: dict[str, dict[str, Any]]) -> str:
    lines = []
    for db, mix in results.items():
        cores = mix["runs"][0].get("server_cores") if mix["runs"] else None
        lines.append(
            f"- {db}: {mix['chapters']} chapters in the mix's work; chapter list: "
            f"{mix['chapter_list']}; cores its processes can use: {cores}; "
            f"capacity ≈ {f(mix['capacity_per_s'])} requests/s (its cores ÷ server CPU per "
            "request at the rates it kept up with, capped by the first it did not: "
            f"{f(mix['first_saturated_rate'])})"
        )
    return "\n".join(lines)


# The long-work rows: label, cell, target, check (on the largest N run).
Work = dict[str, Any]
Row = tuple[str, Callable[[Work], str], str, Callable[[Work], bool] | None]


def _create(w: Work) -> str:
    c = w["create"]
    means = f"{pair(c['first_ms'], c['last_ms'])} (×{c['last_over_first']:.2f})"
    medians = f"{pair(c['first_p50_ms'], c['last_p50_ms'])} (×{c['last_over_first_p50']:.2f})"
    return f"{means}; {medians}"


def _latency(timed: dict[str, Any] | None) -> str:
    """`p50 / p99`, and the statuses of any answer that was not 2xx."""
    if not timed:
        return MISSING
    errors = ", ".join(f"{n}× {status}" for status, n in timed.get("non_2xx", {}).items())
    return pair(timed["p50_ms"], timed["p99_ms"]) + (f" ({errors})" if errors else "")


def _walk(w: Work) -> str:
    walk = dig(w, "chapter_list", "walk_all_pages")
    return f"{f(walk['ms'])} ({walk['pages']} pages)" if walk else MISSING


def _list_size(w: Work) -> str:
    listed = w["chapter_list"]
    return f"{f(listed['first_page_bytes'] / 1024)} KB, {listed['first_page_rows']} rows"


def _seconds(step: dict[str, Any]) -> str:
    if step["s"] is None:
        return f"> {f(step['timed_out_s'])} (timed out)"
    return f(step["s"])


def _within(step: dict[str, Any], limit: float) -> bool:
    return step["s"] is not None and step["s"] <= limit


def _file_mb(step: dict[str, Any]) -> float | None:
    return step["bytes"] / 2**20 if "bytes" in step else None


def _export(step: dict[str, Any]) -> str:
    return f"{_seconds(step)}; {f(step.get('download_s'))}"


def _findings(w: Work) -> str:
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(w["review"]["findings_by_kind"].items()))
    return f"{w['review']['findings']} ({kinds or 'none'}); {f(w['review']['rss_growth_mb'])}"


def _rss_steps(w: Work) -> str:
    steps = ("start", "after_create", "after_txt", "after_pdf", "after_review")
    return " → ".join(f(w["rss_mb"][k]) for k in steps)


def _export_rows(fmt: str, limit_s: float, rss_limit_mb: float | None) -> list[Row]:
    label = fmt.upper() if fmt == "pdf" else fmt
    """Its time (target `limit_s`), then its file and the RSS growth (target where given)."""
    growth_check = None
    if rss_limit_mb is not None:
        growth_check = lambda w: w[fmt]["rss_growth_mb"] <= rss_limit_mb  # noqa: E731
    return [
        (
            f"{label} export: request → completed; the download after it (s)",
            lambda w: _export(w[fmt]),
            f"≤ {limit_s:g} s",
            lambda w: _within(w[fmt], limit_s),
        ),
        (
            "… server RSS growth during it (MB); file (MB)",
            lambda w: pair(w[fmt]["rss_growth_mb"], _file_mb(w[fmt]), "; "),
            f"growth ≤ {rss_limit_mb:g} MB" if rss_limit_mb is not None else "",
            growth_check,
        ),
    ]


LONG_ROWS: list[Row] = [
    (
        "create through REST, ms per chapter (POST + PUT), first 100 / last 100: mean; median",
        _create,
        f"last ≤ {CREATE_DRIFT:.2f} × first (medians: robust to noise)",
        lambda w: w["create"]["last_over_first_p50"] <= CREATE_DRIFT,
    ),
    ("… the whole creation (s)", lambda w: f(w["create"]["total_s"]), "", None),
    (
        "… then until search finds the last and first chapter (s)",
        lambda w: f(w["index_wait_s"]),
        "",
        None,
    ),
    (
        "GET /works/{id}/chapters, first page p50 / p99 (ms)",
        lambda w: _latency(dig(w, "chapter_list", "first_page")),
        f"p99 ≤ {LIST_P99_MS} ms",
        lambda w: w["chapter_list"]["first_page"]["p99_ms"] <= LIST_P99_MS,
    ),
    ("… its size", _list_size, "", None),
    (
        "… the middle page, by cursor, p50 / p99 (ms)",
        lambda w: _latency(dig(w, "chapter_list", "deep_page")),
        "",
        None,
    ),
    (
        "… the last page, by page number, p50 / p99 (ms)",
        lambda w: _latency(dig(w, "chapter_list", "last_page_by_number")),
        "",
        None,
    ),
    ("… every page, walked by cursor (ms)", _walk, "", None),
    (
        "GET /search, common 2-character word (时候), p50 / p99 (ms)",
        lambda w: _latency(w["search"]),
        f"p99 ≤ {SEARCH_P99_MS} ms",
        lambda w: w["search"]["p99_ms"] <= SEARCH_P99_MS,
    ),
    (
        "… total it reports; answer size (KB)",
        lambda w: (
            f"{w['search']['total']}{'+' if w['search'].get('total_is_estimate') else ''}; "
            f"{f(w['search']['bytes'] / 1024)}"
        ),
        "",
        None,
    ),
    *_export_rows("txt", TXT_S, None),
    *_export_rows("pdf", PDF_S, PDF_RSS_MB),
    (
        "long-text review (offline provider): request → completed (s)",
        lambda w: _seconds(w["review"]),
        f"≤ {REVIEW_S} s",
        lambda w: _within(w["review"], REVIEW_S),
    ),
    ("… findings (by kind); RSS growth during it (MB)", _findings, "", None),
    ("server RSS (MB), settled: start → created → txt → PDF → review", _rss_steps, "", None),
    (
        "RSS after PDF + review − before the PDF (MB)",
        lambda w: f(w["rss_return_mb"]),
        f"≤ {RSS_RETURN_MB} MB (set for 2,000 chapters)",
        lambda w: w["rss_return_mb"] <= RSS_RETURN_MB,
    ),
]


def _cell(value: Callable[[Work], Any], work: Work) -> str:
    if "error" in work:
        return "failed"
    try:
        return str(value(work))
    except (KeyError, TypeError):
        return MISSING


def long_table(works: list[Work]) -> str:
    done = [w for w in works if "error" not in w]
    checked = max(done, key=lambda w: w["chapters"]) if done else None
    verdict_header = "verdict"
    if checked is not None:
        verdict_header = f"at {checked['chapters']:,} chapters"
        if checked["chapters"] != TARGET_CHAPTERS:
            verdict_header += f" (targets are for {TARGET_CHAPTERS:,})"
    header = ["metric", *(f"{w['chapters']:,} chapters" for w in works), "target", verdict_header]
    rows = []
    for label, value, target, check in LONG_ROWS:
        cells = [_cell(value, work) for work in works]
        outcome = ""
        if check is not None and checked is not None:
            outcome = _cell(lambda w, check=check: verdict(check(w)), checked)
        rows.append([label, *cells, target, outcome])
    return table(header, rows)


SOAK_HEADER = [
    "db", "rate /s", "minutes", "requests", "p50 ms", "p99 ms", "2xx", "503", "other 5xx",
    "timeouts (10 s) + failed", "500s in the server's log", "server CPU (% of a core)",
    "RSS start / end / max (MB)", "RSS slope after the first 10% (MB/min)",
    "RSS once idle: rooms unloaded, heap trimmed (MB)", "target",
]  # fmt: skip


def soak_row(db: str, soak: dict[str, Any]) -> list[str]:
    slope = soak["rss_slope_mb_per_min"]
    flat = slope is not None and slope <= SOAK_SLOPE_MB_PER_MIN
    rss = " / ".join(f(soak[k]) for k in ("rss_start_mb", "rss_end_mb", "rss_max_mb"))
    return [
        db,
        f"{soak['rate']:g}",
        f"{soak['minutes']:g}",
        f"{soak['requests']:,}",
        f(soak["p50_ms"]),
        f(soak["p99_ms"]),
        *(f"{soak[k]:,}" for k in ("2xx", "503", "5xx_other")),
        failures(soak),
        str(logged_500s(soak)),
        f(soak["server_cpu_pct"]),
        rss,
        f(slope),
        f(soak.get("rss_idle_mb")),
        f"slope ≤ {SOAK_SLOPE_MB_PER_MIN} MB/min: {verdict(flat)}; {no_5xx(soak)}",
    ]


def soak_table(results: dict[str, dict[str, Any]]) -> str:
    return table(SOAK_HEADER, [soak_row(db, soak) for db, soak in results.items()])


def long_queries(works: list[Work]) -> str:
    done = [w for w in works if "error" not in w]
    if not done:
        return ""
    return (
        f"Chapter list: {done[-1]['chapter_list']['query']}; search: "
        f"`{done[-1]['search']['query']}`; each p50 / p99 over 100 requests one at a time."
    )


def tables(results: dict[str, dict[str, Any]]) -> str:
    """Every table of a run: the mix (and per operation), the long work per database, the soak."""
    parts = []
    mixes = {db: r["mix"] for db, r in results.items() if "mix" in r}
    if mixes:
        parts += ["### Mix at fixed arrival rates", "", mix_table(mixes), ""]
        parts += [capacity_lines(mixes), "", "Per operation:", "", op_table(mixes), ""]
    for db, r in results.items():
        if r.get("longwork"):
            parts += [f"### Long work ({db})", "", long_queries(r["longwork"]), ""]
            parts += [long_table(r["longwork"]), ""]
    soaks = {db: r["soak"] for db, r in results.items() if "soak" in r}
    if soaks:
        parts += ["### Soak", "", soak_table(soaks), ""]
    return "\n".join(parts)
