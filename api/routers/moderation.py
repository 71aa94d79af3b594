"""Content safety (brief §6.4.1): the sensitive words in a text, and the text with them masked."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ..deps import CurrentUser, SafetyDep
from ..envelope import success
from ..schemas import Envelope

router = APIRouter(tags=["ai"])

MAX_TEXT_CHARS = 200_000


class ModerationIn(BaseModel):
    text: str = Field(max_length=MAX_TEXT_CHARS)


class HitOut(BaseModel):
    word: str
    start: int
    end: int


class ModerationOut(BaseModel):
    passed: bool
    hits: list[HitOut]
    masked: str


@router.post("/moderation/check", response_model=Envelope[ModerationOut], tags=["moderation"])
async def moderation_check(
    body: ModerationIn, user: CurrentUser, safety: SafetyDep
) -> dict[str, Any]:
    """Sensitive words in `text` (positions in code points) and the text with them masked."""
    hits = safety.check(body.text)
    return success(
        {
            "passed": not hits,
            "hits": [asdict(hit) for hit in hits],
            "masked": safety.mask(body.text),
        }
    )
