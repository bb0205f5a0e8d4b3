"""``shared/`` keeps its layers: what each may import (``shared/__init__.py``), no circle, no framework.

Read from the source with :mod:`ast`, so a layer that leaks fails here before anyone reads it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT / "shared"

# each part of shared/ and the parts it may import (itself always); the order of shared/__init__.py
MAY_IMPORT = {
    "domain": set(),
    "config": {"domain"},
    "mailer": set(),
    "unavailable": set(),
    "db": {"domain", "config"},
    "http": {"domain", "unavailable"},
    "observability": {"domain", "config", "http"},
}
FRAMEWORKS = {
    *("fastapi", "starlette", "pydantic", "uvicorn", "fastapi_shop"),
    *(
        "flask",
        "werkzeug",
        "flask_smorest",
        "marshmallow",
        "webargs",
        "flask_login",
        "flask_cors",
        "gunicorn",
    ),
    "flask_shop",
}
# what does I/O: none of it in the domain, whose rules are pure
IO_LIBRARIES = {
    "sqlalchemy",
    "alembic",
    "psycopg",
    "asyncpg",
    "prometheus_client",
    "opentelemetry",
    "smtplib",
}


def modules() -> Iterator[tuple[str, Path]]:
    """``(dotted name, path)`` of every module of the package, migrations included."""
    for path in sorted(SHARED.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imports(name: str, path: Path) -> set[str]:
    """The absolute module names ``path`` (the module ``name``) imports: ``from shared.domain import emails``
    names ``shared.domain.emails`` where that is a module, else ``shared.domain``; a relative import is
    resolved against ``name``; imports under ``TYPE_CHECKING`` count too."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in MODULES else base)
    return found


MODULES = {name for name, _ in modules()}


def part(module: str) -> str:
    """``shared.db.models`` is in ``db``; ``shared.config`` is ``config``."""
    return module.split(".")[1]


@pytest.mark.parametrize(("name", "path"), list(modules()), ids=[name for name, _ in modules()])
def test_each_module_imports_only_the_layers_before_it(name: str, path: Path) -> None:
    if name == "shared" or name.endswith(".__main__"):  # the package's face; a command line, at the top
        return
    allowed = MAY_IMPORT[part(name)] | {part(name)}
    leaks = sorted(m for m in imports(name, path) if m.startswith("shared.") and part(m) not in allowed)
    assert leaks == [], f"{name} is in shared/{part(name)}, which may import only {sorted(allowed)}"


@pytest.mark.parametrize(("name", "path"), list(modules()), ids=[name for name, _ in modules()])
def test_no_module_imports_a_web_framework_or_an_app(name: str, path: Path) -> None:
    assert {m.split(".")[0] for m in imports(name, path)} & FRAMEWORKS == set()


@pytest.mark.parametrize(("name", "path"), list(modules()), ids=[name for name, _ in modules()])
def test_the_domain_does_no_io(name: str, path: Path) -> None:
    if name.startswith("shared.domain"):
        assert {m.split(".")[0] for m in imports(name, path)} & IO_LIBRARIES == set()


def test_no_modules_import_each_other_in_a_circle() -> None:
    graph = {name: {m for m in imports(name, path) if m in MODULES} for name, path in modules()}
    circles = []
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                circles.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []


def test_the_check_sees_a_leak(tmp_path: Path) -> None:
    """The checks above, run on a domain module that leaks three ways, fail on each."""
    leaky = tmp_path / "pricing.py"
    leaky.write_text("from ..db.models import Product\nfrom flask import g\nimport sqlalchemy\n")
    name = "shared.domain.pricing"
    with pytest.raises(AssertionError, match=r"shared\.domain\.pricing is in shared/domain"):
        test_each_module_imports_only_the_layers_before_it(name, leaky)
    with pytest.raises(AssertionError):
        test_no_module_imports_a_web_framework_or_an_app(name, leaky)
    with pytest.raises(AssertionError):
        test_the_domain_does_no_io(name, leaky)
