"""Finding, accepting and rejecting an AI task's characters (`ai_agents.marks`).

Each party is its own pycrdt document with its own client id, exchanging real updates, as the
AI peer and co-authors do through the server. Text is Chinese with emoji, so UTF-8 bytes
(pycrdt's index unit), UTF-16 units (Yjs clocks) and Python indices all differ.
"""

from __future__ import annotations

import random

from pycrdt import Doc, Text

from ai_agents.marks import accept, decode_update, reject, task_ranges, utf8_offset

TASK = "task-7f3a"
OTHER_TASK = "task-0b11"


class Party:
    """One replica: an AI peer (small client id, as `DocumentPeer` takes) or a co-author."""

    def __init__(self, client_id: int | None = None) -> None:
        self.doc: Doc = Doc(client_id=client_id) if client_id else Doc()
        self.text = self.doc.get("content", type=Text)

    def __str__(self) -> str:
        return str(self.text)

    def insert(self, index: int, value: str, task: str | None = None) -> None:
        at = utf8_offset(str(self.text), index)
        if task is None:
            self.text.insert(at, value)  # what a y-websocket editor sends: no attributes
        else:
            self.text.insert(at, value, {"ai": task})

    def insert_after(self, anchor: str, value: str) -> None:
        self.insert(str(self).index(anchor) + len(anchor), value)

    def delete_first(self, part: str) -> None:
        start = str(self).index(part)
        self.delete(start, start + len(part))

    def delete(self, start: int, end: int) -> None:
        current = str(self.text)
        del self.text[utf8_offset(current, start) : utf8_offset(current, end)]

    def receive(self, *others: Party) -> None:
        for other in others:
            self.doc.apply_update(other.doc.get_update())


def sync(*parties: Party) -> None:
    for party in parties:
        party.receive(*parties)
    assert len({str(party) for party in parties}) == 1


def marked(text: Text, task: str) -> str:
    return "".join(chunk for chunk, attrs in text.diff() if attrs and attrs.get("ai") == task)


def scratch_copy(party: Party) -> Party:
    """What `Room.change` does: edit a copy of the document, keep the update it produces."""
    copy = Party()
    copy.receive(party)
    return copy


def test_ranges_and_accept_on_cjk_and_emoji() -> None:
    author, ai = Party(), Party(client_id=4242)
    author.insert(0, "😀序章：风起。🎉尾声。")
    sync(author, ai)
    ai.insert(len("😀序章：风起。"), "云涌😀，", TASK)
    ai.insert(len("😀序章：风起。云涌😀，"), "雷鸣🎉。", TASK)
    ai.insert(len("😀序章：风起。"), "天地", TASK)
    sync(author, ai)
    text = str(author)
    assert text == "😀序章：风起。天地云涌😀，雷鸣🎉。🎉尾声。"

    start = text.index("天地")
    assert task_ranges(author.text, TASK) == [(start, start + len("天地云涌😀，雷鸣🎉。"))]
    assert marked(author.text, TASK) == "天地云涌😀，雷鸣🎉。"
    assert task_ranges(author.text, OTHER_TASK) == []

    accepted = scratch_copy(author)
    assert accept(accepted.text, TASK) == len("天地云涌😀，雷鸣🎉。")
    assert str(accepted) == text
    assert marked(accepted.text, TASK) == ""
    assert task_ranges(accepted.text, TASK) == []  # accepted text is nobody's pending text
    author.receive(accepted)
    assert marked(author.text, TASK) == ""


def test_a_plain_insert_inside_or_after_ai_text_inherits_the_marking() -> None:
    """The Yjs formatting rule that makes the attribute unfit for telling who wrote what."""
    author, ai = Party(), Party(client_id=77)
    author.insert(0, "前文。后文。")
    sync(author, ai)
    ai.insert(3, "AI写的😀字", TASK)
    sync(author, ai)
    author.insert(3, "首")  # right before the AI's text: stays plain
    author.insert(6, "中")  # inside it
    author.insert(len("前文。首AI中写的😀字"), "尾")  # right after its last character
    sync(author, ai)
    assert str(author) == "前文。首AI中写的😀字尾后文。"
    assert marked(author.text, TASK) == "AI中写的😀字尾"
    assert task_ranges(author.text, TASK) == [(4, 6), (7, 11)]


def test_reject_keeps_every_character_typed_before_after_and_inside() -> None:
    author, co_author, ai = Party(), Party(), Party(client_id=1234)
    author.insert(0, "第一章😀。夜色温柔。")
    sync(author, co_author, ai)
    at = len("第一章😀。")
    for piece in ("月光🎉洒在", "窗台上，", "她笑了😀。"):
        ai.insert(at, piece, TASK)
        at += len(piece)
    sync(author, co_author, ai)
    ai_text = "月光🎉洒在窗台上，她笑了😀。"
    assert str(author) == "第一章😀。" + ai_text + "夜色温柔。"

    # Concurrent human edits: before, inside (twice, one inherits the marking), right after the
    # AI's text, at the end; one AI character and one human character deleted.
    author.insert_after("第一章", "【前】")
    co_author.insert_after("月光🎉", "人")
    co_author.insert_after("她笑了😀。", "尾巴")
    author.delete_first("台")
    author.delete_first("色")
    author.insert(len(str(author)), "完😀")
    sync(author, co_author, ai)
    text = str(author)
    assert text == "第一章【前】😀。月光🎉人洒在窗上，她笑了😀。尾巴夜温柔。完😀"
    assert "人" in marked(author.text, TASK)  # inherited, yet not the task's

    reviewer = scratch_copy(author)
    with reviewer.doc.transaction(origin=f"ai:{TASK}:rejected"):  # as the task service calls it
        deleted = reject(reviewer.text, TASK)
    assert deleted == len("月光🎉洒在窗上，她笑了😀。")
    assert str(reviewer) == "第一章【前】😀。人尾巴夜温柔。完😀"
    assert marked(reviewer.text, TASK) == ""  # the co-author's characters lost the inherited mark
    assert task_ranges(reviewer.text, TASK) == []

    # The rejection travels as new operations: every replica converges on it.
    sync(reviewer, author, co_author, ai)
    assert str(ai) == "第一章【前】😀。人尾巴夜温柔。完😀"


