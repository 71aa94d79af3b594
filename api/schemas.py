"""Shapes shared by every router: the envelope, pagination, and the bounds on ids and integers.

Every integer a request carries (path, query or body) has a lower and an upper bound, so that a
number too large for the database's BIGINT, or a page far beyond any data, is a 422 at the edge
and never reaches SQL (where SQLite raises OverflowError: a 500).
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar
from urllib.parse import urlsplit

from annotated_types import Ge, Le
from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from pydantic_core import PydanticCustomError

from .services.chapter_pages import MAX_PAGE_SIZE as MAX_CHAPTER_PAGE_SIZE
from .services.chapters import MAX_CONTENT_CHARS
from .services.usernames import USERNAME_MAX, USERNAME_MIN, is_username

T = TypeVar("T")

MAX_ID = 2**63 - 1  # BIGINT: a larger id names nothing, and must not reach the database
MAX_POSITION = MAX_CONTENT_CHARS  # a position in a chapter's text (code points) lies within it
MAX_PAGE = 100_000
MAX_PAGE_SIZE = 100

# One type for every id, wherever it arrives: `work_id: Id` in a path, a query or a body model.
Id = Annotated[int, Ge(1), Le(MAX_ID)]
IdPath = Id  # the names routers knew it by when it lived in api/routers/chapters.py
IdField = Id
Position = Annotated[int, Ge(0), Le(MAX_POSITION)]
TaskId = Annotated[str, StringConstraints(min_length=1, max_length=36)]  # uuid4: 36 characters


class Envelope(BaseModel, Generic[T]):
    code: int = Field(0, description="0 on success; see the README's error table otherwise")
    message: str = "success"
    data: T
    timestamp: int


class Page(BaseModel, Generic[T]):
    total: int
    page: int
    page_size: int
    items: list[T]


class CursorPage(Page[T], Generic[T]):
    """A page of a list that may also be walked by cursor: pass `next` as `after`."""

    page: int | None = Field(description="The page number asked for; null when walked by after")
    has_more: bool = Field(description="Whether another page follows this one")
    next: int | None = Field(description="`after` for the next page; null on the last page")


class PageQuery(BaseModel):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


# The reasons of our own validators in both languages, by pydantic error type; the 422 handler
# (api/envelope.py) answers in the caller's language. Pydantic's own reasons stay English.
LOCALIZED_REASONS = {
    "chapter_page_size": (
        f"每页章节数须在 1 到 {MAX_CHAPTER_PAGE_SIZE} 之间",
        f"page_size must be between 1 and {MAX_CHAPTER_PAGE_SIZE} chapters",
    ),
    "page_or_after": (
        "page 与 after 只能给一个：after 接着上一页的最后一章，page 按页码",
        "give page or after, not both: after continues from a page's last chapter",
    ),
    "username": (
        f"用户名须为 {USERNAME_MIN} 到 {USERNAME_MAX} 个文字、数字、_、- 或 ·，"
        "至少一个文字或数字，不含看不见的字符",
        f"a username is {USERNAME_MIN} to {USERNAME_MAX} letters, digits, _, - or ·, "
        "with at least one letter or digit and no invisible characters",
    ),
    "web_url": (
        "只接受 http:// 或 https:// 开头的完整链接，或本站路径（以 / 开头）",
        "only complete http:// or https:// links, or paths on this site (starting with /)",
    ),
}


def _is_web_link(text: str) -> bool:
    if "\\" in text or not text.isprintable():  # a browser reads `\` as `/`: `/\x` is `//x`
        return False
    if text.startswith("/"):
        return not text.startswith("//")  # `//host` is another site
    try:
        parts = urlsplit(text)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _web_url(value: str) -> str:
    """An http(s) link or a path on this site: never `javascript:`, `data:` or a
    scheme-relative `//host`, which a page showing it would run or load from elsewhere."""
    text = value.strip()
    if text and not _is_web_link(text):
        raise PydanticCustomError("web_url", LOCALIZED_REASONS["web_url"][1])
    return text


WebUrl = Annotated[str, Field(max_length=500), AfterValidator(_web_url)]
"""A link a user sets (a work's cover): http(s), or a path on this site."""


def username_refused() -> PydanticCustomError:
    return PydanticCustomError("username", LOCALIZED_REASONS["username"][1])


def _username(value: str) -> str:
    if not is_username(value):
        raise username_refused()
    return value


_USERNAME_SCHEMA = {
    "minLength": USERNAME_MIN,
    "maxLength": USERNAME_MAX,
    "description": f"{USERNAME_MIN}–{USERNAME_MAX} letters (any script, accents included), "
    "digits, _, - or ·, with at least one letter or digit",
}
# The lengths are checked with the characters (`_username`), so that every refusal of a name
# gives the same localized reason; they are in the schema for clients.
Username = Annotated[str, Field(json_schema_extra=_USERNAME_SCHEMA), AfterValidator(_username)]
"""A username as one chooses it (`services/usernames.py`)."""

UncheckedRename = Annotated[
    str,
    Field(
        json_schema_extra={
            **_USERNAME_SCHEMA,
            "description": f"{_USERNAME_SCHEMA['description']}; or the name one has already",
        }
    ),
]
"""A rename, checked by the router: a username, or the name one already has (a rule tightened
since it was chosen must not stop a profile from being saved)."""
