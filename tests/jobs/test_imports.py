"""Imports: files as writers have them (made in code) split into chapters; exports round-trip."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest

from jobs.exports import ExportOptions, ExportWork, render
from jobs.exports.model import paragraphs
from jobs.imports import (
    CorruptFile,
    EmptyFile,
    ImportFileError,
    UndecodableText,
    UnsupportedFileType,
    parse,
)
from jobs.imports.docx import MAX_UNCOMPRESSED
from storage.text import fountain
from tests.jobs.fixtures.works import novel, screenplay

WEB_NOVEL = """\
《星河旅人》
作者：青山

序章 出发
　　那一年，她十七岁。
　　火车在黎明前开动。

楔子
　　故事要从一封信说起。

第一章 远方的信
　　信封是蓝色的，邮戳已经模糊。
　　她读了三遍。

第2章：站台
　　站台上只有风。

Chapter 3 The Sea
　　海在窗外。

第十二回 归来
　　她终于回到了小镇。

尾声
　　多年以后，她仍记得那封信。
"""

EXPECTED_TITLES = [
    "序章 出发",
    "楔子",
    "第一章 远方的信",
    "第2章：站台",
    "Chapter 3 The Sea",
    "第十二回 归来",
    "尾声",
]


def _titles(work) -> list[str]:
    return [chapter.title for chapter in work.chapters]


# ---- txt -----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_txt_in_each_encoding_splits_at_chapter_headings(encoding: str) -> None:
    work = parse("星河旅人.txt", WEB_NOVEL.encode(encoding))
    assert work.kind == "novel"
    assert work.title == "星河旅人"
    assert work.author == "青山"
    assert _titles(work) == EXPECTED_TITLES
    assert work.chapters[2].text == "信封是蓝色的，邮戳已经模糊。\n她读了三遍。"
    assert work.chapters[-1].text == "多年以后，她仍记得那封信。"


def test_gb18030_text_that_is_not_utf8_is_read_as_gb18030() -> None:
    data = WEB_NOVEL.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert parse("novel.txt", data).chapters[0].text == "那一年，她十七岁。\n火车在黎明前开动。"


def test_txt_table_of_contents_is_not_taken_for_chapters() -> None:
    text = "目录\n第一章 开始\n第二章 结束\n\n第一章 开始\n正文一。\n\n第二章 结束\n正文二。\n"
    work = parse("book.txt", text.encode())
    assert [(c.title, c.text) for c in work.chapters] == [
        ("第一章 开始", "正文一。"),
        ("第二章 结束", "正文二。"),
    ]
    assert work.title == "book"


def test_txt_hard_wrapped_paragraphs_are_joined_at_their_indent() -> None:
    text = "第一章 雨\n　　第一段的前半句，\n后半句。\n　　第二段。\n"
    assert parse("a.txt", text.encode()).chapters[0].text == "第一段的前半句，后半句。\n第二段。"


def test_sentences_that_start_like_headings_stay_in_the_text() -> None:
    text = "第一章 开始\n第三回合他输了。\n第一节课上，老师没来。\n"
    work = parse("a.txt", text.encode())
    assert _titles(work) == ["第一章 开始"]
    assert work.chapters[0].text == "第三回合他输了。\n第一节课上，老师没来。"


def test_txt_without_headings_is_one_chapter() -> None:
    work = parse("短篇.txt", "　　只有一段。\n　　还有一段。".encode())
    assert work.title == "短篇"
    assert [(c.title, c.text) for c in work.chapters] == [("正文", "只有一段。\n还有一段。")]


def test_progress_rises_to_100_while_importing() -> None:
    seen: list[int] = []
    parse("a.txt", WEB_NOVEL.encode(), seen.append)
    assert seen[0] == 0 and seen[-1] == 100
    assert seen == sorted(set(seen)) and len(seen) > len(EXPECTED_TITLES)


# ---- docx ----------------------------------------------------------------------------------


def _docx_bytes(build) -> bytes:
    document = docx.Document()
    build(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_splits_at_heading_1() -> None:
    def build(document) -> None:
        document.add_paragraph("山海之间", "Title")
        document.add_heading("第一章 入山", level=1)
        document.add_paragraph("山路很长。")
        document.add_heading("一、小节标题", level=2)  # a lower level stays inside the chapter
        document.add_paragraph("")
        document.add_paragraph("他走了一夜。")
        document.add_heading("第二章 出海", level=1)
        document.add_paragraph("海风很大。")

    work = parse("draft.docx", _docx_bytes(build))
    assert work.title == "山海之间"
    assert [(c.title, c.text) for c in work.chapters] == [
        ("第一章 入山", "山路很长。\n一、小节标题\n他走了一夜。"),
        ("第二章 出海", "海风很大。"),
    ]


def test_docx_without_heading_styles_splits_at_chapter_lines() -> None:
    def build(document) -> None:
        for line in ["第一章 开始", "正文一。", "第二章 结束", "正文二。"]:
            document.add_paragraph(line)

    work = parse("plain.docx", _docx_bytes(build))
    assert [(c.title, c.text) for c in work.chapters] == [
        ("第一章 开始", "正文一。"),
        ("第二章 结束", "正文二。"),
    ]


# ---- fountain ------------------------------------------------------------------------------


def test_fountain_splits_at_sections() -> None:
    work = parse("剧本.fountain", render("fountain", screenplay()))
    assert work.kind == "script"
    assert work.title == "雨夜咖啡馆"
    assert work.author == "林小雨"
    assert _titles(work) == ["第一集", "第二集"]


def test_fountain_without_sections_splits_at_scene_headings() -> None:
    text = (
        "Title: 夜航\n\nFADE IN:\n\n内景. 机舱 - 夜\n\n灯光昏暗。\n\n"
        "EXT. RUNWAY - DAWN\n\nA plane lands.\n"
    )
    work = parse("night.spmd", text.encode())
    assert work.title == "夜航"
    assert _titles(work) == ["内景. 机舱 - 夜", "EXT. RUNWAY - DAWN"]
    first = [(e.kind, e.text) for e in fountain.parse(work.chapters[0].text).elements]
    assert first == [
        ("action", "FADE IN:"),  # Fountain transitions end in TO:
        ("scene_heading", "内景. 机舱 - 夜"),
        ("action", "灯光昏暗。"),
    ]


# ---- round trips ---------------------------------------------------------------------------


def _novel_chapters(work: ExportWork) -> list[tuple[str, list[str]]]:
    return [(c.title, paragraphs(c.text)) for c in work.chapters]


def _script_chapters(chapters) -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        (c.title, [(e.kind, e.text) for e in fountain.parse(c.text).elements]) for c in chapters
    ]


@pytest.mark.parametrize(("fmt", "extension"), [("txt", "txt"), ("word", "docx")])
@pytest.mark.parametrize("cover", [True, False])
def test_novel_export_then_import_gives_the_same_chapters(
    fmt: str, extension: str, cover: bool
) -> None:
    work = novel()
    data = render(fmt, work, ExportOptions(include_cover=cover))
    back = parse(f"{work.title}.{extension}", data)
    assert back.kind == "novel"
    assert back.title == work.title
    assert [(c.title, paragraphs(c.text)) for c in back.chapters] == _novel_chapters(work)
    if cover:
        assert back.author == work.author
        assert paragraphs(back.description or "") == paragraphs(work.description or "")


@pytest.mark.parametrize(
    ("fmt", "extension"), [("fountain", "fountain"), ("txt", "txt"), ("word", "docx")]
)
def test_script_export_then_import_gives_the_same_chapters(fmt: str, extension: str) -> None:
    work = screenplay()
    back = parse(f"script.{extension}", render(fmt, work))
    assert back.kind == "script"
    assert back.title == work.title
    assert _script_chapters(back.chapters) == _script_chapters(work.chapters)


# ---- refusals ------------------------------------------------------------------------------


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("filename", "data", "error", "message"),
    [
        ("novel.pdf", b"%PDF-1.4", UnsupportedFileType, "supported: .txt"),
        ("novel.doc", b"\xd0\xcf\x11\xe0", UnsupportedFileType, "save it as .docx"),
        ("novel", b"text", UnsupportedFileType, "without an extension"),
        ("empty.txt", b" \n\n", EmptyFile, "empty"),
        ("picture.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", UndecodableText, "UTF-8"),
        ("broken.txt", b"\x80\x80\xff\xfe\xfe", UndecodableText, "GB18030"),
        ("fake.docx", b"not a zip at all", CorruptFile, "not a .docx"),
        ("other.docx", _zip({"hello.txt": b"hi"}), CorruptFile, "not a Word document"),
        ("bad.docx", _zip({"word/document.xml": b"<oops"}), CorruptFile, "cannot be read"),
        ("blank.fountain", b"Title: Nothing\n", EmptyFile, "no screenplay text"),
    ],
)
def test_bad_files_are_refused_with_a_clear_error(
    filename: str, data: bytes, error: type[ImportFileError], message: str
) -> None:
    with pytest.raises(error, match=message) as refused:
        parse(filename, data)
    assert isinstance(refused.value, ValueError)
    assert refused.value.code


def test_docx_that_unpacks_too_large_is_refused_before_reading() -> None:
    out = io.BytesIO()
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w:document/>")
        with archive.open("word/media/bomb.bin", "w") as bomb:
            for _ in range((MAX_UNCOMPRESSED >> 20) + 1):
                bomb.write(chunk)
    assert len(out.getvalue()) < 2 * 1024 * 1024
    with pytest.raises(CorruptFile, match="unpacks to more than"):
        parse("bomb.docx", out.getvalue())
