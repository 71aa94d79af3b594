"""The sensitive-word filter: whole texts and streamed pieces."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ai_agents.safety import MASK, Hit, SensitiveWords, load_sensitive_words

WORDS = SensitiveWords(["他妈", "他妈的", "妈的", "王八蛋", "Ass", "fuck", "badword", "坏X蛋"])


def test_finds_every_word_with_its_position() -> None:
    text = "你这王八蛋！他妈的。"
    assert WORDS.check(text) == [
        Hit("王八蛋", 2, 5),
        Hit("他妈", 6, 8),
        Hit("他妈的", 6, 9),
        Hit("妈的", 7, 9),
    ]
    assert WORDS.mask(text) == "你这＊＊＊！＊＊＊。"


def test_overlapping_and_nested_words_are_all_reported() -> None:
    words = SensitiveWords(["甲乙丙", "乙丙丁", "乙", "丙丁戊己"])
    found = [(h.word, h.start, h.end) for h in words.check("子甲乙丙丁戊己子")]
    assert found == [("甲乙丙", 1, 4), ("乙", 2, 3), ("乙丙丁", 2, 5), ("丙丁戊己", 3, 7)]
    assert words.mask("子甲乙丙丁戊己子") == "子" + MASK * 6 + "子"


def test_latin_matching_ignores_case_and_width_but_respects_word_boundaries() -> None:
    text = "FUCK this, ｆｕｃｋ that; a classy assassin; ass; Ass."
    hits = WORDS.check(text)
    assert [(h.word, text[h.start : h.end]) for h in hits] == [
        ("fuck", "FUCK"),
        ("fuck", "ｆｕｃｋ"),
        ("Ass", "ass"),
        ("Ass", "Ass"),
    ]
    assert "classy assassin" in WORDS.mask(text)


def test_cjk_words_match_inside_text_and_next_to_latin() -> None:
    assert [h.word for h in WORDS.check("abc王八蛋def")] == ["王八蛋"]
    assert [h.word for h in WORDS.check("他是坏X蛋")] == ["坏X蛋"]
    assert [h.word for h in WORDS.check("他是坏x蛋")] == ["坏X蛋"]
    assert WORDS.check("一切正常，没有问题。") == []


def test_masking_keeps_the_length() -> None:
    text = "说fuck的人是王八蛋"
    masked = WORDS.mask(text)
    assert len(masked) == len(text)
    assert masked == "说＊＊＊＊的人是＊＊＊"


def stream(words: SensitiveWords, pieces: list[str]) -> str:
    gate = words.stream_filter()
    out = "".join(gate.feed(piece) for piece in pieces)
    return out + gate.flush()


@pytest.mark.parametrize(
    "pieces",
    [
        ["你这王", "八", "蛋！他", "妈的。"],
        ["你这王八蛋！他妈的。"],
        list("你这王八蛋！他妈的。"),
        ["", "你这王八", "", "蛋！他妈", "的。", ""],
    ],
)
def test_a_word_split_across_pieces_is_still_masked(pieces: list[str]) -> None:
    assert stream(WORDS, pieces) == WORDS.mask("".join(pieces))


def test_the_stream_holds_back_only_what_could_still_become_a_word() -> None:
    cjk = SensitiveWords(["王八蛋", "他妈"])
    gate = cjk.stream_filter()
    assert gate.feed("从前有座山") == "从前有座山"  # nothing here starts a word: no delay
    assert gate.feed("，王八") == "，"  # "王八" may become "王八蛋"
    assert gate.feed("蛋") == ""  # whole, but held until the next character
    assert gate.feed("。他") == MASK * 3 + "。"
    assert gate.flush() == "他"


def test_latin_boundaries_work_across_pieces() -> None:
    pieces = ["a cl", "ass", "ic as", "s", " ", "bad", "wordy badw", "ord."]
    text = "".join(pieces)
    assert stream(WORDS, pieces) == WORDS.mask(text) == "a classic ＊＊＊ badwordy ＊＊＊＊＊＊＊."
    assert stream(WORDS, ["that is fu", "ck"]) == "that is ＊＊＊＊"


def test_random_splits_give_the_same_result_as_masking_the_whole() -> None:
    rng = random.Random(5)
    alphabet = list("他妈的王八蛋坏X蛋 fuckassbadwordFUCK，。abc")
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        cuts = sorted(rng.sample(range(len(text) + 1), k=min(len(text) + 1, rng.randint(0, 6))))
        pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        assert stream(WORDS, pieces) == WORDS.mask(text), (text, pieces)


def test_the_default_list_ships_with_the_package_and_a_file_replaces_it(tmp_path: Path) -> None:
    default = load_sensitive_words(None)
    assert default.words
    assert default.check("你这个傻逼") == [Hit("傻逼", 3, 5)]
    path = tmp_path / "words.txt"
    path.write_text("# 运营方词表\n\n  敏感词  \n禁语\n", encoding="utf-8")
    custom = load_sensitive_words(path)
    assert custom.words == ["敏感词", "禁语"]
    assert custom.check("傻逼") == []
    assert custom.mask("这是敏感词和禁语") == "这是＊＊＊和＊＊"


def test_an_empty_list_passes_everything() -> None:
    empty = SensitiveWords([])
    assert empty.check("王八蛋") == []
    assert stream(empty, ["王八", "蛋"]) == "王八蛋"
