"""Memory a job freed goes back to the system (glibc's `malloc_trim`), not kept by the server;
a process's threads share the few heaps it is limited to."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.memory import release_memory
from tests.support.heaps import default_allocator_environment, glibc_heaps

REPO = Path(__file__).resolve().parents[2]

PAGE = os.sysconf("SC_PAGE_SIZE")
PIECES = 60_000
PIECE = 2_000  # bytes: above pymalloc's limit, so each piece comes from malloc's heap


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def test_a_fragmented_heap_is_given_back() -> None:
    if not release_memory():
        pytest.skip("this C library has no malloc_trim")
    pieces = [bytes(PIECE) for _ in range(PIECES)]  # ~120 MB
    pinned = pieces[::50]  # a few live pieces spread through the heap keep it from shrinking
    del pieces
    held = resident_bytes()
    assert release_memory()
    given_back = held - resident_bytes()
    assert given_back > PIECES * PIECE // 2, f"{given_back / 2**20:.0f} MiB given back"
    assert len(pinned) == PIECES // 50


# Eight threads each take a piece of memory from malloc, all alive at once; then the heaps
# glibc made for them are counted.
HEAP_PROBE = """
import sys, threading
from jobs.memory import limit_heaps
from tests.support.heaps import glibc_heaps

print(limit_heaps(int(sys.argv[1])))
together = threading.Barrier(9)
held = []

def take():
    held.append(bytes(100_000))
    together.wait()
    together.wait()

threads = [threading.Thread(target=take) for _ in range(8)]
for thread in threads:
    thread.start()
together.wait()
print(glibc_heaps())
together.wait()
"""


def heaps_of_eight_threads(limit: int) -> tuple[bool, int | None]:
    done = subprocess.run(
        [sys.executable, "-c", HEAP_PROBE, str(limit)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=default_allocator_environment(),
        timeout=60,
    )
    limited, heaps = done.stdout.split()
    return limited == "True", None if heaps == "None" else int(heaps)


def test_threads_share_the_heaps_a_process_is_limited_to() -> None:
    if glibc_heaps() is None:
        pytest.skip("not glibc")
    limited, heaps = heaps_of_eight_threads(0)
    assert not limited and heaps is not None and heaps > 2, "glibc's default: a heap a thread"
    limited, heaps = heaps_of_eight_threads(2)
    assert limited and heaps is not None and heaps <= 2
