"""Errors as values with codes: one table, raised by use cases, translated at the edge.

Nothing here knows of HTTP. A code is five digits whose first three are the HTTP status the edge
answers with (`api/envelope.py`); the two texts are the code's message in Chinese (the default)
and English.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    code: int
    zh: str
    en: str


class Err(Enum):
    BAD_REQUEST = ErrorSpec(40001, "参数错误", "Invalid request")
    BAD_CODE = ErrorSpec(40002, "验证码错误或已过期", "Wrong or expired verification code")
    WRONG_PASSWORD = ErrorSpec(40003, "原密码错误", "The current password is wrong")
    PAYMENT_SIGNATURE = ErrorSpec(
        40011, "支付通知签名无效或已过期", "Payment notification signature invalid or stale"
    )
    PAYMENT_MISMATCH = ErrorSpec(
        40012, "支付金额或币种与订单不符", "Paid amount or currency does not match the order"
    )
    PAYMENT_PROVIDER_OFF = ErrorSpec(
        40013, "该支付方式未启用", "This payment provider is not enabled"
    )
    FORMAT_NOT_FOR_WORK = ErrorSpec(
        40021, "该作品类型不支持此导出格式", "This format is not available for this work"
    )
    IMPORT_REFUSED = ErrorSpec(40022, "无法导入该文件", "This file cannot be imported")
    EXPORT_PASSWORD_UNAVAILABLE = ErrorSpec(
        40023,
        "当前部署不支持为导出文件设置密码",
        "Password-protected exports are not available on this deployment",
    )
    REPORT_TARGET_UNSUPPORTED = ErrorSpec(
        40031, "暂不支持举报此类内容", "This kind of content cannot be reported yet"
    )
    CONTENT_FLAGGED = ErrorSpec(
        40032,
        "内容未通过审核，请修改后再公开",
        "The content did not pass moderation; change it before making it public",
    )
    UNAUTHENTICATED = ErrorSpec(
        40101, "未登录或登录已过期", "Not signed in, or the session expired"
    )
    BAD_CREDENTIALS = ErrorSpec(40102, "账号或密码错误", "Wrong account or password")
    TOKEN_REVOKED = ErrorSpec(40103, "登录凭证已失效", "This token was revoked")
    REFRESH_REUSED = ErrorSpec(
        40104, "刷新凭证已被使用，请重新登录", "Refresh token reused: sign in again"
    )
    WORKS_LIMIT = ErrorSpec(
        40201, "作品数量已达当前会员上限，请升级会员", "Your plan's limit of works is reached"
    )
    FORBIDDEN = ErrorSpec(40301, "无权执行此操作", "You may not do this")
    ACCOUNT_DISABLED = ErrorSpec(40302, "账号已被禁用", "This account is disabled")
    QUOTA_EXCEEDED = ErrorSpec(
        40303, "今日额度已用完，请升级会员或明天再试", "Daily quota used up for your plan"
    )
    DOWNLOAD_LINK_INVALID = ErrorSpec(
        40321, "下载链接无效", "This download link is invalid or was altered"
    )
    CONTENT_HIDDEN = ErrorSpec(
        40331,
        "该内容已被管理员隐藏，不能公开",
        "An administrator hid this content: it stays private",
    )
    COMMENTS_CLOSED = ErrorSpec(
        40341, "作品所有者未允许查看者批注", "The work's owner does not let viewers comment"
    )
    NOT_FOUND = ErrorSpec(40401, "资源不存在", "Not found")
    NO_SUCH_USER = ErrorSpec(
        40402,
        "没有这个用户；要邀请还没有账号的人，请填写对方的邮箱",
        "No such user; to invite someone without an account, enter their email",
    )
    CONFLICT = ErrorSpec(40901, "资源冲突", "Conflict")
    USERNAME_TAKEN = ErrorSpec(40902, "用户名已被占用", "Username already taken")
    EMAIL_TAKEN = ErrorSpec(40903, "邮箱已被注册", "Email already registered")
    ALREADY_MEMBER = ErrorSpec(40904, "该用户已是成员", "Already a member")
    TASK_FINISHED = ErrorSpec(40905, "任务已结束", "The task has already finished")
    TASK_RUNNING = ErrorSpec(40906, "任务仍在进行中", "The task is still running")
    SELECTION_CHANGED = ErrorSpec(
        40907, "选中的文字已被修改，无法替换", "The selected text was changed meanwhile"
    )
    ORDER_STATE = ErrorSpec(
        40911, "订单当前状态不允许此操作", "The order's state does not allow this"
    )
    LEVEL_DOWNGRADE = ErrorSpec(
        40912, "更高等级的会员仍有效，到期后再购买", "A higher level is active until it ends"
    )
    DOWNLOAD_LINK_EXPIRED = ErrorSpec(
        41001, "下载链接已过期，请重新获取", "This download link has expired; get a new one"
    )
    FILE_TOO_LARGE = ErrorSpec(41301, "文件过大", "The file is too large")
    IMAGE_TOO_LARGE = ErrorSpec(
        41302,
        "图片尺寸过大，最大 4096×4096 像素",
        "The image is too large: at most 4096×4096 pixels",
    )
    UNSUPPORTED_FILE = ErrorSpec(41501, "不支持的文件类型", "Unsupported file type")
    IMAGE_REFUSED = ErrorSpec(
        41502,
        "文件不是完好的 PNG、JPEG、WebP 或 GIF 图片",
        "The file is not an intact PNG, JPEG, WebP or GIF image",
    )
    VALIDATION = ErrorSpec(42201, "参数校验失败", "Validation failed")
    CONVERT_TARGET_TYPE = ErrorSpec(
        42202,
        "改编结果只能放进新作品或同类型作品（剧本不能放进小说）",
        "The result goes into a new work or a work of its own type (a script never into a novel)",
    )
    RATE_LIMITED = ErrorSpec(42901, "请求过于频繁，请稍后再试", "Too many requests")
    LOGIN_THROTTLED = ErrorSpec(42902, "登录失败次数过多，请稍后再试", "Too many failed sign-ins")
    AI_RATE_LIMITED = ErrorSpec(
        42903, "AI 调用过于频繁，请稍后再试", "Too many AI calls; wait a moment"
    )
    REPORTS_RATE_LIMITED = ErrorSpec(
        42904, "举报过于频繁，请稍后再试", "Too many reports; try again later"
    )
    INTERNAL = ErrorSpec(50001, "服务器内部错误", "Internal server error")
    UPSTREAM = ErrorSpec(
        50201, "第三方服务暂时不可用", "An upstream service failed; try again later"
    )
    AI_UNAVAILABLE = ErrorSpec(
        50301, "AI 服务暂时不可用，请稍后再试", "No AI provider could answer; try again later"
    )
    OVERLOADED = ErrorSpec(
        50302, "服务繁忙，请稍后再试", "The server is busy; try again in a moment"
    )
    DATABASE_UNAVAILABLE = ErrorSpec(
        50303,
        "数据库暂时无法访问，请稍后再试",
        "A database is unavailable; try again in a few seconds",
    )


class AppError(Exception):
    """A use case refused: `error` says which way, `detail` what exactly; `retry_after_s` when
    waiting would help (limits)."""

    def __init__(self, error: Err, detail: str = "", *, retry_after_s: int | None = None) -> None:
        super().__init__(detail or error.value.en)
        self.error = error
        self.detail = detail
        self.retry_after_s = retry_after_s
