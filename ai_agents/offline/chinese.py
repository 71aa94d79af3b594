"""Small facts about written Chinese that the offline methods share: sentences, names, numerals."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass


def words(text: str) -> frozenset[str]:
    """A set of words written as one space-separated string."""
    return frozenset(text.split())


HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
HAN_RE = re.compile(f"[{HAN}]")
SENTENCE_ENDS = "。！？!?…"
CLOSERS = "”’」』）)"
_SENTENCE = re.compile(rf"[^{SENTENCE_ENDS}\n]*(?:[{SENTENCE_ENDS}]+[{CLOSERS}]*|\n|$)")

COMPOUND_SURNAMES = sorted(
    words(
        "欧阳 司马 上官 诸葛 东方 慕容 令狐 西门 独孤 南宫 皇甫 长孙 宇文 司徒 夏侯 轩辕 公孙 端木"
    )
)
# Common surnames, minus characters that are mostly function words (和, 时, 都, 于...).
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
    "邵万钱严覃武戴莫孔向汤温康施文牛樊葛邢齐易乔伍庞颜倪庄聂章鲁岳翟殷詹欧耿兰焦俞左柳甘祝"
    "宁符舒阮柯纪梅童凌毕季裴霍涂苗谷盛翁冉骆蓝辛靳管柴蒙鲍喻祁蒲滕屈饶艾尤穆卓缪褚娄窦戚岑"
    "景宫费卜冷晏席卫米柏宗瞿桂佟臧闵苟邬卞姬栾隋刁沙荣巫寇桑郎甄虞敖巩佘池麻苑邝匡鞠荆冀郁"
    "楚鄢奚粟冼蔺闻厉伊郜阚帅屠朴禹祖漆狄宣晋扈晁芮阙浦薄邸雍辜裘邰赫杭况宿逯茹诸慕嵇湛戎"
    "程沐萧"
)
# Characters that end a name: particles, pronouns and the verbs that follow a subject.
NOT_IN_NAME = frozenset(
    "的了是在和与跟说道问着过也都就又还把被给对向从到让叫要想会能看听走来去上下里这那我你他她它"
    "们个之而其只并且么呢吗吧啊呀哦嗯却已将于为以所因此等曾正便才再更很最太不没别有无站坐笑叹"
    "点抬低摇转望盯拿放推拉打开关皱伸接递喝吃跑停回进出起落等赶忙突忽刚仍竟总先终似像如若被"
    "一二三四五六七八九十两几每各某该此发遇见找寻带决觉认告失做收用穿完"
)
# Frequent words that begin with a surname character.
COMMON_WORDS = words(
    "高兴 方向 方法 方面 明白 安静 王国 文化 时间 全部 平静 相信 白色 金色 黄色 黄昏 白天 "
    "马上 江湖 "
    "万一 万分 石头 钱包 程度 孙子 许多 许久 宋体 夏天 秋天 冷静 冷笑 温柔 温暖 康复 米饭 毛衣 "
    "金属 林子 树林 丁点 向前 向后 向来 何必 何况 何时 何处 雷声 周围 周末 周年 包括 童年 卫生 "
    "苏醒 邓家 齐声 严肃 严重 任何 任务 余光 余下 叶子 曾经 常常 简单 关心 毕竟 伍长 宁静 "
    "方式 高中 程序 初中 钱财 金钱 马车 龙王 贾府 宁可 易燃 容易 路上 路边 龙头 雷雨 蓝色 "
    "蓝天 顾不 顾客 田野 戴上 柯南 成为 成功 杨柳 柳树 "
    "江边 江水 海边 梅花 桂花 兰花 罗盘 文字 文件 武器 武功 秦朝 宫殿 宫里 沙发 沙子 黎明 贺卡 "
    "施工 钟声 钟表 钟头 石阶 谷底 盛夏 冷风 潘多 季节 席间 宗门 甘心 凌晨 祝福 景色 骆驼"
)
PRONOUNS = words("我 你 他 她 它 我们 你们 他们 她们 大家 众人 有人 对方 自己")


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    start: int
    end: int


_ATTRIBUTION_TAIL = re.compile(f"^[{HAN}]{{1,12}}(?:说|道|问|答|喊|叫)[。！？]$")


def sentences(text: str) -> list[Sentence]:
    """Sentences with their offsets; a sentence keeps its end mark and any closing quote, and a
    quotation keeps the attribution after it (“你来了。”林小雨说。)."""
    found: list[Sentence] = []
    for match in _SENTENCE.finditer(text):
        raw = match.group()
        stripped = raw.strip()
        if not stripped:
            continue
        start = match.start() + (len(raw) - len(raw.lstrip()))
        previous = found[-1] if found else None
        if (
            previous
            and previous.end == start
            and previous.text.endswith(("”", "」"))
            and _ATTRIBUTION_TAIL.match(stripped)
        ):
            found[-1] = Sentence(previous.text + stripped, previous.start, start + len(stripped))
            continue
        found.append(Sentence(stripped, start, start + len(stripped)))
    return found


def paragraphs(text: str) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their offsets, stripped of surrounding white space."""
    offset = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            yield offset + line.index(stripped[0]), stripped
        offset += len(line) + 1


