"""Every dependency of every route is a coroutine function. FastAPI calls a plain function in
its thread pool: a hand-off to a thread and back for each request that uses it (`api/deps.py`
hands out the services that way: about 0.5 ms of CPU a REST request, bench/README.md), and
under load a wait for one of the pool's threads."""

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


def _runs_in_the_loop(call: Any) -> bool:
    # A function, or an instance whose class defines `async def __call__` (`HTTPBearer`).
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(type(call).__call__)


def test_every_dependency_is_a_coroutine_function(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data"))
    routes = list(_routes(app.routes))
    assert len([route for route in routes if isinstance(route, APIRoute)]) > 100
    calls = {call for route in routes for call in _calls(route.dependant)}
    assert len(calls) > 20  # the services and adapters handed out, the token, the account...
    threaded = sorted(
        f"{call.__module__}.{call.__qualname__}" for call in calls if not _runs_in_the_loop(call)
    )
    assert threaded == []
