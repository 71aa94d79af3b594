"""Reading a value off a server's `/metrics` page (Prometheus text format)."""

from __future__ import annotations

import re


def metric(page: str, name: str, *, default: float | None = None) -> float:
    """The unlabelled sample `name` (a counter with its `_total`); `default` when it is absent
    (a labelled counter appears only once counted), else an assertion error naming it."""
    found = re.search(rf"^{re.escape(name)} (\S+)$", page, re.MULTILINE)
    if found is None:
        assert default is not None, f"no {name} on the metrics page"
        return default
    return float(found.group(1))
