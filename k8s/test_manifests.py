"""Offline checks of the Kubernetes manifests (``make k8s-check``), on what ``kubectl kustomize`` renders.

Schemas (kubernetes-validate, strict, oldest and newest supported Kubernetes) and checkov cover the
objects one at a time. The rest checks what only a live API server, the ingress controller or the apps
themselves would catch: selectors that select, probes the apps serve, variables the apps read, the image's
user and port, the migration command compose runs, where ingress-nginx sends each path (the live order
sockets among them), which gunicorn workers serve them, which pods hold LISTEN connections and where each
goes, and the exact network paths the NetworkPolicies leave open.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import shlex
import shutil
import subprocess
from base64 import b64decode
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from shared.config import Settings
from shared.http.sockets import EVENTS_PATH, PING_INTERVAL_SECONDS
from tests.project_files import dockerfile_instruction, dockerfile_stages, variables_read

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "k8s"
OVERLAYS = ("dev", "production")
KUBERNETES_VERSIONS = ("1.32", "1.37")  # the oldest and newest minor versions we support (k8s/README.md)
# custom resources of the CloudNativePG operator: no schema ships offline; the API server checks them
OPERATOR_KINDS = {("postgresql.cnpg.io/v1", "Cluster"), ("postgresql.cnpg.io/v1", "Pooler")}
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")
APP_IMAGES = {"shop-fastapi": "fastapi", "shop-flask": "flask"}  # image name -> Dockerfile target
# Deployment -> the image it runs: the Flask image twice, the second time with gevent workers for the live
# order sockets only (k8s/base/flask-events.yaml)
APP_DEPLOYMENTS = {
    "shop-fastapi": "shop-fastapi",
    "shop-flask": "shop-flask",
    "shop-flask-events": "shop-flask",
}

Object = dict[str, Any]


# --- rendering and the repository's other sources of truth -------------------------------------------------


@cache
def _rendered_text(overlay: str) -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail(
            "make k8s-check needs kubectl (it carries kustomize): https://kubernetes.io/docs/tasks/tools/"
        )
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def rendered(overlay: str) -> list[Object]:
    return [obj for obj in yaml.safe_load_all(_rendered_text(overlay)) if obj]


def of_kind(overlay: str, *kinds: str) -> list[Object]:
    return [obj for obj in rendered(overlay) if obj["kind"] in kinds]


def named(overlay: str, kind: str, name: str) -> Object:
    (obj,) = [o for o in of_kind(overlay, kind) if o["metadata"]["name"] == name]
    return obj


def pod_spec(workload: Object) -> Object:
    spec: Object = workload["spec"]["template"]["spec"]
    return spec


def image_name(container: Object) -> str:
    """The image's short name: ``registry.example.com/shop/fastapi@sha256:...`` and ``shop-fastapi:dev`` are
    both ``shop-fastapi``."""
    image = re.split(r"[@:]", container["image"].rsplit("/", 1)[-1])[0]
    return image if image.startswith("shop-") else f"shop-{image}"


def app_containers(overlay: str) -> Iterator[tuple[Object, Object]]:
    """(workload, container) for every container running one of the apps' images."""
    for workload in of_kind(overlay, *WORKLOAD_KINDS):
        for container in pod_spec(workload)["containers"]:
            if image_name(container) in APP_IMAGES:
                yield workload, container


def image_user() -> tuple[int, int]:
    """The uid and gid the runtime image creates for its non-root user."""
    run = " ".join(dockerfile_stages()["runtime"])
    uid = re.search(r"--uid (\d+)", run)
    gid = re.search(r"--gid (\d+)", run)
    assert uid, "the Dockerfile's runtime stage creates no user with --uid"
    assert gid, "the Dockerfile's runtime stage creates no group with --gid"
    return int(uid.group(1)), int(gid.group(1))


def container_variables(overlay: str, container: Object) -> set[str]:
    """Every variable set in ``container``: ``env`` entries and the keys of the ConfigMaps in ``envFrom``."""
    names = {entry["name"] for entry in container.get("env", [])}
    for source in container.get("envFrom", []):
        config_map = named(overlay, "ConfigMap", source["configMapRef"]["name"])
        names |= set(config_map["data"])
    return names


# --- schemas and checkov ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_kubernetes(overlay: str, version: str) -> None:
    for obj in rendered(overlay):
        if (obj["apiVersion"], obj["kind"]) in OPERATOR_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} on {version}: {exc.message}")


