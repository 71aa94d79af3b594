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


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_memory() -> bool:
    """Give the C heap's free pages back to the system; False where the C library cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    try:
        trim(0)
    except OSError:  # pragma: no cover - a libc that exports it but fails to run it
        log.warning("malloc_trim failed", exc_info=True)
        return False
    return True
