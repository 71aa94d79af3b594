"""`bench/comparison_table.py`: the target column of `python bench/run.py`."""

from comparison_table import table, targets_summary


def _row(md: str, label: str) -> list[str]:
    line = next(line for line in md.splitlines() if line.startswith(f"| {label} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_a_hocuspocus_figure_of_zero_is_judged_without_dividing() -> None:
    def raw(inkweave: float) -> dict:
        aware = "awareness_per_client_per_min"
        return {
            "inkweave": {"AWARENESS": {"run": {aware: inkweave}}},
            "hocuspocus": {"AWARENESS": {"run": {aware: 0.0}}},
        }

    label = "Awareness frames per client per minute, idle 20-client room"
    assert _row(table(raw(3.0)), label)[-2:] == ["—", "not met (≤ 1×)"]
    assert _row(table(raw(0.0)), label)[-1] == "met (≤ 1×)"


def test_fan_out_is_judged_by_the_issue_ratios() -> None:
    def run(p50: float, p99: float) -> dict:
        return {"latency_ms": {"p50": p50, "p99": p99}, "load_server_cpu_s": 0.5, "received": 100}

    raw = {
        "inkweave": {"S2": {"runs": [run(5.0, 17.0)]}},
        "hocuspocus": {"S2": {"runs": [run(4.0, 20.0)]}},
    }
    md = table(raw)
    assert _row(md, "S2 fan-out p50 (ms)")[-1] == "met (≤ 1.5×)"  # 1.25×
    assert _row(md, "S2 fan-out p99 (ms)")[-1] == "not met (≤ 0.8×)"  # 0.85×
    assert targets_summary(raw).startswith("Targets met: 2 of 3.")
