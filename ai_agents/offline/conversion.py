"""Novel ⇄ Fountain screenplay by rule.

Novel to script: narration becomes action; each quotation becomes a character cue and dialogue,
the speaker taken from an attribution next to the quote (林小雨轻声说：“……” or “……”林小雨笑道。),
else from a name in the paragraph's narration, else by turn-taking with the last two speakers; the
manner of speaking (轻声, 冷冷地, 笑道) becomes a parenthetical. Chapters, `***` breaks and
paragraphs after a blank line that open with a time (第二天清晨……) start scenes; the heading is
内景/外景 + the place + 日/夜 when the scene's first paragraphs name them.

Script to novel: headings become a short line of time and place, action becomes paragraphs, and
each speech becomes a quotation with its speaker and manner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from storage.text import fountain
from storage.text.fountain import Element, Script

from .chinese import (
    HAN,
    PRONOUNS,
    chinese_numeral,
    is_exterior,
    main_names,
    place_in,
    words,
)

_MANNER_WORDS = sorted(
    words(
        "轻声 低声 小声 大声 高声 柔声 沉声 厉声 颤声 哑声 笑着 哭着 喃喃 淡淡 冷冷 缓缓 急忙 连忙 "
        "忍不住 小心翼翼 压低声音 一字一顿"
    ),
    key=lambda word: (-len(word), word),
)
_MANNER = rf"(?:{'|'.join(_MANNER_WORDS)}|[{HAN}]{{1,2}}地)"
_VERB_MANNERS = {
    "笑道": "笑",
    "喊道": "大喊",
    "叫道": "大喊",
    "嚷道": "大喊",
    "吼道": "大吼",
    "叹道": "叹气",
    "骂道": "骂",
    "哭道": "哭",
    "喊": "大喊",
    "嚷": "大喊",
    "吼": "大吼",
}
_VERB_AT_END = re.compile(
    r"(?:说道|问道|答道|喊道|叫道|笑道|叹道|骂道|嚷道|吼道|哭道|回答|(?<![小据听虽再传解])说"
    r"|(?<![知难味街轨频隧管报通霸公])道|(?<![学疑顾提询])问|(?<![回解报])答|喊|叫|嚷|吼)$"
)
_MANNER_ONLY = re.compile(f"{_MANNER}(?:地)?")
MAX_SPEAKER = 6
_CLAUSE_BREAK = re.compile(r"[，,。！？!?；;：:…—、\s]")
_QUOTE = re.compile(r"“([^“”]*)(”|$)|「([^「」]*)(」|$)")

_SCENE_BREAK = re.compile(r"^\s*(?:[*＊]\s*){3,}$|^\s*[-—=~·]{3,}\s*$")
_CHAPTER = re.compile(r"^\s*第[0-9零〇一二两三四五六七八九十百千]+[章节回幕场卷](?:\s|$|[:：，、])")
_TIME_OPENING = re.compile(
    r"^(?:第二天|次日|翌日|隔天|当晚|当天|那天|那晚|傍晚|黄昏|清晨|早晨|早上|上午|中午|下午|深夜|"
    r"夜里|午后|凌晨|黎明|[一二两三四五六七八九十几数多半]+(?:天|日|周|个月|月|年)(?:后|以后|之后)|多年后)"
)
_TIMES = (
    ("夜", "深夜|夜里|夜晚|晚上|当晚|那晚|凌晨|午夜|月光|夜色|夜"),
    ("黄昏", "傍晚|黄昏|夕阳|日落"),
    ("晨", "清晨|早晨|早上|黎明|拂晓|天亮"),
    ("日", "上午|中午|正午|午后|下午|白天|阳光|烈日"),
)


@dataclass(slots=True)
class _Scene:
    chapter: str | None
    paragraphs: list[str] = field(default_factory=list)


def novel_to_fountain(text: str, *, title: str | None = None) -> str:
    """A Fountain screenplay from prose; it always parses with `storage.text.fountain.parse`."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    names = main_names([text], limit=20)
    speakers = _Speakers(names)
    elements: list[Element] = []
    for number, scene in enumerate(_scenes(text), start=1):
        if scene.chapter:
            elements.append(Element("section", scene.chapter, depth=1))
        if not scene.paragraphs:
            continue
        elements.append(Element("scene_heading", _heading(scene.paragraphs, number)))
        for paragraph in scene.paragraphs:
            elements.extend(_paragraph_elements(paragraph, speakers))
    title_page = {"Title": title, "Credit": "改编自同名小说"} if title else {}
    return fountain.write(Script(title_page, elements))


