"""`/api/v1/works` (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["works"])
