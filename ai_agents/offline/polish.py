"""Rule-based polishing of Chinese prose: punctuation, spacing, repeated words, word choice.

Each rule is a pure function from text to (text, number of changes); `polish` runs them in order
and reports what changed and what the writer might still look at. Text that already follows the
rules comes back unchanged.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .chinese import HAN, Sentence, han_count, person_names, sentences, words

STYLES = ("formal", "casual", "literary")
_CJK_PUNCT = "，。！？；：、“”‘’（）《》〈〉【】「」『』…—·"
_CJK = f"{HAN}{_CJK_PUNCT}"
_LATIN = "A-Za-z0-9"

# Colloquial or plain words and their replacements, per style. Only words that are unambiguous
# wherever they appear (no "马上", which is also "on horseback").
WORD_TABLES: dict[str, dict[str, str]] = {
    "formal": {
        "啥时候": "什么时候",
        "咋样": "怎么样",
        "咋办": "怎么办",
        "没啥": "没什么",
        "干啥": "做什么",
        "干嘛": "做什么",
        "为啥": "为什么",
        "啥": "什么",
        "咋": "怎么",
        "俺们": "我们",
        "俺": "我",
        "咱俩": "我们两人",
        "甭": "不用",
        "瞅": "看",
        "老是": "总是",
        "搞定": "完成",
        "挺好": "很好",
        "蛮好": "颇好",
    },
    "casual": {
        "然而": "可是",
        "因此": "所以",
        "倘若": "要是",
        "尚未": "还没",
    },
    "literary": {
        "然后": "随后",
        "突然": "忽然",
        "很多": "许多",
        "非常非常": "极其",
    },
}
_PANGU_STYLES = frozenset({"formal"})


@dataclass(slots=True)
class PolishResult:
    text: str
    suggestions: list[str] = field(default_factory=list)


Rule = Callable[[str], tuple[str, int]]


def _sub(pattern: str | re.Pattern[str], replacement: str | Callable[[re.Match[str]], str]) -> Rule:
    compiled = re.compile(pattern) if isinstance(pattern, str) else pattern

    def rule(text: str) -> tuple[str, int]:
        new, count = compiled.subn(replacement, text)
        return new, count if new != text else 0

    return rule


def _normalize_newlines(text: str) -> tuple[str, int]:
    new = text.replace("\r\n", "\n").replace("\r", "\n")
    return new, int(new != text)


def _full_width_alnum(text: str) -> tuple[str, int]:
    count = 0

    def half(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return "".join(chr(ord(char) - 0xFEE0) for char in match.group())

    return re.sub("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+", half, text), count


def _paragraphs(text: str) -> tuple[str, int]:
    """Trailing spaces off, stray leading half-width spaces off, at most one blank line."""
    lines = [line.rstrip().lstrip(" \t") for line in text.split("\n")]
    new = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    if text.endswith("\n") and new:
        new += "\n"
    return new, int(new != text)


_ELLIPSIS_FORMS = r"(?:\.{3,}|。{3,}|(?<!…)…(?!…)|…{3,})"
_ELLIPSIS = _sub(
    rf"(?<=[{_CJK}])[ \t]*{_ELLIPSIS_FORMS}|{_ELLIPSIS_FORMS}(?=[ \t]*[{_CJK}])",
    "……",
)
_DASH = _sub(
    rf"(?<=[{_CJK}])[ \t]*(?:-{{2,3}}|(?<!—)—(?!—)|(?<!—)———(?!—))[ \t]*(?=[{_CJK}])",
    "——",
)

_HALF_TO_FULL = {",": "，", ".": "。", "?": "？", "!": "！", ":": "：", ";": "；"}


def _half_width_punctuation(text: str) -> tuple[str, int]:
    """, . ? ! : ; after a Chinese character (or , ? ! ; before one) become full-width."""
    count = 0

    def full(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return _HALF_TO_FULL[match.group(1)]

    while True:
        new = re.sub(rf"(?<=[{_CJK}])[ \t]*([,.?!:;])(?![.\d])[ \t]*", full, text)
        new = re.sub(rf"(?<=[{_LATIN}])[ \t]*([,?!;])[ \t]*(?=[{HAN}])", full, new)
        new = re.sub(rf"(?<=[A-Za-z])(\.)[ \t]*(?=[{HAN}])", full, new)
        if new == text:
            return text, count
        text = new


def _quotes(text: str) -> tuple[str, int]:
    """Straight double quotes in a paragraph with Chinese become “ and ”, in pairs."""
    count = 0
    out: list[str] = []
    for line in text.split("\n"):
        if '"' in line and re.search(f"[{HAN}]", line):
            parts = line.split('"')
            rebuilt = parts[0]
            for index, part in enumerate(parts[1:]):
                rebuilt += ("“" if index % 2 == 0 else "”") + part
                count += 1
            line = rebuilt
        out.append(line)
    return "\n".join(out), count


_PARENTHESES = _sub(rf"\(([^()\n]*[{HAN}][^()\n]*)\)", r"（\1）")
_SPACES_BETWEEN_CJK = _sub(rf"(?<=[{_CJK}])[ \t]+(?=[{_CJK}])", "")
_REPEATED_PUNCTUATION = _sub("([，。！？；：、])\\1+", r"\1")
_DUPLICATE_PARTICLE = _sub("的的(?!确)|(?<!不)了了(?!之)", lambda match: match.group()[0])
_DUPLICATE_WORD = _sub(
    "(但是|然后|因为|所以|可是|而且|如果|虽然|已经|我们|你们|他们|她们|这个|那个|一个)\\1",
    r"\1",
)
_PANGU = re.compile(rf"(?<=[{HAN}])[ \t]*(?=[{_LATIN}])|(?<=[{_LATIN}%])[ \t]*(?=[{HAN}])")


def _word_table(style: str) -> Rule:
    table = WORD_TABLES.get(style, {})
    if not table:
        return lambda text: (text, 0)
    pattern = re.compile("|".join(re.escape(word) for word in sorted(table, key=len, reverse=True)))
    return _sub(pattern, lambda match: table[match.group()])


def _pangu(text: str) -> tuple[str, int]:
    """One space between Chinese and Latin letters or digits (盘古之白)."""
    changed = sum(1 for match in _PANGU.finditer(text) if match.group() != " ")
    return _PANGU.sub(" ", text), changed


_NOTES = {
    "newlines": "统一了换行符",
    "full_width_alnum": "将 {n} 处全角字母或数字改为半角",
    "paragraphs": "整理了段落：去掉行尾空格和多余空行",
    "ellipsis": "将 {n} 处省略号统一为“……”",
    "dash": "将 {n} 处破折号统一为“——”",
    "half_width_punctuation": "将 {n} 处半角标点改为全角标点",
    "quotes": "将 {n} 个直引号改为中文引号“”",
    "parentheses": "将 {n} 处半角括号改为全角括号",
    "spaces": "删除了 {n} 处汉字之间多余的空格",
    "repeated_punctuation": "合并了 {n} 处重复的标点",
    "duplicate_words": "删除了 {n} 处重复的字词",
    "word_table": "按“{style}”风格替换了 {n} 处用词",
    "pangu": "在中文与英文、数字之间加了空格",
}
_STYLE_NAMES = {"formal": "正式", "casual": "口语", "literary": "文学"}


def _rules(style: str) -> list[tuple[str, Rule]]:
    rules: list[tuple[str, Rule]] = [
        ("newlines", _normalize_newlines),
        ("full_width_alnum", _full_width_alnum),
        ("paragraphs", _paragraphs),
        ("ellipsis", _ELLIPSIS),
        ("dash", _DASH),
        ("half_width_punctuation", _half_width_punctuation),
        ("quotes", _quotes),
        ("parentheses", _PARENTHESES),
        ("spaces", _SPACES_BETWEEN_CJK),
        ("repeated_punctuation", _REPEATED_PUNCTUATION),
        ("duplicate_words", _duplicates),
        ("word_table", _word_table(style)),
    ]
    if style in _PANGU_STYLES:
        rules.append(("pangu", _pangu))
    return rules


def _duplicates(text: str) -> tuple[str, int]:
    text, first = _DUPLICATE_PARTICLE(text)
    text, second = _DUPLICATE_WORD(text)
    return text, first + second


def polish(text: str, style: str = "literary") -> PolishResult:
    """Polish `text` in a style (formal, casual or literary) and say what changed."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; expected one of {', '.join(STYLES)}")
    suggestions: list[str] = []
    for name, rule in _rules(style):
        text, count = rule(text)
        if count:
            note = _NOTES[name].format(n=count, style=_STYLE_NAMES[style])
            suggestions.append(note)
    suggestions.extend(advice(text))
    return PolishResult(text, suggestions)


