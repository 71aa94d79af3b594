"""docker-compose.yml, nginx and the Procfile stay true to the code (no Docker engine here)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from api.cli import build_parser
from api.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_the_topology_is_complete() -> None:
    assert {"mysql", "mongo", "redis", "migrate", "web1", "web2", "worker", "nginx"} <= set(
        SERVICES
    )
    assert SERVICES["mysql"]["image"].startswith("mysql:8")
    assert SERVICES["mongo"]["image"].startswith("mongo:7")
    assert "--replSet" in SERVICES["mongo"]["command"]
    assert SERVICES["redis"]["image"].startswith("redis:7")


def test_every_inkweave_variable_is_a_setting() -> None:
    fields = {f"INKWEAVE_{name.upper()}" for name in Settings.model_fields}
    for name, service in SERVICES.items():
        for key in service.get("environment", {}):
            if key.startswith("INKWEAVE_"):
                assert key in fields, f"{name}: {key} is not a setting"
    for line in (ROOT / ".env.example").read_text().splitlines():
        key = line.split("=", 1)[0]
        if key.startswith("INKWEAVE_"):
            assert key in fields, key


def test_every_command_is_one_the_cli_accepts() -> None:
    parser = build_parser()
    commands = [s["command"] for s in SERVICES.values() if s.get("command") and s.get("build")]
    commands += [
        shlex.split(line.split(":", 1)[1].replace("${PORT:-8000}", "8000"))
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.strip()
    ]
    assert len(commands) >= 6
    for command in commands:
        assert command[0] == "inkweave"
        parser.parse_args(command[1:])


def test_the_web_nodes_wait_for_migrations_and_their_stores() -> None:
    for web in ("web1", "web2"):
        depends = SERVICES[web]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert {"mongo", "redis"} <= set(depends)
        assert SERVICES[web]["environment"]["INKWEAVE_AUTO_MIGRATE"] == "false"


def test_nginx_balances_the_web_nodes_and_upgrades_websockets() -> None:
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    upstream = re.search(r"upstream inkweave \{(.*?)\}", conf, re.S)
    assert upstream is not None
    servers = set(re.findall(r"server (\w+):8000;", upstream.group(1)))
    assert servers == {name for name in SERVICES if name.startswith("web")}
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "proxy_set_header Connection $connection_upgrade;" in conf
    assert "location /sync/" in conf
