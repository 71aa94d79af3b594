"""Uploads are what they claim: an avatar is decoded, bounded in pixels and re-encoded without
its metadata, then served under the re-encoded type with nosniff; an import's content must match
its extension. Over HTTP, on SQLite and MariaDB."""

from __future__ import annotations

from functools import cache

import httpx
from PIL import Image

from tests.api.test_works import ok, refused
from tests.jobs.conftest import SQLITE_ONLY
from tests.support.api import Account, Api
from tests.support.images import image_bytes, opened, saved

AVATAR = "/api/v1/users/me/avatar"
ENGLISH = {"Accept-Language": "en"}
SECRET = "秘密拍摄地点"


@cache
def huge_png() -> bytes:
    """20000×20000 pixels of one colour in ~200 KiB: well under the 2 MiB upload limit, so only
    its pixels can refuse it."""
    return image_bytes("PNG", (20000, 20000), mode="1", compress_level=1)


def jpeg_with_exif(size: tuple[int, int], orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x010E] = SECRET  # ImageDescription
    exif[0x0112] = orientation
    exif.get_ifd(0x8825)[2] = (39.0, 54.0, 27.0)  # GPSLatitude
    return image_bytes("JPEG", size, exif=exif.tobytes(), comment=SECRET.encode())


async def upload(
    api: Api, who: Account, data: bytes, name: str, declared: str, **kwargs: object
) -> httpx.Response:
    return await api.call("POST", AVATAR, who, files={"file": (name, data, declared)}, **kwargs)


async def no_avatar(api: Api, who: Account) -> None:
    refused(await api.call("GET", f"/api/v1/users/{who.id}/avatar"), 404, 40401)
    assert ok(await api.call("GET", "/api/v1/users/me", who))["avatar_url"] is None


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_an_avatar_beyond_the_pixel_budget_is_refused(api: Api) -> None:
    writer = await api.sign_up()
    answer = refused(await upload(api, writer, huge_png(), "big.png", "image/png"), 413, 41302)
    assert answer["message"].startswith("图片尺寸过大")
    # Below Pillow's own decompression-bomb limit, still beyond ours (4096 on a side)
    wide = image_bytes("PNG", (4097, 8))
    answer = refused(await upload(api, writer, wide, "wide.png", "image/png", headers=ENGLISH), 413)
    assert answer["code"] == 41302 and answer["message"].startswith("The image is too large")
    await no_avatar(api, writer)


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_what_is_not_an_intact_image_is_refused_whatever_it_is_labelled(api: Api) -> None:
    writer = await api.sign_up()
    html = b"<html><body><script>alert(document.cookie)</script></body></html>"
    answer = refused(await upload(api, writer, html, "cat.gif", "image/gif"), 415, 41502)
    assert answer["message"] == "文件不是完好的 PNG、JPEG、WebP 或 GIF 图片"
    answer = refused(await upload(api, writer, html, "cat.gif", "image/gif", headers=ENGLISH), 415)
    assert answer["message"] == "The file is not an intact PNG, JPEG, WebP or GIF image"
    behind_a_header = b"GIF89a" + html
    refused(await upload(api, writer, behind_a_header, "x.gif", "image/gif"), 415, 41502)
    truncated = image_bytes("PNG", (300, 300), mode="RGB", compress_level=0)[:5000]
    refused(await upload(api, writer, truncated, "cut.png", "image/png"), 415, 41502)
    not_allowed = image_bytes("BMP", (16, 16))
    refused(await upload(api, writer, not_allowed, "a.bmp", "image/bmp"), 415, 41502)
    await no_avatar(api, writer)


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_a_jpeg_is_stored_re_encoded_without_metadata_and_served_with_nosniff(
    api: Api,
) -> None:
    writer = await api.sign_up()
    original = jpeg_with_exif((1200, 900))
    assert SECRET.encode() in original and b"SpyCam" in original
    url = ok(await upload(api, writer, original, "我.jpg", "image/jpeg"))["avatar_url"]

    served = await api.call("GET", url)
    assert served.status_code == 200, served.text
    assert served.headers["content-type"] == "image/webp"
    assert served.headers["x-content-type-options"] == "nosniff"
    image = opened(served.content)
    assert image.format == "WEBP" and image.size == (512, 384)  # at most 512 on a side
    assert len(image.getexif()) == 0 and not {"exif", "xmp", "icc_profile"} & set(image.info)
    for leaked in (SECRET.encode(), SECRET.encode("utf-16-le"), b"SpyCam", b"Exif"):
        assert leaked not in served.content


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_the_content_decides_not_the_declared_type_and_exif_turns_it_upright(
    api: Api,
) -> None:
    writer = await api.sign_up()
    sideways = jpeg_with_exif((60, 40), orientation=6)  # "rotate 90° to display"
    url = ok(await upload(api, writer, sideways, "photo.bin", "application/octet-stream"))[
        "avatar_url"
    ]
    served = await api.call("GET", url)
    assert served.headers["content-type"] == "image/webp"
    assert opened(served.content).size == (40, 60)

    first, second = (Image.new("P", (32, 24), index) for index in (3, 9))
    gif = saved(first, "GIF", save_all=True, append_images=[second])
    ok(await upload(api, writer, gif, "a.gif", "image/gif"))
    still = await api.call("GET", url)
    assert opened(still.content).size == (32, 24)
    assert getattr(opened(still.content), "n_frames", 1) == 1  # the first frame only


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_an_import_is_judged_by_its_content_not_its_name(api: Api) -> None:
    owner = await api.sign_up()
    cases = [
        ("book.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"),
        ("novel.txt", image_bytes("PNG", (8, 8))),
        ("novel.docx", "第一章\n他推开门。".encode()),
        ("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64),
        ("script.fountain", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64),
    ]
    for name, data in cases:
        files = {"file": (name, data, "text/plain")}
        answer = refused(await api.call("POST", "/api/v1/import", owner, files=files), 415, 41501)
        assert answer["message"] == "不支持的文件类型"
    files = {"file": ("book.txt", cases[0][1], "text/plain")}
    english = await api.call("POST", "/api/v1/import", owner, files=files, headers=ENGLISH)
    assert refused(english, 415, 41501)["message"] == "Unsupported file type"
    # Text in UTF-16 (with its BOM, so NUL bytes) is text
    utf16 = "第一章 风起\n他推开门，夜色很深。\n".encode("utf-16")
    files = {"file": ("utf16.txt", utf16, "text/plain")}
    ok(await api.call("POST", "/api/v1/import", owner, files=files), 202)
