"""Headers and the browser (issue 15, item 11), over HTTP on SQLite and MariaDB.

Every response carries nosniff, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer` and a
Content-Security-Policy: the editor's page may run only this origin's scripts, JSON may run
nothing. `/docs` keeps a policy of its own that lets its CDN bundle and its one inline script run;
`/docs` and `/metrics` can be closed by configuration. Links a user sets are http(s) only, and
usernames are unique whatever their case (a database constraint, migrated onto older data).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import Connection, text

from api.settings import Settings
from storage.sql.database import Database, alembic_config, migration_connection
from tests.api.test_works import make_work, ok, refused
from tests.jobs.conftest import SQLITE_ONLY
from tests.support.api import Api, running_api

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def directives(response: httpx.Response) -> dict[str, str]:
    policy = response.headers.get("content-security-policy", "")
    parts = (part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


def assert_hardened(response: httpx.Response) -> dict[str, str]:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    policy = directives(response)
    assert policy.get("frame-ancestors") == "'none'", (response.request.url, policy)
    return policy


@pytest.fixture
async def configured(settings: Settings) -> AsyncIterator[Any]:
    """Start the app with some settings changed: `await configured(docs_enabled=False)`."""
    async with AsyncExitStack() as stack:

        async def start(**changes: Any) -> Api:
            return await stack.enter_async_context(running_api(settings.model_copy(update=changes)))

        yield start


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_the_editor_page_runs_only_its_own_scripts(api: Api) -> None:
    page = await api.http.get("/works/1/chapters/2")
    policy = assert_hardened(page)
    assert policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    host = f"127.0.0.1:{api.app.port}"
    assert policy["connect-src"] == f"'self' ws://{host} wss://{host}"
    # The built page keeps to it: no inline script, no inline event handler.
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page.text, re.DOTALL)
    assert scripts and all('src="/assets/' in attrs and not body for attrs, body in scripts)
    assert not re.search(r"\son\w+\s*=", page.text)
    asset = re.search(r'src="(/assets/[^"]+\.js)"', page.text)
    assert asset is not None
    assert_hardened(await api.http.get(asset.group(1)))


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_every_other_answer_may_run_and_load_nothing(api: Api) -> None:
    writer = await api.sign_up()
    answers = [
        await api.http.get("/healthz"),
        await api.http.get("/api/v1/users/me"),  # 401
        await api.call("GET", "/api/v1/users/me", writer),
        await api.call("GET", "/api/v1/works/999999", writer),  # 404
        await api.call("POST", "/api/v1/works", writer, json={"title": ""}),  # 422
        await api.http.get("/assets/app-NOPE.js"),  # 404
        await api.http.get("/openapi.json"),
    ]
    for answer in answers:
        assert directives(answer).get("default-src") == "'none'", answer.request.url
        assert_hardened(answer)
    assert "strict-transport-security" not in answers[0].headers  # plain http here


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_an_https_site_asks_for_https_only(configured: Any) -> None:
    site = await configured(public_url="https://write.example")
    answer = await site.http.get("/healthz")
    assert answer.headers["strict-transport-security"] == "max-age=31536000"


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_docs_run_their_cdn_bundle_and_inline_script_only(api: Api) -> None:
    docs = await api.http.get("/docs")
    assert docs.status_code == 200
    policy = assert_hardened(docs)
    assert policy["default-src"] == "'none'"
    (inline,) = re.findall(r"<script>(.*?)</script>", docs.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    allowed = policy["script-src"].split()
    assert sorted(allowed) == sorted(["https://cdn.jsdelivr.net", f"'sha256-{digest}'"])
    for bundle in re.findall(r'<script src="([^"]+)"', docs.text):
        assert bundle.startswith("https://cdn.jsdelivr.net/"), bundle
    assert policy["connect-src"] == "'self'"
    assert "/openapi.json" in docs.text
    assert (await api.http.get("/redoc")).status_code == 404  # one docs page, one policy


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_docs_and_schema_can_be_turned_off(configured: Any) -> None:
    closed = await configured(docs_enabled=False)
    for path in ("/docs", "/openapi.json"):
        answer = await closed.http.get(path)
        assert answer.status_code == 404, path
        assert answer.json()["code"] == 40401, path
    assert (await closed.http.get("/healthz")).status_code == 200


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_metrics_only_for_allowed_addresses_or_the_token(configured: Any) -> None:
    loopback = await configured()
    assert (await loopback.http.get("/metrics")).status_code == 200

    token = secrets.token_urlsafe(24)
    elsewhere = await configured(metrics_allow=["10.0.0.0/8"], metrics_token=token)
    denied = await elsewhere.http.get("/metrics")
    refused(denied, 403, 40301)
    assert_hardened(denied)
    wrong = await elsewhere.http.get("/metrics", headers={"Authorization": "Bearer nope"})
    refused(wrong, 403, 40301)
    scraped = await elsewhere.http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert scraped.status_code == 200 and "inkweave_" in scraped.text


def test_metrics_allow_must_name_networks(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path, metrics_allow="10.0.0.0/8, ::1").metrics_allow == [
        "10.0.0.0/8",
        "::1",
    ]
    with pytest.raises(ValueError, match="metrics_allow"):
        Settings(data_dir=tmp_path, metrics_allow="prometheus.local")


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_a_cover_is_an_http_link_or_nothing(api: Api) -> None:
    writer = await api.sign_up()
    for bad in (
        "javascript:alert(document.cookie)",
        " JavaScript:alert(1)",
        "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
        "//evil.example/cover.png",
        "/\\evil.example/cover.png",
        "https:///no-host",
        "vbscript:msgbox(1)",
        "https://img.example/a\nb.png",
    ):
        body = {"title": "封面", "type": "novel", "cover_url": bad}
        answer = await api.call("POST", "/api/v1/works", writer, json=body)
        failure = refused(answer, 422, 42201)
        assert failure["fields"] == [
            {
                "field": "cover_url",
                "reason": "只接受 http:// 或 https:// 开头的完整链接，或本站路径（以 / 开头）",
            }
        ], bad
    english = await api.call(
        "POST",
        "/api/v1/works",
        writer,
        json={"title": "cover", "type": "novel", "cover_url": "javascript:alert(1)"},
        headers={"Accept-Language": "en-US,en;q=0.9"},
    )
    assert refused(english, 422, 42201)["fields"][0]["reason"] == (
        "only complete http:// or https:// links, or paths on this site (starting with /)"
    )

    work = await make_work(api, writer, cover_url="https://img.example/封面.png")
    assert work["cover_url"] == "https://img.example/封面.png"
    path = f"/api/v1/works/{work['id']}"
    patched = await api.call("PATCH", path, writer, json={"cover_url": "data:text/html,<b>x</b>"})
    refused(patched, 422, 42201)
    assert ok(await api.call("GET", path, writer))["cover_url"] == "https://img.example/封面.png"
    on_this_site = ok(await api.call("PATCH", path, writer, json={"cover_url": "/covers/1.png"}))
    assert on_this_site["cover_url"] == "/covers/1.png"
    cleared = ok(await api.call("PATCH", path, writer, json={"cover_url": None}))
    assert cleared["cover_url"] is None


async def register(api: Api, username: str) -> httpx.Response:
    email = f"r{secrets.token_hex(4)}@example.com"
    ok(await api.http.post("/api/v1/auth/code", json={"email": email}))
    body = {"username": username, "email": email, "password": "correct-horse-9"}
    return await api.http.post("/api/v1/auth/register", json={**body, "code": api.last_code(email)})


async def test_usernames_are_unique_whatever_their_case(api: Api) -> None:
    tag = secrets.token_hex(3)
    alice = await api.sign_up(username=f"Alice{tag}")
    for twin in (f"alice{tag}", f"ALICE{tag}", f"Ａｌｉｃｅ{tag}"):
        refused(await register(api, twin), 409, 40902)

    bob = await api.sign_up(username=f"bob{tag}")
    rename = await api.call("PATCH", "/api/v1/users/me", bob, json={"username": f"aLiCe{tag}"})
    refused(rename, 409, 40902)
    # Changing the case of one's own name is no clash.
    mine = await api.call("PATCH", "/api/v1/users/me", alice, json={"username": f"ALICE{tag}"})
    assert ok(mine)["username"] == f"ALICE{tag}"
    refused(await register(api, f"Alice{tag}"), 409, 40902)


def _upgrade_to(url: str, revision: str) -> Any:
    def upgrade(connection: Connection) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    return upgrade


@pytest.mark.unmigrated
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_older_database_with_names_differing_in_case_still_upgrades(
    settings: Settings, database_url: str
) -> None:
    """Only SQLite could hold such names (MariaDB's collation already refused them)."""
    database = Database(database_url)
    try:
        async with migration_connection(database.engine) as connection:
            await connection.run_sync(_upgrade_to(database_url, "0007"))
            for name in ("Alice", "alice"):
                await connection.execute(
                    text(
                        "INSERT INTO users (username, email, password_hash, member_level, "
                        "total_words, total_works, total_time_seconds, status, created_at, "
                        "updated_at) VALUES (:name, :email, 'x', 'free', 0, 0, 0, 1, "
                        "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                    ),
                    {"name": name, "email": f"{name}-{secrets.token_hex(3)}@example.com"},
                )
        await database.migrate()
        async with database.engine.connect() as connection:
            rows = (
                await connection.execute(
                    text("SELECT id, username, username_key FROM users ORDER BY id")
                )
            ).all()
    finally:
        await database.close()
    (_, first_name, first_key), (second, second_name, second_key) = rows
    assert (first_name, first_key) == ("Alice", "alice")
    assert (second_name, second_key) == ("alice", f"alice#{second}")
    async with running_api(settings) as api:
        refused(await register(api, "ALICE"), 409, 40902)
