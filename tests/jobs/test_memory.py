"""Memory a job freed goes back to the system (glibc's `malloc_trim`), not kept by the server."""

from __future__ import annotations

import os

import pytest

from jobs.memory import release_memory

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
