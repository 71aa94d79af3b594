"""The Snowflake method (雪花写作法), ten steps from a one-line premise to a first scene.

`step(n, state)` drafts step n from the premise and the earlier steps in `state` (keys are step
numbers, as ints or strings, plus "premise" and "genre"); a missing earlier step is drafted first.
Every draft is built from the writer's own words in the earlier steps, so editing a step changes
what follows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .chinese import HAN, chinese_numeral, place_in, sentences
from .outline import story_slots

STEPS: list[tuple[int, str, str]] = [
    (1, "一句话概括", "用一句话（不超过 25 字）写出整个故事：谁，想要什么，被什么阻挡。"),
    (2, "一段话概括", "把那句话扩展成一段：开端、三次灾难（冲突逐步升级）和结局。"),
    (3, "人物概要", "为每个主要人物写出：姓名、动机、目标、冲突、顿悟和一句话故事线。"),
    (4, "一页大纲", "把第二步的每一句扩展成一段，写成一页的故事梗概。"),
    (5, "人物小传", "从每个主要人物自己的视角，写一页他或她眼中的故事。"),
    (6, "四页大纲", "把第四步的每一段扩展成一页，细化因果和转折。"),
    (7, "人物档案", "为每个人物补全档案：外貌、出身、习惯、价值观、关系和变化弧线。"),
    (8, "场景列表", "把四页大纲拆成场景清单：每个场景的视角人物、地点和发生的事。"),
    (9, "场景描述", "为每个场景写一段叙述：目标、冲突、挫折，以及它如何推动下一场。"),
    (10, "初稿", "从第一个场景开始写正文初稿。"),
]
_NAME_LINE = re.compile(f"^【([{HAN}A-Za-z·]{{1,8}})】", re.MULTILINE)
_ROLES = ("主角", "同伴", "对手", "配角")


def step(number: int, state: Mapping[str | int, Any]) -> str:
    """A draft of Snowflake step `number` (1..10) from the premise and the earlier steps."""
    if number not in _DRAFTERS:
        raise ValueError(f"snowflake steps are 1..10, not {number}")
    return _DRAFTERS[number](_State(state)).strip()


class _State:
    def __init__(self, state: Mapping[str | int, Any]) -> None:
        self.raw = state
        self.premise = str(state.get("premise") or "").strip()
        self.genre = str(state.get("genre") or "").strip() or None
        self.drafted: dict[int, str] = {}

    def get(self, number: int) -> str:
        """The writer's text for a step, else this module's draft of it."""
        for key in (number, str(number)):
            value = self.raw.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        if number not in self.drafted:
            self.drafted[number] = _DRAFTERS[number](self).strip()
        return self.drafted[number]

    def slots(self) -> dict[str, str]:
        source = "\n".join(filter(None, [self.premise, self.raw_text(1)]))
        return story_slots(source, self.genre, [])

    def raw_text(self, number: int) -> str:
        for key in (number, str(number)):
            value = self.raw.get(key)
            if isinstance(value, str):
                return value
        return ""

    def characters(self) -> list[tuple[str, str]]:
        """(name, role) for the main characters, from step 3 when it exists."""
        names = _NAME_LINE.findall(self.get(3))
        return [(name, _ROLES[min(i, len(_ROLES) - 1)]) for i, name in enumerate(names)]


def _sentences(text: str) -> list[str]:
    return [s.text for s in sentences(text) if s.text.strip("。！？…")]


def _step1(state: _State) -> str:
    s = state.slots()
    if state.premise:
        first = _sentences(state.premise)
        line = first[0] if first else state.premise
        return line if line.endswith(("。", "！", "？")) else line + "。"
    return f"{s['hero']}为了{s['goal']}，不得不直面{s['rival']}，也直面自己。"


def _step2(state: _State) -> str:
    s = state.slots()
    one_line = state.get(1)
    return (
        f"{one_line}"
        f"故事开始时，{s['hero']}在{s['place']}过着看似平静的生活，心里却放不下{s['goal']}。"
        f"第一次灾难：{s['hero']}{s['conflict']}，被迫迈出第一步。"
        f"第二次灾难：{s['hero']}与{s['ally']}的计划被{s['rival']}识破，两人之间生出嫌隙，"
        f"{s['hero']}只能改变策略。"
        f"第三次灾难：真相揭开，{s['hero']}失去了最依赖的东西，跌入谷底。"
        f"结局：{s['hero']}做出最艰难的选择，与{s['rival']}正面交锋，"
        f"最终以自己的方式完成了{s['goal']}，也付出了代价。"
    )


def _step3(state: _State) -> str:
    s = state.slots()
    summary = state.get(2)
    people = [(s["hero"], "主角"), (s["ally"], "同伴"), (s["rival"], "对手")]
    blocks = []
    for name, role in people:
        lines = [line for line in _sentences(summary) if name in line]
        storyline = lines[0] if lines else f"{name}的命运与{s['hero']}的选择紧紧相连。"
        motive = {
            "主角": f"放不下{s['goal']}",
            "同伴": f"欠{s['hero']}一份情，也有自己的心事",
            "对手": f"想要的东西与{s['hero']}的目标水火不容",
        }[role]
        epiphany = {
            "主角": "真正的力量来自接受自己的软弱",
            "同伴": "信任比输赢更重要",
            "对手": "执念让自己失去了一切",
        }[role]
        blocks.append(
            f"【{name}】（{role}）\n"
            f"动机：{motive}。\n目标：在故事结束前{s['goal'] if role != '对手' else '阻止对方'}。\n"
            f"冲突：{s['conflict'] if role == '主角' else '与' + s['hero'] + '的立场冲突'}。\n"
            f"顿悟：{epiphany}。\n故事线：{storyline}"
        )
    return "\n\n".join(blocks)


def _step4(state: _State) -> str:
    s = state.slots()
    parts = _sentences(state.get(2))
    grow = (
        "{hero}的日常被细细铺开：{place}里的人与事，{hero}与{ally}之间尚未说破的关系，"
        "以及那件让{hero}夜不能寐的心事。",
        "平静只是表象，一个不起眼的细节让{hero}意识到事情并不简单，{rival}的影子第一次出现。",
        "{hero}的第一次行动换来了意料之外的后果，退路被切断，只能硬着头皮走下去。",
        "{hero}与{ally}的信任出现裂缝，{rival}趁虚而入，局势急转直下。",
        "失去依靠的{hero}独自面对真相，过去的选择一件件回来讨债。",
        "尘埃落定之后，{place}还是原来的样子，{hero}却已经不是原来的自己。",
    )
    return "\n\n".join(
        part + grow[min(index, len(grow) - 1)].format(**s) for index, part in enumerate(parts)
    )


def _step5(state: _State) -> str:
    s = state.slots()
    synopsis = state.get(4)
    blocks = []
    for name, role in state.characters():
        seen = [line for line in _sentences(synopsis) if name in line]
        view = "".join(seen[:3]) or f"在{name}看来，这是一个关于{s['goal']}的故事。"
        other = s["hero"] if name != s["hero"] else s["ally"]
        stance = "自己才是被逼到墙角的人" if role == "对手" else "每一次选择都有不得已的理由"
        blocks.append(
            f"【{name}】眼中的故事\n{view}从{name}的角度看，{stance}，而{other}并不完全理解这一点。"
        )
    return "\n\n".join(blocks)


def _step6(state: _State) -> str:
    s = state.slots()
    pages = []
    paragraphs = [p.strip() for p in state.get(4).split("\n\n") if p.strip()]
    for index, paragraph in enumerate(paragraphs, start=1):
        pages.append(
            f"第{chinese_numeral(index)}部分\n{paragraph}\n"
            f"起因：上一部分留下的问题迫使{s['hero']}行动。"
            f"经过：{s['hero']}与{s['ally']}采取行动，{s['rival']}随之应对，局势出现新的变数。"
            f"结果：一个新的问题出现，把故事推向下一部分。"
        )
    return "\n\n".join(pages)


def _step7(state: _State) -> str:
    s = state.slots()
    profiles = state.get(5)
    blocks = []
    for name, role in state.characters():
        view = next((p for p in profiles.split("\n\n") if p.startswith(f"【{name}】")), "")
        arc = view.split("\n", 1)[-1][:60] if view else f"{name}在故事中经历转变。"
        other = s["hero"] if name != s["hero"] else s["ally"]
        values = "相信只有结果才算数" if role == "对手" else "相信努力可以改变命运"
        blocks.append(
            f"【{name}】档案\n身份：{role}\n外貌：（请补充最能让读者记住的一个细节）\n"
            f"出身：与{s['place']}有关的过去。\n习惯：一个在关键时刻会暴露内心的小动作。\n"
            f"价值观：{values}。\n关系：与{other}的关系是故事的情感主线。\n变化弧线：{arc}"
        )
    return "\n\n".join(blocks)


_LABEL = re.compile(r"^(?:起因|经过|结果|目标|冲突|挫折)：")


def _scene_events(outline: str) -> list[list[str]]:
    """The plot sentences of each part of the four-page outline (labelled notes left out)."""
    parts = []
    for part in outline.split("\n\n"):
        lines = [line.strip() for line in part.split("\n") if line.strip()]
        if len(lines) > 1 and len(lines[0]) <= 8:
            lines = lines[1:]
        events = [
            sentence.split("：", 1)[1] if "：" in sentence[:7] else sentence
            for line in lines
            for sentence in _sentences(line)
            if not _LABEL.match(sentence)
        ]
        if events:
            parts.append(events)
    return parts


def _step8(state: _State) -> str:
    s = state.slots()
    profiles = _NAME_LINE.findall(state.get(7))
    names = profiles or [name for name, _ in state.characters()] or [s["hero"]]
    lines = []
    number = 0
    for events in _scene_events(state.get(6)):
        for event in events[:3]:
            number += 1
            viewpoint = next((n for n in names if n in event), names[(number - 1) % len(names)])
            place = place_in(event) or s["place"]
            lines.append(
                f"场景{chinese_numeral(number)}｜视角：{viewpoint}｜地点：{place}｜{event}"
            )
    return "\n".join(lines)


_SCENE_SHAPES = (
    (
        "想弄清眼前的异样",
        "身边的人各怀心事，没有人愿意说实话",
        "得到一条线索，却也惊动了不该惊动的人",
    ),
    ("想守住自己在乎的东西", "时间和对手都不站在这一边", "保住了一半，另一半的代价要在后面偿还"),
    ("想说服对方和自己站在一起", "过去的误会横在两人之间", "说服了对方，对方心里却另有打算"),
    ("想逃离越收越紧的局面", "每一条路都通向更深的麻烦", "暂时脱身，却发现自己正走进对手的安排"),
)


def _step9(state: _State) -> str:
    scenes = [line for line in state.get(8).split("\n") if line.strip()]
    blocks = []
    for index, line in enumerate(scenes):
        fields = line.split("｜")
        viewpoint = fields[1].removeprefix("视角：") if len(fields) > 2 else "主人公"
        goal, conflict, setback = _SCENE_SHAPES[index % len(_SCENE_SHAPES)]
        blocks.append(
            f"{fields[0]}：{fields[-1]}\n"
            f"目标：{viewpoint}{goal}。冲突：{conflict}。挫折：{viewpoint}{setback}，引出下一场。"
        )
    return "\n\n".join(blocks)


def _step10(state: _State) -> str:
    s = state.slots()
    first_scene = state.get(9).split("\n\n")[0]
    heading, _, notes = first_scene.partition("\n")
    label, _, event = heading.partition("：")
    return (
        f"{label}（初稿）\n"
        f"{s['place']}的清晨总是来得很慢。{s['hero']}站在窗前，"
        f"想着那件放不下的事——{s['goal']}。\n"
        f"{event or heading}\n"
        f"这一切，{s['hero']}还不知道会把自己带向哪里。\n"
        f"（写作提示：{notes.strip() or '写出这一场的目标、冲突和挫折。'}）"
    )


_DRAFTERS = {
    1: _step1,
    2: _step2,
    3: _step3,
    4: _step4,
    5: _step5,
    6: _step6,
    7: _step7,
    8: _step8,
    9: _step9,
    10: _step10,
}