def _scenes(text: str) -> list[_Scene]:
    scenes = [_Scene(None)]
    blank_before = False
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            blank_before = True
            continue
        if _CHAPTER.match(line):
            scenes.append(_Scene(line))
        elif _SCENE_BREAK.match(line):
            scenes.append(_Scene(None))
        else:
            current = scenes[-1]
            if current.paragraphs and blank_before and _TIME_OPENING.match(line):
                scenes.append(_Scene(None))
            scenes[-1].paragraphs.append(line)
        blank_before = False
    return [scene for scene in scenes if scene.chapter or scene.paragraphs]


def _heading(paragraphs: list[str], number: int) -> str:
    opening = "\n".join(paragraphs[:3])
    place = _place(paragraphs[:3])
    time = _time(opening)
    if place is None:
        base = f"场景{chinese_numeral(number)}"
    else:
        base = f"{'外景' if is_exterior(place) else '内景'}. {place}"
    return f"{base} - {time}" if time else base


def _place(paragraphs: list[str]) -> str | None:
    for paragraph in paragraphs:
        place = place_in(_QUOTE.sub("，", paragraph))
        if place:
            return place
    return None


def _time(text: str) -> str | None:
    narration = _QUOTE.sub("，", text)
    best: tuple[int, str] | None = None
    for label, pattern in _TIMES:
        match = re.search(pattern, narration)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), label)
    return best[1] if best else None


@dataclass(slots=True)
class _Speakers:
    """Who spoke last, who was mentioned last: the memory that settles unattributed quotes."""

    names: list[str]
    spoken: list[str] = field(default_factory=list)
    mentioned: str | None = None
    open_quote_speaker: str | None = None

    def mention(self, narration: str) -> None:
        found = self.last_name_in(narration)
        if found:
            self.mentioned = found

    def last_name_in(self, narration: str) -> str | None:
        best: tuple[int, str] | None = None
        for name in self.names:
            position = narration.rfind(name)
            if position >= 0 and (best is None or position > best[0]):
                best = (position, name)
        return best[1] if best else None

    def split(self, subject: str) -> tuple[str, str | None] | None:
        """(who, manner) for 'who + manner', as in 林小雨轻声 or 她冷冷地; None if no such split."""
        for name in sorted(self.names, key=len, reverse=True):
            position = subject.rfind(name)
            if position >= 0:
                rest = subject[position + len(name) :]
                if not rest or _MANNER_ONLY.fullmatch(rest):
                    return name, rest or None
        for pronoun in sorted(PRONOUNS, key=len, reverse=True):
            rest = subject.removeprefix(pronoun)
            if rest != subject and (not rest or _MANNER_ONLY.fullmatch(rest)):
                return pronoun, rest or None
        for cut in range(len(subject) + 1):
            rest = subject[cut:]
            if not rest or _MANNER_ONLY.fullmatch(rest):
                return subject[:cut], rest or None
        return None

    def resolve(self, who: str, before: str) -> str:
        """The speaker a subject names; a pronoun or nothing means the last one mentioned."""
        if not who or who in PRONOUNS:
            return self.last_name_in(before) or self.turn()
        return who

    def turn(self) -> str:
        """The speaker of an unattributed quote: the other half of a two-person exchange."""
        if len(self.spoken) >= 2 and self.spoken[-1] != self.spoken[-2]:
            return self.spoken[-2]
        if self.mentioned and (not self.spoken or self.mentioned != self.spoken[-1]):
            return self.mentioned
        return self.spoken[-1] if self.spoken else "某人"

    def said(self, speaker: str) -> None:
        self.spoken.append(speaker)
        self.spoken[:] = self.spoken[-4:]


