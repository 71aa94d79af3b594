"""`/api/v1/auth/oidc` (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["auth"])
