"""`/api/v1/chapters` (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["chapters"])
