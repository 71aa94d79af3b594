"""A serving process hands the C heap's free pages back to the system every so often.

Requests allocate and free in small pieces on the loop and in the database threads; glibc keeps
the freed pages inside its heaps (`jobs.memory`), so a long-lived server's resident memory climbs
with its traffic although Python holds no more objects: 4,000 requests of the REST mix left
+12 MB resident, +4 MB after a trim (`bench/README.md`). A trim takes milliseconds, in a thread.
"""

from __future__ import annotations

import asyncio

from jobs.memory import release_memory
from jobs.repeating import Repeating


async def _release() -> None:
    await asyncio.to_thread(release_memory)


def memory_releaser(interval_s: float) -> Repeating | None:
    """A loop trimming every `interval_s` (the first after one interval); None for 0."""
    if interval_s <= 0:
        return None
    return Repeating(_release, interval_s, name="memory-release", wait_first=True)
