"""The composition root: settings in, a complete ASGI app out."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from storage.docs.base import DocStore
from storage.kv.base import KeyValue
from sync_server.auth import AllowAllAuthorizer, Authorizer
from sync_server.endpoint import EndpointLimits, SyncEndpoint, SyncRoute

from .adapters import Adapters, build_adapters, start_adapters, stop_adapters
from .admission import AdmissionLimits, AdmissionMiddleware, Rejections, Turns
from .business_metrics import BusinessMetrics
from .client_address import ClientAddressMiddleware, TrustedProxies
from .composition import build_services
from .envelope import install_error_handlers
from .errors import AppError, Err
from .http_metrics import HttpMetrics, HttpMetricsMiddleware
from .http_security import install_docs, install_security_headers, metrics_allowed
from .jobs_setup import build_job_system, jobs_in_process, start_jobs
from .memory_release import memory_releaser
from .ratelimit import RateLimitMiddleware
from .routers import admin as admin_routes
from .routers import ai, auth, chapters, materials, oidc, search, users, works
from .routers import comments as comment_routes
from .routers import exports as export_routes
from .routers import imports as import_routes
from .routers import membership as membership_routes
from .routers import moderation as moderation_routes
from .routers import notifications as notification_routes
from .routers import orders as order_routes
from .routers import payments as payment_routes
from .routers import reports as report_routes
from .routers import snowflake as snowflake_routes
from .security.authenticator import Authenticator
from .services.access_changes import listen as listen_for_access_changes
from .services.materials import seed_system_materials
from .services.membership import plan_table
from .settings import Settings
from .sync_access import SyncAuthorizer
from .tracing import TracingMiddleware, provider_from_settings, tracer_of
from .webui import mount_web_ui

log = logging.getLogger(__name__)

READY_CHECK_TIMEOUT_S = 5.0  # each `/readyz` check; probes commonly give up after 10 s


def _authorizer(settings: Settings, adapters: Adapters) -> Authorizer:
    if settings.auth == "off":
        log.warning("INKWEAVE_AUTH=off: every socket may read and write every document")
        return AllowAllAuthorizer()
    authenticator = Authenticator(adapters.tokens, adapters.database)
    return SyncAuthorizer(authenticator, adapters.database)


def create_app(
    settings: Settings | None = None,
    *,
    authorizer: Authorizer | None = None,
    store: DocStore | None = None,
    kv: KeyValue | None = None,
    clock: Callable[[], float] = time.monotonic,
    sync_url: str | None = None,
    tracer_provider: Any | None = None,
    on_started: Callable[[], None] | None = None,
) -> FastAPI:
    """The whole app; `authorizer`, `store` and `kv` replace the configured ones (tests,
    embedding), `clock` the one the rooms and the projection measure delays on; `sync_url` is
    where this server's `/sync` is reachable (AI peers join there); `tracer_provider` traces
    instead of the collector of `otlp_endpoint` (a test's in-memory exporter); `on_started` is
    called once everything has started, before the first request (`inkweave serve` tunes the
    garbage collector there)."""
    settings = settings or Settings()
    plan_table(settings)  # refuse a bad INKWEAVE_PLAN_PRICES now, not at the first order
    job_system = build_job_system(settings)
    owned_provider = None if tracer_provider else provider_from_settings(settings)
    provider = tracer_provider or owned_provider
    tracer = tracer_of(provider) if provider is not None else None
    parts = build_adapters(
        settings, runner=job_system.runner, store=store, kv=kv, clock=clock, tracer=tracer
    )
    business = BusinessMetrics(
        parts.metrics.registry,
        parts.database,
        parts.rooms,
        cache_s=settings.metrics_counts_cache_s,
        clock=clock,
    )
    endpoint = SyncEndpoint(
        parts.rooms,
        authorizer or _authorizer(settings, parts),
        parts.metrics,
        EndpointLimits(
            max_message_bytes=settings.max_message_bytes,
            send_queue_limit=settings.send_queue_limit,
            reauthorize_every_s=None if settings.auth == "off" else settings.membership_recheck_s,
        ),
        parts.sockets,
    )
    services = build_services(parts, recheck_sockets=endpoint.recheck)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await start_adapters(parts)
        await listen_for_access_changes(parts.bus, endpoint.recheck)
        await services.word_list.start()
        await seed_system_materials(parts.database)
        await start_jobs(
            job_system,
            parts,
            services,
            run_jobs=jobs_in_process(settings, job_system),
            sync_url=sync_url,
        )
        releaser = memory_releaser(settings.memory_release_s)
        if releaser is not None:
            releaser.start()
        if on_started is not None:
            on_started()
        log.info("inkweave started", extra={"data_dir": str(settings.data_dir)})
        try:
            yield
        finally:
            if releaser is not None:
                await releaser.stop()
            # In-process jobs stop at once (they resume at the next start); a broker keeps them.
            await job_system.stop(grace_s=0 if job_system.kind == "stub" else 10)
            await stop_adapters(parts)
            if owned_provider is not None:  # the last spans go out (a blocking export)
                await asyncio.to_thread(owned_provider.shutdown)

    app = FastAPI(
        title="Inkweave",
        version="0.1.0",
        description="Write novels and screenplays together, with AI, in live documents.",
        lifespan=lifespan,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
        docs_url=None,  # install_docs: Swagger under its own Content-Security-Policy
        redoc_url=None,
    )
    app.state.adapters = parts
    app.state.services = services
    app.state.jobs = job_system
    rejections = Rejections(parts.metrics.registry)
    app.state.admission = turns = Turns(AdmissionLimits.from_settings(settings), clock=clock)
    install_error_handlers(
        app,
        on_busy=lambda: rejections.count("database"),
        on_unavailable=lambda: rejections.count("database_down"),
    )
    # Inside the rate limits: a request refused 429 never takes a turn.
    app.add_middleware(AdmissionMiddleware, turns=turns, rejections=rejections)
    app.add_middleware(RateLimitMiddleware, kv=parts.kv, tokens=parts.tokens, settings=settings)
    install_security_headers(app, settings)  # outside the limits: a 429 carries them too
    # Outside the limits too: a 429 or a 503 is counted and traced like any answer.
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(parts.metrics.registry))
    if tracer is not None:
        app.add_middleware(TracingMiddleware, tracer=tracer)
    # `/sync/{doc}` sockets go straight to their endpoint, past the REST middleware above and
    # the routing; the client address (next, outermost) is still decided for them.
    app.add_middleware(SyncRoute, endpoint=endpoint)
    # Outermost (added last): every limit below reads the client address it decides.
    app.add_middleware(ClientAddressMiddleware, trusted=TrustedProxies(settings.trusted_proxies))
    for router in (
        auth.router,
        oidc.router,
        users.router,
        works.router,
        chapters.router,
        materials.router,
        search.router,
        ai.router,
        snowflake_routes.router,
        moderation_routes.router,
        membership_routes.router,
        order_routes.router,
        payment_routes.router,
        admin_routes.router,
        report_routes.router,
        notification_routes.router,
        export_routes.router,
        import_routes.router,
        comment_routes.router,
    ):
        app.include_router(router, prefix="/api/v1")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        checks = {"database": parts.database.ping, "docs": parts.store.ping, "kv": parts.kv.ping}
        report, ready = {}, True
        for name, check in checks.items():
            try:
                # A store that does not answer is as unready as one that refuses: say so
                # before a load balancer's probe gives up (a driver may wait 30 s for a server).
                await asyncio.wait_for(check(), READY_CHECK_TIMEOUT_S)
                report[name] = "ok"
            except TimeoutError:
                report[name], ready = f"no answer within {READY_CHECK_TIMEOUT_S:g} s", False
            except Exception as exc:
                report[name], ready = str(exc) or type(exc).__name__, False
        status = "ready" if ready else "unavailable"
        # Which process of `inkweave serve --workers` answered: each is probed on its own.
        body = {"status": status, "worker": settings.worker_index, **report}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> PlainTextResponse:
        if not metrics_allowed(request, settings):
            raise AppError(Err.FORBIDDEN, "metrics: see INKWEAVE_METRICS_ALLOW / _TOKEN")
        await business.refresh()
        return PlainTextResponse(
            generate_latest(parts.metrics.registry), media_type=CONTENT_TYPE_LATEST
        )

    install_docs(app)
    mount_web_ui(app)  # last: the editor's catch-all never shadows a route above
    return app
