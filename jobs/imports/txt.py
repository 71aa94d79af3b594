"""Plain text novels: decode, find the chapter headings, rebuild paragraphs.

Handles what Chinese web-novel .txt files look like in the wild: UTF-8 with or without a BOM,
GB18030 (and so GBK/GB2312), UTF-16 with a BOM; headings such as 第一章 / 第1章 / 第十二回 /
序章 / 楔子 / 番外 / Chapter 1; a title block (《书名》, 作者：...); a table of contents listing
the headings before the text; paragraphs indented with full-width spaces and, in old files,
hard-wrapped lines.
"""

from __future__ import annotations

import codecs
import re
from itertools import pairwise
from pathlib import PurePath

from jobs.exports.model import ExportChapter, ProgressSteps, paragraphs
from jobs.imports.model import EmptyFile, ImportedWork, UndecodableText

_NUMBER = "[0-9０-９〇零一二三四五六七八九十百千万两壹贰叁肆伍陆柒捌玖拾佰仟]+"
_SEPARATOR = r"(?:$|[\s:：、.．·—\-])"
_HEADINGS = (
    # 第一章 / 第1章：/ 第十二回 / 第三卷 ... with a separator or nothing after the unit
    re.compile(rf"^第{_NUMBER}[章节回卷集部篇幕]{_SEPARATOR}"),
    # 第一章开端: 章, 卷 and 集 seldom start an ordinary sentence
    re.compile(rf"^第{_NUMBER}[章卷集]"),
    re.compile(
        rf"^(?:序章|序言|序幕|序|楔子|引子|引言|前言|尾声|后记|终章|大结局|番外(?:篇)?(?:{_NUMBER})?)"
        rf"{_SEPARATOR}"
    ),
    re.compile(
        r"^(?:chapter|part)\s+(?:\d+|[ivxlcdm]+|one|two|three|four|five|six|seven|eight|nine|ten"
        r"|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty)"
        r"(?:$|[\s:.\-–—])",
        re.IGNORECASE,
    ),
    re.compile(r"^(?:prologue|epilogue|interlude)(?:$|[\s:.\-–—])", re.IGNORECASE),
)
_HEADING_MAX = 40
_NOT_HEADING_END = ("。", "，", ",", "；", ";")
_INDENT = ("\u3000", "  ", "\t")
_CONTENTS_LABELS = {"目录", "目錄", "contents", "tableofcontents"}
_META = re.compile(
    r"^(作者|类型|分类|题材|简介|内容简介|author|genre)\s*[:：]\s*(.*)$", re.IGNORECASE
)


def is_chapter_heading(line: str) -> bool:
    text = line.strip(" \t\u3000")
    if not text or len(text) > _HEADING_MAX or text.endswith(_NOT_HEADING_END):
        return False
    return any(pattern.match(text) for pattern in _HEADINGS)


def decode(data: bytes, filename: str) -> str:
    """UTF-8 (BOM or not), UTF-16 with a BOM, else GB18030; refuse what is not text."""
    if not data.strip():
        raise EmptyFile(f"{filename} is empty")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates: tuple[str, ...] = ("utf-16",)
    else:
        candidates = ("utf-8-sig", "gb18030")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_binary(text):
            break
        return text.replace("\r\n", "\n").replace("\r", "\n")
    raise UndecodableText(
        f"{filename} is not text in UTF-8, UTF-16 or GB18030; save it as UTF-8 and try again"
    )


