"""Never a 500 for input: every id and integer a request carries is bounded at the edge, so a
number beyond BIGINT (or below 1) is a 422 naming the field, and never reaches SQL, where SQLite
raised OverflowError. Over HTTP, on SQLite and MariaDB; tests/api/test_openapi_fuzz.py throws
huge integers at every operation as well."""

from __future__ import annotations

from typing import Any

import pytest

from api.schemas import MAX_ID
from api.settings import Settings
from tests.api.test_membership import make_admin
from tests.api.test_works import ok, refused
from tests.support.api import Account, Api

N = object()  # stands for the huge number in a case's path, query and body
HUGE = [2**63, 10**30, -(2**63) - 1]
TASK = "0" * 37  # a task id longer than any (uuid4: 36)

# (method, path, query, body, the fields the refusal must name), by family of endpoints
CASES: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None, set[str]]] = [
    # works and their members
    ("GET", "/api/v1/works/{n}", None, None, {"work_id"}),
    ("PATCH", "/api/v1/works/{n}", None, {"title": "新名"}, {"work_id"}),
    ("DELETE", "/api/v1/works/{n}", None, None, {"work_id"}),
    ("POST", "/api/v1/works/{n}/restore", None, None, {"work_id"}),
    ("DELETE", "/api/v1/works/{n}/purge", None, None, {"work_id"}),
    ("GET", "/api/v1/works/{n}/stats", None, None, {"work_id"}),
    ("GET", "/api/v1/works/{n}/members", None, None, {"work_id"}),
    ("PATCH", "/api/v1/works/1/members/{n}", None, {"role": "viewer"}, {"member_id"}),
    ("DELETE", "/api/v1/works/1/members/{n}", None, None, {"member_id"}),
    ("DELETE", "/api/v1/works/1/invitations/{n}", None, None, {"invitation_id"}),
    ("POST", "/api/v1/works/1/transfer", None, {"user_id": N}, {"user_id"}),
    ("GET", "/api/v1/works", {"page": N}, None, {"page"}),
    ("GET", "/api/v1/works/trash", {"page_size": N}, None, {"page_size"}),
    # chapters, content, versions
    ("GET", "/api/v1/works/{n}/chapters", None, None, {"work_id"}),
    ("POST", "/api/v1/works/{n}/chapters", None, {}, {"work_id"}),
    ("POST", "/api/v1/works/1/chapters/reorder", None, {"chapter_ids": [1, N]}, {"chapter_ids.1"}),
    ("PUT", "/api/v1/works/1/content", None, {"chapter_id": N, "content": "字"}, {"chapter_id"}),
    ("GET", "/api/v1/chapters/{n}", None, None, {"chapter_id"}),
    ("PATCH", "/api/v1/chapters/{n}", None, {"title": "第一章"}, {"chapter_id"}),
    ("DELETE", "/api/v1/chapters/{n}", None, None, {"chapter_id"}),
    ("GET", "/api/v1/chapters/{n}/content", None, None, {"chapter_id"}),
    ("POST", "/api/v1/chapters/{n}/versions", None, {"name": "初稿"}, {"chapter_id"}),
    ("GET", "/api/v1/chapters/1/versions/{n}", None, None, {"version_id"}),
    ("POST", "/api/v1/chapters/1/versions/{n}/restore", None, None, {"version_id"}),
    # materials (these were the 500s)
    ("GET", "/api/v1/materials/{n}", None, None, {"material_id"}),
    ("PATCH", "/api/v1/materials/{n}", None, {"title": "林黛玉"}, {"material_id"}),
    ("DELETE", "/api/v1/materials/{n}", None, None, {"material_id"}),
    ("POST", "/api/v1/materials/{n}/use", None, None, {"material_id"}),
    ("GET", "/api/v1/materials", {"page": N}, None, {"page"}),
    # search
    ("GET", "/api/v1/search", {"q": "雨夜", "page_size": N}, None, {"page_size"}),
    # AI: ids, positions, histories (a 500 before)
    ("GET", "/api/v1/ai/histories", {"work_id": N}, None, {"work_id"}),
    ("GET", "/api/v1/ai/tasks", {"page": N}, None, {"page"}),
    ("POST", "/api/v1/ai/continue", None, {"work_id": 1, "chapter_id": N}, {"chapter_id"}),
    (
        "POST",
        "/api/v1/ai/continue",
        None,
        {"work_id": 1, "chapter_id": 1, "position": N},
        {"position"},
    ),
    (
        "POST",
        "/api/v1/ai/polish",
        None,
        {"work_id": 1, "content": "他走了。", "apply": True, "chapter_id": 1, "start": 0, "end": N},
        {"end"},
    ),
    ("POST", "/api/v1/ai/outline", None, {"work_id": N, "prompt": "一个故事"}, {"work_id"}),
    (
        "POST",
        "/api/v1/ai/convert",
        None,
        {"work_id": 1, "from_type": "novel", "to_type": "script", "chapter_id": N},
        {"chapter_id"},
    ),
    ("POST", "/api/v1/ai/review", None, {"work_id": N}, {"work_id"}),
    # Snowflake
    ("GET", "/api/v1/works/{n}/snowflake", None, None, {"work_id"}),
    ("GET", "/api/v1/works/{n}/snowflake/premise", None, None, {"work_id"}),
    ("GET", "/api/v1/works/1/snowflake/{n}", None, None, {"step"}),
    ("PUT", "/api/v1/works/{n}/snowflake/premise", None, {"premise": "一念"}, {"work_id"}),
    # exports and imports
    ("POST", "/api/v1/export", None, {"work_id": N, "format": "txt"}, {"work_id"}),
    (
        "POST",
        "/api/v1/export",
        None,
        {"work_id": 1, "format": "txt", "chapter_ids": [N]},
        {"chapter_ids.0"},
    ),
    ("GET", f"/api/v1/export/tasks/{TASK}", None, None, {"task_id"}),
    ("GET", f"/api/v1/import/tasks/{TASK}", None, None, {"task_id"}),
    # notifications, orders, users
    ("POST", "/api/v1/notifications/{n}/read", None, None, {"notification_id"}),
    ("POST", "/api/v1/notifications/read", None, {"ids": [N]}, {"ids.0"}),
    ("GET", "/api/v1/notifications", {"page": N}, None, {"page"}),
    ("GET", "/api/v1/orders", {"page_size": N}, None, {"page_size"}),
    ("GET", "/api/v1/users/{n}/avatar", None, None, {"user_id"}),
]
ADMIN_CASES: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None, set[str]]] = [
    ("GET", "/api/v1/admin/users/{n}", None, None, {"user_id"}),
    ("PUT", "/api/v1/admin/users/{n}/membership", None, {"level": "free"}, {"user_id"}),
    ("POST", "/api/v1/admin/users/{n}/disable", None, None, {"user_id"}),
    ("POST", "/api/v1/admin/users/{n}/enable", None, None, {"user_id"}),
    ("GET", "/api/v1/admin/users", {"status": N}, None, {"status"}),
    ("GET", "/api/v1/admin/orders", {"user_id": N}, None, {"user_id"}),  # a 500 before
]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Some 200 requests a minute from one user: above the per-minute limit, which is not tested."""
    return settings.model_copy(update={"rate_limit_user_per_min": 100_000})


def _filled(value: Any, number: int) -> Any:
    if value is N:
        return number
    if isinstance(value, dict):
        return {key: _filled(item, number) for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, number) for item in value]
    return value


async def _all_refused(api: Api, who: Account, cases: list[Any]) -> None:
    for method, path, query, body, fields in cases:
        for number in HUGE:
            response = await api.call(
                method,
                path.format(n=number),
                who,
                params=_filled(query, number),
                json=_filled(body, number),
            )
            where = f"{method} {path} with {number}"
            assert response.status_code == 422, f"{where}: {response.text[:300]}"
            answer = refused(response, 422, 42201)
            named = {problem["field"] for problem in answer["fields"]}
            assert named == fields, f"{where}: {answer}"


async def test_a_number_beyond_any_id_is_a_422_on_every_family_of_endpoint(api: Api) -> None:
    writer = await api.sign_up()
    await _all_refused(api, writer, CASES)
    await _all_refused(api, await make_admin(api), ADMIN_CASES)
    # The bound is BIGINT's, no tighter: MAX_ID itself is looked up, and names nothing
    for path in (
        f"/api/v1/materials/{MAX_ID}",
        f"/api/v1/works/{MAX_ID}",
        f"/api/v1/chapters/{MAX_ID}",
    ):
        refused(await api.call("GET", path, writer), 404, 40401)
    refused(await api.call("POST", f"/api/v1/materials/{MAX_ID}/use", writer), 404, 40401)
    mine = ok(await api.call("GET", "/api/v1/ai/histories", writer, params={"work_id": MAX_ID}))
    assert mine["total"] == 0


async def test_an_admin_search_for_a_huge_or_odd_number_finds_nothing_instead_of_failing(
    api: Api,
) -> None:
    admin = await make_admin(api)
    writer = await api.sign_up()
    for q in ("9" * 25, str(2**63), "²", "١٢"):  # beyond BIGINT; digits int() refuses or reads
        found = ok(await api.call("GET", "/api/v1/admin/users", admin, params={"q": q}))
        assert found["total"] == 0, (q, found)
    by_id = ok(await api.call("GET", "/api/v1/admin/users", admin, params={"q": str(writer.id)}))
    assert writer.id in {item["id"] for item in by_id["items"]}


def _integers(schema: dict[str, Any], components: dict[str, Any], where: str) -> Any:
    """(where, schema) for every integer in `schema`, through $refs, unions, arrays, objects."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        yield from _integers(components[name], components, f"{where}<{name}>")
        return
    for union in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(union, []):
            yield from _integers(option, components, where)
    if schema.get("type") == "integer":
        yield where, schema
    if "items" in schema:
        yield from _integers(schema["items"], components, f"{where}[]")
    for name, field in schema.get("properties", {}).items():
        yield from _integers(field, components, f"{where}.{name}")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_every_integer_a_request_carries_has_both_bounds(api: Api) -> None:
    spec = (await api.call("GET", "/openapi.json")).json()
    components = spec["components"]["schemas"]
    unbounded = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            inputs = [
                (f"{p['in']} {p['name']}", p["schema"]) for p in operation.get("parameters", [])
            ]
            for content in operation.get("requestBody", {}).get("content", {}).values():
                inputs.append(("body", content.get("schema", {})))
            for name, schema in inputs:
                for where, integer in _integers(schema, components, name):
                    low, high = integer.get("minimum"), integer.get("maximum")
                    # JSON writes 2**63 - 1 as the float 2**63 in body schemas
                    if low is None or high is None or high > 2**63 or low < -(2**63):
                        unbounded.append(f"{method.upper()} {path} {where}")
    assert not unbounded, unbounded
