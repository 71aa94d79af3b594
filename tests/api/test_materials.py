"""`/api/v1/materials`: CRUD, who may see and change what, the starter library, use counts."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select, update

from api.services import materials
from api.services.materials import indexed_text, load_seed, seed_system_materials
from storage.sql.models import Material, SearchTerm
from storage.text.terms import term_counts
from tests.support.api import Account, Api

GENRES = {"都市", "玄幻", "悬疑", "言情", "科幻"}
TYPES = {"character", "scene", "dialogue", "plot"}


def _data(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == 0, body
    return body["data"]


async def _create(api: Api, who: Account, **fields: Any) -> dict[str, Any]:
    body = {"title": "雨夜来客", "type": "scene", "genre": "悬疑", "content": "雨夜，有人敲门。"}
    body.update(fields)
    return _data(await api.call("POST", "/api/v1/materials", who, json=body), 201)


async def _list(api: Api, who: Account, **params: Any) -> dict[str, Any]:
    return _data(await api.call("GET", "/api/v1/materials", who, params=params))


async def test_create_read_update_delete(api: Api) -> None:
    alice = await api.sign_up()
    created = await _create(
        api, alice, title="林黛玉", type="character", genre="言情", content="多愁善感，才思敏捷。"
    )
    material_id = created["material_id"]
    assert created["id"] == material_id
    assert created["title"] == "林黛玉"
    assert created["type"] == "character"
    assert created["is_public"] is False
    assert created["is_mine"] is True and created["is_system"] is False
    assert created["use_count"] == 0
    assert created["user_id"] == alice.id

    got = _data(await api.call("GET", f"/api/v1/materials/{material_id}", alice))
    assert got["content"] == "多愁善感，才思敏捷。"

    patched = _data(
        await api.call(
            "PATCH",
            f"/api/v1/materials/{material_id}",
            alice,
            json={"content": "寄人篱下，心思细密。", "is_public": True},
        )
    )
    assert patched["content"] == "寄人篱下，心思细密。"
    assert patched["title"] == "林黛玉"  # untouched
    assert patched["is_public"] is True

    mine = await _list(api, alice, mine="true")
    assert mine["total"] == 1
    assert [m["id"] for m in mine["items"]] == [material_id]

    _data(await api.call("DELETE", f"/api/v1/materials/{material_id}", alice))
    gone = await api.call("GET", f"/api/v1/materials/{material_id}", alice)
    assert gone.status_code == 404
    assert (await _list(api, alice, mine="true"))["total"] == 0
    async with api.app.adapters.database.session() as s:
        left = await s.scalar(
            select(func.count()).where(
                SearchTerm.owner_type == "material", SearchTerm.owner_id == material_id
            )
        )
    assert left == 0


async def test_validation_names_the_field(api: Api) -> None:
    alice = await api.sign_up()
    missing = await api.call("POST", "/api/v1/materials", alice, json={"type": "plot"})
    assert missing.status_code == 422
    assert "title" in [f["field"] for f in missing.json()["fields"]]

    bad_type = await api.call(
        "POST", "/api/v1/materials", alice, json={"title": "x", "type": "weapon"}
    )
    assert bad_type.status_code == 422
    assert [f["field"] for f in bad_type.json()["fields"]] == ["type"]

    blank = await api.call(
        "POST", "/api/v1/materials", alice, json={"title": "   ", "type": "plot"}
    )
    assert blank.status_code == 422
    assert [f["field"] for f in blank.json()["fields"]] == ["title"]

    created = await _create(api, alice)
    null_title = await api.call(
        "PATCH", f"/api/v1/materials/{created['id']}", alice, json={"title": None}
    )
    assert null_title.status_code == 422

    bad_filter = await api.call("GET", "/api/v1/materials", alice, params={"type": "weapon"})
    assert bad_filter.status_code == 422
    assert [f["field"] for f in bad_filter.json()["fields"]] == ["type"]

    anonymous = await api.call("GET", "/api/v1/materials")
    assert anonymous.status_code == 401


async def test_visibility_and_ownership(api: Api) -> None:
    alice, bob = await api.sign_up(), await api.sign_up()
    private = await _create(api, alice, title="私人素材", is_public=False)
    public = await _create(api, alice, title="公开素材", is_public=True)
    system = (await _list(api, bob, type="plot", page_size=1))["items"][0]
    assert system["is_system"] is True and system["user_id"] is None

    # Someone else's private material does not exist for Bob, whatever he tries.
    base = f"/api/v1/materials/{private['id']}"
    assert (await api.call("GET", base, bob)).status_code == 404
    assert (await api.call("PATCH", base, bob, json={"title": "改"})).status_code == 404
    assert (await api.call("DELETE", base, bob)).status_code == 404
    assert (await api.call("POST", f"{base}/use", bob)).status_code == 404
    assert (await api.call("GET", "/api/v1/materials/999999", bob)).status_code == 404

    # Public ones are readable, not writable.
    base = f"/api/v1/materials/{public['id']}"
    seen = _data(await api.call("GET", base, bob))
    assert seen["is_mine"] is False and seen["title"] == "公开素材"
    refused = await api.call("PATCH", base, bob, json={"title": "改"})
    assert refused.status_code == 403 and refused.json()["code"] == 40301
    assert (await api.call("DELETE", base, bob)).status_code == 403

    # The system library is read-only, for everyone.
    base = f"/api/v1/materials/{system['id']}"
    assert _data(await api.call("GET", base, alice))["is_system"] is True
    for who in (alice, bob):
        assert (await api.call("PATCH", base, who, json={"title": "改"})).status_code == 403
        assert (await api.call("DELETE", base, who)).status_code == 403

    # Nothing changed behind the refusals.
    assert _data(await api.call("GET", f"/api/v1/materials/{private['id']}", alice))["title"] == (
        "私人素材"
    )
    assert _data(await api.call("GET", f"/api/v1/materials/{public['id']}", alice))["title"] == (
        "公开素材"
    )

    # Listings follow the same rules.
    listed = {m["id"] for m in (await _list(api, bob, page_size=100, genre="悬疑"))["items"]}
    assert public["id"] in listed and private["id"] not in listed
    assert (await _list(api, bob, mine="true"))["total"] == 0
    alice_mine = {m["id"] for m in (await _list(api, alice, mine="true"))["items"]}
    assert alice_mine == {private["id"], public["id"]}

    # Making it private hides it again.
    _data(
        await api.call(
            "PATCH", f"/api/v1/materials/{public['id']}", alice, json={"is_public": False}
        )
    )
    assert (await api.call("GET", f"/api/v1/materials/{public['id']}", bob)).status_code == 404


async def test_filters_keyword_and_pages(api: Api) -> None:
    alice = await api.sign_up()
    for i in range(5):
        await _create(api, alice, title=f"反派{i}", type="character", genre="测试题材", content="")
    await _create(api, alice, title="黛玉葬花", type="plot", genre="测试题材", content="伏笔")
    await _create(api, alice, title="林玉", type="plot", genre="测试题材", content="")

    page1 = await _list(api, alice, genre="测试题材", type="character", page=1, page_size=2)
    page3 = await _list(api, alice, genre="测试题材", type="character", page=3, page_size=2)
    assert page1["total"] == 5 and len(page1["items"]) == 2
    assert page3["total"] == 5 and len(page3["items"]) == 1
    assert all(m["type"] == "character" for m in page1["items"])

    found = await _list(api, alice, genre="测试题材", q="黛玉")
    assert [m["title"] for m in found["items"]] == ["黛玉葬花"]
    assert (await _list(api, alice, genre="测试题材", q="伏笔"))["total"] == 1  # in the content
    assert (await _list(api, alice, genre="测试题材", q="林黛"))["total"] == 0
    assert (await _list(api, alice, genre="测试题材", q="玉"))["total"] == 2

    systems = await _list(api, alice, genre="悬疑", type="scene", page_size=100)
    assert systems["total"] >= 2
    assert all(m["genre"] == "悬疑" and m["type"] == "scene" for m in systems["items"])


async def test_starter_library_is_seeded_once(api: Api) -> None:
    alice = await api.sign_up()
    listed = await _list(api, alice, page_size=100)
    system = [m for m in listed["items"] if m["is_system"]]
    assert len(system) >= 40
    assert {m["genre"] for m in system} >= GENRES
    assert {m["type"] for m in system} == TYPES
    for genre in GENRES:  # every genre has every type
        assert {m["type"] for m in system if m["genre"] == genre} == TYPES, genre
    assert all(len(m["content"]) >= 80 for m in system)  # real entries, not stubs
    assert len(system) == len(load_seed())

    database = api.app.adapters.database

    async def count() -> tuple[int, int]:
        async with database.session() as s:
            materials = await s.scalar(
                select(func.count()).select_from(Material).where(Material.user_id.is_(None))
            )
            terms = await s.scalar(
                select(func.count())
                .select_from(SearchTerm)
                .where(SearchTerm.owner_type == "material")
            )
        return int(materials or 0), int(terms or 0)

    before = await count()
    await seed_system_materials(database)  # a second (and third) start inserts nothing
    await seed_system_materials(database)
    assert await count() == before

    # System materials are indexed for search.
    one = system[0]
    hits = _data(
        await api.call(
            "GET", "/api/v1/search", alice, params={"q": one["title"][:2], "type": "materials"}
        )
    )
    assert one["id"] in {h["id"] for h in hits["items"]}


async def test_starter_library_is_indexed_with_its_counts(api: Api) -> None:
    """Search ranks by how often a term occurs: a seeded material's terms carry their counts,
    as a material indexed any other way does (the seed once stored 1 for every term)."""
    async with api.app.adapters.database.session() as session:
        seeded = list(await session.scalars(select(Material).where(Material.user_id.is_(None))))
        stored = list(
            await session.execute(
                select(SearchTerm.owner_id, SearchTerm.term, SearchTerm.hits).where(
                    SearchTerm.owner_type == "material"
                )
            )
        )
    assert len(seeded) == len(load_seed())
    by_owner: dict[int, Counter[str]] = {material.id: Counter() for material in seeded}
    for owner_id, term, hits in stored:
        by_owner[owner_id][term] = hits
    for material in seeded:
        assert by_owner[material.id] == term_counts(indexed_text(material)), material.title
    assert any(hits > 1 for _owner, _term, hits in stored)


@pytest.mark.parametrize("revised", [False, True], ids=["same texts", "one text revised"])
async def test_a_library_seeded_with_every_count_1_is_recounted_at_the_next_start(
    api: Api, monkeypatch: pytest.MonkeyPatch, revised: bool
) -> None:
    database = api.app.adapters.database
    async with database.session() as session:
        await session.execute(
            update(SearchTerm).where(SearchTerm.owner_type == "material").values(hits=1)
        )
    if revised:  # the release that recounts also revises one shipped text
        shipped = load_seed()
        shipped[0]["content"] += "又及：雨停了。"
        monkeypatch.setattr(materials, "load_seed", lambda: shipped)
    await seed_system_materials(database)
    async with database.session() as session:
        recounted = await session.scalar(
            select(func.sum(SearchTerm.hits)).where(SearchTerm.owner_type == "material")
        )
        seeded = list(await session.scalars(select(Material).where(Material.user_id.is_(None))))
    assert recounted == sum(sum(term_counts(indexed_text(m)).values()) for m in seeded)


async def test_use_count_survives_concurrent_uses(api: Api) -> None:
    alice, bob = await api.sign_up(), await api.sign_up()
    mine = await _create(api, alice, is_public=True)
    system = (await _list(api, alice, type="dialogue", page_size=1))["items"][0]

    for material in (mine, system):
        path = f"/api/v1/materials/{material['id']}/use"
        responses = await asyncio.gather(*(api.call("POST", path, bob) for _ in range(10)))
        counts = sorted(_data(r)["use_count"] for r in responses)
        assert counts[-1] == material["use_count"] + 10
        assert len(set(counts)) == 10  # each call saw its own increment
        got = _data(await api.call("GET", f"/api/v1/materials/{material['id']}", alice))
        assert got["use_count"] == material["use_count"] + 10
        assert got["updated_at"] == material["updated_at"]  # a use is not an edit
