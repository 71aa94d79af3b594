"""`/api/v1/search`: the caller's chapters and the materials they can see, by keyword."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, field_validator

from ..deps import CurrentUser, DatabaseDep
from ..envelope import success
from ..schemas import Envelope, Page, PageQuery
from ..services import search as service

router = APIRouter(prefix="/search", tags=["search"])


class SearchQuery(PageQuery):
    q: str = Field(
        min_length=1,
        max_length=100,
        description="Words to find; two-character Chinese words and single characters work. "
        "Words separated by spaces must all occur.",
    )
    type: Literal["all", "chapters", "materials"] = "all"

    @field_validator("q")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value


class SearchHit(BaseModel):
    type: Literal["chapter", "material"]
    id: int
    title: str
    work_id: int | None = Field(description="The chapter's work; null for materials")
    work_title: str | None
    material_type: str | None = Field(description="character, scene, dialogue or plot")
    occurrences: int
    updated_at: datetime
    snippet: str = Field(
        description="About 40 characters around the first hit, HTML-escaped, hits in <em></em>"
    )


class SearchPage(Page[SearchHit]):
    total: int = Field(
        description=f"Hits counted: at most {service.MAX_TOTAL} (the best ranked); "
        "see total_is_estimate"
    )
    total_is_estimate: bool = Field(
        description="true when more matched than were counted, or when total includes "
        "candidates not yet confirmed against their text (an upper bound)"
    )
    has_more: bool = Field(description="Whether the next page has hits")


@router.get("", response_model=Envelope[SearchPage], summary="Search chapters and materials")
async def search(
    query: Annotated[SearchQuery, Query()], user: CurrentUser, database: DatabaseDep
) -> dict[str, object]:
    async with database.session() as session:
        found = await service.search(
            session, user.id, query.q, query.type, query.offset, query.page_size
        )
    items = [SearchHit.model_validate(hit.as_dict()).model_dump(mode="json") for hit in found.hits]
    return success(
        {
            "total": found.total,
            "total_is_estimate": found.total_is_estimate,
            "has_more": found.has_more,
            "page": query.page,
            "page_size": query.page_size,
            "items": items,
        }
    )