@dataclass(slots=True)
class _Attribution:
    speaker: str
    manner: str | None


def _attribution(clause: str, before: str, speakers: _Speakers) -> _Attribution | None:
    """The speaker and manner in a clause like 林小雨轻声说 or 她笑道; None if it is not one."""
    verb = _VERB_AT_END.search(clause)
    if not verb:
        return None
    split = speakers.split(clause[: verb.start()])
    if split is None or len(split[0]) > MAX_SPEAKER:
        return None
    who, manner = split
    return _Attribution(speakers.resolve(who, before), manner or _VERB_MANNERS.get(verb.group()))


def _last_clause(text: str) -> tuple[str, str]:
    """(text before the last clause, the last clause), trailing colon or comma dropped."""
    stripped = text.rstrip("：:，, ")
    parts = _CLAUSE_BREAK.split(stripped)
    clause = parts[-1] if parts else ""
    return stripped[: len(stripped) - len(clause)], clause


def _first_clause(text: str) -> tuple[str, str]:
    """(the first clause, the rest after its punctuation)."""
    match = _CLAUSE_BREAK.search(text)
    if not match:
        return text, ""
    return text[: match.start()], text[match.end() :]


def _paragraph_elements(paragraph: str, speakers: _Speakers) -> list[Element]:
    paragraph = _straight_quotes(paragraph)
    quotes = list(_QUOTE.finditer(paragraph))
    if not quotes:
        speakers.mention(paragraph)
        speakers.open_quote_speaker = None
        return [Element("action", paragraph)]
    elements: list[Element] = []
    previous_speaker: str | None = None
    cursor = 0
    for index, quote in enumerate(quotes):
        before = paragraph[cursor : quote.start()]
        following_start = quotes[index + 1].start() if index + 1 < len(quotes) else len(paragraph)
        after = paragraph[quote.end() : following_start]
        speech = (quote.group(1) if quote.group(1) is not None else quote.group(3)).strip()
        head, clause = _last_clause(before)
        attribution = _attribution(clause, head, speakers) if clause else None
        if attribution:
            before = head
        after_clause, after_rest = _first_clause(after.lstrip("，,"))
        after_attribution = (
            None if attribution else _attribution(after_clause, paragraph[:cursor], speakers)
        )
        if after_attribution:
            after = after_rest
            attribution = after_attribution
        _add_action(elements, before, speakers)
        if attribution is None:
            speaker = (
                (index == 0 and speakers.open_quote_speaker)
                or previous_speaker
                or speakers.last_name_in(paragraph[: quote.start()])
                or speakers.turn()
            )
            attribution = _Attribution(speaker, None)
        _add_speech(elements, attribution, speech)
        speakers.said(attribution.speaker)
        previous_speaker = attribution.speaker
        closed = bool(quote.group(2) or quote.group(4))
        speakers.open_quote_speaker = None if closed else attribution.speaker
        _add_action(elements, after, speakers)
        cursor = following_start
    return elements


def _straight_quotes(paragraph: str) -> str:
    if '"' not in paragraph:
        return paragraph
    parts = paragraph.split('"')
    return parts[0] + "".join(
        ("“" if i % 2 == 0 else "”") + part for i, part in enumerate(parts[1:])
    )


def _add_action(elements: list[Element], narration: str, speakers: _Speakers) -> None:
    narration = narration.strip().strip("，,：:；;、").strip()
    if len(re.findall(f"[{HAN}A-Za-z0-9]", narration)) < 2:
        return
    speakers.mention(narration)
    if narration[-1] not in "。！？…”":
        narration += "。"
    if elements and elements[-1].kind == "action":
        elements[-1] = Element("action", elements[-1].text + narration)
    else:
        elements.append(Element("action", narration))


def _add_speech(elements: list[Element], attribution: _Attribution, speech: str) -> None:
    parenthetical = f"({attribution.manner})" if attribution.manner else None
    continuing = _current_speaker(elements) == attribution.speaker
    if not continuing:
        elements.append(Element("character", attribution.speaker))
    if parenthetical:
        elements.append(Element("parenthetical", parenthetical))
    if continuing and not parenthetical and elements[-1].kind == "dialogue":
        elements[-1] = Element("dialogue", elements[-1].text + speech)
    else:
        elements.append(Element("dialogue", speech or "……"))