def test_rejecting_one_task_leaves_another_tasks_text() -> None:
    author, first, second = Party(), Party(client_id=11), Party(client_id=12)
    author.insert(0, "开头。结尾。")
    sync(author, first, second)
    first.insert(3, "甲任务😀写的。", TASK)
    second.insert(3, "乙任务🎉写的。", OTHER_TASK)
    sync(author, first, second)
    before = str(author)
    assert reject(author.text, TASK) == len("甲任务😀写的。")
    assert str(author) == before.replace("甲任务😀写的。", "")
    assert marked(author.text, OTHER_TASK) == "乙任务🎉写的。"
    (start, end), *_ = task_ranges(author.text, OTHER_TASK)
    assert str(author)[start:end] == "乙任务🎉写的。"


def test_recorded_authors_find_ai_text_whose_marking_was_lost() -> None:
    author, ai = Party(), Party(client_id=31)
    author.insert(0, "人写的。")
    sync(author, ai)
    ai.insert(4, "机器😀写的。", TASK)
    sync(author, ai)
    author.text.format(0, len(str(author).encode()), {"ai": None})  # e.g. "clear formatting"
    sync(author, ai)
    assert marked(author.text, TASK) == ""
    assert task_ranges(author.text, TASK) == []  # no marker left to name the task's client
    assert task_ranges(author.text, TASK, authors=[ai.doc.client_id]) == [(4, 10)]
    assert reject(author.text, TASK, authors=[ai.doc.client_id]) == 6
    assert str(author) == "人写的。"


AI_ALPHABET = "天地玄黄😀a，"
HUMAN_ALPHABET = "人之初性本善🎉b。"


def test_concurrent_random_edits_reject_exactly_the_ai_characters() -> None:
    """Three replicas edit concurrently and sync at random; the AI writes only characters of
    its own alphabet, so the truth is visible in the text itself."""
    for seed in range(40):
        rnd = random.Random(seed)
        ai, *humans = [Party(client_id=rnd.randrange(1, 1 << 20)), Party(), Party()]
        parties = [ai, *humans]
        for _ in range(60):
            party = rnd.choice(parties)
            current = str(party)
            if rnd.random() < 0.55 or not current:
                alphabet = AI_ALPHABET if party is ai else HUMAN_ALPHABET
                piece = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 4)))
                party.insert(rnd.randint(0, len(current)), piece, TASK if party is ai else None)
            else:
                start = rnd.randrange(len(current))
                party.delete(start, min(len(current), start + rnd.randint(1, 2)))
            if rnd.random() < 0.3:
                receiver, sender = rnd.sample(parties, 2)
                receiver.receive(sender)
        sync(*parties)
        text = str(humans[0])
        expected: list[tuple[int, int]] = []
        for index, char in enumerate(text):
            if char in AI_ALPHABET:
                if expected and expected[-1][1] == index:
                    expected[-1] = (expected[-1][0], index + 1)
                else:
                    expected.append((index, index + 1))
        assert task_ranges(humans[0].text, TASK) == expected, seed
        assert task_ranges(humans[0].text, TASK, authors=[ai.doc.client_id]) == expected, seed
        assert reject(humans[1].text, TASK) == sum(end - start for start, end in expected)
        assert str(humans[1]) == "".join(c for c in text if c not in AI_ALPHABET), seed
        sync(*parties)


def test_decode_update_reads_ids_content_and_deletions() -> None:
    ai = Party(client_id=5)
    ai.insert(0, "中😀x", TASK)
    ai.delete(0, 1)
    blocks, deletes = decode_update(ai.doc.get_update())
    texts = [(b.clock, b.length, b.text) for b in blocks if b.is_text]
    assert texts == [(2, 3, "😀x")]  # after the marker (0) and "中" (1); UTF-16 lengths
    assert [(b.clock, b.length) for b in blocks if not b.is_text][:2] == [(0, 1), (1, 1)]
    assert any(b.is_marker("ai", TASK) for b in blocks)
    assert deletes == {5: [(1, 1)]}


def test_the_pycrdt_index_units_the_code_relies_on() -> None:
    """pycrdt 0.14.13 facts behind `utf8_offset` and the peer's delta arithmetic: if an upgrade
    changes them, this fails before any text lands in the wrong place."""
    doc: Doc = Doc()
    text = doc.get("content", type=Text)
    text.insert(0, "中文😀ab")
    text.insert(len("中文😀".encode()), "X")  # a UTF-8 byte offset
    assert str(text) == "中文😀Xab"
    del text[len("中".encode()) : len("中文".encode())]
    assert str(text) == "中😀Xab"
    text.format(len("中".encode()), len("中😀".encode()), {"ai": TASK})
    assert text.diff() == [("中", None), ("😀", {"ai": TASK}), ("Xab", None)]

    deltas: list[list[dict[str, object]]] = []
    text.observe(lambda event: deltas.append(event.delta))
    del text[0 : len("中".encode())]
    assert deltas[-1] == [{"delete": 3}]  # bytes, not characters
