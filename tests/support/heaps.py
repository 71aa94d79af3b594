"""How many heaps (arenas) glibc's malloc has made for this process, from its own report; and
an environment in which a child process gets glibc's and Inkweave's defaults for them."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import tempfile

# What chooses the heaps other than Inkweave's setting, or replaces glibc's malloc altogether.
ALLOCATOR_SETTINGS = ("MALLOC_ARENA_MAX", "GLIBC_TUNABLES", "LD_PRELOAD", "INKWEAVE_MALLOC_HEAPS")


def glibc_heaps() -> int | None:
    """None where the C library is not glibc (no `malloc_info`)."""
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is None or not hasattr(libc, "malloc_info"):
        return None
    libc.fdopen.restype = ctypes.c_void_p
    with tempfile.TemporaryFile() as report:
        stream = ctypes.c_void_p(libc.fdopen(os.dup(report.fileno()), b"w"))
        libc.malloc_info(0, stream)
        libc.fclose(stream)
        report.seek(0)
        return report.read().count(b"<heap nr=")


def default_allocator_environment(**chosen: str) -> dict[str, str]:
    """This process's environment without `ALLOCATOR_SETTINGS`, plus `chosen`."""
    kept = {k: v for k, v in os.environ.items() if k not in ALLOCATOR_SETTINGS}
    return kept | chosen