def _current_speaker(elements: list[Element]) -> str | None:
    for element in reversed(elements):
        if element.kind == "character":
            return element.text
        if element.kind not in ("dialogue", "parenthetical"):
            return None
    return None


_HEADING_PREFIX = re.compile(
    r"^(?:INT\.?/EXT|INT/EXT|I/E|INT|EXT|EST|内外景|内/外景|外/内景|内景|外景)[.．。\s]*",
    re.IGNORECASE,
)
_TIME_WORDS = {
    "DAY": "白天",
    "NIGHT": "夜里",
    "MORNING": "清晨",
    "EVENING": "傍晚",
    "日": "白天",
    "夜": "夜里",
    "晨": "清晨",
    "黄昏": "黄昏",
}
_ADVERBS = words("轻声 低声 小声 大声 高声 柔声 沉声 厉声 颤声 哑声 喃喃 淡淡 冷冷 缓缓")
_MANNER_PHRASES = {
    "笑": "笑着说",
    "大喊": "大声喊道",
    "大吼": "吼道",
    "叹气": "叹道",
    "哭": "哭着说",
}


def fountain_to_novel(text: str) -> str:
    """Prose from a Fountain screenplay; every line of dialogue is kept."""
    script = fountain.parse(text)
    paragraphs: list[str] = []
    speaker: str | None = None
    manner: str | None = None
    spoken = False
    for element in script.elements:
        kind = element.kind
        if kind == "character":
            speaker = re.sub(r"\s*[(（][^)）]*[)）]\s*$", "", element.text).strip() or element.text
            manner, spoken = None, False
            continue
        if kind == "parenthetical":
            manner = element.text.strip("()（） ")
            continue
        if kind == "dialogue" and speaker:
            speech = _join_lines(element.text)
            sentence = _speech(speaker, manner, speech, first=not spoken)
            if spoken and paragraphs:
                paragraphs[-1] += sentence
            else:
                paragraphs.append(sentence)
            manner, spoken = None, True
            continue
        speaker = None
        if kind == "scene_heading":
            line = _scene_line(element.text)
            if paragraphs:
                paragraphs.append("")
            if line:
                paragraphs.append(line)
        elif kind == "section":
            if paragraphs:
                paragraphs.append("")
            paragraphs.append(element.text)
        elif kind in ("action", "centered", "lyric"):
            paragraphs.extend(line.strip() for line in element.text.split("\n") if line.strip())
    return "\n".join(paragraphs).strip("\n") + "\n" if paragraphs else ""


def _join_lines(text: str) -> str:
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    joined = ""
    for line in lines:
        needs_space = joined and joined[-1].isascii() and line[0].isascii()
        joined += (" " if needs_space else "") + line
    return joined


def _speech(speaker: str, manner: str | None, speech: str, *, first: bool) -> str:
    if manner and not (manner.endswith("地") or manner in _ADVERBS or manner in _MANNER_PHRASES):
        return f"{speaker}{manner}，说：“{speech}”"
    verb = _MANNER_PHRASES.get(manner or "", f"{manner}说" if manner else "说")
    if first:
        return f"“{speech}”{speaker}{verb}。"
    return f"{speaker}又{verb}：“{speech}”"


def _scene_line(heading: str) -> str | None:
    body = _HEADING_PREFIX.sub("", heading).strip()
    if not body or re.fullmatch(rf"场景[{HAN}0-9]*", body.split(" - ")[0].strip()):
        parts = body.split(" - ")
        time = _TIME_WORDS.get(parts[-1].strip().upper()) if len(parts) > 1 else None
        return f"{time}。" if time else None
    parts = [part.strip() for part in re.split(r"\s+[-–—－]\s+", body) if part.strip()]
    place = parts[0]
    time = None
    if len(parts) > 1:
        time = _TIME_WORDS.get(parts[-1].upper(), parts[-1])
    return f"{time}，{place}。" if time else f"{place}。"
