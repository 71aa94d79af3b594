"""Every route and every dependency of one runs in the event loop (a coroutine function), but
the OpenID Connect sign-in's, which imports its libraries at its first use. FastAPI calls a plain
function in its thread pool: a hand-off to a thread and back for each request that uses it
(`api/deps.py` handed out the services that way: 0.35–0.7 ms of CPU a REST request,
bench/README.md), and under load a wait for one of the pool's threads."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute

from api.app import create_app
from api.settings import Settings


def _routes(routes: list[Any]) -> Iterator[APIRoute | APIWebSocketRoute]:
    for route in routes:
        if isinstance(route, APIRoute | APIWebSocketRoute):
            yield route
        included = getattr(route, "original_router", None)  # an `include_router`'s routes
        if included is not None:
            yield from _routes(included.routes)


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


# Off the loop on purpose: the first OpenID Connect sign-in imports httpx and Authlib (~140 ms).
IN_THE_THREAD_POOL = {"api.deps.oidc_sign_in"}


def _runs_in_the_loop(call: Any) -> bool:
    # A function (`async def`, or an async generator: a dependency with a teardown), or an
    # instance whose class defines `async def __call__` (`HTTPBearer`).
    return (
        inspect.iscoroutinefunction(call)
        or inspect.isasyncgenfunction(call)
        or inspect.iscoroutinefunction(type(call).__call__)
    )


def _name(call: Any) -> str:
    return f"{call.__module__}.{call.__qualname__}"


def test_routes_and_their_dependencies_run_in_the_event_loop(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data"))
    routes = list(_routes(app.routes))
    endpoints = [route.endpoint for route in routes if isinstance(route, APIRoute)]
    assert len(endpoints) > 100
    assert [_name(call) for call in endpoints if not _runs_in_the_loop(call)] == []
    calls = {call for route in routes for call in _calls(route.dependant)}
    assert len(calls) > 20  # the services and adapters handed out, the token, the account...
    threaded = {_name(call) for call in calls if not _runs_in_the_loop(call)}
    assert threaded == IN_THE_THREAD_POOL
