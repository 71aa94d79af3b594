"""Counting the calls the embedded database's driver hands to its connections' threads."""

from __future__ import annotations

from typing import Any

import aiosqlite
import pytest


class HandOffs:
    """Counts the calls sent to connections' threads."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = aiosqlite.Connection._execute

        async def counting(connection: aiosqlite.Connection, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await original(connection, *args, **kwargs)

        monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
