"""Outlines from structure templates filled with the premise's people, place, goal and obstacle.

Scripts follow three acts; fantasy, martial-arts, science-fiction and adventure stories follow the
hero's journey; everything else follows 起承转合. Chapters are spread evenly over the beats, and a
beat that spans several chapters moves through its variants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .chinese import HAN, chinese_numeral, main_names, names_in_short_text, place_in


@dataclass(frozen=True, slots=True)
class OutlineChapter:
    title: str
    summary: str


@dataclass(frozen=True, slots=True)
class Beat:
    title: str
    summaries: tuple[str, ...]


QICHENG = (
    Beat(
        "{hero}的世界",
        (
            "交代{hero}在{place}的日常与处境，埋下{goal}的念头；{ally}的出现打破了平静。",
            "{hero}第一次与{ally}相遇，两人性格的差异带出{genre}故事的基调。",
        ),
    ),
    Beat(
        "风起",
        (
            "{hero}下定决心{goal}，开始行动，却发现事情远比想象复杂。",
            "{ally}加入，{hero}与{ally}的关系在合作与摩擦中推进，{rival}的影子初现。",
            "第一次小胜让{hero}尝到甜头，也让{rival}注意到了{hero}。",
        ),
    ),
    Beat(
        "变局",
        (
            "{hero}{conflict}，局面骤然逆转，{hero}此前的判断被证明是错的。",
            "隐藏的秘密浮出水面，{ally}与{hero}产生裂痕，{hero}陷入最低谷。",
        ),
    ),
    Beat(
        "归处",
        (
            "{hero}直面{rival}与自己的心结，在{place}做出最后的选择。",
            "尘埃落定，{hero}得到或失去了{goal}的结果，人物完成蜕变，故事回应开篇。",
        ),
    ),
)

THREE_ACTS = (
    Beat("开场", ("在{place}建立{hero}的世界与缺憾，{ally}登场，用一个具体事件展示人物性格。",)),
    Beat("激励事件", ("一件意外打破平静：{hero}{conflict}，被迫面对{goal}。",)),
    Beat("跨越门槛", ("{hero}做出无法回头的决定，与{ally}踏上{goal}之路，第一幕结束。",)),
    Beat(
        "试炼",
        (
            "{hero}与{ally}接连遭遇阻碍，{rival}步步紧逼，人物关系在压力下变化。",
            "支线展开，{ally}的动机与过去被揭示，为中点埋下伏笔。",
        ),
    ),
    Beat("中点", ("真相或假胜利出现，{hero}对{goal}的理解彻底改变，赌注升级。",)),
    Beat("危机", ("一切看似失去：{ally}离开或受困，{hero}跌入谷底，必须重新认识自己。",)),
    Beat("高潮", ("{hero}在{place}与{rival}正面交锋，用全片积累的成长赢得或付出代价。",)),
    Beat("结局", ("余波与新的平衡，呼应开场画面，{hero}已不再是原来的自己。",)),
)

HERO_JOURNEY = (
    Beat("平凡世界", ("{hero}在{place}过着平凡的生活，只有{ally}知道{hero}心中{goal}的渴望。",)),
    Beat("冒险的召唤", ("{hero}{conflict}，平静的生活被打破，冒险的召唤已无法回避。",)),
    Beat("拒绝召唤", ("恐惧与牵挂让{hero}犹豫不决，代价随之显现。",)),
    Beat("遇见导师", ("{ally}出现，给予{hero}指引、信物或一句改变命运的话。",)),
    Beat("跨越门槛", ("{hero}离开熟悉的{place}，踏入未知的世界。",)),
    Beat(
        "考验、盟友与敌人",
        (
            "新世界的规则接连考验{hero}，结识同伴，也树下{rival}这样的敌人。",
            "{hero}在一次次试炼中成长，与{ally}的羁绊加深。",
        ),
    ),
    Beat("接近洞穴", ("{hero}一行逼近{rival}的核心，准备迎接最大的挑战。",)),
    Beat("严峻考验", ("生死关头，{ally}身陷险境，{hero}直面最深的恐惧，几乎失去一切。",)),
    Beat("获得奖赏", ("{hero}熬过考验，得到关乎{goal}的宝物、真相或力量。",)),
    Beat("回归之路", ("{rival}反扑，{hero}带着所得踏上归途，追兵紧随其后。",)),
    Beat("复活", ("最后的决战中{hero}完成蜕变，以新的自我击败{rival}。",)),
    Beat("携宝而归", ("{hero}回到{place}，带回改变世界的东西，故事圆满收束。",)),
)

# For a beat that spans more chapters than it has summaries.
CONTINUATIONS = (
    "{beat}的余波中，{hero}与{ally}各自做出选择，矛盾进一步加深。",
    "围绕{goal}，{hero}尝试新的办法，{rival}也在暗中布局。",
    "节奏稍缓，一段关于{ally}过去的插曲让人物更立体，也为下一阶段埋下伏笔。",
)

STRUCTURES = {"起承转合": QICHENG, "三幕结构": THREE_ACTS, "英雄之旅": HERO_JOURNEY}
_JOURNEY_GENRES = ("玄幻", "奇幻", "仙侠", "武侠", "修真", "科幻", "冒险", "魔幻", "西幻")
_GOAL = re.compile(
    f"(?:想要|想|为了|决心|试图|必须|渴望|梦想)([{HAN}]{{2,14}}?)(?=[，。；！、]|却|但|$)"
    f"|((?:寻找|找到|追查|复仇|夺回|拯救|守护|查明|成为)[{HAN}]{{1,12}}?)(?=[，。；！、]|却|但|$)"
)
_CONFLICT = re.compile(f"(?:却|但是|然而|可是|不料|没想到)([{HAN}，]{{2,18}}?)(?=[。；！]|$)")


def structure_for(kind: str, genre: str | None) -> str:
    if kind == "script":
        return "三幕结构"
    if genre and any(word in genre for word in _JOURNEY_GENRES):
        return "英雄之旅"
    return "起承转合"


def outline(
    premise: str, *, genre: str | None, kind: str, chapters: int, corpus: list[str]
) -> list[OutlineChapter]:
    """`chapters` chapter titles and summaries for a premise, deterministic."""
    beats = STRUCTURES[structure_for(kind, genre)]
    slots = story_slots(premise, genre, corpus)
    if chapters <= 0:
        return []
    count = chapters
    unit = "场" if kind == "script" else "章"
    plan = _spread(len(beats), count)
    result: list[OutlineChapter] = []
    for number, (beat_index, part, parts) in enumerate(plan, start=1):
        beat = beats[beat_index]
        title = beat.title.format(**slots)
        if parts > 1:
            title += f"（{chinese_numeral(part + 1)}）"
        if part < len(beat.summaries):
            template = beat.summaries[part]
        else:
            template = CONTINUATIONS[(part - len(beat.summaries)) % len(CONTINUATIONS)]
        summary = template.format(beat=title.split("（")[0], **slots)
        result.append(OutlineChapter(f"第{chinese_numeral(number)}{unit} {title}", summary))
    return result


def _spread(beats: int, chapters: int) -> list[tuple[int, int, int]]:
    """(beat, part within the beat, parts of the beat) for each chapter, in order."""
    if chapters <= beats:
        if chapters == 1:
            return [(0, 0, 1)]
        picks = [round(i * (beats - 1) / (chapters - 1)) for i in range(chapters)]
        return [(beat, 0, 1) for beat in picks]
    per_beat = [chapters // beats + (1 if i < chapters % beats else 0) for i in range(beats)]
    return [(beat, part, size) for beat, size in enumerate(per_beat) for part in range(size)]


def story_slots(premise: str, genre: str | None, corpus: list[str]) -> dict[str, str]:
    """The words the templates are filled with, taken from the premise and the materials."""
    names = names_in_short_text(premise)
    for name in main_names(corpus, limit=6):
        if name not in names:
            names.append(name)
    goal_match = _GOAL.search(premise)
    goal = next((group for group in goal_match.groups() if group), "") if goal_match else ""
    conflict_match = _CONFLICT.search(premise)
    return {
        "hero": names[0] if names else "主人公",
        "ally": names[1] if len(names) > 1 else "一位意想不到的同伴",
        "rival": names[2] if len(names) > 2 else "对手",
        "place": place_in(premise) or _first_place(corpus) or "小城",
        "goal": goal.rstrip("的") or "改变自己的命运",
        "conflict": conflict_match.group(1).strip("，")
        if conflict_match
        else "遭遇了意想不到的变故",
        "genre": genre or "这个",
    }


def _first_place(corpus: list[str]) -> str | None:
    for text in corpus:
        place = place_in(text)
        if place:
            return place
    return None
