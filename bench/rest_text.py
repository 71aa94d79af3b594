"""Chinese chapter text for the REST benchmark: ~3,000 characters a chapter, seeded.

Sentences put a few recurring names, times and places (so common two-character words such as
时候 occur in every chapter, as in a real novel) around a run of common characters drawn at
random, so that no two paragraphs repeat (the long-text review looks for repeated passages).
Each chapter also carries one Latin marker (`inkmark00042`): searching for it tells when the
server's search index holds that chapter.
"""

from __future__ import annotations

import random

CHAPTER_CHARS = 3000
COMMON_WORD = "时候"
SEARCH_WORDS = ("时候", "外祖母", "石桥", "台灯", "河边", "回头", "一声", "没有")

NAMES = ("林晚", "周野", "沈知秋", "陆川", "许青禾", "顾长安", "苏念", "江屿")
TIMES = (
    "清晨",
    "傍晚",
    "那天夜里",
    "第二天一早",
    "雨停的时候",
    "天快亮的时候",
    "午后",
    "半夜里",
    "太阳落山的时候",
    "临走的时候",
)
PLACES = (
    "旧书店",
    "河边",
    "石桥上",
    "巷子口",
    "茶馆里",
    "车站",
    "院子里",
    "山路上",
    "码头",
    "药铺门前",
    "城墙下",
    "渡口",
)
ACTIONS = (
    "推开了门",
    "停下了脚步",
    "回头看了一眼",
    "轻轻叹了口气",
    "把信折好放进口袋",
    "点亮了台灯",
    "望着窗外出神",
    "收起了伞",
    "倒了一杯热茶",
    "想起了外祖母的话",
    "应了一声",
    "没有说话",
)
FILLER = (
    "的一是不了人我在有他这中大来上个到说们为子和你地出道也时年得就那要下以生会自着去之过家"
    "对可里后小么心多天而能好都然没日于起还发成事只作当想看无开手用行方又如前所本见经头面同"
    "已老从动两长知样现分外但身些与高意进把法此实回理美点月明其种声全己话儿者向情部正名定女"
    "问力给等几很最间新什打便位因重被走四第门相次东海口西再平真听世气信北少并内加由却先山五"
    "水万眼体别处总才场书比住九笑目立马命张活难数件安表原车白应路期叫死常感金何更反合放做记"
    "边风干接许特觉望直林南度色字请交爱让百吃怎元六指思非流每青夫连远友孩站改形早房音火则首"
    "单据影失拿香似若弟谁校读志飞观包落视喜离虽坏急跑谈仍夜故秋冬春雪雨云河桥灯窗墙街巷茶伞"
)


class ChapterText:
    """Chapters of one work; the same seed gives the same text."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def sentence(self) -> str:
        r = self.random
        filler = "".join(r.choice(FILLER) for _ in range(r.randint(6, 14)))
        name, other = r.sample(NAMES, 2)
        match r.randrange(4):
            case 0:
                return (
                    f"{r.choice(TIMES)}，{name}在{r.choice(PLACES)}{r.choice(ACTIONS)}，{filler}。"
                )
            case 1:
                return f"{name}想起{other}说过的话，{filler}，{r.choice(ACTIONS)}。"
            case 2:
                return f"“{filler}？”{name}问{other}。"
            case _:
                return f"{r.choice(PLACES)}的{filler}，{name}{r.choice(ACTIONS)}。"

    def paragraph(self) -> str:
        return "".join(self.sentence() for _ in range(self.random.randint(4, 7)))

    def paragraphs(self, number: int, chars: int = CHAPTER_CHARS) -> list[str]:
        """About `chars` characters of paragraphs, the last one ending with the chapter's marker."""
        paragraphs: list[str] = []
        size = 0
        while size < chars:
            paragraphs.append(self.paragraph())
            size += len(paragraphs[-1])
        paragraphs[-1] += f"（{marker(number)}）"
        return paragraphs


def marker(number: int) -> str:
    """The Latin word only chapter `number` holds."""
    return f"inkmark{number:05d}"


def join(paragraphs: list[str]) -> str:
    return "\n\n".join(paragraphs)
