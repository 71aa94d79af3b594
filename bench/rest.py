#!/usr/bin/env python3
"""REST benchmark: the open-loop request mix at rising rates, one long work, and a soak.

    python bench/rest.py [--quick] [--db sqlite|mariadb|both] [--only mix,longwork,soak]

The command line is `rest_cli.py`; this entry point only makes sure it runs in the repo's venv
(it needs httpx and psutil): started by another interpreter, it starts itself again in the venv.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from paths import default_python

REEXEC = "INKWEAVE_REST_BENCH_REEXEC"


def in_the_venv() -> None:
    """Run again under the venv's interpreter when this one lacks the packages (once only)."""
    if all(importlib.util.find_spec(name) for name in ("httpx", "psutil")) or os.environ.get(
        REEXEC
    ):
        return
    python = default_python()
    os.execve(python, [python, __file__, *sys.argv[1:]], {**os.environ, REEXEC: "1"})


if __name__ == "__main__":
    in_the_venv()
    from processes import stop_all
    from rest_cli import main

    try:
        sys.exit(main())
    finally:
        stop_all()
