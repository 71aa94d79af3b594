"""`/api/v1/membership`: the plans on sale, and the caller's level, limits and usage today."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ..deps import CurrentUser, MembershipDep, QuotasDep
from ..envelope import success
from ..schemas import Envelope
from ..services.membership import plans_view

router = APIRouter(prefix="/membership", tags=["membership"])


class LimitsOut(BaseModel):
    works: int | None = Field(description="Works owned outside the trash; null: unlimited")
    ai_per_minute: int | None
    ai_per_day: int | None
    exports_per_day: int | None
    ai_continue_max_chars: int


class PriceOut(BaseModel):
    plan_type: str = Field(description="monthly, quarterly or yearly")
    name: str
    name_en: str
    days: int
    amount: str = Field(description='Exact decimal, e.g. "39.90"')
    currency: str


class LevelOut(BaseModel):
    level: str
    name: str
    name_en: str
    limits: LimitsOut
    prices: list[PriceOut] = Field(description="Empty for the free level")


class PlansOut(BaseModel):
    currency: str
    levels: list[LevelOut]


class CurrentPlanOut(BaseModel):
    order_no: str
    level: str
    plan_type: str
    paid_at: datetime | None
    expire_time: datetime | None


class UsageOut(BaseModel):
    works: int
    ai_today: int
    exports_today: int


class RemainingOut(BaseModel):
    works: int | None
    ai_today: int | None
    exports_today: int | None


class MembershipOut(BaseModel):
    level: str = Field(description="The level in force: free once a paid period has ended")
    level_name: str
    expire_at: datetime | None
    plan: CurrentPlanOut | None = Field(description="The latest paid order still running")
    limits: LimitsOut
    usage: UsageOut = Field(description="Today (UTC) and now")
    remaining: RemainingOut


@router.get("/plans", response_model=Envelope[PlansOut], summary="Levels, limits and prices")
async def plans(membership: MembershipDep, quotas: QuotasDep) -> dict[str, object]:
    return success(plans_view(membership.plans, quotas))


@router.get("", response_model=Envelope[MembershipOut], summary="My level, limits and usage")
async def my_membership(user: CurrentUser, membership: MembershipDep) -> dict[str, object]:
    overview = await membership.overview(user.id)
    return success(MembershipOut.model_validate(overview).model_dump(mode="json"))
