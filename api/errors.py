"""Errors as values with codes: one table, raised in the domain, translated at the edge.

Every response uses the brief's envelope. Success: `{code: 0, message: "success", data,
timestamp}`. Failure: `{code, message, error, timestamp}` where `message` is the code's text in
the caller's language (Chinese by default, English by `Accept-Language`) and `error` the detail.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    code: int
    status: int
    zh: str
    en: str


class Err(Enum):
    BAD_REQUEST = ErrorSpec(40001, 400, "参数错误", "Invalid request")
    BAD_CODE = ErrorSpec(40002, 400, "验证码错误或已过期", "Wrong or expired verification code")
    WRONG_PASSWORD = ErrorSpec(40003, 400, "原密码错误", "The current password is wrong")
    PAYMENT_SIGNATURE = ErrorSpec(
        40011, 400, "支付通知签名无效或已过期", "Payment notification signature invalid or stale"
    )
    PAYMENT_MISMATCH = ErrorSpec(
        40012, 400, "支付金额或币种与订单不符", "Paid amount or currency does not match the order"
    )
    PAYMENT_PROVIDER_OFF = ErrorSpec(
        40013, 400, "该支付方式未启用", "This payment provider is not enabled"
    )
    FORMAT_NOT_FOR_WORK = ErrorSpec(
        40021, 400, "该作品类型不支持此导出格式", "This format is not available for this work"
    )
    IMPORT_REFUSED = ErrorSpec(40022, 400, "无法导入该文件", "This file cannot be imported")
    UNAUTHENTICATED = ErrorSpec(
        40101, 401, "未登录或登录已过期", "Not signed in, or the session expired"
    )
    BAD_CREDENTIALS = ErrorSpec(40102, 401, "账号或密码错误", "Wrong account or password")
    TOKEN_REVOKED = ErrorSpec(40103, 401, "登录凭证已失效", "This token was revoked")
    REFRESH_REUSED = ErrorSpec(
        40104, 401, "刷新凭证已被使用，请重新登录", "Refresh token reused: sign in again"
    )
    WORKS_LIMIT = ErrorSpec(
        40201, 402, "作品数量已达当前会员上限，请升级会员", "Your plan's limit of works is reached"
    )
    FORBIDDEN = ErrorSpec(40301, 403, "无权执行此操作", "You may not do this")
    ACCOUNT_DISABLED = ErrorSpec(40302, 403, "账号已被禁用", "This account is disabled")
    QUOTA_EXCEEDED = ErrorSpec(
        40303, 403, "今日额度已用完，请升级会员或明天再试", "Daily quota used up for your plan"
    )
    DOWNLOAD_LINK_INVALID = ErrorSpec(
        40321, 403, "下载链接无效", "This download link is invalid or was altered"
    )
    NOT_FOUND = ErrorSpec(40401, 404, "资源不存在", "Not found")
    CONFLICT = ErrorSpec(40901, 409, "资源冲突", "Conflict")
    USERNAME_TAKEN = ErrorSpec(40902, 409, "用户名已被占用", "Username already taken")
    EMAIL_TAKEN = ErrorSpec(40903, 409, "邮箱已被注册", "Email already registered")
    ALREADY_MEMBER = ErrorSpec(40904, 409, "该用户已是成员", "Already a member")
    TASK_FINISHED = ErrorSpec(40905, 409, "任务已结束", "The task has already finished")
    TASK_RUNNING = ErrorSpec(40906, 409, "任务仍在进行中", "The task is still running")
    ORDER_STATE = ErrorSpec(
        40911, 409, "订单当前状态不允许此操作", "The order's state does not allow this"
    )
    LEVEL_DOWNGRADE = ErrorSpec(
        40912, 409, "更高等级的会员仍有效，到期后再购买", "A higher level is active until it ends"
    )
    DOWNLOAD_LINK_EXPIRED = ErrorSpec(
        41001, 410, "下载链接已过期，请重新获取", "This download link has expired; get a new one"
    )
    FILE_TOO_LARGE = ErrorSpec(41301, 413, "文件过大", "The file is too large")
    UNSUPPORTED_FILE = ErrorSpec(41501, 415, "不支持的文件类型", "Unsupported file type")
    VALIDATION = ErrorSpec(42201, 422, "参数校验失败", "Validation failed")
    RATE_LIMITED = ErrorSpec(42901, 429, "请求过于频繁，请稍后再试", "Too many requests")
    LOGIN_THROTTLED = ErrorSpec(
        42902, 429, "登录失败次数过多，请稍后再试", "Too many failed sign-ins"
    )
    AI_RATE_LIMITED = ErrorSpec(
        42903, 429, "AI 调用过于频繁，请稍后再试", "Too many AI calls; wait a moment"
    )
    INTERNAL = ErrorSpec(50001, 500, "服务器内部错误", "Internal server error")
    UPSTREAM = ErrorSpec(
        50201, 502, "第三方服务暂时不可用", "An upstream service failed; try again later"
    )
    AI_UNAVAILABLE = ErrorSpec(
        50301, 503, "AI 服务暂时不可用，请稍后再试", "No AI provider could answer; try again later"
    )


class AppError(Exception):
    def __init__(
        self, error: Err, detail: str = "", *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail or error.value.en)
        self.error = error
        self.detail = detail
        self.headers = headers or {}


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


def _failure(
    request: Request, error: Err, detail: Any, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        failure_body(request, error, detail), status_code=error.value.status, headers=headers
    )


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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> JSONResponse:
        return _failure(request, exc.error, exc.detail or None, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": _field(tuple(item.get("loc", ()))), "reason": item.get("msg", "")}
            for item in exc.errors()
        ]
        detail = "; ".join(f"{p['field']}: {p['reason']}" for p in problems)
        body = failure_body(request, Err.VALIDATION, detail)
        body["fields"] = problems
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error = _BY_STATUS.get(exc.status_code, Err.BAD_REQUEST)
        response = _failure(request, error, exc.detail, getattr(exc, "headers", None))
        response.status_code = exc.status_code
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return _failure(request, Err.INTERNAL, None)


def error_table_markdown() -> str:
    """The README's error table, generated from this one."""
    rows = ["| code | HTTP | message (zh) | message (en) |", "| --- | --- | --- | --- |"]
    rows += [f"| {e.value.code} | {e.value.status} | {e.value.zh} | {e.value.en} |" for e in Err]
    return "\n".join(rows)
