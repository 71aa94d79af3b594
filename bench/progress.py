"""Progress lines on stderr, tagged and stamped with the time of day."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


def logger(tag: str) -> Callable[[str], None]:
    """A function that prints `[<tag> HH:MM:SS] <message>` to stderr."""

    def log(message: str) -> None:
        print(f"[{tag} {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    return log


log = logger("bench")
ai_log = logger("ai-bench")
