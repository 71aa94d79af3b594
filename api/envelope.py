"""The brief's envelope around every answer, and the edge that turns errors into it.

Success: `{code: 0, message: "success", data, timestamp}`. Failure: `{code, message, error,
timestamp}` where `message` is the code's text in the caller's language (Chinese by default,
English by `Accept-Language`) and `error` the detail. The HTTP status of a failure is the first
three digits of its code (40401 → 404).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from storage.docs.base import StoreUnavailable
from storage.sql.database import BUSY_ERRORS, overloaded
from storage.sql.engine import unreachable

from .errors import AppError, Err
from .http_security import CSP, FIXED_HEADERS, NOTHING_POLICY
from .schemas import LOCALIZED_REASONS

log = logging.getLogger(__name__)

RETRY_AFTER_BUSY_S = 1  # an overloaded node: ask again in a second (another node may answer)
RETRY_AFTER_UNAVAILABLE_S = 5  # a database that is down: a restart or a failover takes seconds


def http_status(error: Err) -> int:
    return error.value.code // 100


def wants_english(request: Request) -> bool:
    return request.headers.get("accept-language", "").strip().lower().startswith("en")


def success(data: Any = None) -> dict[str, Any]:
    return {"code": 0, "message": "success", "data": data, "timestamp": int(time.time())}


def failure_body(request: Request, error: Err, detail: Any) -> dict[str, Any]:
    spec = error.value
    return {
        "code": spec.code,
        "message": spec.en if wants_english(request) else spec.zh,
        "error": detail,
        "timestamp": int(time.time()),
    }


def failure_response(
    request: Request, error: Err, detail: Any, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The envelope of `error` as a response: from a handler, or sent by a middleware."""
    return JSONResponse(
        failure_body(request, error, detail), status_code=http_status(error), headers=headers
    )


def _headers(exc: AppError) -> dict[str, str] | None:
    return None if exc.retry_after_s is None else {"Retry-After": str(exc.retry_after_s)}


_BY_STATUS = {
    400: Err.BAD_REQUEST,
    401: Err.UNAUTHENTICATED,
    403: Err.FORBIDDEN,
    404: Err.NOT_FOUND,
    409: Err.CONFLICT,
    422: Err.VALIDATION,
    429: Err.RATE_LIMITED,
}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def _reason(item: dict[str, Any], english: bool) -> str:
    own = LOCALIZED_REASONS.get(item.get("type", ""))
    if own is not None:
        return own[1] if english else own[0]
    return item.get("msg", "")


def busy_response(request: Request, detail: str) -> JSONResponse:
    """503 `OVERLOADED` with `Retry-After`: this node cannot take the request now."""
    return failure_response(
        request, Err.OVERLOADED, detail, {"Retry-After": str(RETRY_AFTER_BUSY_S)}
    )


def unavailable_response(request: Request, detail: str) -> JSONResponse:
    """503 `DATABASE_UNAVAILABLE` with `Retry-After`: a database is down or out of reach."""
    headers = {"Retry-After": str(RETRY_AFTER_UNAVAILABLE_S)}
    return failure_response(request, Err.DATABASE_UNAVAILABLE, detail, headers)


def install_error_handlers(
    app: FastAPI,
    *,
    on_busy: Callable[[], None] = lambda: None,
    on_unavailable: Callable[[], None] = lambda: None,
) -> None:
    """`on_busy` counts each request answered 503 because the database was too busy,
    `on_unavailable` each one answered 503 because a database could not be reached."""

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> JSONResponse:
        return failure_response(request, exc.error, exc.detail or None, _headers(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        english = wants_english(request)
        problems = [
            {"field": _field(tuple(item.get("loc", ()))), "reason": _reason(item, english)}
            for item in exc.errors()
        ]
        detail = "; ".join(f"{p['field']}: {p['reason']}" for p in problems)
        body = failure_body(request, Err.VALIDATION, detail)
        body["fields"] = problems
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error = _BY_STATUS.get(exc.status_code, Err.BAD_REQUEST)
        response = failure_response(request, error, exc.detail, getattr(exc, "headers", None))
        response.status_code = exc.status_code
        return response

    def unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", exc, extra={"path": request.url.path})
        on_unavailable()
        which = "document store" if isinstance(exc, StoreUnavailable) else "database"
        return unavailable_response(request, f"{which} unavailable")

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        if unreachable(exc):
            return unavailable(request, exc)
        if not overloaded(exc):
            raise exc  # a fault, not load: `unexpected` answers 500 and logs it
        on_busy()
        return busy_response(request, "database busy")

    for busy_error in BUSY_ERRORS:
        app.add_exception_handler(busy_error, database_error)

    @app.exception_handler(StoreUnavailable)
    async def store_unavailable(request: Request, exc: StoreUnavailable) -> JSONResponse:
        return unavailable(request, exc)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        # Starlette answers this from its outermost layer, outside `SecurityHeaders`.
        return failure_response(request, Err.INTERNAL, None, {**FIXED_HEADERS, CSP: NOTHING_POLICY})


def error_table_markdown() -> str:
    """The README's error table, generated from the one in `errors.py`."""
    rows = ["| code | HTTP | message (zh) | message (en) |", "| --- | --- | --- | --- |"]
    rows += [f"| {e.value.code} | {http_status(e)} | {e.value.zh} | {e.value.en} |" for e in Err]
    return "\n".join(rows)
