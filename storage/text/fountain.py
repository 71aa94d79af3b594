"""Fountain 1.1 screenplays (https://fountain.io/syntax): parse to elements, write them back.

Elements keep the text a reader sees, without Fountain's markers (a forced scene heading's `.`, a
forced cue's `@`, a transition's `>`), except that a parenthetical keeps its brackets, `(轻声)` or
`（轻声）`, as they are printed. Action and dialogue paragraphs keep their line breaks as `\\n`.
Boneyard (`/* */`) and notes (`[[ ]]`) are dropped.

Chinese scripts are written so that any Fountain tool reads them: headings that do not start with
INT/EXT are forced with `.` (`.内景. 咖啡馆 - 日`), caseless CJK cues are forced with `@`
(`@林小雨`), transitions that are not upper-case `... TO:` are forced with `>` (`> 切至：`). The
parser also recognises `内景`/`外景` headings without the `.`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KINDS = (
    "scene_heading",
    "action",
    "character",
    "parenthetical",
    "dialogue",
    "transition",
    "centered",
    "section",
    "synopsis",
    "page_break",
    "lyric",
)


@dataclass(frozen=True, slots=True)
class Element:
    """One screenplay element.

    `dual` marks the second cue of dual dialogue (`^`); `depth` is a section's level (`#` count);
    `number` is a scene heading's scene number (`#12A#`).
    """

    kind: str
    text: str
    dual: bool = False
    depth: int = 0
    number: str = ""


@dataclass(frozen=True, slots=True)
class Script:
    title_page: dict[str, str] = field(default_factory=dict)
    elements: list[Element] = field(default_factory=list)


_SCENE_STANDARD = re.compile(r"^(?:INT\.?/EXT|INT/EXT|I/E|INT|EXT|EST)[. ]", re.IGNORECASE)
_SCENE_CHINESE = re.compile(r"^(?:内外景|内/外景|外/内景|内景|外景)[.．。\s]")
_SCENE_NUMBER = re.compile(r"\s+#([\w.\-]+)#$")
_TITLE_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9 _'-]*):(.*)$")
_BONEYARD = re.compile(r"/\*.*?\*/", re.DOTALL)
_NOTE = re.compile(r"\[\[.*?\]\]", re.DOTALL)
_PAGE_BREAK = re.compile(r"^={3,}$")
_EXTENSION = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")
_REMOVED = "\x00"
_MARKERS = ("!", "@", "~", ">", "=", "#", ".", "[[", "/*")


def parse(text: str) -> Script:
    lines = _clean_lines(text)
    title_page, index = _parse_title_page(lines)
    elements: list[Element] = []
    count = len(lines)
    while index < count:
        stripped = lines[index].strip()
        if not stripped:
            index += 1
            continue
        previous_blank = index == 0 or not lines[index - 1].strip()
        next_blank = index + 1 >= count or not lines[index + 1].strip()
        if _PAGE_BREAK.match(stripped):
            elements.append(Element("page_break", ""))
        elif stripped.startswith("!"):
            index = _read_action(lines, index, elements, forced=True)
            continue
        elif stripped.startswith("@"):
            index = _read_dialogue(lines, index, stripped[1:], elements)
            continue
        elif stripped.startswith("~"):
            index = _read_lyrics(lines, index, elements)
            continue
        elif stripped.startswith(">") and stripped.endswith("<") and len(stripped) > 1:
            elements.append(Element("centered", stripped[1:-1].strip()))
        elif stripped.startswith(">"):
            elements.append(Element("transition", stripped[1:].strip()))
        elif stripped.startswith("#"):
            depth = len(stripped) - len(stripped.lstrip("#"))
            elements.append(Element("section", stripped[depth:].strip(), depth=depth))
        elif stripped.startswith("="):
            elements.append(Element("synopsis", stripped[1:].strip()))
        elif stripped.startswith(".") and len(stripped) > 1 and stripped[1] != ".":
            elements.append(_scene_heading(stripped[1:]))
        elif previous_blank and is_scene_heading(stripped):
            elements.append(_scene_heading(stripped))
        elif previous_blank and next_blank and is_transition(stripped):
            elements.append(Element("transition", stripped))
        elif previous_blank and not next_blank and is_character_cue(stripped):
            index = _read_dialogue(lines, index, stripped, elements)
            continue
        else:
            index = _read_action(lines, index, elements, forced=False)
            continue
        index += 1
    return Script(title_page, elements)


def write(script: Script) -> str:
    out: list[str] = []
    for key, value in script.title_page.items():
        if "\n" in value:
            out.append(f"{key}:")
            out.extend(f"    {line}" for line in value.split("\n"))
        else:
            out.append(f"{key}: {value}".rstrip())
    elements = script.elements
    for position, element in enumerate(elements):
        previous = elements[position - 1].kind if position else None
        in_dialogue = element.kind in ("parenthetical", "dialogue") and previous in (
            "character",
            "parenthetical",
            "dialogue",
        )
        if out and not in_dialogue:
            out.append("")
        following = elements[position + 1].kind if position + 1 < len(elements) else None
        lines = _write_element(element, following)
        if not out and _TITLE_KEY.match(lines[0]):
            lines[0] = {"character": "@", "transition": "> "}.get(element.kind, "!") + lines[0]
        out.extend(lines)
    return "\n".join(out) + "\n" if out else ""


def is_scene_heading(line: str) -> bool:
    return bool(_SCENE_STANDARD.match(line) or _SCENE_CHINESE.match(line))


def is_transition(line: str) -> bool:
    return line.isupper() and line.endswith("TO:")


def is_character_cue(line: str) -> bool:
    """An upper-case line with at least one cased letter; an extension like (V.O.) may follow."""
    name = _EXTENSION.sub("", line.removesuffix("^").rstrip())
    return bool(name) and name.isupper() and not name.startswith(_MARKERS)


def _clean_lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text = _NOTE.sub(_REMOVED, _BONEYARD.sub(_REMOVED, text))
    lines = [line for line in text.split("\n") if not _only_removed(line)]
    return [line.replace(_REMOVED, "").rstrip("\t ") if line != "  " else line for line in lines]


def _only_removed(line: str) -> bool:
    return _REMOVED in line and not line.replace(_REMOVED, "").strip()


def _parse_title_page(lines: list[str]) -> tuple[dict[str, str], int]:
    if not lines or not _TITLE_KEY.match(lines[0]):
        return {}, 0
    title_page: dict[str, str] = {}
    key = ""
    index = 0
    while index < len(lines) and lines[index].strip():
        line = lines[index]
        match = _TITLE_KEY.match(line)
        if match and not line[0].isspace():
            key = match.group(1).strip()
            title_page[key] = match.group(2).strip()
        elif key and line[0].isspace():
            current = title_page[key]
            title_page[key] = f"{current}\n{line.strip()}" if current else line.strip()
        else:
            return {}, 0
        index += 1
    return title_page, index


def _scene_heading(text: str) -> Element:
    text = text.strip()
    match = _SCENE_NUMBER.search(text)
    if match:
        return Element("scene_heading", text[: match.start()].strip(), number=match.group(1))
    return Element("scene_heading", text)


def _read_action(lines: list[str], index: int, elements: list[Element], *, forced: bool) -> int:
    first = lines[index].lstrip() if forced else lines[index]
    paragraph = [first[1:] if forced else first]
    index += 1
    while index < len(lines) and lines[index].strip():
        paragraph.append(lines[index])
        index += 1
    elements.append(Element("action", "\n".join(paragraph)))
    return index


def _read_lyrics(lines: list[str], index: int, elements: list[Element]) -> int:
    verses: list[str] = []
    while index < len(lines) and lines[index].strip().startswith("~"):
        verses.append(lines[index].strip()[1:].strip())
        index += 1
    elements.append(Element("lyric", "\n".join(verses)))
    return index


def _read_dialogue(lines: list[str], index: int, cue: str, elements: list[Element]) -> int:
    cue = cue.strip()
    dual = cue.endswith("^")
    elements.append(Element("character", cue.removesuffix("^").rstrip(), dual=dual))
    index += 1
    speech: list[str] = []
    while index < len(lines) and (lines[index].strip() or lines[index] == "  "):
        line = lines[index].strip()
        if _is_parenthetical(line):
            if speech:
                elements.append(Element("dialogue", "\n".join(speech)))
                speech = []
            elements.append(Element("parenthetical", line))
        else:
            speech.append(line)
        index += 1
    if speech:
        elements.append(Element("dialogue", "\n".join(speech)))
    return index


def _is_parenthetical(line: str) -> bool:
    return (line.startswith("(") and line.endswith(")")) or (
        line.startswith("（") and line.endswith("）")
    )


def _write_element(element: Element, following: str | None) -> list[str]:
    text = element.text
    match element.kind:
        case "scene_heading":
            plain = _SCENE_STANDARD.match(text) and not text.startswith(".")
            number = f" #{element.number}#" if element.number else ""
            return [f"{'' if plain else '.'}{text}{number}"]
        case "character":
            plain = (
                following in ("dialogue", "parenthetical")
                and is_character_cue(text)
                and not is_scene_heading(text)
            )
            return [f"{'' if plain else '@'}{text}{' ^' if element.dual else ''}"]
        case "parenthetical":
            return [text if _is_parenthetical(text) else f"({text})"]
        case "dialogue":
            return [line.strip() or "  " for line in text.split("\n")]
        case "transition":
            return [text if is_transition(text) else f"> {text}"]
        case "centered":
            return [f"> {text} <"]
        case "section":
            return [f"{'#' * max(element.depth, 1)} {text}"]
        case "synopsis":
            return [f"= {text}"]
        case "page_break":
            return ["==="]
        case "lyric":
            return [f"~{line}" for line in text.split("\n")]
        case _:
            return _write_action(text)


def _write_action(text: str) -> list[str]:
    lines = text.split("\n")
    first = lines[0].strip()
    forced = (
        first.startswith(_MARKERS)
        or is_scene_heading(first)
        or is_transition(first)
        or (is_character_cue(first) and len(lines) > 1)
        or _PAGE_BREAK.match(first) is not None
        or not first
    )
    if forced:
        lines[0] = "!" + lines[0]
    return lines
