"""deploy/k8s stays valid Kubernetes and true to the code (no cluster or kustomize binary here).

Every resource of the base, and every resource of the production overlay as kustomize renders it
(namespace, image, strategic-merge patches: done here the way kustomize does for these fields),
is validated against the Kubernetes schemas (`kubernetes-validate`, strict: an unknown field is an
error); every `INKWEAVE_*` variable is a setting; every command is one the CLI accepts; probes,
drain and timeouts agree with the server's own.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from api.cli import build_parser, main
from api.payments.sandbox import PAGE_PATH as SANDBOX_PAGE
from api.settings import Settings

K8S = Path(__file__).resolve().parents[1] / "deploy" / "k8s"
BASE = K8S / "base"
PRODUCTION = K8S / "overlays" / "production"
KUBERNETES_VERSION = "1.30.0"  # the oldest with a native `sleep` preStop action on by default


def _load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _kustomization(folder: Path) -> dict[str, Any]:
    [kustomization] = _load(folder / "kustomization.yaml")
    return kustomization


def _base() -> list[dict[str, Any]]:
    resources = []
    for name in _kustomization(BASE)["resources"]:
        resources += _load(BASE / name)
    return resources


def _merge(into: Any, patch: Any) -> Any:
    """A strategic merge patch for the fields these manifests patch: maps merge, lists of named
    items (containers, ports) merge by name, other lists are replaced."""
    if isinstance(into, dict) and isinstance(patch, dict):
        merged = dict(into)
        for key, value in patch.items():
            merged[key] = _merge(into[key], value) if key in into else copy.deepcopy(value)
        return merged
    if isinstance(into, list) and isinstance(patch, list) and _named(into + patch):
        by_name = {item["name"]: item for item in into}
        for item in patch:
            by_name[item["name"]] = _merge(by_name.get(item["name"], {}), item)
        return list(by_name.values())
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return all(isinstance(item, dict) and "name" in item for item in items)


def _render(overlay: Path) -> list[dict[str, Any]]:
    kustomization = _kustomization(overlay)
    assert kustomization["resources"] == ["../../base"]
    resources = copy.deepcopy(_base())
    for entry in kustomization.get("patches", []):
        [patch] = _load(overlay / entry["path"])
        targets = [
            i
            for i, r in enumerate(resources)
            if (r["kind"], r["metadata"]["name"]) == (patch["kind"], patch["metadata"]["name"])
        ]
        assert len(targets) == 1, f"{entry['path']} patches nothing in the base"
        resources[targets[0]] = _merge(resources[targets[0]], patch)
    images = {image["name"]: image for image in kustomization.get("images", [])}
    for resource in resources:
        resource["metadata"]["namespace"] = kustomization["namespace"]
        for container in _all_containers(resource):
            image = images.get(container["image"])
            if image is not None:
                container["image"] = f"{image['newName']}:{image['newTag']}"
    return resources


def _containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    template = resource.get("spec", {}).get("template", {})
    return template.get("spec", {}).get("containers", [])


def _init_containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    template = resource.get("spec", {}).get("template", {})
    return template.get("spec", {}).get("initContainers", [])


def _all_containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return _init_containers(resource) + _containers(resource)


def _find(resources: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    return found


def _env_names(resource: dict[str, Any]) -> set[str]:
    if resource["kind"] == "ConfigMap":
        return set(resource.get("data", {}))
    if resource["kind"] == "Secret":
        return set(resource.get("stringData", {})) | set(resource.get("data", {}))
    return {e["name"] for c in _all_containers(resource) for e in c.get("env", [])}


RENDERINGS = {"base": _base, "production": lambda: _render(PRODUCTION)}


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_every_resource_is_valid_kubernetes(rendering: str) -> None:
    resources = RENDERINGS[rendering]()
    assert len(resources) == len(_kustomization(BASE)["resources"])
    for resource in resources:
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            name = f"{resource['kind']}/{resource['metadata']['name']}"
            raise AssertionError(f"{rendering} {name}: {exc.message} at {list(exc.path)}") from exc


def test_every_file_is_part_of_its_kustomization() -> None:
    for folder in (BASE, PRODUCTION):
        kustomization = _kustomization(folder)
        named = set(kustomization.get("resources", [])) | {
            p["path"] for p in kustomization.get("patches", [])
        }
        files = {p.name for p in folder.glob("*.yaml")} - {"kustomization.yaml"}
        assert files == named - {"../../base"}, folder


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_every_inkweave_variable_is_a_setting(
    rendering: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = {f"INKWEAVE_{name.upper()}" for name in Settings.model_fields}
    for resource in RENDERINGS[rendering]():
        for name in _env_names(resource):
            assert name in fields, f"{resource['kind']}/{resource['metadata']['name']}: {name}"
    # and each value is one the settings accept, read as the pods read them: from the environment
    resources = RENDERINGS[rendering]()
    values = {
        **_find(resources, "ConfigMap", "inkweave-config")["data"],
        **_find(resources, "Secret", "inkweave-secrets")["stringData"],
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.workers == 1 and settings.auto_migrate is False
    assert settings.jobs_in_process is False


def test_pods_read_the_config_and_the_secret_and_run_cli_commands() -> None:
    parser = build_parser()
    resources = _base()
    pods = [r for r in resources if _containers(r)]
    assert {r["metadata"]["name"] for r in pods} == {
        "inkweave-web",
        "inkweave-worker",
        "inkweave-migrate",
    }
    for resource in pods:
        for container in _all_containers(resource):
            assert container["command"][0] == "inkweave"
            parser.parse_args(container["command"][1:])
            sources = {next(iter(s.values()))["name"] for s in container["envFrom"] if len(s) == 1}
            assert sources == {"inkweave-config", "inkweave-secrets"}
            assert container["resources"]["requests"]["memory"]
            assert container["resources"]["limits"]["memory"]


def test_web_pods_are_probed_drained_and_shut_down_in_time() -> None:
    resources = _base()
    web = _find(resources, "Deployment", "inkweave-web")
    [container] = _containers(web)
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    # /readyz bounds each store check at 5 s: the probe must wait longer than that.
    assert container["readinessProbe"]["timeoutSeconds"] > 5
    pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    config = _find(resources, "ConfigMap", "inkweave-config")["data"]
    grace = float(config["INKWEAVE_SHUTDOWN_GRACE_S"])
    assert pause + grace < web["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert "replicas" not in web["spec"], "the HPA owns the count"


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_service_hpa_and_budgets_select_the_right_pods(rendering: str) -> None:
    resources = RENDERINGS[rendering]()
    labels = {
        name: _find(resources, "Deployment", f"inkweave-{name}")["spec"]["template"]["metadata"][
            "labels"
        ]
        for name in ("web", "worker")
    }
    service = _find(resources, "Service", "inkweave-web")
    assert service["spec"]["selector"].items() <= labels["web"].items()
    for name in ("web", "worker"):
        budget = _find(resources, "PodDisruptionBudget", f"inkweave-{name}")
        assert budget["spec"]["selector"]["matchLabels"].items() <= labels[name].items()
    hpa = _find(resources, "HorizontalPodAutoscaler", "inkweave-web")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "inkweave-web",
    }
    [metric] = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    web_budget = _find(resources, "PodDisruptionBudget", "inkweave-web")
    assert web_budget["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_the_ingress_keeps_websockets_open_and_reaches_the_service(rendering: str) -> None:
    resources = RENDERINGS[rendering]()
    ingress = _find(resources, "Ingress", "inkweave")
    annotations = ingress["metadata"]["annotations"]
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(annotations[f"nginx.ingress.kubernetes.io/{timeout}"]) >= 3600
    service = _find(resources, "Service", "inkweave-web")
    port_names = {port["name"] for port in service["spec"]["ports"]}
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "inkweave-web" and backend["port"]["name"] in port_names


# Requests whose URL carries a secret (what deploy/nginx.conf redacts from its access lines).
SECRET_URLS = (
    "/sync/chapter-1?token=eyJ",
    "/api/v1/notifications/ws?token=eyJ",
    "/api/v1/export/download/capability",
    f"{SANDBOX_PAGE}ORDER1?t=hmac",
    "/api/v1/auth/oidc/callback?code=abc&state=xyz",
)
PLAIN_URLS = ("/", "/api/v1/works/1/chapters", "/api/v1/export/tasks/1", "/app/")


def _served_by(resources: list[dict[str, Any]], host: str, url: str) -> dict[str, Any]:
    """The Ingress that ingress-nginx picks for `url`: the longest matching `Prefix` path (by
    whole path elements) across every Ingress of the host."""
    path = url.split("?")[0]
    best: tuple[int, dict[str, Any]] | None = None
    for ingress in (r for r in resources if r["kind"] == "Ingress"):
        for rule in ingress["spec"]["rules"]:
            if rule["host"] != host:
                continue
            for entry in rule["http"]["paths"]:
                prefix = entry["path"].rstrip("/")
                matches = path == prefix or path.startswith(prefix + "/") or prefix == ""
                longer = best is None or len(prefix) > best[0]
                if entry["pathType"] == "Prefix" and matches and longer:
                    best = (len(prefix), ingress)
    assert best is not None, f"no Ingress serves {url}"
    return best[1]


def _logs_access(ingress: dict[str, Any]) -> bool:
    annotations = ingress["metadata"].get("annotations", {})
    return annotations.get("nginx.ingress.kubernetes.io/enable-access-log", "true") != "false"


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_no_access_log_line_holds_a_secret_from_a_url(rendering: str) -> None:
    resources = RENDERINGS[rendering]()
    [host] = {r["host"] for r in _find(resources, "Ingress", "inkweave")["spec"]["rules"]}
    for url in SECRET_URLS:
        ingress = _served_by(resources, host, url)
        assert not _logs_access(ingress), f"{url} is logged by {ingress['metadata']['name']}"
    for url in PLAIN_URLS:
        assert _logs_access(_served_by(resources, host, url)), url
    # The sockets behind it stay open as long as behind the main Ingress.
    sockets = _find(resources, "Ingress", "inkweave-secret-urls")["metadata"]["annotations"]
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(sockets[f"nginx.ingress.kubernetes.io/{timeout}"]) >= 3600
    if rendering == "production":
        secret_urls = _find(resources, "Ingress", "inkweave-secret-urls")
        assert secret_urls["spec"]["tls"] == _find(resources, "Ingress", "inkweave")["spec"]["tls"]


def test_production_renders_its_namespace_image_and_patches() -> None:
    resources = _render(PRODUCTION)
    assert {r["metadata"]["namespace"] for r in resources} == {"inkweave"}
    images = {c["image"] for r in resources for c in _all_containers(r)}
    assert images == {"registry.example.com/inkweave:0.1.0"}
    assert _find(resources, "HorizontalPodAutoscaler", "inkweave-web")["spec"]["minReplicas"] == 3
    config = _find(resources, "ConfigMap", "inkweave-config")["data"]
    assert config["INKWEAVE_OTLP_ENDPOINT"].startswith("http")
    assert config["INKWEAVE_WORKERS"] == "1"  # the base's keys survive the patch
    ingress = _find(resources, "Ingress", "inkweave")
    assert ingress["spec"]["tls"][0]["hosts"] == [r["host"] for r in ingress["spec"]["rules"]]


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_web_and_worker_pods_wait_for_the_schema_the_job_migrates(rendering: str) -> None:
    resources = RENDERINGS[rendering]()
    parser = build_parser()
    job = _find(resources, "Job", "inkweave-migrate")
    [migrate] = _containers(job)
    assert not parser.parse_args(migrate["command"][1:]).check, "the Job migrates"
    for name in ("inkweave-web", "inkweave-worker"):
        deployment = _find(resources, "Deployment", name)
        [wait] = _init_containers(deployment)
        args = parser.parse_args(wait["command"][1:])
        assert (args.run.__name__, args.check) == ("migrate", True), name
        assert args.wait > 0, name
        [main_container] = _containers(deployment)
        assert wait["image"] == main_container["image"] == migrate["image"]
        assert wait["envFrom"] == main_container["envFrom"]
        volumes = {v["name"] for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert {m["mountPath"] for m in wait["volumeMounts"]} >= {"/var/lib/inkweave"}
        assert {m["name"] for m in wait["volumeMounts"]} <= volumes


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_the_worker_serves_its_metrics_where_it_is_annotated(
    rendering: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = _find(RENDERINGS[rendering](), "Deployment", "inkweave-worker")
    template = worker["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    [container] = _containers(worker)
    [port] = [p for p in container["ports"] if p["name"] == "metrics"]
    for variable in container["env"]:
        monkeypatch.setenv(variable["name"], variable["value"])
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.worker_metrics_port == port["containerPort"]
    assert str(settings.worker_metrics_port) == annotations["prometheus.io/port"]
    assert settings.worker_metrics_host == "0.0.0.0"  # the scraper is another pod


def test_migrate_check_tells_whether_the_schema_is_at_head_and_migrates_nothing(
    tmp_path: Path,
) -> None:
    data = ["--data-dir", str(tmp_path / "data")]

    def check() -> int:
        with pytest.raises(SystemExit) as exited:
            main(["migrate", "--check", *data])
        return int(exited.value.code or 0)

    assert check() == 1  # an empty database
    assert check() == 1  # still: the check migrated nothing
    main(["migrate", *data])
    assert check() == 0
