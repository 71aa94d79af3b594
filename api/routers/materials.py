"""`/api/v1/materials` (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["materials"])
