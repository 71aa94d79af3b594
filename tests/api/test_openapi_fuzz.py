"""Property-based runs over the OpenAPI schema: whatever arrives, the answer is never a 5xx.

The second run rewrites the schema so that every integer a request carries (path, query, body)
is beyond any bound: at least 2**63 (past BIGINT) or at most 0, and required, so that each
generated request carries one (tests/api/test_security_input.py has the exact cases).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from api.app import create_app
from api.settings import Settings
from tests.support.server import ServerProcess

SPEC = create_app(Settings(data_dir=Path(tempfile.mkdtemp()))).openapi()
schema = schemathesis.openapi.from_dict(SPEC)
BEYOND = {"anyOf": [{"type": "integer", "minimum": 2**63}, {"type": "integer", "maximum": 0}]}


def _has_integer(node: Any) -> bool:
    """Whether `node` is or holds an integer schema, through `$ref`s into SPEC's components."""
    if isinstance(node, list):
        return any(_has_integer(item) for item in node)
    if not isinstance(node, dict):
        return False
    if node.get("type") == "integer":
        return True
    if "$ref" in node:
        return _has_integer(SPEC["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]])
    return any(_has_integer(value) for value in node.values())


def _beyond_bounds(node: Any) -> Any:
    """`node` with every integer schema replaced by BEYOND, and every property and parameter
    that holds one required (so that each generated request carries one)."""
    if isinstance(node, list):
        return [_beyond_bounds(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") == "integer":
        return BEYOND
    new = {key: _beyond_bounds(value) for key, value in node.items()}
    if "in" in node and "schema" in node and _has_integer(node["schema"]):
        new["required"] = True
    holding = [name for name, field in node.get("properties", {}).items() if _has_integer(field)]
    if holding:
        new["required"] = sorted({*node.get("required", []), *holding})
    return new


def _huge_integers(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with integers beyond bounds, and only the operations that take one."""
    paths = {
        path: {
            method: _beyond_bounds(operation)
            for method, operation in operations.items()
            if _has_integer({k: v for k, v in operation.items() if k != "responses"})
        }
        for path, operations in spec["paths"].items()
    }
    return {
        **spec,
        "paths": {path: operations for path, operations in paths.items() if operations},
        "components": _beyond_bounds(spec["components"]),
    }


huge_integers = schemathesis.openapi.from_dict(_huge_integers(SPEC))


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
        migrated=True,
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
    _answered_without_a_server_error(case, live)


@huge_integers.parametrize()
@hypothesis_settings(
    max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
def test_no_integer_beyond_bounds_gets_a_server_error(
    case: schemathesis.Case, live: tuple[str, str]
) -> None:
    _answered_without_a_server_error(case, live)


def _answered_without_a_server_error(case: schemathesis.Case, live: tuple[str, str]) -> None:
    base_url, token = live
    response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code < 500, f"{case.method} {case.path}: {response.text[:500]}"
    content_type = (response.headers.get("content-type") or [""])[0]
    if content_type.startswith("application/json"):
        body = response.json()
        assert {"code", "message", "timestamp"} <= set(body), body
