"""Novel ⇄ Fountain screenplay by rule.

Novel to script: narration becomes action; each quotation becomes a character cue and dialogue.
The speaker comes from the common Chinese patterns (see `_paragraph_elements`): a speech verb
before or after the quote (林小雨轻声说：“……”, “……”母亲在身后问。, 老周：“……”), the subject of
the narration leading into it or of an action sentence right after it (“……”母亲叹了口气。), else
turn-taking: a bare quote after two people have spoken goes to the other one. The cue is the
name alone: 在身后, 转身, 笑着 are dropped, and a manner of speaking (轻声, 冷冷地, 笑道) becomes a
parenthetical. A quote none of this settles gets no made-up speaker: it stays in the action with
its quotation marks, for the writer to assign. Chapters, `***` breaks and paragraphs after a
blank line that open with a time (第二天清晨……) start scenes, and each scene starts a new
exchange; the heading is 内景/外景 + the place + 日/夜 when the scene's first paragraphs name them.

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
    LITERAL_PRONOUNS,
    REFERRING_PRONOUNS,
    chinese_numeral,
    is_exterior,
    leading_subject,
    looks_like_person,
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
_CLAUSE_BREAK = re.compile(r"[，,。！？!?；;：:…—、\s]")
_CLAUSE = re.compile(r"[^，,。！？!?；;：:…—、\s]+")
_PRONOUNS = REFERRING_PRONOUNS | LITERAL_PRONOUNS
_GROUPS = words("我们 你们 他们 她们 咱们 大家 众人 有人")
# A subject ending so is a place or a thing (信上说, 电话里说), not someone to give a cue.
_PLACE_ENDS = "上里中内外头"
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
    speakers = _Speakers(set(main_names([text], limit=20)))
    elements: list[Element] = []
    for number, scene in enumerate(_scenes(text), start=1):
        if scene.chapter:
            elements.append(Element("section", scene.chapter, depth=1))
        if not scene.paragraphs:
            continue
        speakers.new_scene()
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
    """Who is in the scene: the names known, who spoke and who was named, most recent last."""

    known: set[str]
    spoken: list[str] = field(default_factory=list)
    mentioned: list[str] = field(default_factory=list)
    open_quote_speaker: str | None = None

    def new_scene(self) -> None:
        self.spoken.clear()
        self.mentioned.clear()
        self.open_quote_speaker = None

    def subject(self, clause: str) -> tuple[str, int] | None:
        return leading_subject(clause, self.known)

    def is_person(self, word: str) -> bool:
        return word in self.known or looks_like_person(word)

    def people_in(self, narration: str) -> list[str]:
        """The people a piece of narration names (its clauses' subjects, known names), in order."""
        found: list[tuple[int, str]] = []
        for clause in _CLAUSE.finditer(narration):
            head = self.subject(clause.group())
            if head and head[0] and head[0] not in _PRONOUNS and self.is_person(head[0]):
                found.append((clause.start(), head[0]))
        for name in self.known:
            found.extend((match.start(), name) for match in re.finditer(re.escape(name), narration))
        return [name for _, name in sorted(found)]

    def mention(self, narration: str) -> None:
        for person in self.people_in(narration):
            self._remember(person)

    def _remember(self, person: str) -> None:
        if person in self.mentioned:
            self.mentioned.remove(person)
        self.mentioned.append(person)

    def said(self, speaker: str) -> None:
        self.spoken.append(speaker)
        del self.spoken[:-8]
        self._remember(speaker)
        if speaker not in _PRONOUNS:
            self.known.add(speaker)

    def other(self) -> str | None:
        """The other half of the scene's exchange: the last one to speak or be named before
        the last speaker; None when nobody has spoken yet."""
        if not self.spoken:
            return None
        last = self.spoken[-1]
        for candidate in (*reversed(self.spoken), *reversed(self.mentioned)):
            if candidate != last and candidate not in _GROUPS:
                return candidate
        return None

    def resolve(self, word: str, before: str) -> str | None:
        """The speaker a subject stands for. A name is itself; 他/她 (or no subject) is the last
        person the paragraph named before it, else the other half of the exchange, else the
        last person named in the scene; None when nobody fits."""
        if word and word not in REFERRING_PRONOUNS:
            return word
        if word == "对方":
            return self.other()
        named = self.people_in(before)
        if named:
            return named[-1]
        return self.other() or (self.mentioned[-1] if self.mentioned else None)

    def lead(self, text: str) -> str | None:
        """Who the last sentence of `text` is about, nearest clause first (陈默点点头，在她对面
        坐下 -> 陈默); None when none of its clauses has a person as subject."""
        stripped = text.rstrip("：:，,。！？!?… ")
        start = max(stripped.rfind(mark) for mark in "。！？!?…") + 1
        clauses = list(_CLAUSE.finditer(stripped, start))
        for clause in reversed(clauses):
            head = self.subject(clause.group())
            if head and head[0] and self.is_person(head[0]):
                return self.resolve(head[0], stripped[: clause.start()])
        return None


@dataclass(slots=True)
class _Attribution:
    speaker: str | None
    manner: str | None


def _verb_attribution(clause: str, before: str, speakers: _Speakers) -> _Attribution | None:
    """The speaker and manner in a clause like 林小雨轻声说, 母亲在身后问 or 她笑道; None if it
    is not one. `before` is the narration before it, for 他/她 and a missing subject."""
    verb = _VERB_AT_END.search(clause)
    if not verb:
        return None
    head = clause[: verb.start()]
    found = speakers.subject(head)
    if found is None:
        return None
    word, end = found
    if word and not speakers.is_person(word) and word[-1] in _PLACE_ENDS:
        # 门外忽然有人喊道: a place first, then who speaks; 信上说: nobody to give a cue.
        found = speakers.subject(head[end:])
        if found is None or not found[0] or not speakers.is_person(found[0]):
            return _Attribution(None, None)
        word, end = found[0], end + found[1]
    rest = head[end:]
    manner = rest if rest and _MANNER_ONLY.fullmatch(rest) else _VERB_MANNERS.get(verb.group())
    speaker = speakers.resolve(word, before) if word else speakers.lead(before)
    if speaker is None and not word:
        speaker = speakers.resolve("", before)
    return _Attribution(speaker, manner)


def _after_action(after: str, before: str, speakers: _Speakers) -> str | None:
    """The person an action sentence right after a quote is about (“……”母亲叹了口气。)."""
    clause, _rest = _first_clause(after.lstrip("，,"))
    head = speakers.subject(clause)
    if not head or not head[0] or not speakers.is_person(head[0]):
        return None
    return speakers.resolve(head[0], before)


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


def _gaps(paragraph: str, quotes: list[re.Match[str]]) -> list[str]:
    """The narration around the quotes: before the first, between each two, after the last."""
    starts = [0, *(quote.end() for quote in quotes)]
    ends = [*(quote.start() for quote in quotes), len(paragraph)]
    return [paragraph[start:end] for start, end in zip(starts, ends, strict=True)]


def _paragraph_elements(paragraph: str, speakers: _Speakers) -> list[Element]:
    """A paragraph's action and speeches. Who says a quote, first rule that answers: a speech
    verb before or after it (林小雨轻声说：/ 母亲在身后问), the subject of the narration that
    leads into it with a colon or comma, the speaker of the paragraph's earlier quote (or of
    a quote left open in the paragraph before), the subject of an action sentence right after
    it (母亲叹了口气), the subject of the sentence before it, the other half of the scene's
    exchange. A quote none of these settles stays in the action with its quotation marks."""
    paragraph = _straight_quotes(paragraph)
    quotes = list(_QUOTE.finditer(paragraph))
    if not quotes:
        speakers.mention(paragraph)
        speakers.open_quote_speaker = None
        return [Element("action", paragraph)]
    elements: list[Element] = []
    gaps = _gaps(paragraph, quotes)
    pending = gaps[0]
    narration = ""
    previous: str | None = speakers.open_quote_speaker
    for index, quote in enumerate(quotes):
        before, after = pending, gaps[index + 1]
        head, clause = _last_clause(before)
        attribution = _verb_attribution(clause, narration + head, speakers) if clause else None
        if attribution and attribution.speaker:
            before = head
        _add_action(elements, before, speakers)
        narration += before
        if attribution is None:
            after_clause, after_rest = _first_clause(after.lstrip("，,"))
            attribution = _verb_attribution(after_clause, narration, speakers)
            if attribution and attribution.speaker:
                after = after_rest
        speaker = attribution.speaker if attribution else None
        if attribution is None:
            speaker = _unattributed(pending, after, narration, previous, speakers)
        speech = (quote.group(1) if quote.group(1) is not None else quote.group(3)).strip()
        if speaker is None:
            _add_unattributed(elements, speech, before)
        else:
            _add_speech(elements, speaker, attribution.manner if attribution else None, speech)
            speakers.said(speaker)
        previous = speaker
        closed = bool(quote.group(2) or quote.group(4))
        speakers.open_quote_speaker = None if closed else speaker
        pending = after
    _add_action(elements, pending, speakers)
    return elements


def _unattributed(
    before: str, after: str, narration: str, previous: str | None, speakers: _Speakers
) -> str | None:
    """The speaker of a quote without a speech verb next to it (see `_paragraph_elements`)."""
    leads_in = before.rstrip().endswith(("：", ":", "，", ","))
    return (
        (speakers.lead(before) if leads_in else None)
        or previous
        or _after_action(after, narration, speakers)
        or (speakers.lead(before) if not leads_in else None)
        or speakers.other()
    )


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


def _add_unattributed(elements: list[Element], speech: str, before: str) -> None:
    """A quote nobody can be named for stays in the action with its quotation marks, so the
    writer sees a line to give a speaker instead of one the converter made up; after narration
    that leads into it (信上说：) it stays in that sentence."""
    quote = f"“{speech}”"
    lead = before.strip()
    if lead.endswith(("：", ":", "，", ",")) and elements and elements[-1].kind == "action":
        text = elements[-1].text.removesuffix("。")
        elements[-1] = Element("action", f"{text}{lead[-1]}{quote}")
    else:
        elements.append(Element("action", quote))


def _add_speech(elements: list[Element], speaker: str, manner: str | None, speech: str) -> None:
    parenthetical = f"({manner})" if manner else None
    continuing = _current_speaker(elements) == speaker
    if not continuing:
        elements.append(Element("character", speaker))
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
