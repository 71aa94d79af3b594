"""Watermarks and passwords in the rendered files, read back: the visible mark on every page
(PDF) or in every footer (Word), the export id in the metadata of every file, the PDF's own
encryption with the owner's permissions, an AES zip around the other formats; and a job whose
password is no longer in memory fails instead of writing an unprotected file."""

from __future__ import annotations

import io

import docx
import pypdf
import pytest
import pyzipper

from api.adapters import Adapters
from api.services.exports import EXPORT
from jobs.exports import (
    ExportChapter,
    ExportError,
    ExportOptions,
    ExportWork,
    Protection,
    Watermark,
    render,
)
from jobs.exports.job import ExportJob
from jobs.exports.passwords import HeldPasswords
from jobs.tasks import TaskStore
from storage.sql.models import User, Work
from tests.jobs.conftest import SQLITE_ONLY

MARK = Watermark("0123456789abcdef0123456789abcdef", "林黛玉 #7", "2026-12-06", visible=True)
HIDDEN = Watermark("fedcba9876543210fedcba9876543210", "林黛玉 #7", "2026-12-06")
NOVEL = ExportWork(
    "红楼", "曹雪芹", "novel", None, None, [ExportChapter("第一回", "甄士隐梦幻识通灵。\n" * 40)]
)
SCRIPT = ExportWork(
    "夜雨", "某人", "script", None, None, [ExportChapter("一", "INT. 客栈 - 夜\n\n掌柜\n客官请。")]
)


def pdf_pages(data: bytes, password: str | None = None) -> tuple[pypdf.PdfReader, list[str]]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    if password is not None:
        assert reader.decrypt(password)
    return reader, [page.extract_text() for page in reader.pages]


@pytest.mark.parametrize("work", [NOVEL, SCRIPT], ids=["book", "screenplay"])
def test_a_pdf_shows_the_mark_on_every_page_and_names_the_export(work: ExportWork) -> None:
    reader, pages = pdf_pages(render("pdf", work, ExportOptions(watermark=MARK)))
    assert len(pages) >= 2  # the cover too
    assert all(MARK.text in text for text in pages)
    assert "林黛玉 #7" in MARK.text and "2026-12-06" in MARK.text
    assert reader.metadata["/Keywords"] == f"inkweave-export:{MARK.mark_id}"


@pytest.mark.parametrize("work", [NOVEL, SCRIPT], ids=["book", "screenplay"])
def test_an_invisible_mark_is_in_the_metadata_only(work: ExportWork) -> None:
    reader, pages = pdf_pages(render("pdf", work, ExportOptions(watermark=HIDDEN)))
    assert not any(HIDDEN.mark_id[:12] in text for text in pages)
    assert reader.metadata["/Keywords"] == f"inkweave-export:{HIDDEN.mark_id}"


def test_a_word_file_has_the_mark_in_its_footers_and_the_id_in_its_properties() -> None:
    document = docx.Document(io.BytesIO(render("word", NOVEL, ExportOptions(watermark=MARK))))
    assert document.core_properties.identifier == MARK.mark_id
    for section in document.sections:  # the cover's section and the body's
        assert MARK.text in [paragraph.text for paragraph in section.footer.paragraphs]
    hidden = docx.Document(io.BytesIO(render("word", NOVEL, ExportOptions(watermark=HIDDEN))))
    assert hidden.core_properties.identifier == HIDDEN.mark_id
    footers = [p.text for s in hidden.sections for p in s.footer.paragraphs]
    assert not any(HIDDEN.mark_id[:12] in text for text in footers)


@pytest.mark.parametrize("work", [NOVEL, SCRIPT], ids=["book", "screenplay"])
def test_a_protected_pdf_opens_with_its_password_and_keeps_the_permissions(
    work: ExportWork,
) -> None:
    protection = Protection("月光-密码-42", can_print=True, can_copy=False)
    data = render("pdf", work, ExportOptions(watermark=MARK, protection=protection))
    locked = pypdf.PdfReader(io.BytesIO(data))
    assert locked.is_encrypted and not locked.decrypt("wrong")
    encrypt = locked.trailer["/Encrypt"]
    assert (encrypt["/V"], encrypt["/R"]) == (5, 6)  # AES-256, not reportlab's own RC4
    assert encrypt["/CF"]["/StdCF"]["/CFM"] == "/AESV3"
    reader, pages = pdf_pages(data, protection.password)
    assert all(MARK.text in text for text in pages)
    permissions = reader.user_access_permissions
    assert permissions is not None
    assert permissions & pypdf.constants.UserAccessPermissions.PRINT
    assert not permissions & pypdf.constants.UserAccessPermissions.EXTRACT
    assert not permissions & pypdf.constants.UserAccessPermissions.MODIFY
    assert protection.password not in repr(protection)


@pytest.mark.parametrize("fmt", ["word", "txt"])
def test_other_formats_go_into_an_aes_zip(fmt: str) -> None:
    options = ExportOptions(watermark=MARK, protection=Protection("s3cret-zip"))
    archive = pyzipper.AESZipFile(io.BytesIO(render(fmt, NOVEL, options)))
    (name,) = archive.namelist()
    assert name == ("红楼.docx" if fmt == "word" else "红楼.txt")
    assert archive.getinfo(name).flag_bits & 0x1  # encrypted
    archive.setpassword(b"wrong")
    with pytest.raises(RuntimeError):
        archive.read(name)
    archive.setpassword(b"s3cret-zip")
    inner = archive.read(name)
    if fmt == "word":
        assert docx.Document(io.BytesIO(inner)).core_properties.identifier == MARK.mark_id
    else:
        assert "甄士隐梦幻识通灵" in inner.decode()


@SQLITE_ONLY
async def test_a_task_whose_password_is_gone_fails_rather_than_export_unprotected(
    adapters: Adapters,
) -> None:
    async with adapters.database.session() as session:
        user = User(username="reader", email="r@example.com", password_hash="x")
        session.add(user)
        await session.flush()
        work = Work(user_id=user.id, title="夜雨", type="novel")
        session.add(work)
        await session.flush()
    tasks = TaskStore(adapters.database)
    params = {"format": "pdf", "options": {}, "protection": {"can_print": True}}
    task = await tasks.create(user.id, EXPORT, "pdf", work_id=work.id, params=params)
    job = ExportJob(
        adapters.database, adapters.store, tasks, adapters.blobs, passwords=HeldPasswords()
    )
    with pytest.raises(ExportError, match="export again"):
        await job(task.id)
    assert await adapters.blobs.keys("exports/") == []
