"""Long-text review (长文本审校): names, timeline and repeated passages across a whole work.

Each chapter is read once (chunk by chunk); what is learned (names and how often they occur, ages,
dates, paragraph fingerprints) is then compared across chapters. Every finding points at a chapter
and a character range, with the earlier passages it conflicts with in `related`.

- Names: a rare spelling one character away from a frequent name (林晓雨 beside 林小雨), a
  traditional-character spelling (林曉雨), or for two-character names a homophone (陈墨/陈默).
- Timeline: a person's stated age that goes down, or rises faster than the years the text lets
  pass; two birth years for one person; a weekday or date that does not follow from the previous
  one and the days passed since (第二天, 三天后); a date whose weekday is wrong for its year.
- Repetition: paragraphs that share most of their 8-character shingles with an earlier one, and
  long sentences repeated word for word.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..chinese import person_names
from .findings import Chapter, Finding
from .names import MIN_NAME_COUNT, name_findings
from .repetition import repetition_findings
from .timeline import timeline_findings


def review(chapters: Sequence[Chapter]) -> list[Finding]:
    """Findings for a work given as (chapter_id, title, text) in reading order."""
    order = {chapter_id: index for index, (chapter_id, _, _) in enumerate(chapters)}
    names = person_names([text for _, _, text in chapters], min_count=MIN_NAME_COUNT)
    findings = [
        *name_findings(chapters, names),
        *timeline_findings(chapters, names),
        *repetition_findings(chapters),
    ]
    return sorted(findings, key=lambda f: (order[f.chapter_id], f.start, f.kind))
