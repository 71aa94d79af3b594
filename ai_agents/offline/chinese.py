"""Small facts about written Chinese that the offline methods share: sentences, names, numerals."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
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


# At every character that may begin a surname, the run of Han characters from it, up to five
# (a compound surname, a two-character given name and the character after): the regular
# expression finds the few places worth a look, so Python never steps through every character.
_SURNAME_STARTS = "".join(sorted(SURNAMES | {surname[0] for surname in COMPOUND_SURNAMES}))
_SURNAME_LED = re.compile(f"(?=([{_SURNAME_STARTS}][{HAN}]{{1,4}}))")
_COMPOUND_SURNAMES = frozenset(COMPOUND_SURNAMES)


def _candidate_windows(text: str) -> Iterator[tuple[str, str]]:
    """(candidate, the character after it) for every surname-led window of the text."""
    for match in _SURNAME_LED.finditer(text):
        run = match.group(1)
        if run[:2] in _COMPOUND_SURNAMES:
            sizes: tuple[int, int] = (3, 4)
        elif run[0] in SURNAMES:
            sizes = (2, 3)
        else:
            continue
        for size in sizes:
            if size <= len(run):
                yield run[:size], run[size : size + 1]


def person_names(texts: Iterable[str], *, min_count: int = 2) -> Counter[str]:
    """Likely person names (surname + given name) with how often each occurs (`NameCounter`)."""
    counter = NameCounter()
    for text in texts:
        counter.add(text)
    return counter.names(min_count=min_count)


class NameCounter:
    """Counts surname-led windows text by text (as a long work is read), then names them.

    Without a dictionary a name is a surname followed by one or two characters that are not
    particles or common verbs, seen at least once as the subject of a verb; a longer candidate
    wins over its prefix when it accounts for most of the prefix's occurrences.
    """

    def __init__(self) -> None:
        self.windows: Counter[str] = Counter()
        self.as_subject: Counter[str] = Counter()

    def add(self, text: str) -> None:
        windows, as_subject = self.windows, self.as_subject
        for candidate, after in _candidate_windows(text):
            windows[candidate] += 1
            if after in SUBJECT_FOLLOWERS:
                as_subject[candidate] += 1

    def names(self, *, min_count: int = 2) -> Counter[str]:
        windows, as_subject = self.windows, self.as_subject
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


# --- who does something: the subject at the head of a clause ---------------------------------

# Kinship terms and roles that stand for a person a novel does not name (母亲在身后问).
ROLE_NOUNS = words(
    "母亲 父亲 妈妈 爸爸 老妈 老爸 娘 爹 奶奶 爷爷 外婆 外公 姥姥 姥爷 哥哥 姐姐 弟弟 妹妹 "
    "阿姨 叔叔 伯伯 伯父 伯母 婶婶 舅舅 舅妈 姑姑 姑妈 大爷 大妈 大娘 大叔 大哥 大姐 大嫂 嫂子 "
    "丈夫 妻子 老公 老婆 儿子 女儿 孙子 孙女 老人 老人家 老者 老头 老太太 老太婆 老妇人 "
    "男人 女人 男子 女子 少年 少女 青年 年轻人 姑娘 孩子 男孩 女孩 小孩 小姑娘 小伙子 "
    "老板 老板娘 掌柜 伙计 店员 店主 服务员 司机 医生 大夫 护士 警察 警官 老师 校长 班长 队长 "
    "师父 师傅 师兄 师姐 师弟 师妹 先生 太太 夫人 小姐 公子 少爷 将军 皇上 陛下 王爷 大人 "
    "丫鬟 丫头 管家 侍卫 掌门 长老 记者 律师 经理 主任 同事 同学 室友 邻居 陌生人 客人 来人 众人"
)
# Pronouns that stand for someone the reader already knows; a speaker's cue needs the name.
REFERRING_PRONOUNS = words("他 她 它 对方")
# Pronouns and group words that are a cue as they stand (a first-person narrator is 我).
LITERAL_PRONOUNS = words("我 你 我们 你们 他们 她们 咱们 大家 众人 有人")
_LEADING_ADVERBS = sorted(
    words(
        "这时 此时 那时 这时候 随即 随后 然后 于是 接着 忽然 突然 猛然 半晌 良久 许久 片刻后 "
        "最后 终于 这才 只见 原来 当时 不一会儿 过了一会儿"
    ),
    key=lambda word: (-len(word), word),
)
# Words that begin a predicate: what follows a subject (林小雨|轻声说, 母亲|在身后问).
PREDICATE_WORDS = sorted(
    words(
        "轻声 低声 小声 大声 高声 柔声 沉声 厉声 颤声 哑声 轻轻 低低 淡淡 冷冷 缓缓 慢慢 默默 "
        "喃喃 笑着 哭着 一边 一面 一字一句 一字一顿 一脸 一把 一口 一下 忍不住 小心翼翼 压低 "
        "冷笑 苦笑 微笑 连忙 急忙 赶紧 突然 忽然 终于 已经 正在 似乎 好像 仿佛 显然 只是 这才"
    ),
    key=lambda word: (-len(word), word),
)
PREDICATE_CHARS = SUBJECT_FOLLOWERS | frozenset(
    "在从朝冲跟和与给替仍只再竟是的了着地得咬眨吸揉挥指捂擦倒端喝扶抱闭哼咳抿挑扬垂侧凑愣怔"
    "犹迟略稍伸递接放握攥抓拍拉推按瞪瞥停蹲靠躺起进出"
)
# 战战兢兢地, 怯生生地, 认真地
_MANNER_AT = re.compile(f"(.)\\1(.)\\2地|[{HAN}](.)\\3地|[{HAN}]{{2}}地")
_NOT_PROGRESSIVE = words("着急 着实 着想 着手 着迷 着凉 着陆")
MAX_SUBJECT = 5


_PREDICATE_WORD = re.compile("|".join(PREDICATE_WORDS))
_ROLE_SUFFIX = re.compile(f"(?:{'|'.join(sorted(role for role in ROLE_NOUNS if len(role) >= 2))})$")
_STATIC_HEADS = sorted(ROLE_NOUNS | REFERRING_PRONOUNS | LITERAL_PRONOUNS, key=len, reverse=True)


def _predicate_word_at(clause: str, index: int) -> bool:
    return bool(_PREDICATE_WORD.match(clause, index) or _MANNER_AT.match(clause, index))


def _predicate_at(clause: str, index: int) -> bool:
    if _predicate_word_at(clause, index) or clause[index] in PREDICATE_CHARS:
        return True
    progressive = clause[index + 1 : index + 2] == "着"  # 看着, 笑着
    return progressive and clause[index : index + 2] not in _NOT_PROGRESSIVE


def _surname_led(clause: str) -> int:
    """The length of a surname + given name at the head of `clause` (林小雨|轻声), else 0."""
    surname = 2 if clause[:2] in COMPOUND_SURNAMES else 1
    if surname == 1 and clause[:1] not in SURNAMES:
        return 0
    for given in (2, 1):
        end = surname + given
        name = clause[:end]
        if len(name) < end or any(char in NOT_IN_NAME for char in name[surname:]):
            continue
        if name in COMMON_WORDS or name[:2] in COMMON_WORDS:
            continue
        if end == len(clause) or _predicate_at(clause, end):
            return end
    return 0


def leading_subject(clause: str, known: Iterable[str] = ()) -> tuple[str, int] | None:
    """(the subject at the head of a clause, where it ends): 母亲在身后 -> 母亲, 林小雨轻声 ->
    林小雨, 他笑着 -> 他; ("", i) when the clause opens with its predicate (轻声, 在她对面坐下);
    None when nothing short enough to be a subject heads it."""
    start = 0
    stripped = True
    while stripped:
        stripped = False
        for adverb in _LEADING_ADVERBS:
            if clause.startswith(adverb, start) and len(clause) > start + len(adverb):
                start += len(adverb)
                stripped = True
                break
    body = clause[start:]
    if not body:
        return "", start
    heads = [head for head in known if body.startswith(head)]
    heads += [head for head in _STATIC_HEADS if body.startswith(head)]
    if heads:
        head = max(heads, key=len)
        return head, start + len(head)
    if _predicate_word_at(body, 0):
        return "", start
    surname_end = _surname_led(body)
    if surname_end:
        return body[:surname_end], start + surname_end
    if body[0] in PREDICATE_CHARS:
        return "", start
    noun_end = _person_noun_head(body)
    if noun_end:
        return body[:noun_end], start + noun_end
    for index in range(1, min(len(body), MAX_SUBJECT + 1)):
        if _predicate_at(body, index):
            # 为首的黑衣人, 门外的男人: a description of a person is the person.
            described = _person_noun_head(body[index + 1 :]) if body[index] == "的" else 0
            end = index + 1 + described if described else index
            return body[:end], start + end
    if len(body) <= MAX_SUBJECT:
        return body, start + len(body)
    return None


def _person_noun(word: str) -> bool:
    """A word for a person by what they are: 王老师, 老板娘, 黑衣人 (not 一个人, 没人)."""
    if _ROLE_SUFFIX.search(word):
        return True
    return word.endswith("人") and 2 <= len(word) <= 3 and word[0] not in "一每没几多"


def _person_noun_head(text: str) -> int:
    """The length of a person noun at the head of `text` (黑衣人|勒住马缰), else 0."""
    for end in range(min(len(text), 4), 1, -1):
        if _person_noun(text[:end]):
            return end
    return 0


def looks_like_person(word: str) -> bool:
    """Whether a subject names a person: a role (母亲, 王老师), 老王/小李/阿强, or a surname and
    a given name; pronouns are people too."""
    if word in ROLE_NOUNS or word in REFERRING_PRONOUNS or word in LITERAL_PRONOUNS:
        return True
    described = word.rpartition("的")[2]  # 为首的黑衣人
    if len(word) <= MAX_SUBJECT + 2 and _person_noun(described):
        return True
    if re.fullmatch(f"[老小阿][{HAN}]", word) and word[1] not in NOT_IN_NAME:
        return True
    return 2 <= len(word) <= 4 and _surname_led(word) == len(word)