def han_count(text: str) -> int:
    return len(HAN_RE.findall(text))


# Characters that often follow a person's name as the subject of a sentence.
SUBJECT_FOLLOWERS = frozenset(
    "说道问答喊叫笑哭看望瞧盯点摇叹皱走跑站坐转抬低想回听拿把将被对向却也都就又还便正已才不没微轻冷连忙急猛突忽终"
)


def _candidate_windows(text: str) -> Iterator[tuple[str, str]]:
    """(candidate, the character after it) for every surname-led window of the text."""
    for match in re.finditer(f"[{HAN}]+", text):
        run = match.group()
        for index, char in enumerate(run):
            compound = run[index : index + 2] in COMPOUND_SURNAMES
            if not compound and char not in SURNAMES:
                continue
            sizes = (3, 4) if compound else (2, 3)
            for size in sizes:
                if index + size <= len(run):
                    yield run[index : index + size], run[index + size : index + size + 1]


def person_names(texts: Sequence[str], *, min_count: int = 2) -> Counter[str]:
    """Likely person names (surname + given name) with how often each occurs.

    Without a dictionary a name is a surname followed by one or two characters that are not
    particles or common verbs, seen at least once as the subject of a verb; a longer candidate
    wins over its prefix when it accounts for most of the prefix's occurrences.
    """
    windows: Counter[str] = Counter()
    as_subject: Counter[str] = Counter()
    for text in texts:
        for candidate, after in _candidate_windows(text):
            windows[candidate] += 1
            if after in SUBJECT_FOLLOWERS:
                as_subject[candidate] += 1
    longer: dict[str, int] = {}
    for candidate, count in windows.items():
        prefix = candidate[:-1]
        if candidate[-1] not in NOT_IN_NAME and count > longer.get(prefix, 0):
            longer[prefix] = count
    names: Counter[str] = Counter()
    for candidate, count in windows.items():
        if count < min_count or not as_subject[candidate] or candidate in COMMON_WORDS:
            continue
        surname = 2 if candidate[:2] in COMPOUND_SURNAMES else 1
        given = candidate[surname:]
        if not given or any(char in NOT_IN_NAME for char in given):
            continue
        if len(given) == 2 and count * 10 < windows[candidate[:-1]] * 7:
            continue
        if len(given) == 1 and longer.get(candidate, 0) * 10 >= count * 7:
            continue
        names[candidate] = count
    return names


def main_names(texts: Sequence[str], limit: int = 8) -> list[str]:
    """The most frequent person names, most frequent first, ties in order of appearance."""
    counted = person_names(texts)
    joined = "\n".join(texts)
    ranked = sorted(counted, key=lambda name: (-counted[name], joined.find(name)))
    return ranked[:limit]


_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_DIGITS |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
NUMBER = r"[0-9]+|[零〇一二两三四五六七八九十百千万]+"


