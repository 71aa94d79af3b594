"""REST requests on `/metrics`: how many, by method, route template and status, and how long.

Labelled by the route template (`/api/v1/works/{work_id}`), never the raw path, so that the
series stay as few as the routes; a request no route matched counts as `unmatched`.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def route_template(scope: Scope) -> str | None:
    """The template of the route that answered (`/api/v1/works/{work_id}`), once routed."""
    # FastAPI keeps an included router's routes without their prefix; the full template is on
    # the route it resolved (FastAPI 0.16x), else on the route itself.
    resolved = (scope.get("fastapi") or {}).get("effective_route_context")
    return getattr(resolved, "path", None) or getattr(scope.get("route"), "path", None)


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "inkweave_http_requests",
            "REST requests answered, by method, route template and status code",
            ["method", "route", "status"],
            registry=registry,
        )
        self.seconds = Histogram(
            "inkweave_http_request_seconds",
            "Time to answer a REST request, to its last byte",
            ["method"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics) -> None:
        self.app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = route_template(scope) or "unmatched"
            method = scope["method"]
            self._metrics.requests.labels(method, route, str(status)).inc()
            self._metrics.seconds.labels(method).observe(time.perf_counter() - started)
