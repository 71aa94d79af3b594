"""The on-CPU view of a profile: `perf record -e cpu-clock` samples grouped by what runs them.

py-spy names the Python function but counts a thread that is runnable yet waiting for a CPU as
active, which on a busy machine smears its samples. perf's cpu-clock samples are taken only
while a thread of the server runs, so their shares are the CPU's; they name native code only
(Python 3.11 has no perf trampolines): the interpreter running Python code, pycrdt's Rust,
uvloop and libuv, SQLite, the kernel's socket, epoll, futex and file-system paths.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

INTERPRETER = "Python interpreter (libpython: bytecode, objects, GC; all Python-level work)"
PYCRDT = "pycrdt (Rust: decode, apply, encode, merge)"
UVLOOP = "uvloop + libuv (event loop, transports)"
EXTENSIONS = "other C extensions (_asyncio, _sqlite3, greenlet, httptools, websockets)"
SQLITE_LIB = "SQLite library"
LIBC = "libc (malloc, memcpy, syscall wrappers)"
K_NET = "kernel: sockets, TCP/IP on loopback"
K_EPOLL = "kernel: epoll"
K_FUTEX = "kernel: futex (thread hand-offs, GIL)"
K_DISK = "kernel: file system, fsync"
K_SCHED = "kernel: scheduler, context switches"
K_OTHER = "kernel: syscall entry, memory, other"
OTHER_NATIVE = "other"
GROUPS = (
    INTERPRETER,
    PYCRDT,
    UVLOOP,
    EXTENSIONS,
    SQLITE_LIB,
    LIBC,
    K_NET,
    K_EPOLL,
    K_FUTEX,
    K_DISK,
    K_SCHED,
    K_OTHER,
    OTHER_NATIVE,
)

_LINE = re.compile(r"^\s*(?P<pct>[\d.]+)%\s+(?P<dso>\S+)\s+\[(?P<kind>.)\]\s+(?P<sym>.*)$")
_KERNEL = (
    (K_NET, re.compile(r"tcp|udp|unix_|inet|sock|skb|ip_|ipv|net|napi|loopback|dev_q|sendto|recv")),
    (K_EPOLL, re.compile(r"ep_|epoll")),
    (K_FUTEX, re.compile(r"futex")),
    (
        K_DISK,
        re.compile(r"ext4|jbd2|blk|bio|fsync|xfs|ovl_|filemap|iomap|nvme|writeback|fdatasync"),
    ),
    (K_SCHED, re.compile(r"sched|switch|pick_next|enqueue|dequeue|update_curr|ttwu|wake_up")),
)


def group(dso: str, symbol: str) -> str:
    if dso.startswith("[kernel"):
        for name, pattern in _KERNEL:
            if pattern.search(symbol):
                return name
        return K_OTHER
    if "libpython" in dso or dso.startswith("python3"):
        return INTERPRETER
    if "pycrdt" in dso:
        return PYCRDT
    if dso.startswith("loop.cpython") or "uvloop" in dso:
        return UVLOOP
    if "sqlite" in dso and not dso.startswith("_sqlite3"):
        return SQLITE_LIB
    if dso.startswith(("libc.", "ld-linux", "libm.")):
        return LIBC
    if ".cpython-" in dso or dso.endswith(".so"):
        return EXTENSIONS
    return OTHER_NATIVE


def native_shares(perf_data: Path | None) -> dict[str, float]:
    """Share of the on-CPU samples (0..1) per group; empty without perf or its data."""
    perf = shutil.which("perf")
    if perf is None or perf_data is None or not perf_data.exists():
        return {}
    cmd = [perf, "report", "-i", str(perf_data), "--stdio", "--no-children", "-q"]
    try:
        out = subprocess.run(
            [*cmd, "--sort", "dso,sym", "--percent-limit", "0"],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    shares: Counter[str] = Counter()
    for line in out.splitlines():
        match = _LINE.match(line)
        if match:
            shares[group(match["dso"], match["sym"])] += float(match["pct"]) / 100
    return dict(shares)
