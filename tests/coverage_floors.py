"""Print branch coverage per package and fail when a package is below its floor.

Run after `coverage combine`. Figures are coverage.py's with branch measurement on: "lines" is
statements run, "branches" is branch destinations taken, "total" is coverage.py's own percentage
(statements and branches together). The floors apply to "total"; the README records the figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

# Brief §9.3.2 asks core >= 90 %, overall >= 80 %; issue 12 raised the rest to 85 %.
FLOORS = {
    "sync_server": 90.0,
    "storage": 90.0,
    # A run that measured a package far below its usual figure had lost an xdist worker's data:
    # xdist kills a worker 10 s after telling it to exit, before coverage saves at exit; workers
    # now save when their tests are done (`pytest_sessionfinish` in tests/conftest.py).
    "api": 85.0,
    "ai_agents": 85.0,
    "jobs": 85.0,
    "overall": 85.0,
}


def measured() -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coverage.json"
        subprocess.run([sys.executable, "-m", "coverage", "json", "-q", "-o", str(out)], check=True)
        files = json.loads(out.read_text())["files"]
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for name, data in files.items():
        summary = data["summary"]
        for package in (name.split("/", 1)[0], "overall"):
            for key in ("num_statements", "covered_lines", "num_branches", "covered_branches"):
                sums[package][key] += summary[key]
    return sums


def percent(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 100.0


def main() -> int:
    figures = measured()
    failures = []
    print(f"{'package':<12} {'lines':>7} {'branches':>9} {'total':>7} {'floor':>6}")
    for package, floor in FLOORS.items():
        s = figures[package]
        lines = percent(s["covered_lines"], s["num_statements"])
        branches = percent(s["covered_branches"], s["num_branches"])
        total = percent(
            s["covered_lines"] + s["covered_branches"], s["num_statements"] + s["num_branches"]
        )
        print(f"{package:<12} {lines:>6.1f}% {branches:>8.1f}% {total:>6.1f}% {floor:>5.0f}%")
        if total < floor:
            failures.append(f"{package} {total:.1f}% < {floor:.0f}%")
    if failures:
        print("coverage below the floor: " + ", ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
