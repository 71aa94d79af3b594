"""The garbage collector of a serving process: nothing made at start-up is ever scanned again,
and full collections come rarely, so that no request or relayed update waits for one.

A full collection walks every tracked object. After start-up a server holds some 100,000 of them
that live as long as it does (adapters, engines, caches filled by the lifespan), and under load
CPython 3.11 ran several full collections a minute: 13–97 ms each in `bench/run.py`'s S2 and S3,
a pause that every update in flight waited out. Freezing moves what exists into the
permanent generation, which no collection visits; a first threshold of 10,000 allocations (700 by
default) makes the young collections, and through them the older ones, a fourteenth as frequent.
Cyclic garbage then waits longer to be freed: a few megabytes at most between young collections.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # container allocations between two young collections (default 700)
OLDER_THRESHOLDS = (10, 10)  # CPython's defaults: a middle collection per 10 young, and so on


def collect_for_serving() -> None:
    """Freeze what start-up made, and collect the young generation less often."""
    gc.collect(0)  # start-up's short-lived garbage is not frozen in with it
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