LONG_SENTENCE = 80
_COMMON_BIGRAMS = words("我们 你们 他们 她们 自己 一个 什么 没有 这个 那个 已经 不是 就是 可以")


def advice(text: str) -> list[str]:
    """What a writer might look at: long sentences, words repeated nearby, too many 的/了."""
    notes: list[str] = []
    found = sentences(text)
    long_ones = [s.text for s in found if han_count(s.text) > LONG_SENTENCE]
    if long_ones:
        sample = long_ones[0][:20]
        notes.append(
            f"有 {len(long_ones)} 个句子超过 {LONG_SENTENCE} 字（如“{sample}……”），可考虑拆分"
        )
    names = set(person_names([text]))
    for word, count in _repeated_nearby(found, names):
        notes.append(f"“{word}”在相邻几句中出现了 {count} 次，可考虑换一种说法")
    for particle, limit in (("的", 4), ("了", 3)):
        heavy = [s.text for s in found if s.text.count(particle) > limit]
        if heavy:
            notes.append(
                f"有 {len(heavy)} 个句子用了 {limit + 1} 个以上的“{particle}”"
                f"（如“{heavy[0][:20]}……”），读来拖沓，可删减"
            )
    if text.count("“") != text.count("”"):
        notes.append("前后引号数量不一致，请检查对话引号是否成对")
    return notes


def _repeated_nearby(
    found: list[Sentence], names: set[str], window: int = 3, threshold: int = 3
) -> list[tuple[str, int]]:
    """Two-character words used `threshold` times within `window` sentences (names aside)."""
    reported: dict[str, int] = {}
    for start in range(max(len(found) - window + 1, 1)):
        chunk = "".join(s.text for s in found[start : start + window])
        bigrams = Counter(
            chunk[i : i + 2]
            for i in range(len(chunk) - 1)
            if re.fullmatch(f"[{HAN}]{{2}}", chunk[i : i + 2])
        )
        for word, count in bigrams.items():
            if (
                count >= threshold
                and word not in _COMMON_BIGRAMS
                and not any(word in name for name in names)
            ):
                reported[word] = max(reported.get(word, 0), count)
    kept: list[tuple[str, int]] = []
    for word, count in sorted(reported.items(), key=lambda item: (-item[1], item[0])):
        # 很大很大很大 also repeats 大很; keep the word seen most.
        if not any(word[0] == other[1] or word[1] == other[0] for other, _ in kept):
            kept.append((word, count))
    return kept[:5]
