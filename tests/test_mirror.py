"""The README's promise: the two apps' ``services.py`` (and the functions the two ``outbox.py`` share) differ
only by ``async``/``await``, the session's type and the thread a blocking call is moved to.

Each module is parsed, and the FastAPI one is made synchronous: ``async def``/``async with`` lose their
``async``, ``await x`` becomes ``x``, ``asyncio.to_thread(f, *args)`` becomes ``f(*args)``, ``AsyncSession``
and ``async_sessionmaker`` become ``Session`` and ``sessionmaker``, and each app's package name becomes
``app``. Docstrings and comments are left out: they may say which framework they are in. What remains must be
the same code, statement for statement; a step added, dropped or changed in one app only fails here.
"""

from __future__ import annotations

import ast
import difflib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RENAMES = {"AsyncSession": "Session", "async_sessionmaker": "sessionmaker"}
MODULES = {"fastapi_shop": "app", "flask_shop": "app", "sqlalchemy.ext.asyncio": "sqlalchemy.orm"}

# What only one app's outbox.py has, and why (the rest must mirror):
FLASK_ONLY_IN_OUTBOX = {
    # Flask has no place that runs code after the response, nor a lifespan: an extension owns the thread
    # pool that sends confirmations and the relay's thread (FastAPI: BackgroundTasks and the lifespan)
    "ConfirmationSender",
    "_SenderState",
    "_state",
    "RELAY_STOP_TIMEOUT_SECONDS",
    # `flask shop relay`, the relay as a command (click, Flask's CLI)
    "cli",
    "relay_command",
}
# the relay's loop: an asyncio task that the lifespan cancels, against a thread that an Event stops
NOT_MIRRORED_IN_OUTBOX = {"run_relay"}


class Synchronous(ast.NodeTransformer):
    """Rewrites the FastAPI module's async idiom into the Flask module's sync one (the module docstring)."""

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.FunctionDef:
        self.generic_visit(node)
        fields = {name: getattr(node, name) for name in node._fields}
        return ast.FunctionDef(**fields)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> ast.With:
        self.generic_visit(node)
        return ast.With(items=node.items, body=node.body, type_comment=node.type_comment)

    def visit_Await(self, node: ast.Await) -> ast.expr:
        return self.visit(node.value)  # type: ignore[no-any-return]

    def visit_Call(self, node: ast.Call) -> ast.Call:
        self.generic_visit(node)
        if ast.unparse(node.func) == "asyncio.to_thread":
            function, *args = node.args
            return ast.Call(func=function, args=args, keywords=node.keywords)
        return node


class Neutral(ast.NodeTransformer):
    """What both modules lose: docstrings, and the names of the app package and the session types."""

    def generic_visit(self, node: ast.AST) -> ast.AST:
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and _is_docstring(body[0]):
            del body[0]
        return super().generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = RENAMES.get(node.id, node.id)
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.ImportFrom:
        for old, new in MODULES.items():
            if node.module == old or (node.module or "").startswith(old + "."):
                node.module = new + (node.module or "")[len(old) :]
        for alias in node.names:
            alias.name = RENAMES.get(alias.name, alias.name)
        return node


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def definitions(source: str, *, asynchronous: bool) -> dict[str, str]:
    """Each top-level statement of ``source`` as neutral code, by the name it defines (imports by their
    line: ``import:<code>``), in the module's order."""
    tree = ast.parse(source)
    if asynchronous:
        tree = Synchronous().visit(tree)
    tree = ast.fix_missing_locations(Neutral().visit(tree))
    found: dict[str, str] = {}
    for node in tree.body:
        code = ast.unparse(node)
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            found[node.name] = code
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            found[ast.unparse(target)] = code
        else:
            found[f"statement:{code}"] = code
    return found


def differences(fastapi: dict[str, str], flask: dict[str, str]) -> str:
    """A unified diff of two modules' neutral code ('' when they are the same)."""
    return "".join(
        difflib.unified_diff(
            "\n\n".join(fastapi.values()).splitlines(keepends=True),
            "\n\n".join(flask.values()).splitlines(keepends=True),
            "fastapi_shop, made synchronous",
            "flask_shop",
        )
    )


def read(module: str) -> tuple[str, str]:
    return (ROOT / "fastapi_shop" / module).read_text(), (ROOT / "flask_shop" / module).read_text()


def test_the_services_differ_only_by_async_and_await() -> None:
    fastapi, flask = read("services.py")
    diff = differences(definitions(fastapi, asynchronous=True), definitions(flask, asynchronous=False))
    assert diff == "", "the two services.py no longer mirror each other:\n" + diff


def test_the_outboxes_share_their_delivery_code_but_for_async_and_await() -> None:
    fastapi_source, flask_source = read("outbox.py")
    fastapi = definitions(fastapi_source, asynchronous=True)
    flask = definitions(flask_source, asynchronous=False)
    assert {name for name in flask if name not in fastapi and not name.startswith("statement:")} == (
        FLASK_ONLY_IN_OUTBOX
    )
    assert {name for name in fastapi if name not in flask and not name.startswith("statement:")} == set()
    shared = [name for name in fastapi if name in flask and name not in NOT_MIRRORED_IN_OUTBOX]
    diff = differences({n: fastapi[n] for n in shared}, {n: flask[n] for n in shared if n in flask})
    assert diff == "", "the two outbox.py no longer mirror each other:\n" + diff
    order = [name for name in flask if name in shared]
    assert order == shared, "the shared functions are in another order"


@pytest.mark.parametrize(
    ("step", "change"),
    [
        ("    take_stock(products, priced)\n", ""),
        (
            "    await session.commit()\n    return admin_session\n",
            "    await session.flush()\n    return admin_session\n",
        ),
        ("replayed=True", "replayed=False"),
    ],
    ids=["a step dropped", "a call changed", "a value changed"],
)
def test_the_check_sees_a_step_that_one_app_changed(step: str, change: str) -> None:
    fastapi, flask = read("services.py")
    assert fastapi.count(step) == 1
    altered = fastapi.replace(step, change)
    assert differences(definitions(altered, asynchronous=True), definitions(flask, asynchronous=False)) != ""