def parse_number(text: str) -> int | None:
    """'17', '十七', '二十三', '一百零五', '二〇二三' -> int; None when it is not a number."""
    if text.isdigit():
        return int(text)
    if text and all(char in _DIGITS for char in text) and len(text) > 1:
        return int("".join(str(_DIGITS[char]) for char in text))
    total, section, digit = 0, 0, 0
    for char in text:
        if char in _DIGITS:
            digit = _DIGITS[char]
        elif char in _UNITS:
            unit = _UNITS[char]
            if unit == 10000:
                total += (section + digit) * unit
                section = 0
            else:
                section += (digit or 1) * unit
            digit = 0
        else:
            return None
    return total + section + digit if text else None


def chinese_numeral(number: int) -> str:
    """1 -> 一, 10 -> 十, 21 -> 二十一, 105 -> 一百零五 (up to 9999)."""
    digits = "零一二三四五六七八九"
    if number < 10:
        return digits[number]
    if number < 20:
        return "十" + (digits[number - 10] if number > 10 else "")
    parts: list[str] = []
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = number // value % 10
        if digit:
            if zero and parts:
                parts.append("零")
            parts.append(digits[digit] + unit)
            zero = False
        elif parts:
            zero = True
    return "".join(parts)


PLACE_SUFFIXES = sorted(
    words(
        "咖啡馆 办公室 会议室 教室 医院 学校 车厢 码头 渡口 祠堂 广场 院子 客厅 卧室 厨房 "
        "书房 酒吧 "
        "饭店 旅馆 车站 站台 公园 花园 街道 巷子 小巷 山顶 河边 湖边 海边 江边 门口 "
        "馆 店 厅 室 屋 宫 殿 楼 院 街 路 巷 桥 站 场 园 山 河 湖 海 村 镇 城 寺 庙 房 府 堂 阁 铺"
    )
)
EXTERIOR_PLACES = words(
    "码头 渡口 广场 院子 站台 公园 花园 街道 巷子 小巷 山顶 河边 湖边 海边 江边 门口 "
    "院 街 路 巷 桥 场 园 山 河 湖 海 村 镇 城"
)
_SUFFIX = "|".join(sorted(PLACE_SUFFIXES, key=len, reverse=True))
_PLACE_AFTER_VERB = re.compile(
    rf"(?:坐在|站在|住在|躺在|来到|走进|回到|进了|到了|位于|在)(?P<place>[{HAN}]{{0,4}}?(?:{_SUFFIX}))"
)
_PLACE_CLAUSE = re.compile(
    rf"(?:^|[，。、])(?P<place>[{HAN}]{{0,5}}?(?:{_SUFFIX}))(?:里|中|内|外|上)?(?=[，。]|$)"
)


def place_in(text: str) -> str | None:
    """The first place named in a text (走进咖啡馆 -> 咖啡馆), else None."""
    match = _PLACE_AFTER_VERB.search(text) or _PLACE_CLAUSE.search(text)
    return match.group("place") if match else None


def is_exterior(place: str) -> bool:
    return any(place.endswith(suffix) for suffix in EXTERIOR_PLACES)


_NAMED = re.compile(f"(?:名叫|叫做|名为|唤作)([{HAN}]{{2,3}}?)(?=[的，。、]|$)")


def names_in_short_text(text: str) -> list[str]:
    """Names in a premise or a note, where nothing repeats: 名叫X, or a surname + given name."""
    found: list[str] = [match.group(1) for match in _NAMED.finditer(text)]
    for match in re.finditer(f"[{HAN}]+", text):
        run = match.group()
        index = 0
        while index < len(run) - 1:
            surname = 2 if run[index : index + 2] in COMPOUND_SURNAMES else 1
            if surname == 1 and run[index] not in SURNAMES:
                index += 1
                continue
            given = ""
            for char in run[index + surname : index + surname + 2]:
                if char in NOT_IN_NAME:
                    break
                given += char
            name = run[index : index + surname + len(given)]
            if given and name not in COMMON_WORDS and name[:2] not in COMMON_WORDS:
                if name not in found:
                    found.append(name)
                index += len(name)
            else:
                index += 1
    return found
