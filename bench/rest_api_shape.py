"""What the server's list and search endpoints accept, read from its `/openapi.json`, and the
query the benchmark sends them: a page of 100 chapters where the chapter list pages (only the
table-of-contents fields where it offers `fields=summary`), the whole list where it does not;
search limited to chapters, with the server's default page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

CHAPTER_PAGE = 100  # chapters per page asked for, where the list pages
CURSOR_PARAMS = ("cursor", "after", "after_id", "before")
NEXT_KEYS = ("next_cursor", "cursor", "next", "next_after")


@dataclass(frozen=True)
class Listing:
    """How to ask for one page of a work's chapters."""

    params: list[str]  # every query parameter the endpoint takes
    query: dict[str, str] = field(default_factory=dict)  # the first page
    paging: str = "none"  # none | page (page numbers) | cursor
    size_param: str | None = None

    def path(self, work_id: int, extra: dict[str, str] | None = None) -> str:
        query = {**self.query, **(extra or {})}
        return f"/api/v1/works/{work_id}/chapters" + (f"?{urlencode(query)}" if query else "")

    def cursor_param(self) -> str | None:
        return next((p for p in CURSOR_PARAMS if p in self.params), None)

    def describe(self) -> str:
        if not self.query:
            return "no paging parameters: the whole list"
        return (
            f"{urlencode(self.query)} ({self.paging} paging; parameters: {', '.join(self.params)})"
        )


def _query_params(openapi: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    operation = openapi.get("paths", {}).get(path, {}).get("get", {})
    return {
        p["name"]: p.get("schema", {})
        for p in operation.get("parameters", [])
        if p.get("in") == "query"
    }


def _size(schema: dict[str, Any], wanted: int) -> str:
    maximum = schema.get("maximum")
    return str(min(wanted, int(maximum)) if maximum is not None else wanted)


def chapter_listing(openapi: dict[str, Any]) -> Listing:
    params = _query_params(openapi, "/api/v1/works/{work_id}/chapters")
    names = sorted(params)
    size_param = next((p for p in ("limit", "page_size") if p in params), None)
    if size_param is None:
        return Listing(names)
    query = {size_param: _size(params[size_param], CHAPTER_PAGE)}
    if "summary" in params.get("fields", {}).get("enum", []):
        query["fields"] = "summary"  # what a table of contents needs
    paging = "cursor" if any(p in params for p in CURSOR_PARAMS) else "page"
    return Listing(names, query, paging, size_param)


def search_path(openapi: dict[str, Any], word: str, scope: str | None = "chapters") -> str:
    """`/api/v1/search` for `word` (in chapters only, where the endpoint has `type`)."""
    params = _query_params(openapi, "/api/v1/search")
    query = {"q": word}
    if scope and "type" in params:
        query["type"] = scope
    return f"/api/v1/search?{urlencode(query)}"


def items_of(data: Any) -> list[Any]:
    """The rows of a list answer: the data itself, or its `items`."""
    if isinstance(data, list):
        return data
    return list(data.get("items", [])) if isinstance(data, dict) else []


def next_cursor(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    found = next((data[k] for k in NEXT_KEYS if data.get(k) not in (None, "")), None)
    return None if found is None else str(found)
