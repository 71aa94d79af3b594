"""Each quota of the one limits table (`api/quotas.py`), at its limit, refuses the next call with
its code, and frees up when it should: works when one is trashed or purged, per-minute AI
calls the next minute, daily counters the next UTC day (an injected clock `now`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from api.envelope import http_status
from api.errors import AppError, Err
from api.quotas import Quotas
from tests.api.test_membership import buy, membership
from tests.api.test_works import make_work, ok, refused
from tests.support.api import Api

WORK = {"title": "又一部", "type": "novel"}
# 23:58:30 UTC, so that minute and day boundaries are both close.
T0 = datetime(2026, 12, 1, 23, 58, 30, tzinfo=UTC)


def quotas(api: Api) -> Quotas:
    return api.app.adapters.quotas


async def test_the_works_limit_refuses_the_next_and_frees_up(api: Api) -> None:
    limit = quotas(api).limits("free").works
    assert limit is not None
    writer = await api.sign_up()
    works = [await make_work(api, writer, title=f"第{i}部") for i in range(limit)]
    refused(await api.call("POST", "/api/v1/works", writer, json=WORK), 402, 40201)
    mine = await membership(api, writer)
    assert mine["usage"]["works"] == limit and mine["remaining"]["works"] == 0

    trashed = works[0]["id"]
    ok(await api.call("DELETE", f"/api/v1/works/{trashed}", writer))  # to the trash: frees one
    assert (await membership(api, writer))["remaining"]["works"] == 1
    replacement = await make_work(api, writer, title="替补")
    # Restoring from the trash would make one too many.
    refused(await api.call("POST", f"/api/v1/works/{trashed}/restore", writer), 402, 40201)
    ok(await api.call("DELETE", f"/api/v1/works/{replacement['id']}/purge", writer))
    ok(await api.call("POST", f"/api/v1/works/{trashed}/restore", writer))
    refused(await api.call("POST", "/api/v1/works", writer, json=WORK), 402, 40201)


async def test_concurrent_creations_never_pass_the_works_limit(api: Api) -> None:
    limit = quotas(api).limits("free").works
    assert limit is not None and limit >= 1
    writer = await api.sign_up()
    for index in range(limit - 1):
        await make_work(api, writer, title=f"第{index}部")
    answers = await asyncio.gather(
        *(api.call("POST", "/api/v1/works", writer, json=WORK) for _ in range(5))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] + [402] * 4, [a.text for a in answers]
    listed = ok(await api.call("GET", "/api/v1/works", writer))
    assert listed["total"] == limit


async def test_premium_lifts_the_works_limit_at_once(api: Api) -> None:
    limit = quotas(api).limits("free").works
    assert limit is not None and quotas(api).limits("premium").works is None
    writer = await api.sign_up()
    for index in range(limit):
        await make_work(api, writer, title=f"第{index}部")
    await buy(api, writer, "premium", "monthly")
    for _ in range(2):
        ok(await api.call("POST", "/api/v1/works", writer, json=WORK), 201)


async def refused_with(error: Err, call: object) -> AppError:
    with pytest.raises(AppError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.error is error
    return caught.value


async def test_ai_calls_per_minute_refuse_with_429_then_reset(api: Api) -> None:
    q = quotas(api)
    per_minute = q.limits("free").ai_per_minute
    assert per_minute is not None
    user_id = 910001
    for _ in range(per_minute):
        await q.use_ai(user_id, "free", now=T0)
    error = await refused_with(Err.AI_RATE_LIMITED, q.use_ai(user_id, "free", now=T0))
    assert http_status(error.error) == 429 and error.error.value.code == 42903
    assert error.retry_after_s is not None and 1 <= error.retry_after_s <= 30  # → the next minute
    await q.use_ai(user_id, "free", now=T0 + timedelta(minutes=1))  # a new minute
    # Another user, and a higher level, have their own room.
    await q.use_ai(user_id + 1, "free", now=T0)
    premium = q.limits("premium").ai_per_minute
    assert premium is not None and premium > per_minute
    for _ in range(per_minute + 1):
        await q.use_ai(user_id + 2, "premium", now=T0)


async def test_ai_calls_per_day_refuse_with_their_code_then_reset_the_next_utc_day(
    api: Api,
) -> None:
    q = quotas(api)
    limits = q.limits("free")
    per_day, per_minute = limits.ai_per_day, limits.ai_per_minute
    assert per_day is not None and per_minute is not None
    user_id = 910101
    # Spread the calls over earlier minutes of the same UTC day, under the per-minute limit.
    start = T0.replace(hour=0, minute=0, second=0)
    for index in range(per_day):
        await q.use_ai(user_id, "free", now=start + timedelta(minutes=index // per_minute))
    late = T0 + timedelta(seconds=20)  # 23:58:50, same day, a fresh minute
    error = await refused_with(Err.QUOTA_EXCEEDED, q.use_ai(user_id, "free", now=late))
    assert http_status(error.error) == 403 and error.error.value.code == 40303
    assert await q.used_today(user_id, "ai", now=late) >= per_day
    tomorrow = T0 + timedelta(minutes=2)  # 00:00:30 the next day
    assert await q.used_today(user_id, "ai", now=tomorrow) == 0
    await q.use_ai(user_id, "free", now=tomorrow)


async def test_exports_per_day_refuse_then_reset(api: Api) -> None:
    q = quotas(api)
    per_day = q.limits("free").exports_per_day
    assert per_day is not None
    user_id = 910201
    for _ in range(per_day):
        await q.use_export(user_id, "free", now=T0)
    await refused_with(Err.QUOTA_EXCEEDED, q.use_export(user_id, "free", now=T0))
    await q.use_export(user_id, "free", now=T0 + timedelta(days=1))
    assert q.limits("premium").exports_per_day is None
    for _ in range(per_day + 1):
        await q.use_export(user_id + 1, "premium", now=T0)


async def test_membership_shows_todays_usage(api: Api) -> None:
    q = quotas(api)
    # The counters and the membership view both read today's UTC date: hold it still at noon.
    with time_machine.travel(T0.replace(hour=12, minute=0), tick=False):
        writer = await api.sign_up()
        for _ in range(3):
            await q.use_ai(writer.id, "free")
        await q.use_export(writer.id, "free")
        mine = await membership(api, writer)
    limits = q.limits("free")
    assert mine["usage"]["ai_today"] == 3 and mine["usage"]["exports_today"] == 1
    assert limits.ai_per_day is not None and limits.exports_per_day is not None
    assert mine["remaining"]["ai_today"] == limits.ai_per_day - 3
    assert mine["remaining"]["exports_today"] == limits.exports_per_day - 1
