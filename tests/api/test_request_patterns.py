"""No pattern of the API holds the Unicode class `\\w`: pydantic's default engine (Rust's
`regex`) builds it into ~5 MiB that every serving process would hold from its start
(bench/README.md, "Start-up cost"). Usernames are checked in Python
(`api/services/usernames.py`)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from api.app import create_app
from api.settings import Settings


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


def test_no_pattern_holds_the_unicode_word_class() -> None:
    spec = create_app(Settings(data_dir=Path(tempfile.mkdtemp()))).openapi()
    patterns = set(_patterns(spec))
    assert r"^\d{6}$" in patterns  # bodies' fields, and parameters:
    assert r"^(current|[0-9]{1,18})$" in patterns
    assert [pattern for pattern in patterns if r"\w" in pattern] == []
