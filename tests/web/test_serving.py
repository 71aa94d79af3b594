"""The app serves the editor at `/` without shadowing any server path."""

from __future__ import annotations

import re

from tests.support.api import Api


async def test_pages_and_client_routes_get_the_editor(web: Api) -> None:
    for path in ("/", "/login", "/works/12/chapters/34", "/任意/路径"):
        response = await web.http.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-cache"
        assert '<div id="app">' in response.text
    head = await web.http.head("/works")
    assert head.status_code == 200


async def test_assets_are_served_and_cached_for_good(web: Api) -> None:
    page = (await web.http.get("/")).text
    script = re.search(r'src="(/assets/app-[^"]+\.js)"', page)
    assert script, page
    response = await web.http.get(script.group(1))
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert "immutable" in response.headers["cache-control"]
    missing = await web.http.get("/assets/app-NOPE.js")
    assert missing.status_code == 404
    assert missing.json()["code"] == 40401


async def test_server_paths_are_never_the_editor(web: Api) -> None:
    for path in ("/api/v1/nothing-here", "/api", "/sync/some-doc", "/metrics/x", "/docs/x"):
        response = await web.http.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == 40401, path
    assert (await web.http.get("/healthz")).json() == {"status": "ok"}
    assert (await web.http.get("/openapi.json")).json()["info"]["title"] == "Inkweave"
    assert "/{path}" not in (await web.http.get("/openapi.json")).json()["paths"]
    # Methods the editor does not answer keep their meaning: 405 on a real route, 404 elsewhere.
    assert (await web.http.delete("/api/v1/auth/code")).status_code == 405
    assert (await web.http.post("/works/1")).status_code == 404
    assert (await web.http.post("/api/v1/nothing-here")).status_code == 404


async def test_files_outside_the_build_are_not_reachable(web: Api) -> None:
    # Percent-encoded dots reach the app undecoded by the client, decoded by the server.
    escaped = await web.http.get("/assets/%2e%2e/%2e%2e/webui.py")
    assert escaped.status_code == 404
    for path in ("/%2e%2e/settings.py", "/%2e%2e/%2e%2e/pyproject.toml"):
        response = await web.http.get(path)
        assert response.status_code == 200, path
        assert '<div id="app">' in response.text, path
