"""Comments (批注) as they live in a chapter's Yjs document: `Y.Map "comments"`.

Each comment is one entry, keyed by its id, whose value is a JSON object: a thread's first
comment holds the anchor (two Yjs relative positions, `{"from", "to"}`, as
`Y.relativePositionToJSON` writes them) and the quoted text; a reply names its thread. One entry
per comment means a reply, a resolve and an edit elsewhere never conflict. Living in the
document, comments sync live with the text, travel to other nodes with it and are kept in every
version; a version restore leaves this map alone (`restore.apply_state` edits content and meta
only), so restoring never deletes a comment.

Peers that may write the document could write anything here; readers take only well-formed
entries (`threads`). Yjs numbers are floats: ids are read back as ints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc, Map

COMMENTS = "comments"


@dataclass(slots=True)
class Comment:
    id: str
    thread: str | None  # the thread's first comment; None: this is it
    author_id: int | None
    author_name: str
    body: str
    created_at: str
    anchor: dict[str, Any] | None = None
    quote: str = ""
    mentions: list[int] = field(default_factory=list)
    resolved: bool = False
    resolved_by: str | None = None
    resolved_at: str | None = None


@dataclass(slots=True)
class Thread:
    root: Comment
    replies: list[Comment] = field(default_factory=list)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _relative(position: Any) -> dict[str, Any] | None:
    """A Yjs relative position (JSON) with int ids, or None."""
    if not isinstance(position, dict) or not isinstance(position.get("item"), dict):
        return None
    client, clock = _int(position["item"].get("client")), _int(position["item"].get("clock"))
    if client is None or clock is None:
        return None
    return {"item": {"client": client, "clock": clock}, "assoc": _int(position.get("assoc")) or 0}


def _anchor(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    start, end = _relative(value.get("from")), _relative(value.get("to"))
    return {"from": start, "to": end} if start is not None and end is not None else None


def parse(key: str, value: Any) -> Comment | None:
    """The comment an entry holds, or None for an entry that is not one."""
    if not isinstance(value, dict) or not isinstance(value.get("body"), str):
        return None
    author = value.get("author") if isinstance(value.get("author"), dict) else {}
    thread = value.get("thread")
    mentions = value.get("mentions") if isinstance(value.get("mentions"), list) else []
    return Comment(
        id=key,
        thread=thread if isinstance(thread, str) else None,
        author_id=_int(author.get("id")),
        author_name=str(author.get("name") or ""),
        body=value["body"],
        created_at=str(value.get("created_at") or ""),
        anchor=_anchor(value.get("anchor")),
        quote=str(value.get("quote") or ""),
        mentions=[m for m in (_int(x) for x in mentions) if m is not None],
        resolved=bool(value.get("resolved")),
        resolved_by=value.get("resolved_by") if isinstance(value.get("resolved_by"), str) else None,
        resolved_at=value.get("resolved_at") if isinstance(value.get("resolved_at"), str) else None,
    )


def record(comment: Comment) -> dict[str, Any]:
    """The JSON value stored for `comment`."""
    value: dict[str, Any] = {
        "thread": comment.thread,
        "author": {"id": comment.author_id, "name": comment.author_name},
        "body": comment.body,
        "created_at": comment.created_at,
        "mentions": comment.mentions,
        "resolved": comment.resolved,
        "resolved_by": comment.resolved_by,
        "resolved_at": comment.resolved_at,
    }
    if comment.thread is None:
        value["anchor"] = comment.anchor
        value["quote"] = comment.quote
    return value


def comments_of(doc: Doc) -> dict[str, Comment]:
    entries = doc.get(COMMENTS, type=Map).to_py() or {}
    found = {key: parse(key, value) for key, value in entries.items()}
    return {key: comment for key, comment in found.items() if comment is not None}


def threads(doc: Doc) -> list[Thread]:
    """The document's threads, oldest first, each with its replies oldest first; a reply
    whose thread is gone is dropped."""
    comments = comments_of(doc)
    roots = {c.id: Thread(c) for c in comments.values() if c.thread is None}
    for comment in comments.values():
        if comment.thread is not None and comment.thread in roots:
            roots[comment.thread].replies.append(comment)
    for thread in roots.values():
        thread.replies.sort(key=lambda c: (c.created_at, c.id))
    return sorted(roots.values(), key=lambda t: (t.root.created_at, t.root.id))


def appendix(doc: Doc) -> str:
    """The threads as plain text, for an export's comments appendix ("" when there are none)."""
    lines: list[str] = []
    for thread in threads(doc):
        root = thread.root
        state = "（已解决）" if root.resolved else ""
        lines.append(f"「{root.quote}」{state}")
        for comment in [root, *thread.replies]:
            lines.append(f"    {comment.author_name}：{comment.body}")
    return "\n".join(lines)
