"""Each export format read back by an independent reader: python-docx, poppler, Fountain."""

from __future__ import annotations

import io
import re
from collections import Counter
from itertools import pairwise
from pathlib import Path
from urllib.parse import unquote

import docx
import pytest
from docx.oxml.ns import qn
from docx.shared import Pt

from jobs.exports import (
    FORMATS,
    CjkFontNotFound,
    ExportError,
    ExportOptions,
    ExportWork,
    NotAScript,
    UnknownFormat,
    content_disposition,
    file_name,
    render,
)
from jobs.exports.model import paragraphs
from storage.text import fountain
from tests.jobs.fixtures import poppler
from tests.jobs.fixtures.works import (
    full_pages_screenplay,
    long_novel,
    long_speech_screenplay,
    novel,
    screenplay,
)

INCH = 72


@pytest.fixture(scope="module", autouse=True)
def _poppler() -> None:
    poppler.require_poppler()


def _pdf(tmp_path: Path, work: ExportWork, options: ExportOptions | None = None) -> Path:
    path = tmp_path / "out.pdf"
    path.write_bytes(render("pdf", work, options or ExportOptions()))
    return path


# ---- txt -----------------------------------------------------------------------------------


def test_txt_novel_has_title_block_chapter_titles_and_indented_paragraphs() -> None:
    work = novel()
    text = render("txt", work, ExportOptions()).decode("utf-8")
    assert "\r" not in text
    lines = text.split("\n")
    assert lines[:3] == ["雨夜咖啡馆", "作者：林小雨", "类型：都市"]
    positions = [lines.index(chapter.title) for chapter in work.chapters]
    assert positions == sorted(positions)
    for chapter, start, end in zip(
        work.chapters, positions, [*positions[1:], len(lines)], strict=True
    ):
        body = lines[start + 1 : end]
        filled = [line for line in body if line]
        assert filled == ["\u3000\u3000" + p for p in paragraphs(chapter.text)]
        # one blank line between paragraphs
        assert all(not body[i] for i in range(0, 2 * len(filled), 2))


def test_txt_without_cover_starts_with_the_first_chapter() -> None:
    text = render("txt", novel(), ExportOptions(include_cover=False)).decode("utf-8")
    assert text.startswith("第一章 雨夜\n")


def test_txt_of_a_script_is_its_fountain_text() -> None:
    work = screenplay()
    assert render("txt", work) == render("fountain", work)


# ---- word ----------------------------------------------------------------------------------


def _docx(work: ExportWork, options: ExportOptions) -> docx.document.Document:
    return docx.Document(io.BytesIO(render("word", work, options)))


def test_docx_chapters_are_heading_1_in_order_with_exact_paragraphs() -> None:
    work = novel()
    document = _docx(work, ExportOptions())
    headings = [i for i, p in enumerate(document.paragraphs) if p.style.name == "Heading 1"]
    assert [document.paragraphs[i].text for i in headings] == [c.title for c in work.chapters]
    bounds = [*headings, len(document.paragraphs)]
    for chapter, start, end in zip(work.chapters, bounds, bounds[1:], strict=False):
        body = [p.text for p in document.paragraphs[start + 1 : end]]
        assert body == paragraphs(chapter.text)


def test_docx_sets_east_asian_fonts_and_the_font_size() -> None:
    document = _docx(novel(), ExportOptions(font_size=14))
    for name in ("Normal", "Heading 1"):
        fonts = document.styles[name].element.rPr.find(qn("w:rFonts"))
        assert fonts.get(qn("w:eastAsia")), name
        assert fonts.get(qn("w:eastAsiaTheme")) is None, name
        assert fonts.get(qn("w:asciiTheme")) is None, name
    assert document.styles["Normal"].font.size == Pt(14)
    assert document.styles["Heading 1"].font.size > Pt(14)
    indent = document.styles["Body Text"].element.pPr.find(qn("w:ind"))
    assert indent.get(qn("w:firstLineChars")) == "200"
    assert document.styles["Body Text"].paragraph_format.first_line_indent == Pt(28)


def test_docx_cover_and_table_of_contents() -> None:
    work = novel()
    document = _docx(work, ExportOptions())
    styles = [(p.style.name, p.text) for p in document.paragraphs]
    assert styles[0] == ("Title", "雨夜咖啡馆")
    assert ("Subtitle", "作者：林小雨") in styles
    # a real TOC field for Word to fill, holding the chapter titles until it does
    body = document.element.body
    instructions = [t.text for t in body.iter(qn("w:instrText"))]
    assert any(re.search(r'TOC \\o "1-1"', text) for text in instructions)
    entries = [text for style, text in styles if style == "toc 1"]
    assert entries == [c.title for c in work.chapters]
    assert document.settings.element.find(qn("w:updateFields")) is not None
    assert document.core_properties.title == "雨夜咖啡馆"
    assert document.core_properties.author == "林小雨"


