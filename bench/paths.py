"""Where the benchmark's files are, and which Python runs Inkweave by default."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
NODE_MODULES = BENCH / "node_modules"
RESULTS = BENCH / "results"


def default_python() -> str:
    """The repo's `.venv` interpreter where there is one, else this one."""
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable
