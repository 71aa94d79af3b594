"""Property-based run over the OpenAPI schema: whatever arrives, the answer is never a 5xx."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from api.app import create_app
from api.settings import Settings
from tests.support.server import ServerProcess

schema = schemathesis.openapi.from_dict(
    create_app(Settings(data_dir=Path(tempfile.mkdtemp()))).openapi()
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    data = tmp_path_factory.mktemp("fuzz") / "data"
    server = ServerProcess(
        data,
        env={
            "INKWEAVE_AUTH": "on",
            "INKWEAVE_RATE_LIMIT_USER_PER_MIN": "1000000",
            "INKWEAVE_RATE_LIMIT_IP_PER_MIN": "1000000",
            "INKWEAVE_LOGIN_FAILURES_PER_15_MIN": "1000000",
        },
    ).start()
    try:
        with httpx.Client(base_url=server.http_url, timeout=30) as http:
            email = "fuzz@example.com"
            http.post("/api/v1/auth/code", json={"email": email}).raise_for_status()
            mail = json.loads((data / "outbox.jsonl").read_text().splitlines()[-1])
            code = re.search(r"\b(\d{6})\b", mail["body"]).group(1)  # type: ignore[union-attr]
            registered = http.post(
                "/api/v1/auth/register",
                json={
                    "username": "模糊测试",
                    "email": email,
                    "password": "fuzz-pass-1",
                    "code": code,
                },
            )
            registered.raise_for_status()
            yield server.http_url, registered.json()["data"]["token"]
    finally:
        server.stop()
        log = server.log_path.read_text(errors="replace")
        assert "Traceback" not in log, log[-4000:]


@schema.parametrize()
@hypothesis_settings(
    max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
def test_no_request_gets_a_server_error(case: schemathesis.Case, live: tuple[str, str]) -> None:
    base_url, token = live
    response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code < 500, f"{case.method} {case.path}: {response.text[:500]}"
    content_type = (response.headers.get("content-type") or [""])[0]
    if content_type.startswith("application/json"):
        body = response.json()
        assert {"code", "message", "timestamp"} <= set(body), body