def test_docx_without_cover_or_contents() -> None:
    document = _docx(novel(), ExportOptions(include_cover=False, include_toc=False))
    assert document.paragraphs[0].style.name == "Heading 1"
    assert not any(p.style.name in ("Title", "toc 1") for p in document.paragraphs)


def test_docx_screenplay_uses_screenplay_styles_and_indents() -> None:
    document = _docx(screenplay(), ExportOptions())
    by_style: dict[str, list[str]] = {}
    for p in document.paragraphs:
        by_style.setdefault(p.style.name, []).append(p.text)
    assert by_style["Heading 1"] == ["第一集", "第二集"]
    assert "林小雨" in by_style["Character"]
    assert "（轻声）" in by_style["Parenthetical"]
    assert "有人吗？" in by_style["Dialogue"]
    assert "ext. street - night" in by_style["Scene Heading"]  # shown in capitals by the style
    assert document.styles["Scene Heading"].font.all_caps
    assert "CUT TO:" in by_style["Transition"]

    def left(name: str) -> int:
        return document.styles[name].paragraph_format.left_indent or 0

    assert left("Character") > left("Parenthetical") > left("Dialogue") > left("Action")
    fonts = document.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:ascii")) == "Courier New"
    assert fonts.get(qn("w:eastAsia"))
    assert document.sections[-1].left_margin == Pt(1.5 * INCH)


# ---- pdf: novel ----------------------------------------------------------------------------


def _strip_footer(page: str, number: int) -> str:
    lines = [line for line in page.splitlines() if line.strip()]
    assert lines and lines[-1].strip() == str(number), f"page {number} footer: {lines[-1:]}"
    return "\n".join(lines[:-1])


def test_pdf_novel_holds_the_exact_text_of_every_chapter_in_order(tmp_path: Path) -> None:
    work = novel()
    pages = poppler.page_texts(_pdf(tmp_path, work))
    # the cover has no page number; every other page has its own at the foot
    body = "".join(_strip_footer(page, n) for n, page in enumerate(pages[1:], start=2))
    text = poppler.squeeze(body)
    position = 0
    for chapter in work.chapters:
        expected = poppler.squeeze(chapter.title + "".join(paragraphs(chapter.text)))
        found = text.find(expected, position)
        assert found >= 0, chapter.title
        position = found + len(expected)
    assert poppler.squeeze(pages[0]).startswith("雨夜咖啡馆")


def test_pdf_contents_lists_the_page_each_chapter_starts_on(tmp_path: Path) -> None:
    work = long_novel(chapters=12, characters=1500)
    pages = poppler.page_texts(_pdf(tmp_path, work), layout=True)
    contents = "\n".join(pages[1:3])
    entries = dict(re.findall(r"^(第\d+章 第\d+夜)[ .]*?(\d+)$", contents, re.MULTILINE))
    assert list(entries) == [c.title for c in work.chapters]
    for title, page in entries.items():
        first_line = next(line for line in pages[int(page) - 1].splitlines() if line.strip())
        assert int(page) > 2
        assert first_line.strip() == title


def test_pdf_embeds_its_fonts_and_pages_are_not_blank(tmp_path: Path) -> None:
    path = _pdf(tmp_path, novel())
    fonts = poppler.fonts(path)
    assert fonts and all(font.embedded for font in fonts), fonts
    pages = poppler.page_texts(path)
    full = next(n for n, page in enumerate(pages, start=1) if "第二章" in page) + 1  # all text
    assert poppler.ink_ratio(path, full, tmp_path) > 0.02
    # a cover holds a few lines only: the measure tells a full page from a sparse one
    assert poppler.ink_ratio(path, full, tmp_path) > 4 * poppler.ink_ratio(path, 1, tmp_path) > 0


def test_pdf_font_size_changes_the_layout(tmp_path: Path) -> None:
    small = len(poppler.page_texts(_pdf(tmp_path, novel(), ExportOptions(font_size=10))))
    large = len(poppler.page_texts(_pdf(tmp_path, novel(), ExportOptions(font_size=16))))
    assert large > small


