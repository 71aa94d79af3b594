"""The API's routers are tried busiest first (`api/app.py`): safe only while no request could
be answered by routes of two routers, which would make their order decide which one answers.
(Within one router, a literal path comes before the parameter it would also match, as
`/chapters/trash` before `/chapters/{chapter_id}`: the order in its source, unchanged.)"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, compile_path

from api.app import create_app
from api.settings import Settings

SAMPLE_VALUES = ("1", "me", "x", "1.txt")


def api_routes(routes: list[BaseRoute], prefix: str = "") -> list[tuple[str, set[str], int]]:
    """Every API route, its full path and methods, and which of the app's routers it is in."""
    found: list[tuple[str, set[str], int]] = []
    for number, route in enumerate(routes):
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            inner = api_routes(included.routes, prefix + (getattr(context, "prefix", "") or ""))
            found += [(path, methods, number) for path, methods, _ in inner]
        elif isinstance(route, APIRoute):
            found.append((prefix + route.path, set(route.methods), number))
    return found


def test_no_request_matches_routes_of_two_routers(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data"))
    routes = api_routes(app.router.routes)
    assert len(routes) > 100  # every router was walked
    patterns = [(path, methods, router, compile_path(path)[0]) for path, methods, router in routes]
    doubles = set()
    for path, methods, _router in routes:
        for value in SAMPLE_VALUES:
            sample = re.sub(r"\{[^}]+\}", value, path)
            for method in methods:
                answering = {
                    (router, other)
                    for other, other_methods, router, pattern in patterns
                    if method in other_methods and pattern.match(sample)
                }
                if len({router for router, _ in answering}) > 1:
                    doubles.add((method, sample, tuple(sorted(answering))))
    assert not doubles


def test_the_busiest_routes_are_tried_first(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data"))
    paths = [path for path, _methods, _router in api_routes(app.router.routes)]
    content = paths.index("/api/v1/chapters/{chapter_id}/content")
    assert content < 20 and paths.index("/api/v1/works") < 40
