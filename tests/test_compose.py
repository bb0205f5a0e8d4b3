"""docker-compose.yml, docker-compose.override.yml and .env.example agree with each other, the Dockerfile and
the apps' settings. ``make smoke`` runs compose for real; these checks need no Docker."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from shared.config import DEFAULT_DATABASE_URL
from tests.project_files import ROOT, dockerfile_instruction, variables_read

APPS = ("fastapi", "flask")
# ${NAME}, ${NAME:-default} or ${NAME-default}, as Compose interpolates them
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")
# read later than at start: by prometheus-client's multiprocess mode at each scrape
# (shared/observability/metrics.py), and by the OpenTelemetry SDK once tracing is on (the one of its many
# variables .env.example names)
OTHER_VARIABLES = {"PROMETHEUS_MULTIPROC_DIR", "OTEL_SERVICE_NAME"}
# read by the standard library while gunicorn.conf.py loads (gettext, tempfile): the platform's, not ours
PLATFORM_VARIABLES = {"LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "TMPDIR", "TEMP", "TMP"}


def compose_file(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / name).read_text())
    return loaded


def services(name: str = "docker-compose.yml") -> dict[str, Any]:
    found: dict[str, Any] = compose_file(name)["services"]
    return found


def with_defaults(value: str) -> str:
    """``value`` as Compose interpolates it when no variable is set."""
    return INTERPOLATION.sub(lambda match: match.group(2) or "", value)


def interpolated_variables(path: Path) -> set[str]:
    return {name for name, _default in INTERPOLATION.findall(path.read_text())}


def env_example() -> dict[str, str]:
    """``.env.example``'s variables (commented out or not) and their values, inline comments left out."""
    found = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.fullmatch(r"#? ?([A-Z][A-Z0-9_]*)=(\S*)(\s+#.*)?", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_compose_runs_the_database_the_settings_default_to() -> None:
    """``docker compose up db`` and then an app started with no ``DATABASE_URL`` meet: same credentials,
    same database, published where the default looks."""
    in_containers = make_url(
        with_defaults(compose_file("docker-compose.yml")["x-app"]["environment"]["DATABASE_URL"])
    )
    default = make_url(DEFAULT_DATABASE_URL)
    assert in_containers.set(host=default.host) == default
    assert in_containers.host == "db"
    db = {name: with_defaults(value) for name, value in services()["db"]["environment"].items()}
    assert (db["POSTGRES_USER"], db["POSTGRES_PASSWORD"], db["POSTGRES_DB"]) == (
        default.username,
        default.password,
        default.database,
    )
    (published,) = services("docker-compose.override.yml")["db"]["ports"]
    assert with_defaults(published) == f"127.0.0.1:{default.port}:5432"


def test_env_example_lists_every_variable_with_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    example = env_example()
    read = (
        set().union(*(variables_read(monkeypatch, app) for app in APPS)) - PLATFORM_VARIABLES
        | OTHER_VARIABLES
    )
    compose = interpolated_variables(ROOT / "docker-compose.yml") | interpolated_variables(
        ROOT / "docker-compose.override.yml"
    )
    assert set(example) == read | compose
    assert example["DATABASE_URL"] == DEFAULT_DATABASE_URL
    for path in (ROOT / "docker-compose.yml", ROOT / "docker-compose.override.yml"):
        for name, default in INTERPOLATION.findall(path.read_text()):
            if (
                name in read
            ):  # the apps' own default applies, unless compose gives another (said in a comment)
                continue
            assert example[name] == default, name


def test_both_apps_read_the_env_file_and_wait_for_readiness() -> None:
    for app in APPS:
        service = services()[app]
        assert service["env_file"] == [{"path": ".env", "required": False}]
        check = service["healthcheck"]
        assert "http://127.0.0.1:8000/readyz" in check["test"][-1]
        assert check["start_period"]  # starting is not failing: `up --wait` gives the app its time
    assert "http://127.0.0.1:8000/healthz" in dockerfile_instruction("runtime", "HEALTHCHECK")


def test_compose_publishes_flask_only_through_nginx() -> None:
    assert "ports" not in services()["flask"]
    assert services()["flask-proxy"]["environment"]["FLASK_UPSTREAM"] == "flask:8000"
    assert services()["flask-proxy"]["volumes"] == [
        "./nginx/flask.conf.template:/etc/nginx/templates/default.conf.template:ro"
    ]


def test_compose_serves_flasks_sockets_from_gevent_workers_behind_the_same_nginx() -> None:
    events = services()["flask-events"]
    assert events["image"] == services()["flask"]["image"]
    assert "ports" not in events
    assert events["environment"]["GUNICORN_WORKER_CLASS"] == "gevent"
    assert services()["flask-proxy"]["environment"]["FLASK_EVENTS_UPSTREAM"] == "flask-events:8000"
    assert "flask-events" in services()["flask-proxy"]["depends_on"]
    template = (ROOT / "nginx" / "flask.conf.template").read_text()
    assert "location ~ ^/api/v1/orders/[^/]+/events$" in template
    assert "proxy_set_header Connection $connection_upgrade;" in template


# what each server reads for --reload (uvicorn: its options as UVICORN_*; gunicorn: GUNICORN_CMD_ARGS)
RELOAD = {"fastapi": {"UVICORN_RELOAD": "true"}, "flask": {"GUNICORN_CMD_ARGS": "--reload"}}


@pytest.mark.parametrize("app", APPS)
def test_the_development_servers_run_the_images_command_with_reload(app: str) -> None:
    service = services("docker-compose.override.yml")[app]
    assert "command" not in service  # the CMD the image was built and tested with
    assert RELOAD[app].items() <= service["environment"].items()


@pytest.mark.parametrize("app", APPS)
def test_watch_syncs_what_the_image_copies_and_rebuilds_on_new_pins(app: str) -> None:
    watch = services("docker-compose.override.yml")[app]["develop"]["watch"]
    synced = {(rule["path"], rule["target"]) for rule in watch if rule["action"] == "sync"}
    assert synced == {(f"./{app}_shop", f"/app/{app}_shop"), ("./shared", "/app/shared")}
    copied = {
        line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")
    }
    assert {path.removeprefix("./") for path, _ in synced} <= copied
    rebuilt = {rule["path"] for rule in watch if rule["action"] == "rebuild"}
    assert rebuilt == {"./pyproject.toml", "./constraints.txt"}


def test_the_development_override_sets_only_variables_the_apps_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for app in APPS:
        variables = set(services("docker-compose.override.yml")[app]["environment"]) - set(RELOAD[app])
        assert variables <= variables_read(monkeypatch, app), app