def test_pdf_without_cover_numbers_from_the_first_page(tmp_path: Path) -> None:
    options = ExportOptions(include_cover=False, include_toc=False)
    pages = poppler.page_texts(_pdf(tmp_path, novel(), options))
    assert pages[0].lstrip().startswith("第一章 雨夜")
    for number, page in enumerate(pages, start=1):
        _strip_footer(page, number)


def test_a_100k_character_novel_exports_to_every_format(tmp_path: Path) -> None:
    work = long_novel()
    assert sum(len(c.text) for c in work.chapters) >= 100_000
    path = _pdf(tmp_path, work)
    pages = poppler.page_texts(path)
    assert len(pages) > 100
    assert poppler.squeeze(work.chapters[-1].text) in poppler.squeeze(
        "".join(_strip_footer(p, n) for n, p in enumerate(pages[-6:], start=len(pages) - 5))
    )
    document = docx.Document(io.BytesIO(render("word", work)))
    assert sum(p.style.name == "Heading 1" for p in document.paragraphs) == 50
    assert render("txt", work).decode().count("\n第50章 第50夜\n") == 1


# ---- pdf: screenplay -----------------------------------------------------------------------


def _first(words: list[poppler.Word], text: str) -> poppler.Word:
    """The first occurrence after the title page."""
    return next(word for word in words if word.text == text and word.page > 1)


def test_pdf_screenplay_indents_cue_parenthetical_dialogue_and_action(tmp_path: Path) -> None:
    words = poppler.words(_pdf(tmp_path, screenplay()))
    cue = _first(words, "林小雨")
    parenthetical = _first(words, "（轻声）")
    dialogue = _first(words, "有人吗？")
    action = next(w for w in words if w.text.startswith("林小雨推开门"))
    assert cue.page == dialogue.page == action.page == 2
    assert cue.x_min == pytest.approx(3.7 * INCH, abs=1)
    assert parenthetical.x_min == pytest.approx(3.1 * INCH, abs=1)
    assert dialogue.x_min == pytest.approx(2.5 * INCH, abs=1)
    assert action.x_min == pytest.approx(1.5 * INCH, abs=1)
    assert cue.x_min > parenthetical.x_min > dialogue.x_min > action.x_min
    # Latin text in the same layout, in Courier
    assert _first(words, "MIKE").x_min == pytest.approx(3.7 * INCH, abs=1)
    # scene headings are upper case, transitions end at the right margin
    assert _first(words, "STREET").page == cue.page
    transition = _first(words, "TO:")
    assert transition.x_max == pytest.approx(7.5 * INCH, abs=1.5)


def test_pdf_screenplay_title_page_and_page_numbers(tmp_path: Path) -> None:
    path = _pdf(tmp_path, full_pages_screenplay())
    pages = poppler.page_texts(path)
    words = poppler.words(path)
    assert poppler.squeeze(pages[0]) == poppler.squeeze("FULL PAGES Written by Someone")
    numbers = {w.page: w for w in words if re.fullmatch(r"\d+\.", w.text)}
    # title page and script page 1 are unnumbered; script page 2 is the PDF's page 3
    assert 1 not in numbers and 2 not in numbers
    for page in range(3, len(pages) + 1):
        number = numbers[page]
        assert number.text == f"{page - 1}."
        assert number.x_max == pytest.approx(7.5 * INCH, abs=1.5)
        assert number.y_max < 0.75 * INCH


def test_pdf_screenplay_full_page_has_55_lines_at_6_lines_an_inch(tmp_path: Path) -> None:
    words = poppler.words(_pdf(tmp_path, full_pages_screenplay()))
    body = [w for w in words if w.page == 3 and w.y_min > INCH * 0.8]
    baselines = sorted({round(w.y_max) for w in body})
    assert len(baselines) == 55
    gaps = Counter(b - a for a, b in pairwise(baselines))
    assert set(gaps) == {12}
    assert baselines[0] == pytest.approx(INCH + 12, abs=3)


def test_pdf_screenplay_speech_split_across_pages_gets_more_and_contd(tmp_path: Path) -> None:
    pages = poppler.page_texts(_pdf(tmp_path, long_speech_screenplay()))
    speech_pages = [n for n, page in enumerate(pages) if "很长的台词" in page]
    assert len(speech_pages) == 2
    first, second = (pages[n].splitlines() for n in speech_pages)
    assert [line for line in first if line.strip()][-1].strip() == "（接下页）"
    assert "老板（续）" in [line.strip() for line in second]
    text = poppler.squeeze("".join(pages))
    expected = "".join(f"这是第{n}句很长的台词。" for n in range(1, 31))
    assert expected in text.replace("（接下页）", "").replace("2.", "").replace("老板（续）", "")


