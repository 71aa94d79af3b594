"""Rule-based polishing of Chinese prose: punctuation, spacing, repeats, 的/地/得, word choice.

Each rule is a pure function from text to (text, the corrections it made); `polish` runs them in
order and reports each correction with its reason, then what the writer might still look at. Text
that already follows the rules comes back unchanged with no corrections, so callers can tell a
real edit from none (the offline provider never offers an unchanged selection as an edit).
Rules favour precision: 的/地/得 are corrected only in patterns where one reading is wrong.
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
_STYLE_NAMES = {"formal": "正式", "casual": "口语", "literary": "文学"}
MAX_LISTED = 12  # corrections listed one by one; the rest are counted


@dataclass(frozen=True, slots=True)
class Correction:
    """One change: the text it replaced, what it wrote, and why."""

    before: str
    after: str
    reason: str

    def describe(self) -> str:
        before, after = self.before.strip(), self.after.strip()
        if not before or not after:  # white space only: the reason says it all
            return self.reason
        return f"「{_clip(before)}」→「{_clip(after)}」：{self.reason}"


def _clip(text: str, limit: int = 16) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


@dataclass(slots=True)
class PolishResult:
    text: str
    suggestions: list[str] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)


Rule = Callable[[str], tuple[str, list[Correction]]]
Reason = str | Callable[[re.Match[str]], str]


def _sub(
    pattern: str | re.Pattern[str],
    replacement: str | Callable[[re.Match[str]], str],
    reason: Reason,
) -> Rule:
    compiled = re.compile(pattern) if isinstance(pattern, str) else pattern

    def rule(text: str) -> tuple[str, list[Correction]]:
        found: list[Correction] = []

        def replace(match: re.Match[str]) -> str:
            new = match.expand(replacement) if isinstance(replacement, str) else replacement(match)
            if new != match.group():
                why = reason if isinstance(reason, str) else reason(match)
                found.append(Correction(match.group(), new, why))
            return new

        return compiled.sub(replace, text), found

    return rule


def _whole(transform: Callable[[str], str], reason: str) -> Rule:
    """A layout rule applied to the whole text: one correction if it changed anything."""

    def rule(text: str) -> tuple[str, list[Correction]]:
        new = transform(text)
        return new, [Correction("", "", reason)] if new != text else []

    return rule


def _tidy_paragraphs(text: str) -> str:
    """Trailing spaces off, stray leading half-width spaces off, at most one blank line."""
    lines = [line.rstrip().lstrip(" \t") for line in text.split("\n")]
    new = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    if text.endswith("\n") and new:
        new += "\n"
    return new


_NEWLINES = _whole(lambda text: text.replace("\r\n", "\n").replace("\r", "\n"), "统一换行符")
_PARAGRAPHS = _whole(_tidy_paragraphs, "去掉行尾空格和多余空行")
_FULL_WIDTH_ALNUM = _sub(
    "[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+",
    lambda match: "".join(chr(ord(char) - 0xFEE0) for char in match.group()),
    "字母和数字用半角",
)

_ELLIPSIS_FORMS = r"(?:\.{3,}|。{3,}|(?<!…)…(?!…)|…{3,})"
_ELLIPSIS = _sub(
    rf"(?<=[{_CJK}])[ \t]*{_ELLIPSIS_FORMS}|{_ELLIPSIS_FORMS}(?=[ \t]*[{_CJK}])",
    "……",
    "省略号用“……”",
)
_DASH = _sub(
    rf"(?<=[{_CJK}])[ \t]*(?:-{{2,3}}|(?<!—)—(?!—)|(?<!—)———(?!—))[ \t]*(?=[{_CJK}])",
    "——",
    "破折号用“——”",
)

_HALF_TO_FULL = {",": "，", ".": "。", "?": "？", "!": "！", ":": "：", ";": "；"}
_FULL_WIDTH_REASON = "中文里用全角标点"
_HALF_WIDTH_RULES = [
    # , . ? ! : ; after a Chinese character (or , ? ! ; before one) become full-width.
    _sub(
        rf"(?<=[{_CJK}])[ \t]*([,.?!:;])(?![.\d])[ \t]*",
        lambda match: _HALF_TO_FULL[match.group(1)],
        _FULL_WIDTH_REASON,
    ),
    _sub(
        rf"(?<=[{_LATIN}])[ \t]*([,?!;])[ \t]*(?=[{HAN}])",
        lambda match: _HALF_TO_FULL[match.group(1)],
        _FULL_WIDTH_REASON,
    ),
    _sub(rf"(?<=[A-Za-z])(\.)[ \t]*(?=[{HAN}])", "。", _FULL_WIDTH_REASON),
]


def _half_width_punctuation(text: str) -> tuple[str, list[Correction]]:
    found: list[Correction] = []
    while True:  # "好!!" needs two passes: each mark makes the next one follow a CJK mark
        before = text
        for rule in _HALF_WIDTH_RULES:
            text, more = rule(text)
            found += more
        if text == before:
            return text, found


_QUOTE_PAIR = _sub('"([^"\n]*)"', r"“\1”", "中文里用弯引号“”")
_LONE_QUOTE = _sub('"', "“", "中文里用弯引号“”")


def _quotes(text: str) -> tuple[str, list[Correction]]:
    """Straight double quotes in a paragraph with Chinese become “ and ”, in pairs."""
    found: list[Correction] = []
    out: list[str] = []
    for line in text.split("\n"):
        if '"' in line and re.search(f"[{HAN}]", line):
            line, pairs = _QUOTE_PAIR(line)
            line, lone = _LONE_QUOTE(line)
            found += pairs + lone
        out.append(line)
    return "\n".join(out), found


_PARENTHESES = _sub(rf"\(([^()\n]*[{HAN}][^()\n]*)\)", r"（\1）", "中文里用全角括号")
_SPACES_BETWEEN_CJK = _sub(rf"(?<=[{_CJK}])[ \t]+(?=[{_CJK}])", "", "汉字之间不空格")
_REPEATED_PUNCTUATION = _sub("([，。！？；：、])\\1+", r"\1", "重复的标点")


def _repeated(match: re.Match[str]) -> str:
    return f"重复的“{match.group(1)}”"


_DUPLICATE_PARTICLE = _sub(
    "(的)的(?!确)|(?<!不)(了)了(?!之)",
    lambda m: m.group(1) or m.group(2),
    lambda m: f"重复的“{m.group(1) or m.group(2)}”",
)
_DUPLICATE_WORD = _sub(
    "(但是|然后|因为|所以|可是|而且|如果|虽然|已经|我们|你们|他们|她们|这个|那个|一个)\\1",
    r"\1",
    _repeated,
)

# 的/地/得, only where the other reading is ungrammatical:
# an adverbial word + 的 + a verb that goes on (了/着/a direction...) or a speech verb + "："
# → 地 (轻轻的关上 → 轻轻地关上; 淡淡的笑容 and 静静的走廊 are left alone);
_ADVERBIALS = words(
    "慢慢 轻轻 静静 悄悄 默默 渐渐 缓缓 匆匆 狠狠 紧紧 深深 偷偷 暗暗 远远 早早 好好 细细 "
    "呆呆 愣愣 直直 微微 冷冷 淡淡 怔怔 傻傻 久久 牢牢 死死 重重 很快 飞快 迅速 不停 拼命 "
    "使劲 用力 认真 仔细 小心 大声 小声 轻声 低声 高兴 开心 温柔 冷静 平静 得意 生气 无奈 "
    "惊讶 好奇 疑惑 紧张 慌张 不安 害羞 耐心 兴奋 激动"
)
_VERBS = (
    "说问答喊叫哭笑看望盯瞪瞥点摇走跑跳站坐躺转抬低吸握抓拉推拍摸抚搂关放拿递"
    "接写读念听吃喝咬眨闭睁跟离靠挪移退穿脱擦洗收躲逃追等挥扔撕揉翻爬敲踢踩打"
)
_GOES_ON = "了着过起出进上下去来回到住开头一向在"
_SPEECH = "说问答喊叫道"
_ADVERBIAL_DI = _sub(
    rf"({'|'.join(sorted(_ADVERBIALS, key=len, reverse=True))})的"
    rf"([{_VERBS}](?=[{_GOES_ON}])|[{_SPEECH}](?=[：，“]))",
    r"\1地\2",
    "修饰动词用“地”",
)
# a verb or adjective + 的 + a degree word (not 很多/很少: "去过的很多地方") → 得;
_COMPLEMENT_DE = _sub(
    "(跑|飞|睡|醒|哭|笑|跳|长|玩|变|活|忙|累|饿|困|急|吓|疼|痛)的"
    "(很|非常|特别|十分|太|那么|这么|越来越)(?![多少])",
    r"\1得\2",
    "引出程度补语用“得”",
)
_EXTENT_DE = _sub(rf"([{HAN}])的(不得了|要命|要死)(?!的)", r"\1得\2", "引出程度补语用“得”")
# and 觉的 after a subject or an adverb is always 觉得 (睡觉的 and 午觉的 are left alone).
_JUEDE = _sub("(?<=[我你他她它们也都总就还却倒真])觉的", "觉得", "“觉得”不写作“觉的”")


def _word_table(style: str) -> Rule:
    table = WORD_TABLES.get(style, {})
    if not table:
        return lambda text: (text, [])
    pattern = re.compile("|".join(re.escape(word) for word in sorted(table, key=len, reverse=True)))
    reason = f"{_STYLE_NAMES[style]}风格的用词"
    return _sub(pattern, lambda match: table[match.group()], reason)


# One space between Chinese and Latin letters or digits (盘古之白).
_PANGU = _sub(
    rf"(?<=[{HAN}])[ \t]*(?=[{_LATIN}])|(?<=[{_LATIN}%])[ \t]*(?=[{HAN}])",
    " ",
    "中文与英文、数字之间加空格",
)


def _rules(style: str) -> list[Rule]:
    rules: list[Rule] = [
        _NEWLINES,
        _FULL_WIDTH_ALNUM,
        _PARAGRAPHS,
        _ELLIPSIS,
        _DASH,
        _half_width_punctuation,
        _quotes,
        _PARENTHESES,
        _SPACES_BETWEEN_CJK,
        _REPEATED_PUNCTUATION,
        _DUPLICATE_PARTICLE,
        _DUPLICATE_WORD,
        _ADVERBIAL_DI,
        _COMPLEMENT_DE,
        _EXTENT_DE,
        _JUEDE,
        _word_table(style),
    ]
    if style in _PANGU_STYLES:
        rules.append(_PANGU)
    return rules


def polish(text: str, style: str = "literary") -> PolishResult:
    """Polish `text` in a style (formal, casual or literary): each correction with its reason."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; expected one of {', '.join(STYLES)}")
    corrections: list[Correction] = []
    for rule in _rules(style):
        text, found = rule(text)
        corrections += found
    return PolishResult(text, describe(corrections) + advice(text), corrections)


def describe(corrections: list[Correction]) -> list[str]:
    """One line per distinct correction, with how often it was made."""
    counted = Counter(correction.describe() for correction in corrections)
    lines = [line if n == 1 else f"{line}（{n} 处）" for line, n in counted.items()]
    if len(lines) > MAX_LISTED:
        rest = sum(n for _, n in list(counted.items())[MAX_LISTED - 1 :])
        lines = [*lines[: MAX_LISTED - 1], f"另有 {rest} 处同类修改"]
    return lines


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