def test_only_the_operator_kinds_go_without_a_schema() -> None:
    """The one skip above must not hide a typo in a built-in kind's apiVersion."""
    for obj in rendered("production"):
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSIONS[-1], strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            assert (obj["apiVersion"], obj["kind"]) in OPERATOR_KINDS


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_checkov_passes_with_the_committed_config(overlay: str, tmp_path: Path) -> None:
    checkov = os.environ.get("CHECKOV") or shutil.which("checkov", path=str(ROOT / ".venv-checkov" / "bin"))
    if checkov is None:
        pytest.fail("checkov is not installed: run `make k8s-check`, which installs it in .venv-checkov")
    manifest = tmp_path / f"{overlay}.yaml"
    manifest.write_text(_rendered_text(overlay))
    config = K8S / "overlays" / overlay / ".checkov.yaml"
    result = subprocess.run(
        [checkov, "--file", str(manifest), "--config-file", str(config)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},  # offline: don't fetch the guideline links
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Passed checks: [1-9]\d*, Failed checks: 0", result.stdout), result.stdout


# --- selectors, resources, probes ---------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_workload_selects_its_own_pods(overlay: str) -> None:
    for workload in of_kind(overlay, "Deployment", "StatefulSet"):
        selector = workload["spec"]["selector"]["matchLabels"]
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), workload["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_selects_exactly_one_workload(overlay: str) -> None:
    for service in of_kind(overlay, "Service"):
        selector = service["spec"]["selector"].items()
        selected = [
            w["metadata"]["name"]
            for w in of_kind(overlay, *WORKLOAD_KINDS)
            if w["metadata"]["namespace"] == service["metadata"]["namespace"]
            and selector <= w["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(selected) == 1, (service["metadata"]["name"], selected)
        assert named(overlay, "Service", service["metadata"]["name"])["spec"]["type"] == "ClusterIP"


def _quantity(value: str | int) -> float:
    """A Kubernetes quantity in base units: ``500m`` -> 0.5, ``256Mi`` -> 268435456, ``1`` -> 1."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", str(value))
    assert match, value
    return float(match.group(1)) * units.get(match.group(2), 1)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_requests_no_more_than_its_limits(overlay: str) -> None:
    for workload in of_kind(overlay, *WORKLOAD_KINDS):
        for container in pod_spec(workload)["containers"]:
            resources = container["resources"]
            for resource in ("cpu", "memory"):
                request = _quantity(resources["requests"][resource])
                limit = _quantity(resources["limits"][resource])
                assert 0 < request <= limit, (workload["metadata"]["name"], resource)


@cache
def serves(app: str, path: str) -> bool:
    """Whether ``app`` routes ``GET path`` (anything but 404), asked in-process through its test client (the
    FastAPI one entered, so that the lifespan runs as under uvicorn)."""
    settings = Settings(session_secret="k8s-tests-session-secret-0123456789")
    if app == "fastapi":
        from fastapi.testclient import TestClient

        from fastapi_shop.main import create_app as create_fastapi_app

        with TestClient(create_fastapi_app(settings)) as client:
            status: int = client.get(path).status_code
    else:
        from flask_shop import create_app as create_flask_app

        status = create_flask_app({"SHOP_SETTINGS": settings}).test_client().get(path).status_code
    return status != 404


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_ask_the_app_on_its_port(overlay: str) -> None:
    expose = int(dockerfile_instruction("runtime", "EXPOSE"))
    for workload, container in app_containers(overlay):
        if workload["kind"] == "Job":
            continue
        app = APP_IMAGES[image_name(container)]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        assert list(ports.values()) == [expose]
        probes = {
            kind: container[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")
        }
        assert probes["startupProbe"]["path"] == probes["livenessProbe"]["path"] == "/healthz"
        assert probes["readinessProbe"]["path"] == "/readyz"
        for probe in probes.values():
            assert serves(app, probe["path"]), (app, probe["path"])
            assert ports.get(probe["port"], probe["port"]) == expose


# --- what runs, as whom, with which settings ----------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_app_containers_run_the_server_their_image_starts(overlay: str) -> None:
    for workload, container in app_containers(overlay):
        if workload["kind"] != "Deployment":
            continue
        target = APP_IMAGES[image_name(container)]
        assert APP_DEPLOYMENTS[workload["metadata"]["name"]] == image_name(container)
        cmd = json.loads(dockerfile_instruction(target, "CMD"))
        assert cmd[0] == {"fastapi": "uvicorn", "flask": "gunicorn"}[target]
        # no command/args override: the pod runs exactly the CMD the image was built and tested with
        assert "command" not in container
        assert "args" not in container


def compose_migrate_command() -> list[str]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command: list[str] = compose["services"]["migrate"]["command"]
    return command


def test_the_dev_migration_runs_what_compose_runs() -> None:
    (container,) = pod_spec(named("dev", "Job", "shop-migrate"))["containers"]
    assert container["command"] == compose_migrate_command()


def test_production_migrates_without_seeding_demo_data() -> None:
    (container,) = pod_spec(named("production", "Job", "shop-migrate"))["containers"]
    upgrade = shlex.split(compose_migrate_command()[-1].split("&&")[0])
    assert container["command"] == upgrade == ["python", "-m", "shared.db", "upgrade"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_buffers_for_gunicorn(overlay: str) -> None:
    """gunicorn's threads must not wait on slow clients: the controller reads each request to the Flask app
    whole, and takes each answer whole (the fault ``slow-clients`` of ``make chaos`` shows why)."""
    annotations = named(overlay, "Ingress", "shop-flask")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "on"
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "on"


# --- routing at the ingress controller ---------------------------------------------------------------------

USE_REGEX = "nginx.ingress.kubernetes.io/use-regex"
ORDER_ID = "0190a6f2-3c4d-7e8f-9a0b-1c2d3e4f5a6b"
SOCKET_PATH = EVENTS_PATH.format(order_id=ORDER_ID)
# what ingress-nginx admits as an Exact or Prefix path (strict-validate-path-type, on by default); anything
# else, a regex, must be ImplementationSpecific
PLAIN_PATH = re.compile(r"/[A-Za-z0-9._\-/]*")


def host_of(overlay: str, ingress: str) -> str:
    (rule,) = named(overlay, "Ingress", ingress)["spec"]["rules"]
    host: str = rule["host"]
    return host


def ingress_route(overlay: str, host: str, path: str) -> tuple[Object, Object] | None:
    """The (Ingress, path rule) ingress-nginx picks for ``GET path`` on ``host``, or None (its default
    backend, a 404), by its documented rules ("Ingress Path Matching"; buildLocation in its template): each
    path of each Ingress of the host is one nginx location. If any of those Ingresses sets use-regex, every
    location of the host is a case-insensitive regex anchored at the start, tried longest path first, and
    the first match wins. Otherwise an Exact path matches only itself, and the longest matching prefix wins:
    Prefix by whole path elements, ImplementationSpecific by characters."""
    rules = [
        (ingress, path_rule)
        for ingress in of_kind(overlay, "Ingress")
        for rule in ingress["spec"]["rules"]
        if rule.get("host") == host
        for path_rule in rule["http"]["paths"]
    ]
    if any(ingress["metadata"].get("annotations", {}).get(USE_REGEX) == "true" for ingress, _ in rules):
        rules.sort(key=lambda route: route[1]["path"], reverse=True)  # the controller's two sorts, in order
        rules.sort(key=lambda route: len(route[1]["path"]), reverse=True)
        return next((r for r in rules if re.match(r[1]["path"], path, re.IGNORECASE)), None)
    exact = [r for r in rules if r[1]["pathType"] == "Exact" and r[1]["path"] == path]
    prefixes = [r for r in rules if r[1]["pathType"] != "Exact" and _prefix_matches(path, r[1])]
    if exact:
        return exact[0]
    return max(prefixes, key=lambda r: len(r[1]["path"]), default=None)


def _prefix_matches(path: str, rule: Object) -> bool:
    rule_path: str = rule["path"]
    if rule["pathType"] == "ImplementationSpecific":
        return path.startswith(rule_path)
    prefix = rule_path.rstrip("/")  # Prefix matches whole path elements: /docs matches /docs/x, not /docsx
    return path == prefix or path.startswith(prefix + "/") or prefix == ""


def ingress_backend(overlay: str, host: str, path: str) -> str | None:
    """The Service ingress-nginx sends ``GET path`` on ``host`` to."""
    route = ingress_route(overlay, host, path)
    return None if route is None else str(route[1]["backend"]["service"]["name"])


def workload_behind(overlay: str, service: str) -> Object:
    selector = named(overlay, "Service", service)["spec"]["selector"].items()
    (workload,) = [
        w
        for w in of_kind(overlay, *WORKLOAD_KINDS)
        if selector <= w["spec"]["template"]["metadata"]["labels"].items()
    ]
    return workload


@cache
def serves_socket(app: str, path: str) -> bool:
    """Whether ``app`` has a WebSocket route for ``path``, asked of its router."""
    settings = Settings(session_secret="k8s-tests-session-secret-0123456789")
    if app == "fastapi":
        from starlette.routing import Match

        from fastapi_shop.main import create_app as create_fastapi_app

        scope = {"type": "websocket", "path": path, "root_path": ""}
        return any(
            route.matches(scope)[0] == Match.FULL for route in create_fastapi_app(settings).router.routes
        )
    from werkzeug.exceptions import NotFound

    from flask_shop import create_app as create_flask_app

    urls = create_flask_app({"SHOP_SETTINGS": settings}).url_map.bind("localhost", url_scheme="ws")
    try:
        urls.match(path)
    except NotFound:
        return False
    return True


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_routes_the_api_its_docs_and_the_back_office_but_not_metrics(overlay: str) -> None:
    public = ["/api/v1/products", "/api/v1/orders/7", "/docs", "/redoc", "/openapi.json"]
    public += ["/static/swagger-ui/swagger-ui-bundle.js", "/static/redoc/redoc.standalone.js"]
    public += ["/admin/login", "/admin/assets/back_office.css"]
    for app in ("fastapi", "flask"):
        host = host_of(overlay, f"shop-{app}")
        for path in public:
            assert ingress_backend(overlay, host, path) == f"shop-{app}", (host, path)
            assert serves(app, path), (app, path)
        for private in ("/metrics", "/healthz", "/readyz"):
            assert ingress_backend(overlay, host, private) is None, (host, private)
    for workload, _container in app_containers(overlay):
        if workload["kind"] == "Deployment":
            annotations = workload["spec"]["template"]["metadata"]["annotations"]
            assert annotations["prometheus.io/path"] == "/metrics"
            assert int(annotations["prometheus.io/port"]) == int(dockerfile_instruction("runtime", "EXPOSE"))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_order_sockets_go_to_the_pods_that_hold_them(overlay: str) -> None:
    """Flask's to shop-flask-events, FastAPI's to its own pods; the order's other paths stay with the API."""
    for app, sockets in (("fastapi", "shop-fastapi"), ("flask", "shop-flask-events")):
        host = host_of(overlay, f"shop-{app}")
        assert ingress_backend(overlay, host, SOCKET_PATH) == sockets, (host, SOCKET_PATH)
        assert serves_socket(app, SOCKET_PATH), app
        orders = "/api/v1/orders"
        for path in (orders, f"{orders}/{ORDER_ID}", f"{orders}/{ORDER_ID}/eventsx", f"{SOCKET_PATH}/x"):
            assert ingress_backend(overlay, host, path) == f"shop-{app}", (host, path)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_socket_route_is_a_regex_the_controller_accepts(overlay: str) -> None:
    """The Flask socket route is a regex: ImplementationSpecific, with use-regex on its Ingress. Every other
    path is one that ingress-nginx's strict path validation admits as Exact or Prefix."""
    route = ingress_route(overlay, host_of(overlay, "shop-flask"), SOCKET_PATH)
    assert route is not None
    assert route[1]["pathType"] == "ImplementationSpecific"
    for ingress in of_kind(overlay, "Ingress"):
        regex = ingress["metadata"].get("annotations", {}).get(USE_REGEX) == "true"
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                if path["pathType"] == "ImplementationSpecific":
                    assert regex, (ingress["metadata"]["name"], path)
                else:
                    assert PLAIN_PATH.fullmatch(path["path"]), (ingress["metadata"]["name"], path)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_socket_routes_outlast_the_servers_pings(overlay: str) -> None:
    """After the upgrade, nginx closes a socket once the server has sent nothing for proxy-read-timeout: the
    server pings every PING_INTERVAL_SECONDS, and a live socket must survive a lost ping."""
    for app in ("fastapi", "flask"):
        route = ingress_route(overlay, host_of(overlay, f"shop-{app}"), SOCKET_PATH)
        assert route is not None
        annotations = route[0]["metadata"]["annotations"]
        for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
            seconds = int(annotations[f"nginx.ingress.kubernetes.io/{timeout}"])
            assert seconds > 2 * PING_INTERVAL_SECONDS, (app, timeout)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_app_pods_set_only_variables_the_app_reads(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for workload, container in app_containers(overlay):
        app = APP_IMAGES[image_name(container)]
        variables = container_variables(overlay, container)
        unread = variables - variables_read(monkeypatch, app)
        assert not unread, f"{workload['metadata']['name']} sets variables nothing reads: {sorted(unread)}"
        assert "DATABASE_URL" in variables
        seeds = "shared.db seed" in " ".join(container.get("command", []))
        if seeds:
            assert {"SHOP_ADMIN_EMAIL", "SHOP_ADMIN_PASSWORD"} <= variables


def test_production_apps_reach_postgres_through_a_transaction_pooler() -> None:
    for _, container in app_containers("production"):
        (source,) = container["envFrom"]
        settings = named("production", "ConfigMap", source["configMapRef"]["name"])["data"]
        assert settings["SHOP_DB_TRANSACTION_POOLER"] == "true"
    pooler = named("production", "Pooler", "shop-db-pooler-rw")["spec"]
    assert pooler["pgbouncer"]["poolMode"] == "transaction"
    assert pooler["cluster"]["name"] == "shop-db"
    assert named("production", "Cluster", "shop-db")["spec"]["instances"] == 3


def literal_environment(overlay: str, container: Object) -> dict[str, str]:
    """``container``'s environment as far as the manifests state it: its ConfigMaps' keys, then its literal
    ``env`` values (which win); not the variables read from a Secret."""
    environ: dict[str, str] = {}
    for source in container.get("envFrom", []):
        environ.update(named(overlay, "ConfigMap", source["configMapRef"]["name"])["data"])
    environ.update({entry["name"]: entry["value"] for entry in container["env"] if "value" in entry})
    return environ


def gunicorn_settings(
    overlay: str, container: Object, monkeypatch: pytest.MonkeyPatch, metrics_dir: Path
) -> tuple[dict[str, Any], dict[str, str]]:
    """What flask_shop/gunicorn.conf.py sets when run with ``container``'s environment (its literal values and
    its ConfigMaps'; no Secret's value plays a part), and the environment it leaves for the app."""
    environ = literal_environment(overlay, container)
    environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)  # else it makes a directory of its own
    with monkeypatch.context() as patch:
        patch.setattr(os, "environ", environ)
        settings = runpy.run_path(str(ROOT / "flask_shop" / "gunicorn.conf.py"))
    return settings, environ


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_flask_sockets_get_gevent_workers_and_the_api_threads(
    overlay: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Behind the Flask host's socket route, gunicorn runs gevent workers, with the socket limit stated and
    below the connections a worker serves, so that probes and scrapes still get in; behind its API, threads,
    with a socket limit of 0 that gunicorn.conf.py's default (half the threads) does not replace."""
    from gunicorn.workers.ggevent import GeventWorker
    from gunicorn.workers.gthread import ThreadWorker

    host = host_of(overlay, "shop-flask")
    for path, worker in ((SOCKET_PATH, GeventWorker), ("/api/v1/products", ThreadWorker)):
        service = ingress_backend(overlay, host, path)
        assert service is not None
        (container,) = pod_spec(workload_behind(overlay, service))["containers"]
        settings, environ = gunicorn_settings(overlay, container, monkeypatch, tmp_path)
        assert issubclass(settings["worker_class"], worker), (service, settings["worker_class"])
        assert "SHOP_MAX_SOCKETS_PER_WORKER" in {entry["name"] for entry in container["env"]}, service
        if worker is GeventWorker:
            assert 0 < int(environ["SHOP_MAX_SOCKETS_PER_WORKER"]) < settings["worker_connections"]
        else:
            assert environ["SHOP_MAX_SOCKETS_PER_WORKER"] == "0"


def secret_key_of(container: Object, variable: str) -> tuple[str, str]:
    """The (Secret, key) that ``variable`` is read from."""
    (entry,) = [entry for entry in container["env"] if entry["name"] == variable]
    reference = entry["valueFrom"]["secretKeyRef"]
    return reference["name"], reference["key"]


def app_deployment_containers(overlay: str) -> list[tuple[Object, Object]]:
    return [(w, c) for w, c in app_containers(overlay) if w["kind"] == "Deployment"]


def socket_servers(overlay: str) -> set[str]:
    """The Deployments the Ingresses send the live order sockets to, one per app's host."""
    servers = set()
    for app in ("fastapi", "flask"):
        service = ingress_backend(overlay, host_of(overlay, f"shop-{app}"), SOCKET_PATH)
        assert service is not None, app
        servers.add(str(workload_behind(overlay, service)["metadata"]["name"]))
    return servers


def listening_containers(overlay: str) -> list[tuple[Object, Object]]:
    """(Deployment, container) for the app pods whose every process holds a LISTEN connection: the ones that
    serve sockets. A process that serves none (SHOP_MAX_SOCKETS_PER_WORKER=0) opens no LISTEN connection."""
    servers = socket_servers(overlay)
    return [(w, c) for w, c in app_deployment_containers(overlay) if w["metadata"]["name"] in servers]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_socket_server_listens_where_the_migration_connects(overlay: str) -> None:
    """A LISTEN connection needs a PostgreSQL session of its own, as the migration's advisory lock does: every
    container that serves the live order sockets (shop-fastapi, shop-flask-events) takes
    SHOP_LISTEN_DATABASE_URL from the Secret key the migration Job connects with, not the one its queries use
    (the Pooler's, in production)."""
    (migrate,) = pod_spec(named(overlay, "Job", "shop-migrate"))["containers"]
    direct = secret_key_of(migrate, "DATABASE_URL")
    deployments = app_deployment_containers(overlay)
    assert {workload["metadata"]["name"] for workload, _ in deployments} == set(APP_DEPLOYMENTS)
    assert socket_servers(overlay) == {"shop-fastapi", "shop-flask-events"}
    for workload, container in listening_containers(overlay):
        name = workload["metadata"]["name"]
        assert int(literal_environment(overlay, container)["SHOP_MAX_SOCKETS_PER_WORKER"]) > 0, name
        assert secret_key_of(container, "SHOP_LISTEN_DATABASE_URL") == direct, name
    for workload, container in deployments:
        assert secret_key_of(container, "DATABASE_URL") != direct, workload["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_flask_api_serves_no_sockets_and_holds_no_listener(overlay: str) -> None:
    """The Ingress sends the Flask host's sockets to shop-flask-events, so shop-flask serves none: at
    SHOP_MAX_SOCKETS_PER_WORKER=0 a stray socket is closed at once with 1013 and the workers open no LISTEN
    connection, so the pod is given no listener URL either."""
    assert "shop-flask" not in socket_servers(overlay)
    (container,) = pod_spec(named(overlay, "Deployment", "shop-flask"))["containers"]
    assert literal_environment(overlay, container)["SHOP_MAX_SOCKETS_PER_WORKER"] == "0"
    assert "SHOP_LISTEN_DATABASE_URL" not in container_variables(overlay, container)


def test_dev_listens_to_its_postgres() -> None:
    """The dev Secret has the key, and its URL names the dev PostgreSQL's Service and port."""
    for _, container in listening_containers("dev"):
        name, key = secret_key_of(container, "SHOP_LISTEN_DATABASE_URL")
        url = urlsplit(b64decode(named("dev", "Secret", name)["data"][key]).decode())
        assert url.hostname is not None
        assert workload_behind("dev", url.hostname)["metadata"]["name"] == "postgres"
        assert url.port in [port["port"] for port in named("dev", "Service", url.hostname)["spec"]["ports"]]


def production_secret_urls() -> dict[str, str]:
    """The URLs k8s/README.md has you put in production's Secret shop-database, by key: nothing secret is
    committed for production, so the README's command is where those URLs come from."""
    readme = (K8S / "README.md").read_text()
    command = re.search(r"create secret generic shop-database(.*?)```", readme, re.DOTALL)
    assert command, "k8s/README.md no longer shows how to create the Secret shop-database"
    return dict(re.findall(r'--from-literal=([\w-]+)="([^"]+)"', command.group(1)))


def test_production_listens_past_the_pooler() -> None:
    """Each socket server's LISTEN connection goes to the Service CloudNativePG keeps on the primary
    (``<cluster>-rw``); every app's queries to the Pooler's Service (named after the Pooler)."""
    urls = production_secret_urls()
    cluster = named("production", "Cluster", "shop-db")["metadata"]
    pooler = named("production", "Pooler", "shop-db-pooler-rw")["metadata"]
    for workload, container in listening_containers("production"):
        listen = urlsplit(urls[secret_key_of(container, "SHOP_LISTEN_DATABASE_URL")[1]])
        name = workload["metadata"]["name"]
        assert listen.hostname == f"{cluster['name']}-rw.{cluster['namespace']}.svc", name
    for workload, container in app_deployment_containers("production"):
        queries = urlsplit(urls[secret_key_of(container, "DATABASE_URL")[1]])
        name = workload["metadata"]["name"]
        assert queries.hostname == f"{pooler['name']}.{pooler['namespace']}.svc", name


SUPERUSER_RESERVED_CONNECTIONS = 3  # PostgreSQL's default
OPERATOR_CONNECTIONS = 10  # room for CloudNativePG's instance manager and the Pooler's auth_query sessions


def processes_per_pod(container: Object) -> int:
    """The server processes in one app pod: uvicorn's one (the image starts no --workers), or gunicorn's
    workers."""
    if image_name(container) == "shop-fastapi":
        assert "--workers" not in json.loads(dockerfile_instruction("fastapi", "CMD"))
        return 1
    (workers,) = [entry["value"] for entry in container["env"] if entry["name"] == "WEB_CONCURRENCY"]
    return int(workers)


def test_production_server_connections_fit_under_max_connections() -> None:
    """At full scale, every connection the primary serves: the Pooler's (default_pool_size per instance),
    one LISTEN connection per socket-serving process (shop-flask's serve none) in every pod the autoscalers
    and a rollout's surge allow, and the migration Job's; with room left for the operator's own and the
    superuser's reserve."""
    pooler = named("production", "Pooler", "shop-db-pooler-rw")["spec"]
    pooled = pooler["instances"] * int(pooler["pgbouncer"]["parameters"]["default_pool_size"])
    listening = 0
    for workload, container in listening_containers("production"):
        autoscaler = named("production", "HorizontalPodAutoscaler", workload["metadata"]["name"])["spec"]
        pods = autoscaler["maxReplicas"] + workload["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
        listening += pods * processes_per_pod(container)
    parameters = named("production", "Cluster", "shop-db")["spec"]["postgresql"]["parameters"]
    available = int(parameters["max_connections"]) - SUPERUSER_RESERVED_CONNECTIONS - OPERATOR_CONNECTIONS
    assert pooled + listening + 1 <= available, (pooled, listening)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_app_pods_run_as_the_image_user_locked_down(overlay: str) -> None:
    uid, gid = image_user()
    for workload, container in app_containers(overlay):
        pod = pod_spec(workload)
        for context in (pod["securityContext"], container["securityContext"]):
            assert context["runAsNonRoot"] is True
            assert (context["runAsUser"], context["runAsGroup"]) == (uid, gid)
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]  # noqa: S108


def test_production_runs_three_or_more_pinned_spread_replicas() -> None:
    for app in APP_DEPLOYMENTS:
        deployment = named("production", "Deployment", app)
        (container,) = pod_spec(deployment)["containers"]
        assert re.search(r"@sha256:[0-9a-f]{64}$", container["image"])
        assert "replicas" not in deployment["spec"]  # the autoscaler owns the count
        assert named("production", "HorizontalPodAutoscaler", app)["spec"]["minReplicas"] >= 3
        keys = {c["topologyKey"] for c in pod_spec(deployment)["topologySpreadConstraints"]}
        assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rollouts_never_go_below_the_disruption_budget(overlay: str) -> None:
    for deployment in of_kind(overlay, "Deployment"):
        name = deployment["metadata"]["name"]
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        budget = named(overlay, "PodDisruptionBudget", name)["spec"]
        assert budget["selector"] == deployment["spec"]["selector"]
        (container,) = pod_spec(deployment)["containers"]
        pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        graceful = _server_graceful_seconds(APP_IMAGES[image_name(container)])
        assert pod_spec(deployment)["terminationGracePeriodSeconds"] > pause + graceful


def _server_graceful_seconds(app: str) -> int:
    if app == "fastapi":
        cmd = json.loads(dockerfile_instruction("fastapi", "CMD"))
        return int(cmd[cmd.index("--timeout-graceful-shutdown") + 1])
    return int(runpy.run_path(str(ROOT / "flask_shop" / "gunicorn.conf.py"))["graceful_timeout"])


# --- network paths ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """A pod that sends or receives traffic in the model below; ``ports`` are its named container ports."""

    name: str
    namespace: str
    labels: tuple[tuple[str, str], ...]
    ports: tuple[tuple[str, int], ...] = ()
    listens: tuple[tuple[int, str], ...] = field(default=())  # (port, protocol)


def _endpoint(name: str, namespace: str, labels: dict[str, str], listens: list[tuple[int, str]]) -> Endpoint:
    return Endpoint(name, namespace, tuple(sorted(labels.items())), (), tuple(listens))


def _shop_endpoints(overlay: str) -> list[Endpoint]:
    endpoints = []
    for workload in of_kind(overlay, *WORKLOAD_KINDS):
        containers = pod_spec(workload)["containers"]
        ports = [(p.get("name", ""), p["containerPort"]) for c in containers for p in c.get("ports", [])]
        endpoints.append(
            Endpoint(
                workload["metadata"]["name"],
                workload["metadata"]["namespace"],
                tuple(sorted(workload["spec"]["template"]["metadata"]["labels"].items())),
                tuple(ports),
                tuple((port, "TCP") for _, port in ports),
            )
        )
    return endpoints


# pods outside the shop's namespace, with the labels their projects give them
INGRESS_CONTROLLER = _endpoint(
    "ingress-controller", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}, []
)
DNS = _endpoint("kube-dns", "kube-system", {"k8s-app": "kube-dns"}, [(53, "UDP"), (53, "TCP")])
PROMETHEUS = _endpoint("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"}, [])
# CloudNativePG labels the Pooler's pods with their cluster too (pkg/specs/pgbouncer/deployments.go)
POOLER = _endpoint(
    "pooler",
    "shop-db",
    {"cnpg.io/cluster": "shop-db", "cnpg.io/poolerName": "shop-db-pooler-rw", "cnpg.io/podRole": "pooler"},
    [(5432, "TCP")],
)
INSTANCE = _endpoint(
    "postgres-instance",
    "shop-db",
    {"cnpg.io/cluster": "shop-db", "cnpg.io/podRole": "instance", "cnpg.io/instanceRole": "primary"},
    [(5432, "TCP")],
)
STRANGER = _endpoint(
    "stranger", "elsewhere", {"app.kubernetes.io/name": "stranger"}, [(443, "TCP"), (5432, "TCP")]
)


def _selects(selector: Object, labels: dict[str, str]) -> bool:
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", "extend the model for other operators"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def _peer_matches(peer: Object, other: Endpoint, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        return False  # the manifests open nothing by address; a new ipBlock must fail this model
    if "namespaceSelector" in peer:
        namespace_labels = {"kubernetes.io/metadata.name": other.namespace}
        if not _selects(peer["namespaceSelector"], namespace_labels):
            return False
    elif other.namespace != policy_namespace:
        return False
    return _selects(peer.get("podSelector", {}), dict(other.labels))


def _port_matches(rule_ports: list[Object] | None, target: Endpoint, port: int, protocol: str) -> bool:
    if not rule_ports:
        return True
    for rule_port in rule_ports:
        number = rule_port.get("port")
        if isinstance(number, str):
            number = dict(target.ports).get(number)
        if rule_port.get("protocol", "TCP") == protocol and number in (None, port):
            return True
    return False


def _allowed(
    policies: list[Object],
    direction: str,
    subject: Endpoint,
    peer: Endpoint,
    target: Endpoint,
    port: int,
    proto: str,
) -> bool:
    """Whether ``subject``'s policies allow ``direction`` traffic with ``peer`` to ``target``'s port."""
    kind, rules_key, peers_key = {
        "Egress": ("Egress", "egress", "to"),
        "Ingress": ("Ingress", "ingress", "from"),
    }[direction]
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == subject.namespace
        and kind in p["spec"]["policyTypes"]
        and _selects(p["spec"]["podSelector"], dict(subject.labels))
    ]
    if not selecting:
        return subject.namespace != "shop"  # other namespaces are not ours to model: open
    for policy in selecting:
        for rule in policy["spec"].get(rules_key, []):
            peers = rule.get(peers_key)
            if peers and not any(_peer_matches(p, peer, subject.namespace) for p in peers):
                continue
            if _port_matches(rule.get("ports"), target, port, proto):
                return True
    return False


def open_paths(overlay: str) -> set[tuple[str, str, int, str]]:
    """Every (source, destination, port, protocol) the overlay's NetworkPolicies allow, where either end is
    in the shop's namespace."""
    policies = of_kind(overlay, "NetworkPolicy")
    shop = _shop_endpoints(overlay)
    pods = [*shop, INGRESS_CONTROLLER, PROMETHEUS, DNS, POOLER, INSTANCE, STRANGER]
    paths = set()
    for source in pods:
        for destination in pods:
            if source is destination or (source not in shop and destination not in shop):
                continue
            for port, protocol in destination.listens:
                if _allowed(
                    policies, "Egress", source, destination, destination, port, protocol
                ) and _allowed(policies, "Ingress", destination, source, destination, port, protocol):
                    paths.add((source.name, destination.name, port, protocol))
    return paths


def _dns_for(names: list[str]) -> set[tuple[str, str, int, str]]:
    return {(name, "kube-dns", 53, protocol) for name in names for protocol in ("UDP", "TCP")}


def test_dev_network_paths_are_exactly_the_shops() -> None:
    apps = list(APP_DEPLOYMENTS)
    assert open_paths("dev") == {
        *{(client, app, 8000, "TCP") for client in ("ingress-controller", "prometheus") for app in apps},
        *{(client, "postgres", 5432, "TCP") for client in [*apps, "shop-migrate"]},
        *_dns_for([*apps, "shop-migrate", "postgres"]),
    }


def test_production_network_paths_are_exactly_the_shops() -> None:
    """The apps' queries through the Pooler; the socket servers' LISTEN connections and the migration to
    PostgreSQL itself, and nothing of shop-flask's, which holds no LISTEN connection."""
    apps = list(APP_DEPLOYMENTS)
    direct = [*socket_servers("production"), "shop-migrate"]
    assert open_paths("production") == {
        *{(client, app, 8000, "TCP") for client in ("ingress-controller", "prometheus") for app in apps},
        *{(app, "pooler", 5432, "TCP") for app in apps},
        *{(client, "postgres-instance", 5432, "TCP") for client in direct},
        *_dns_for([*apps, "shop-migrate"]),
    }
