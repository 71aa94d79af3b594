"""The garbage collector of a serving process: nothing made at start-up is ever scanned again,
and full collections come rarely, so that no request or relayed update waits for one.

Importing and building the app makes ~200k objects that live as long as the process. Cyclic
collections over them while they are made cost ~20% of the start's CPU and would free ~900
objects (0.5 MiB): none runs then (`built_uncollected`), and they are frozen once built.

A full collection walks every tracked object not frozen. The lifespan (adapters' engines, pools,
caches it fills) and the traffic added 40,000–110,000 more, and under load CPython 3.11 ran
several full collections a minute over them: 13–97 ms each in `bench/run.py`'s S2 and S3,
a pause that every update in flight waited out. Freezing moves what exists into the
permanent generation, which no collection visits; a first threshold of 10,000 allocations (700 by
default) makes the young collections, and through them the older ones, a fourteenth as frequent.
Cyclic garbage then waits longer to be freed: a few megabytes at most between young collections.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 10_000  # container allocations between two young collections (default 700)
OLDER_THRESHOLDS = (10, 10)  # CPython's defaults: a middle collection per 10 young, and so on


@contextmanager
def built_uncollected() -> Iterator[None]:
    """No collection while the block builds; what it made is frozen after it."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def collect_for_serving() -> None:
    """Freeze what start-up made, and collect the young generation less often."""
    gc.collect(0)  # start-up's short-lived garbage is not frozen in with it
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
