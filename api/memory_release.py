"""A serving process hands the C heap's free pages back to the system every so often.

Requests allocate and free in small pieces on the loop and in the database threads; glibc keeps
the freed pages inside its heaps (`jobs.memory`), so a long-lived server's resident memory climbs
with its traffic although Python holds no more objects: 4,000 requests of the REST mix left
+12 MB resident, +4 MB after a trim (`bench/README.md`). A trim runs in a thread and takes
milliseconds (26 ms for a fragmented 120 MB heap, `jobs/memory.py`), holding glibc's heap locks:
the event loop may wait that long for an allocation, once an interval.
"""

from __future__ import annotations

import asyncio
import logging

from jobs.memory import release_memory
from jobs.repeating import Repeating

log = logging.getLogger(__name__)


async def _release() -> None:
    try:
        await asyncio.to_thread(release_memory)
    except Exception:  # never worth stopping the loop, or the server's shutdown, for
        log.exception("could not hand memory back")


def memory_releaser(interval_s: float) -> Repeating | None:
    """A loop trimming every `interval_s` (the first after one interval); None for 0."""
    if interval_s <= 0:
        return None
    return Repeating(_release, interval_s, name="memory-release", wait_first=True)
