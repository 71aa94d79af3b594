"""The S3 blob store against moto's S3-compatible server on loopback (real boto3 wire traffic)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote

import httpx
import pytest
from moto.server import ThreadedMotoServer

from jobs.exports import content_disposition, file_name
from storage.blobs.s3 import S3BlobStore
from tests.support.server import free_port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _store(endpoint: str, bucket: str, **kwargs: object) -> S3BlobStore:
    return S3BlobStore(
        bucket,
        endpoint_url=endpoint,
        access_key_id="test",
        secret_access_key="test",
        create_bucket=True,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_put_get_delete_round_trip(s3_endpoint: str) -> None:
    store = _store(s3_endpoint, "inkweave-roundtrip", prefix="exports-test/")
    await store.start()
    data = "第一章 风起\n\n他推开门。".encode() * 1000
    await store.put("exports/t1/风起.txt", data, "text/plain; charset=utf-8")
    assert await store.get("exports/t1/风起.txt") == (data, "text/plain; charset=utf-8")
    assert await store.keys("exports/t1/") == ["exports/t1/风起.txt"]
    await store.delete("exports/t1/风起.txt")
    with pytest.raises(KeyError):
        await store.get("exports/t1/风起.txt")
    assert await store.keys("exports/") == []
    await store.close()


async def test_missing_key_is_a_key_error(s3_endpoint: str) -> None:
    store = _store(s3_endpoint, "inkweave-missing")
    await store.start()
    with pytest.raises(KeyError):
        await store.get("nothing/here.pdf")
    await store.close()


async def test_presigned_url_downloads_without_credentials_with_a_cjk_filename(
    s3_endpoint: str,
) -> None:
    store = _store(s3_endpoint, "inkweave-presign")
    await store.start()
    data = b"%PDF-1.4 fake but exact bytes \x00\x01\x02"
    await store.put("exports/t2/book.pdf", data, "application/pdf")
    filename = file_name("长夜/将尽", "pdf")
    url = store.presigned_get(
        "exports/t2/book.pdf", 60, content_disposition=content_disposition(filename)
    )
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
        assert response.status_code == 200
        assert response.content == data
        disposition = response.headers["content-disposition"]
        assert disposition.isascii()
        assert "filename*=UTF-8''" in disposition
        assert unquote(disposition.split("filename*=UTF-8''")[1]) == filename == "长夜 将尽.pdf"
        tampered = url.replace("book.pdf", "other.pdf")
        refused = await http.get(tampered)
        assert refused.status_code == 403
        assert b"SignatureDoesNotMatch" in refused.content
    await store.close()


async def test_presigned_url_carries_the_asked_expiry_capped_at_seven_days(
    s3_endpoint: str,
) -> None:
    # moto does not enforce X-Amz-Expires (real S3 does), so the test checks what is signed.
    store = _store(s3_endpoint, "inkweave-expiry")
    await store.start()
    await store.put("k.txt", b"soon gone", "text/plain")
    short = httpx.URL(store.presigned_get("k.txt", 90))
    assert short.params["X-Amz-Expires"] == "90"
    capped = httpx.URL(store.presigned_get("k.txt", 30 * 24 * 3600))
    assert capped.params["X-Amz-Expires"] == str(7 * 24 * 3600)
    await store.close()


async def test_presigned_urls_are_signed_for_the_public_endpoint(s3_endpoint: str) -> None:
    store = _store(s3_endpoint, "inkweave-public", public_endpoint_url="https://files.example.com")
    await store.start()
    await store.put("a.txt", b"x", "text/plain")
    url = httpx.URL(store.presigned_get("a.txt", 60))
    assert (url.scheme, url.host, url.path) == (
        "https",
        "files.example.com",
        "/inkweave-public/a.txt",
    )
    assert await store.get("a.txt") == (b"x", "text/plain")
    await store.close()