def _looks_binary(text: str) -> bool:
    controls = sum(1 for char in text if char < " " and char not in "\n\r\t\f\v")
    return "\x00" in text or controls > max(3, len(text) // 1000)


def parse(filename: str, data: bytes, steps: ProgressSteps) -> ImportedWork:
    text = decode(data, filename)
    steps.report(10)
    lines = text.split("\n")
    starts = [index for index, line in enumerate(lines) if is_chapter_heading(line)]
    preamble = lines[: starts[0]] if starts else []
    title, author, description, rest = _title_block(preamble)
    title = title or PurePath(filename).stem
    reflow = _is_hard_wrapped(lines)
    chapters: list[ExportChapter] = []
    if not starts:
        body = _paragraph_text(lines, reflow)
        if body:
            chapters.append(ExportChapter(_default_title(body), body))
    else:
        if len("".join(rest)) > 500:  # a long untitled opening is text, not a blurb
            chapters.append(
                ExportChapter(_default_title("".join(rest), opening=True), "\n".join(rest))
            )
        elif rest:
            description = "\n".join(filter(None, [description, *rest]))
        bounds = [*starts, len(lines)]
        for number, (start, end) in enumerate(pairwise(bounds), start=1):
            title_line = lines[start].strip(" \t\u3000")
            chapters.append(
                ExportChapter(title_line, _paragraph_text(lines[start + 1 : end], reflow))
            )
            steps.fraction(number, len(starts), start=10, end=95)
    return ImportedWork(title, "novel", _drop_contents(chapters), author, description)


def _title_block(preamble: list[str]) -> tuple[str | None, str | None, str | None, list[str]]:
    """(title, author, description, other paragraphs) from the lines before the first heading."""
    title = author = None
    blurb: list[str] = []
    rest: list[str] = []
    in_blurb = False
    for line in paragraphs("\n".join(preamble)):
        if "".join(line.split()).lower() in _CONTENTS_LABELS:
            continue
        meta = _META.match(line)
        if title is None and not meta and not rest and len(line) <= 50:
            title = line.removeprefix("《").removesuffix("》") if line.startswith("《") else line
        elif meta and meta.group(1).lower() in ("作者", "author"):
            author = meta.group(2).strip() or None
        elif meta and meta.group(1) in ("简介", "内容简介"):
            in_blurb = True
            if meta.group(2).strip():
                blurb.append(meta.group(2).strip())
        elif meta:
            continue
        elif in_blurb:
            blurb.append(line)
        else:
            rest.append(line)
    return title, author, "\n".join(blurb) or None, rest


def _is_hard_wrapped(lines: list[str]) -> bool:
    """Old files break paragraphs into short lines and mark a paragraph by its indent alone."""
    filled = [line for line in lines if line.strip(" \t\u3000")]
    indented = sum(1 for line in filled if line.startswith(_INDENT))
    if not filled or indented * 2 < len(filled):
        return False
    return any(
        lines[i].strip(" \t\u3000")
        and lines[i + 1].strip()
        and not lines[i + 1].startswith(_INDENT)
        for i in range(len(lines) - 1)
        if not is_chapter_heading(lines[i + 1])
    )


def _paragraph_text(lines: list[str], reflow: bool) -> str:
    if not reflow:
        return "\n".join(paragraphs("\n".join(lines)))
    merged: list[str] = []
    joinable = False
    for line in lines:
        text = line.strip(" \t\u3000")
        if not text:
            joinable = False
            continue
        if joinable and not line.startswith(_INDENT):
            gap = " " if merged[-1][-1:].isascii() and text[:1].isascii() else ""
            merged[-1] += gap + text
        else:
            merged.append(text)
        joinable = True
    return "\n".join(merged)


def _drop_contents(chapters: list[ExportChapter]) -> list[ExportChapter]:
    """A table of contents repeats the headings with nothing under them: keep the real ones."""
    later_titles: set[str] = set()
    kept: list[ExportChapter] = []
    for chapter in reversed(chapters):
        key = "".join(chapter.title.split())
        if chapter.text or key not in later_titles:
            kept.append(chapter)
        later_titles.add(key)
    kept.reverse()
    return kept


def _default_title(text: str, *, opening: bool = False) -> str:
    chinese = re.search(r"[\u3400-\u9fff]", text) is not None
    if opening:
        return "序" if chinese else "Prologue"
    return "正文" if chinese else "Chapter 1"
