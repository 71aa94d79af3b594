"""What a model is told about a work (brief §5.3.2): the story bible, summaries, preceding text.

Every part has a share of one character budget. A short work fits whole; for a long work
(`LONG_WORK_CHARS` and more) earlier chapters are represented by their cached rolling summaries
and only as much of the text right before the insertion point as the rest of the budget allows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

LONG_WORK_CHARS = 100_000
BIBLE_SHARE = 0.2
SUMMARY_SHARE = 0.3
MATERIAL_CHARS = 300  # at most this much of one material's text
KIND_NAMES = {"novel": "小说", "script": "剧本"}
MATERIAL_LABELS = {"character": "人物", "scene": "场景", "plot": "情节", "dialogue": "对白"}
SENTENCE_ENDS = "。！？…\n"


@dataclass(frozen=True, slots=True)
class Bible:
    title: str
    kind: str
    genre: str | None = None
    style: str | None = None
    materials: Sequence[tuple[str, str, str]] = ()  # (type, title, content)
    meta: dict[str, Any] = field(default_factory=dict)  # the chapter's Y.Map "meta"
    notes: dict[str, str] = field(default_factory=dict)  # work notes, e.g. premise


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def render_bible(bible: Bible, budget: int) -> str:
    lines = [f"作品：《{bible.title}》（{KIND_NAMES.get(bible.kind, bible.kind)}）"]
    if bible.genre:
        lines.append(f"题材：{bible.genre}")
    if bible.style:
        lines.append(f"风格：{bible.style}")
    premise = bible.notes.get("premise") or bible.notes.get("snowflake.1")
    if premise:
        lines.append(f"构想：{premise.strip()}")
    for key, value in sorted(bible.meta.items()):
        if isinstance(value, str | int | float) and str(value).strip():
            lines.append(f"本章{key}：{value}")
    for type_, title, content in bible.materials:
        label = MATERIAL_LABELS.get(type_, type_)
        lines.append(f"{label}：{title}——{(content or '').strip()[:MATERIAL_CHARS]}")
    return clip(("\n".join(lines)), budget)


def clip(text: str, budget: int) -> str:
    """The head of `text` within `budget`, cut after a sentence end where there is one."""
    if len(text) <= budget:
        return text
    head = text[:budget]
    cut = max(head.rfind(mark) for mark in SENTENCE_ENDS)
    return head[: cut + 1] if cut > budget // 2 else head


def tail(text: str, budget: int) -> str:
    """The end of `text` within `budget`, starting at a paragraph or sentence boundary."""
    if len(text) <= budget:
        return text
    window = text[len(text) - budget :]
    for marks in ("\n", SENTENCE_ENDS):
        cut = min((i for i in (window.find(m) for m in marks) if i >= 0), default=-1)
        if 0 <= cut < budget // 2:
            return window[cut + 1 :]
    return window


@dataclass(frozen=True, slots=True)
class Context:
    bible: str
    summaries: str
    preceding: str


def assemble(
    bible: Bible,
    summaries: Sequence[tuple[str, str]],
    preceding: str,
    *,
    budget: int,
) -> Context:
    """Fit the parts into `budget` characters; unused shares go to the preceding text."""
    bible_text = render_bible(bible, int(budget * BIBLE_SHARE))
    summary_budget = int(budget * SUMMARY_SHARE)
    kept: list[str] = []
    used = 0
    for title, summary in reversed(summaries):  # the nearest chapters matter most
        entry = f"{title}：{summary.strip()}"
        if used + len(entry) > summary_budget:
            break
        kept.append(entry)
        used += len(entry) + 1
    kept.reverse()
    rest = max(budget - len(bible_text) - used, budget // 4)
    return Context(
        bible=bible_text,
        summaries="\n".join(kept) or "（无）",
        preceding=tail(preceding, rest),
    )