def test_pdf_screenplay_mixes_courier_and_an_embedded_cjk_monospace(tmp_path: Path) -> None:
    path = _pdf(tmp_path, screenplay())
    names = {font.name: font for font in poppler.fonts(path)}
    assert "Courier" in names
    cjk = [font for name, font in names.items() if "Mono" in name]
    assert cjk and all(font.embedded for font in cjk)
    assert poppler.ink_ratio(path, 2, tmp_path) > 0.005


# ---- fountain ------------------------------------------------------------------------------


def test_fountain_round_trip_keeps_title_page_chapters_and_every_element() -> None:
    work = screenplay()
    parsed = fountain.parse(render("fountain", work).decode("utf-8"))
    assert parsed.title_page["Title"] == "雨夜咖啡馆"
    assert parsed.title_page["Credit"] == "编剧"
    assert parsed.title_page["Author"] == "林小雨"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", parsed.title_page["Draft date"])
    expected: list[tuple[str, str]] = []
    for chapter in work.chapters:
        expected.append(("section", chapter.title))
        expected.extend((e.kind, e.text) for e in fountain.parse(chapter.text).elements)
    assert [(e.kind, e.text) for e in parsed.elements] == expected
    kinds = {kind for kind, _ in expected}
    assert {"scene_heading", "character", "dialogue", "parenthetical", "transition"} <= kinds


def test_fountain_export_of_a_novel_is_refused() -> None:
    with pytest.raises(NotAScript, match="fountain export is for scripts"):
        render("fountain", novel())


# ---- progress, errors, file names ----------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_progress_rises_to_100(fmt: str) -> None:
    work = screenplay() if fmt == "fountain" else long_novel(chapters=6, characters=300)
    seen: list[int] = []
    render(fmt, work, ExportOptions(), seen.append)
    assert seen[-1] == 100
    assert seen == sorted(set(seen))
    assert len(seen) >= 3


def test_unknown_format_is_refused() -> None:
    with pytest.raises(UnknownFormat, match="epub"):
        render("epub", novel())


def test_missing_cjk_font_names_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(CjkFontNotFound, match="fonts-wqy-microhei"):
        render("pdf", novel(), font_path=tmp_path / "missing.ttf")


def test_file_name_and_content_disposition_keep_the_chinese_title() -> None:
    name = file_name('雨夜/咖啡馆: "第一部"', "word")
    assert name == "雨夜 咖啡馆 第一部 .docx".replace(" .", ".")
    header = content_disposition(name)
    fallback = re.search(r'filename="([^"]*)"', header).group(1)
    assert fallback.isascii() and fallback.endswith(".docx")
    encoded = re.search(r"filename\*=UTF-8''(\S+)$", header).group(1)
    assert unquote(encoded) == name
    assert encoded.isascii()


@pytest.mark.parametrize("size", [0, -3, 5.9, 48.5, 1000])
def test_font_size_out_of_range_is_refused(size: float) -> None:
    with pytest.raises(ExportError, match="font_size"):
        ExportOptions(font_size=size)


def test_fountain_emphasis_prints_as_type_styles_not_asterisks(tmp_path: Path) -> None:
    path = _pdf(tmp_path, screenplay())
    text = "".join(poppler.page_texts(path))
    assert poppler.squeeze("She whispers softly, then louder, underlined.") in poppler.squeeze(text)
    assert "*" not in text and "_" not in text
    names = {font.name for font in poppler.fonts(path)}
    assert {"Courier-Oblique", "Courier-Bold"} <= names
    document = _docx(screenplay(), ExportOptions())
    runs = {run.text: run for p in document.paragraphs for run in p.runs}
    assert runs["softly"].italic and runs["louder"].bold and runs["underlined"].underline


def test_cjk_line_breaking_measures_each_character_as_the_font_does() -> None:
    """reportlab's CJK line breaking takes a run's widths from `textsplit.getCharWidths`, which
    `pdf_font` answers in one pass for the embedded font: the same widths, character by
    character, as the font's own measure (and reportlab's for any other font)."""
    from reportlab.lib import textsplit
    from reportlab.pdfbase import pdfmetrics

    from jobs.exports.fonts import find_cjk_fonts, pdf_font_name

    font = pdf_font_name(find_cjk_fonts().regular)
    run = "他说：“Hello, 世界”——然后转身离开……（完）"
    for name in (font, "Courier"):
        expected = [pdfmetrics.stringWidth(char, name, 10.5) for char in run]
        assert textsplit.getCharWidths(run, name, 10.5) == expected
    assert textsplit.getCharWidths.__module__ == "jobs.exports.pdf_font"
