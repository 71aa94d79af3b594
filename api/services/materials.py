"""Materials (brief §3.1.4): the system starter library and users' own."""

from __future__ import annotations

from ..app_parts import Components


async def seed_system_materials(parts: Components) -> None:
    """Insert the starter library once (being built)."""
