"""One run of `load.mjs` against a server under test: its JSON result, or an error."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from typing import Any

from paths import BENCH
from processes import PROCESSES
from progress import log
from servers_under_test import Server

LOAD = BENCH / "load.mjs"


def load(server: Server, scenario: str, *args: str, timeout: float = 240) -> dict[str, Any]:
    """Run one load scenario against `server`; return its JSON result (raise on error)."""
    cmd = [
        "node",
        str(LOAD),
        scenario,
        "--kind",
        server.kind,
        "--url",
        server.sync_url,
        "--prefix",
        f"{scenario}{time.monotonic_ns() % 10**9}",
        "--timeout-s",
        str(int(timeout - 10)),
        *args,
    ]
    if "--pid" not in args:
        cmd += ["--pid", str(server.pid)]
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=BENCH, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    PROCESSES.append(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        raise RuntimeError(
            f"load {scenario} on {server.name} timed out: {err.decode()[-2000:]}"
        ) from None
    finally:
        with contextlib.suppress(ValueError):
            PROCESSES.remove(proc)
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(
            f"load {scenario} on {server.name} gave no result:\n{err.decode()[-3000:]}"
        )
    result = json.loads(lines[-1])
    if "error" in result:
        raise RuntimeError(
            f"load {scenario} on {server.name}: {result['error']}\n{err.decode()[-2000:]}"
        )
    if err.strip():
        log(f"{server.name} {scenario} stderr: {err.decode().strip()[-500:]}")
    log(f"{server.name} {scenario} done in {time.monotonic() - started:.1f} s")
    return result
