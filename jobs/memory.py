"""Hand the memory a finished job freed back to the operating system.

A long job (a 5,000-chapter review reads every chapter's document; an export reads them all too)
allocates and frees hundreds of megabytes in small pieces. Python gives them back to the C
allocator, but glibc's `malloc` keeps free pages inside its heap when live objects sit above
them, so a long-lived server's resident memory stays at the job's high-water mark. glibc's
`malloc_trim(0)` releases every whole free page of the heap; it takes milliseconds, which a job
that ran for seconds does not notice. Elsewhere (musl, macOS) there is no such call and nothing
is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


# mallopt's parameter for the most heaps ("arenas") glibc keeps for a process's threads.
_M_ARENA_MAX = -8


@functools.cache
def _libc_call(name: str) -> Callable[..., int] | None:
    library = ctypes.util.find_library("c")
    if library is None:
        return None
    try:
        call: Callable[..., int] = getattr(ctypes.CDLL(library), name)
    except (OSError, AttributeError):
        return None
    return call


def limit_heaps(count: int) -> bool:
    """Let this process's threads share at most `count` glibc heaps; False where the C library
    has no such setting (musl, macOS) or `count` is 0.

    glibc gives each new thread a heap of its own, up to eight per core, and a serving process
    has many threads (a database connection's each, the executor's): freed memory then sits in
    heaps whose pages a trim cannot hand back while a few live pieces remain on each. With two,
    REST soaks' resident memory grew 5–10 MB a minute instead of 19–25 (`bench/README.md`).
    Call it before the threads start: a thread keeps the heap it was given.
    """
    mallopt = _libc_call("mallopt")
    if count <= 0 or mallopt is None:
        return False
    return bool(mallopt(_M_ARENA_MAX, count))


def release_memory() -> bool:
    """Give the C heap's free pages back to the system; False where the C library cannot."""
    trim = _libc_call("malloc_trim")
    if trim is None:
        return False
    try:
        trim(0)
    except OSError:  # pragma: no cover - a libc that exports it but fails to run it
        log.warning("malloc_trim failed", exc_info=True)
        return False
    return True
