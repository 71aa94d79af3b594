"""Business metrics on `/metrics` (accounts, works, orders, exports, writers, AI calls and
tokens, REST requests), and the Grafana dashboard and Prometheus alerts under deploy/ name only
metrics that a running app exports."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from api.settings import Settings
from tests.api.test_works import make_chapter, make_work, ok, share
from tests.support.api import Api, running_api
from tests.support.clock import ManualClock
from tests.support.waiting import eventually
from tests.support.yclient import YClient

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "inkweave.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
PROMETHEUS_OWN = {"up"}  # made by Prometheus itself for every scrape target


Samples = dict[str, list[tuple[dict[str, str], float]]]
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


async def _scrape(api: Api) -> Samples:
    """Every sample by name; a declared family with no sample yet (a labelled counter that never
    counted) is there by its sample names too, with no samples."""
    response = await api.http.get("/metrics")
    assert response.status_code == 200, response.text
    samples: Samples = defaultdict(list)
    for family in text_string_to_metric_families(response.text):
        for suffix in SUFFIXES.get(family.type, ()):
            samples.setdefault(family.name + suffix, [])
        for sample in family.samples:
            samples[sample.name].append((sample.labels, sample.value))
    return samples


def _value(samples: Samples, name: str, **labels: str) -> float:
    return sum(v for have, v in samples.get(name, []) if labels.items() <= have.items())


def _dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels and all(p["targets"] for p in panels)
    return [target["expr"] for panel in panels for target in panel["targets"]]


def _alert_queries() -> list[str]:
    rules = [
        rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]
    ]
    for rule in rules:
        assert rule["alert"] and rule["expr"] and rule["for"], rule
        assert rule["labels"]["severity"] in {"page", "warn"}, rule
        assert rule["annotations"]["summary"], rule
    return [rule["expr"] for rule in rules]


def _metric_names(query: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"', '""', query)
    return set(re.findall(r"\b(inkweave_[a-z0-9_]+|up)\b(?!\s*\()", without_strings))


def test_the_alerts_cover_what_the_issue_asks() -> None:
    queries = _alert_queries()
    named = set().union(*map(_metric_names, queries))
    assert {
        "inkweave_store_append_seconds_bucket",  # store append latency
        "inkweave_http_requests_total",  # 5xx rate
        "inkweave_ai_calls_total",  # AI failure rate
        "inkweave_open_rooms",  # room count
    } <= named


async def test_business_metrics_and_every_metric_the_dashboards_name(tmp_path: Path) -> None:
    clock = ManualClock()
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'inkweave.sqlite3'}",
        auto_migrate=True,
        ai_offline_delay_ms=0,
        metrics_counts_cache_s=30,
    )
    async with running_api(settings, clock=clock) as api:
        owner, viewer = await api.sign_up(), await api.sign_up()
        work = await make_work(api, owner)
        chapter = await make_chapter(api, owner, work["id"], "第一章")
        await share(api, owner, work["id"], viewer, "viewer")
        order = {"level": "premium", "plan_type": "monthly", "provider": "sandbox"}
        ok(await api.call("POST", "/api/v1/orders", owner, json=order), 201)
        export = {"work_id": work["id"], "format": "txt"}
        ok(await api.call("POST", "/api/v1/export", owner, json=export), 202)
        polish = {"work_id": work["id"], "content": "他很快的跑了过去。", "style": "formal"}
        ok(await api.call("POST", "/api/v1/ai/polish", owner, json=polish))
        assert (await api.call("GET", "/api/v1/no-such-thing", owner)).status_code == 404

        writer = YClient(api.app.sync_url, chapter["content_id"], token=owner.token)
        reader = YClient(api.app.sync_url, chapter["content_id"], token=viewer.token)
        await writer.connect()
        await reader.connect()
        try:
            writer.append("夜色渐深，灯火未眠。")
            await eventually(lambda: "灯火" in str(reader.text), what="relayed")
            # A scrape waits a moment for the read it starts, else it shows the last counts.
            samples = await eventually(lambda: _scrape_with(api, "inkweave_users", 2))
        finally:
            await writer.close()
            await reader.close()

        assert _value(samples, "inkweave_users") == 2
        assert _value(samples, "inkweave_works", type="novel") == 1
        assert _value(samples, "inkweave_orders", status="pending") == 1
        assert _value(samples, "inkweave_exports") == 1
        assert _value(samples, "inkweave_connections") == 2
        assert _value(samples, "inkweave_active_writers") == 1  # the viewer only reads
        assert _value(samples, "inkweave_ai_calls_total", provider="offline", status="ok") == 1
        assert _value(samples, "inkweave_ai_tokens_total", provider="offline") > 0
        assert _value(samples, "inkweave_ai_call_seconds_count", provider="offline") == 1
        created = {"method": "POST", "route": "/api/v1/works", "status": "201"}
        assert _value(samples, "inkweave_http_requests_total", **created) == 1
        assert _value(samples, "inkweave_http_requests_total", route="unmatched", status="404") == 1
        assert _value(samples, "inkweave_updates_received_total") >= 1

        # Every metric that a panel or an alert names is one this app exports.
        exported = set(samples) | PROMETHEUS_OWN
        for query in _dashboard_queries() + _alert_queries():
            missing = _metric_names(query) - exported
            assert not missing, f"{query!r} names metrics nobody exports: {missing}"

        # Counts from the database are reused for `metrics_counts_cache_s`, then read again.
        await api.sign_up()
        assert _value(await _scrape(api), "inkweave_users") == 2
        clock.advance(30)
        await eventually(lambda: _scrape_with(api, "inkweave_users", 3), what="read again")


async def _scrape_with(api: Api, name: str, expected: float) -> Samples | None:
    samples = await _scrape(api)
    return samples if _value(samples, name) == expected else None
