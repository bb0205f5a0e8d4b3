"""Generate ``docs/side-by-side.md``: both apps topic by topic, with excerpts cut from the code.

``python docs/side_by_side.py`` (``make docs``) writes the guide, and ``tests/test_side_by_side.py`` fails
while the file differs from what :func:`render` returns, so the excerpts cannot drift from the code. An
excerpt is named by file and symbol, never by line numbers, and a reference to code that is gone raises
:class:`MissingReference` instead of quoting nothing. The paragraphs are written here; a repository path in
one, as a code span (`` `shared/db/statements.py` ``), becomes a link, and must exist.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "side-by-side.md"
WIDTH = 110  # the paragraphs' line length, as the code's

_Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_PATH_SPAN = re.compile(r"`([\w.-]+(?:/[\w.-]+)+\.\w+)`")  # `fastapi_shop/main.py`, not `application/json`
_CODE_SPAN = re.compile(r"`[^`]*`")
_NO_BREAK = "\0"  # stands for a space inside a code span while a paragraph is reflowed


class MissingReference(LookupError):
    """A reference names a file, symbol, statement or Dockerfile stage that does not exist."""


@dataclass(frozen=True)
class Python:
    """Definitions of one Python file, quoted in the order given, each with its decorators and the comment
    lines right above it.

    A name is top-level (``create_app``, ``SessionDep``) or dotted, into a class or function
    (``ShopApi.init_app``, ``create_app.lifespan``). With ``mentioning``, each definition keeps its signature
    and docstring and only the statements of its body that mention one of these names (as a variable or an
    attribute); ``...`` stands for the statements left out.
    """

    path: str
    names: tuple[str, ...]
    mentioning: tuple[str, ...] = ()
    language: ClassVar[str] = "python"

    @property
    def label(self) -> str:
        return f"{_link(self.path)} " + ", ".join(f"`{name}`" for name in self.names)

    def excerpt(self) -> str:
        source = _read(self.path)
        lines = source.splitlines()
        module = ast.parse(source, filename=self.path)
        text, previous = "", None
        for name in self.names:
            node = self._find(module, name)
            quote = self._quote_part(node, name, lines) if self.mentioning else self._quote(node, lines)
            if previous is not None:
                text += "\n" * (1 + _blank_lines_between(previous, node, lines))
            text += textwrap.dedent(quote)
            previous = node
        return text

    def _find(self, module: ast.Module, name: str) -> ast.stmt:
        node: ast.stmt | None = None
        body = module.body
        for part in name.split("."):  # a part that is missing leaves the next ones nothing to look in
            node = next((statement for statement in body if _defines(statement, part)), None)
            body = node.body if isinstance(node, _Definition) else []
        if node is None:
            raise MissingReference(f"{self.path} has no {name}")
        return node

    @staticmethod
    def _quote(node: ast.stmt, lines: list[str]) -> str:
        return "\n".join(lines[_first_line(node, lines) - 1 : _last_line(node)])

    def _quote_part(self, node: ast.stmt, name: str, lines: list[str]) -> str:
        if not isinstance(node, _Definition):
            raise MissingReference(f"{self.path}: {name} is not a function or class, so it has no statements")
        body = node.body[1:] if ast.get_docstring(node) is not None else node.body
        chosen = [i for i, statement in enumerate(body) if _mentions(statement, self.mentioning)]
        if not chosen:
            raise MissingReference(
                f"{self.path}: no statement of {name} mentions {' or '.join(self.mentioning)}"
            )
        elided = " " * body[0].col_offset + "..."
        # the signature, and the docstring if there is one; "..." for each run of statements left out, with
        # the file's blank lines on either side, so that the excerpt stays formatted as the file is
        quoted = lines[_first_line(node, lines) - 1 : _first_line(body[0], lines) - 1]
        for i in chosen:
            if i - 1 in chosen:  # right after a quoted statement: keep the lines between them
                start = _last_line(body[i - 1]) + 1
            else:
                start = _first_line(body[i], lines)
                if i > 0:
                    quoted += [elided, *_blank_run(lines, start - 1, step=-1)]
            quoted += lines[start - 1 : _last_line(body[i])]
            if i + 1 < len(body) and i + 1 not in chosen:
                quoted += _blank_run(lines, _last_line(body[i]) + 1, step=1)
        if chosen[-1] < len(body) - 1:
            quoted.append(elided)
        return "\n".join(quoted)


@dataclass(frozen=True)
class DockerStage:
    """One stage of a Dockerfile: its ``FROM ... AS <stage>`` line up to the next ``FROM``, without the
    comments that introduce the next stage."""

    path: str
    stage: str
    language: ClassVar[str] = "dockerfile"

    @property
    def label(self) -> str:
        return f"{_link(self.path)} stage `{self.stage}`"

    def excerpt(self) -> str:
        lines = _read(self.path).splitlines()
        starts = [i for i, line in enumerate(lines) if re.match(r"FROM\s", line, re.IGNORECASE)]
        named = re.compile(rf"FROM\s.*\sAS\s+{re.escape(self.stage)}\s*", re.IGNORECASE)
        start = next((i for i in starts if named.fullmatch(lines[i])), None)
        if start is None:
            raise MissingReference(f"{self.path} has no stage {self.stage}")
        end = next((i for i in starts if i > start), len(lines))
        stage = lines[start:end]
        while not stage[-1].strip() or stage[-1].lstrip().startswith("#"):
            stage.pop()
        return "\n".join(stage)


@dataclass(frozen=True)
class Template:
    """A whole template (a Jinja2 file), as short as a template of this project is."""

    path: str
    language: ClassVar[str] = "html+jinja"

    @property
    def label(self) -> str:
        return _link(self.path)

    def excerpt(self) -> str:
        return _read(self.path).rstrip("\n")


Source = Python | DockerStage | Template


@dataclass(frozen=True)
class Topic:
    """One section of the guide: the code of each app, and a paragraph on what differs and why."""

    title: str
    fastapi: tuple[Source, ...]
    flask: tuple[Source, ...]
    differs: str


TOPICS = (
    Topic(
        "App and modularization",
        # the constructor (the statement that names the lifespan) and the routers
        fastapi=(Python("fastapi_shop/main.py", ("create_app",), mentioning=("lifespan", "include_router")),),
        flask=(
            Python(
                "flask_shop/__init__.py",
                ("create_app",),
                mentioning=("Flask", "init_app", "register_blueprint"),
            ),
        ),
        differs="""
        Both apps are built by a factory that the server calls in the process that serves (`uvicorn --factory
        fastapi_shop.main:create_app`, gunicorn's `"flask_shop:create_app()"`), so importing a module creates
        no engine, thread or task, and each test builds the app it needs. FastAPI takes what the app is made
        of as constructor arguments (the lifespan, the exception handlers) and includes one `APIRouter` per
        area, each with its prefix and tags. Flask follows its tutorial and microblog: extensions are created
        unbound in `flask_shop/extensions.py` and bound with `init_app`, each module that hooks into the app
        has an `init_app` of its own, and the blueprints are registered on flask-smorest's `Api` rather than
        on the app, so that their operations are documented. In Flask the order of those calls matters:
        `errors.init_app` comes after `api.init_app` because flask-smorest registers an error handler of its
        own, which ours replace. Each factory takes what a test changes: FastAPI's a `Settings` and a
        `Mailer`, Flask's a config mapping, as `create_app(test_config)` does in the Flask tutorial.
        """,
    ),
    Topic(
        "Routing",
        fastapi=(Python("fastapi_shop/products.py", ("router", "get_product")),),
        flask=(Python("flask_shop/products.py", ("blp", "get_product")),),
        differs="""
        A FastAPI path operation is a function under the router's method decorator; the decorator's arguments
        say the rest: `response_model` validates and serializes what the function returns (here the ORM
        `Product`), and `responses=problem_responses(404)` documents the error. flask-smorest stacks
        decorators with one job each: `@blp.get` routes (Flask's method shortcut, on the blueprint),
        `@blp.response` serializes the return value with a marshmallow schema and documents it, and
        `@blp.problem_responses` (this project's `Blueprint` in `flask_shop/smorest.py`) documents the error.
        The FastAPI handler is `async` and receives its session as a parameter; the Flask view is a plain
        function, run on one of gunicorn's threads, that asks for the session with `get_session()`. Neither
        handles the 404: the service raises `NotFound`, and each app's `errors.py` maps it through
        `shared/http/problems.py`. Routing has one gap in FastAPI: for a 405, Starlette's `Allow` lists only
        the methods of the first route that matches the path (`GET /products` hides `POST /products`), so
        `_allowed_methods` in `fastapi_shop/errors.py` asks the router about each method; Werkzeug's `Allow`
        is complete and `flask_shop/errors.py` passes it on.
        """,
    ),
    Topic(
        "Path and query parameters",
        fastapi=(
            Python("fastapi_shop/products.py", ("ProductId", "Search", "list_products")),
            Python("fastapi_shop/schemas.py", ("PageQuery", "ProductQuery")),
        ),
        flask=(
            Python("flask_shop/products.py", ("PRODUCT_ID", "list_products")),
            Python("flask_shop/routing.py", ("IdConverter",)),
            Python("flask_shop/schemas.py", ("PageQuerySchema", "ProductQuerySchema")),
        ),
        differs="""
        FastAPI reads parameters from the handler's signature. `ProductId` bounds the path id with `Path`, and
        a Pydantic model annotated with `Query()` (`Search`) turns its fields into query parameters, validated
        together. A path id out of bounds is a validation error like any other, which
        `handle_validation_error` turns into 404 rather than 422, because `/products/abc` names no resource.
        Flask bounds the id in the route itself, with the `<id:...>` converter of `flask_shop/routing.py`, so
        a malformed id matches no route and is 404. The query goes through webargs:
        `@blp.arguments(ProductQuerySchema, location="query")` validates it and passes the view a dict. Query
        values are always strings, so the query models convert `"20"` to 20 where the body models, strict,
        refuse it; both accept ASCII digits only (`UrlInteger`, through `shared/http/inputs.py`), where
        Python's `int()` behind either framework would also take `+1`, `1_0` or other scripts' digits. Limits
        come from `shared/domain/` in both, and an invalid query parameter is a 422 whose error names it as
        `parameter`.
        """,
    ),
    Topic(
        "Request validation and its error shape",
        fastapi=(
            Python("fastapi_shop/schemas.py", ("RequestModel", "OrderLine", "OrderCreate")),
            Python("fastapi_shop/errors.py", ("handle_validation_error",)),
        ),
        flask=(
            Python("flask_shop/schemas.py", ("_strict_int", "OrderLineSchema", "OrderCreateSchema")),
            Python("flask_shop/errors.py", ("handle_http_exception",)),
        ),
        differs="""
        Both apps answer an invalid request with the same RFC 9457 document: 422, type `validation-error`, and
        `errors`, a list of `{pointer | parameter | header, detail}` built by `validation_problem` in
        `shared/http/problems.py`. Pydantic takes strictness from the model's configuration (`strict=True`:
        `"1"` is not an integer; `extra="forbid"`), marshmallow from each field (`Integer(strict=True)`) and
        its default of refusing unknown members; a rule across items is a `field_validator` that raises
        `ValueError` in one and a `@validates` method that raises `ValidationError` in the other. The
        frameworks hand `errors.py` different things. FastAPI raises `RequestValidationError` with a `loc` per
        error, which maps straight to a JSON Pointer; its default 422 body (`{"detail": [...]}`) is what the
        handler replaces. webargs aborts with a 422 `HTTPException` that carries marshmallow's nested
        messages, which `_invalid_members` flattens. Each framework had a gap in front of validation. FastAPI
        hands a body that is not JSON to validation, which answers with type errors, so routes that take a
        body declare `dependencies=[RequireJSON]` (`fastapi_shop/content_types.py`, with `RequireForm` for the
        token form) to answer 415; Flask views carry `@require_json` (or `@require_form`) from the module of
        the same name. webargs reads an empty body as `{}`, so `BodyParser` in `flask_shop/smorest.py`
        reports it at pointer `""`. Both parse JSON by the same rules (`shared/http/inputs.py`): FastAPI
        through the `ShopRequest` its routes use (`fastapi_shop/routing.py`), Flask through its JSON provider.
        """,
    ),
    Topic(
        "Serialization",
        fastapi=(
            Python("fastapi_shop/schemas.py", ("UtcTimestamp", "ResponseModel", "Order")),
            Python("fastapi_shop/orders.py", ("render_order",)),
        ),
        flask=(
            Python("flask_shop/schemas.py", ("UtcTimestamp", "OrderSchema")),
            Python("flask_shop/orders.py", ("render_order",)),
        ),
        differs="""
        A Pydantic model serializes what it describes: `from_attributes=True` lets `Order` read the ORM
        `Order`, its `items` relationship included, and `UtcTimestamp` is an `Annotated` type whose
        `PlainSerializer` formats the time. A marshmallow schema dumps the attributes it declares, field by
        field, and a custom format is a field subclass that overrides `_serialize` (a `DateTime` one, so that
        apispec documents it as a date-time). Both formats call
        `format_timestamp` in `shared/http/api.py`, so the two apps render a stored time the same way. On most
        routes the framework serializes the handler's return value (`response_model`, `@blp.response`).
        `place_order` works differently in both apps: `render_order` renders the body once, inside the order's
        transaction, and the service stores it with the idempotency key; the route returns a raw `Response`
        with those bytes, so a replay is byte for byte the first answer, while the decorators still document
        the body. Flask's `render_order` writes compact JSON with `ensure_ascii=False`, as Pydantic's
        `model_dump_json` does.
        """,
    ),
    Topic(
        "Dependency injection and sessions",
        fastapi=(
            Python("fastapi_shop/db.py", ("get_session", "close_session", "SessionDep")),
            Python("fastapi_shop/resources.py", ("get_sessionmaker", "SessionmakerDep")),
        ),
        flask=(Python("flask_shop/db.py", ("get_session", "close_session", "init_app")),),
        differs="""
        FastAPI injects: a handler that declares `session: SessionDep` gets the result of `get_session`, a
        generator dependency that opens the session and closes it after the response has been sent, which is
        why it must not commit. Services commit explicitly, and closing rolls back whatever they did not.
        FastAPI solves a dependency once per request, so the auth dependency and the route share one session.
        The session waits for its turn at the pool first (`PoolQueue`, in `fastapi_shop/db.py`): an async
        server takes every request it is sent, and SQLAlchemy's pool does not serve its waiters in order.
        What the app holds for its lifetime (settings, mailer, engine, session factory) is created by the
        factory and the lifespan, kept on `app.state`, and read only by the typed getters in
        `fastapi_shop/resources.py`, each `async def` so that FastAPI does not call it in its thread pool: a
        test replaces any of them with `app.dependency_overrides`, which it could not do to
        `request.app.state`. Flask has no injection. As in its tutorial, `get_session()` opens
        the session on first use and keeps it on `g`, and `close_session`, registered with
        `teardown_appcontext`, closes it when the request's app context ends; what the app holds lives in
        `app.extensions` and `app.config`, reached through `current_app`. Both session factories set
        `expire_on_commit=False`, which async code needs (reading an expired attribute would be I/O) and the
        Flask app keeps so that the services behave alike. In both, closing runs once the answer is decided:
        a rollback that fails there because the database went away is one warning and a discarded connection,
        not an error of a finished response.
        """,
    ),
    Topic(
        "Authentication",
        fastapi=(
            Python(
                "fastapi_shop/auth.py",
                (
                    "BearerToken",
                    "oauth2_scheme",
                    "get_current_token",
                    "CurrentToken",
                    "get_current_user",
                    "CurrentUser",
                ),
            ),
        ),
        flask=(Python("flask_shop/auth.py", ("load_user_from_request", "unauthorized", "token_required")),),
        differs="""
        Both read an opaque bearer token and look it up in `auth_tokens` with the same statement
        (`valid_token` in `shared/db/statements.py`), so a token from either app works on both, and both read
        the header with `bearer_token` (`shared/http/authorization.py`, the RFC 6750 grammar). FastAPI's
        `OAuth2PasswordBearer`, subclassed as `BearerToken` to read it so, documents the OAuth2 password flow;
        `auto_error=False` lets a missing token reach `get_current_token`, whose 401 carries
        `WWW-Authenticate: Bearer` and becomes a problem document. Dependencies build on each other:
        `CurrentUser` needs `CurrentToken`, which needs `SessionDep`, and `AdminUser` adds the 403. Flask's
        idiom is flask-login: its `request_loader` reads the header on every request (nothing is kept in a
        session cookie), `login_required` calls the `unauthorized_handler` for the 401, and `token_required`
        adds the security requirement to the operation's documentation, which flask-login knows nothing of.
        Which error wins is the same in both, decided differently. In FastAPI the framework decides: it reads
        and decodes the body first (malformed JSON is 400), then runs the dependencies in order (`RequireJSON`
        before `CurrentUser`: 415 before 401), and validates the parameters last (422). In Flask the decorator
        order decides, and follows: `@require_json` right under the route, then the auth decorator, then
        webargs, so a request without a token is 401 before it can be 422 (the comment above `place_order` in
        `flask_shop/orders.py`).
        """,
    ),
    Topic(
        "Middleware",
        fastapi=(
            Python(
                "fastapi_shop/main.py",
                ("create_app",),
                mentioning=("BodySizeLimitMiddleware", "RequestContextMiddleware"),
            ),
            Python(
                "fastapi_shop/middleware.py",
                ("RequestContextMiddleware.__call__",),
                mentioning=("HEADER", "send_with_request_id"),
            ),
        ),
        flask=(
            Python(
                "flask_shop/middleware.py",
                ("assign_request_id", "add_request_id", "log_and_count", "limit_chunked_body", "init_app"),
            ),
        ),
        differs="""
        Starlette middleware wraps the ASGI app. `RequestContextMiddleware` is pure ASGI
        (`BaseHTTPMiddleware` would get in the way of streaming and background tasks): it puts the
        request id on the scope, adds `X-Request-ID` to the response's start message, and logs and
        counts the request (`shared/observability/logs.py`, `shared/observability/metrics.py`) when
        the response body is complete, before background tasks run; the route template for the metrics
        is what the router left in the scope (for Starlette's plain routes, such as `/openapi.json`,
        the route whose endpoint it left). The middleware added last is the outermost, so every
        response carries the id. Flask code hooks into the request instead: `before_request` and
        `after_request` functions, registered by the module's `init_app`, with the route template from
        `request.url_rule` (for a 405, which leaves it unset, the rule the URL map matches with an
        allowed method). `after_request` also runs for the responses of error handlers, so problem
        documents carry the id and are logged and counted too. The 1 MiB body limit needed code in
        both. FastAPI's own limit answers 413 in plain text, so `BodySizeLimitMiddleware` answers with
        a problem document: at once for a `Content-Length` over the limit, and for a chunked body from
        the read that crosses it. Werkzeug refuses a `Content-Length` over `MAX_CONTENT_LENGTH` but
        reads a chunked body up to the limit and stops without an error, so the view would see it
        truncated; `limit_chunked_body` looks one byte further and answers 413.
        """,
    ),
    Topic(
        "Background tasks",
        fastapi=(
            Python("fastapi_shop/orders.py", ("place_order",), mentioning=("background_tasks", "Response")),
            Python("fastapi_shop/main.py", ("create_app.lifespan",)),
        ),
        flask=(
            Python("flask_shop/orders.py", ("place_order",), mentioning=("confirmations", "Response")),
            Python("flask_shop/outbox.py", ("ConfirmationSender.submit",)),
            Python("flask_shop/gunicorn.conf.py", ("post_worker_init", "worker_exit")),
        ),
        differs="""
        After a new order commits, both apps send its confirmation off the request, and neither loses it if
        the process dies first: the order's transaction also wrote an outbox row, which stays unsent until a
        delivery marks it, and a periodic relay delivers what is left over. FastAPI's `BackgroundTasks` runs
        `send_order_confirmation` after the response has been sent, on the same event loop; the mailer,
        which may block, runs in a thread (`asyncio.to_thread`). Flask has nothing built in, so
        `ConfirmationSender`, an extension, submits the delivery to a pool of two threads:
        `response.call_on_close` would hold one of gunicorn's request threads while the mailer talks to SMTP.
        Either way the task gets the order id and opens a session of its own, never the request's. The relay
        starts where the server runs: FastAPI's lifespan creates it as an asyncio task and cancels it at
        shutdown; Flask's starts in gunicorn's `post_worker_init` hook and stops in `worker_exit`, after
        queued confirmations, so building the app (`create_app()`, `flask shell`, a test) starts no thread.
        """,
    ),
    Topic(
        "CORS",
        fastapi=(
            Python("fastapi_shop/main.py", ("create_app",), mentioning=("ProblemCORSMiddleware",)),
            Python("fastapi_shop/middleware.py", ("ProblemCORSMiddleware",)),
        ),
        flask=(
            Python("flask_shop/extensions.py", ("cors",)),
            Python("flask_shop/__init__.py", ("create_app",), mentioning=("cors",)),
            Python("flask_shop/middleware.py", ("refuse_disallowed_preflight",)),
        ),
        differs="""
        Both apps apply one policy, fixed once in `shared/http/api.py` (methods, headers a browser may send
        and read, preflight max age), with the allowed origins from configuration (`CORS_ORIGINS`). Exposing
        `Location`, `Idempotent-Replayed` and `X-Request-ID` is what lets browser code read them. FastAPI uses
        Starlette's `CORSMiddleware`, which answers preflight requests itself, before routing, and adds its
        headers to the responses that pass through it. Flask uses the flask-cors extension, created unbound in
        `flask_shop/extensions.py` like the others and bound in the factory; it adds its headers in an
        `after_request` hook, preflights included, which Flask answers with its automatic `OPTIONS` handling.
        A preflight the policy refuses is a `400` problem document in both: Starlette's own refusal (plain
        text) is re-rendered by a subclass; flask-cors would answer `200` without permissions, so a
        `before_request` hook refuses it with `shared.http.api.preflight_failures`.
        """,
    ),
    Topic(
        "OpenAPI and docs",
        fastapi=(
            Python("fastapi_shop/main.py", ("_openapi",)),
            Python("fastapi_shop/errors.py", ("problem_responses",)),
            Python("fastapi_shop/docs.py", ("swagger_ui",)),
        ),
        flask=(
            Python("flask_shop/smorest.py", ("OperationIds", "ShopApi")),
            Python("flask_shop/smorest.py", ("Blueprint.problem_responses",)),
            Python("flask_shop/schemas.py", ("ResponseSchema",)),
        ),
        differs="""
        FastAPI builds the document from signatures and models and serves `/openapi.json` and `/docs` without
        configuration; to change it, an app replaces `app.openapi`, as FastAPI's documentation shows.
        `_openapi` fills a gap there: FastAPI's default 422 schema (`HTTPValidationError`) describes a body
        this API never sends, so it gives way to the problem+json schemas, and routes that only take path ids
        (which answer 404, not 422) lose it. flask-smorest builds the document with apispec from the
        marshmallow schemas and the decorators, and is configured in `app.config` (`OPENAPI_URL_PREFIX`,
        `OPENAPI_SWAGGER_UI_PATH`, ...) in the factory. `ShopApi` changes it where flask-smorest allows: one
        problem+json response component per error status, which `@blp.problem_responses` refers to, and a
        security scheme, which flask-smorest does not document at all: the OAuth2 password flow, registered in
        `init_app` under FastAPI's name for it (`OAuth2PasswordBearer`), so that `/docs` can log in and the
        two documents match. In both apps a route documents its errors with `problem_responses`: a
        `responses=` argument in FastAPI, a decorator in Flask.

        The two documents mean the same, and `contract_tests/test_openapi.py` compares them member by member
        (operations, parameters, bodies, statuses, headers, schemas, `required` lists, enums, nullability).
        What FastAPI infers, Flask states. FastAPI reads `required` from fields without a default, enums from
        `Literal` and `Enum`, nullability from `| None`, bounds from `Field`, and names each operation after
        its function once the app says so (`generate_unique_id_function`) and each component after its class
        (so `OrderPage` is a class, not `Page[Order]`). It gets two things wrong quietly: a bound placed after
        a `BeforeValidator` comes out as `ge`/`le`, which no JSON Schema tool reads, and a timestamp
        serialized to `str` loses `format: date-time` (`WithJsonSchema` restores it). flask-smorest needs each
        of these said: `required=True` (for a response, on every member: `ResponseSchema`), `OneOf` for an
        enum, a `DateTime` field for `date-time`, `register_converter` for what `<id:...>` accepts (else a
        path id is a bare string), an apispec plugin for `operationId`s, and `headers=` on `@blp.response`
        for `Location`; and it publishes a pagination schema of its own that no view uses until told not to.

        Both pages, Swagger UI at `/docs` and ReDoc at `/redoc`, load their scripts from the app, never a CDN
        (`shared/http/static/`), so they work with no internet. FastAPI's way is its how-to on self-hosting:
        turn the built-in pages off (`docs_url=None, redoc_url=None`), mount the files with `StaticFiles`, and
        serve the pages from a router (`fastapi_shop/docs.py`) with FastAPI's own HTML helpers. flask-
        smorest's is configuration: `OPENAPI_SWAGGER_UI_URL` and `OPENAPI_REDOC_URL` name the files, which
        Flask serves as its static folder. A view's docstring is its documentation in both: flask-smorest
        takes the first line as the summary and the rest as the description; FastAPI names the operation after
        the function ("Place Order") and takes the whole docstring as the description, rendered as Markdown.
        """,
    ),
    Topic(
        "Testing",
        fastapi=(Python("tests/test_fastapi_app.py", ("app", "client")),),
        flask=(Python("tests/test_flask_app.py", ("app", "client", "runner")),),
        differs="""
        These in-process tests cover what the black-box contract suite (`contract_tests/`, every test against
        both apps over HTTP) cannot see, on a throwaway PostgreSQL (`tests/conftest.py`). Flask's idiom is its
        tutorial's: `create_app` with a test config (`TESTING`, the settings, a recording mailer as `MAILER`),
        `app.test_client()`, and `app.test_cli_runner()` to run `flask shop relay --once`. FastAPI's is
        `httpx.AsyncClient` on an `ASGITransport`, with the lifespan entered by the fixture (the transport
        does not run it) and the recording mailer given to `create_app`. `app.dependency_overrides` would
        swap it only where routes depend on `get_mailer`: the outbox relay, a task of the lifespan, depends on
        nothing and keeps what `create_app` was given. `ASGITransport` returns once the
        request's background tasks have run, so a FastAPI test checks the mailer at once; a Flask test first
        waits for the confirmation threads with `confirmations.shutdown(app)`, as gunicorn's `worker_exit`
        hook does.
        """,
    ),
    Topic(
        "Server and deployment",
        fastapi=(DockerStage("Dockerfile", "fastapi"),),
        flask=(
            DockerStage("Dockerfile", "flask"),
            Python(
                "flask_shop/gunicorn.conf.py",
                (
                    "worker_class",
                    "workers",
                    "threads",
                    "worker_connections",
                    "preload_app",
                    "graceful_timeout",
                ),
            ),
        ),
        differs="""
        One Dockerfile builds both images on a shared runtime stage (a non-root user, the health check); they
        differ in the virtualenv, the app package and the command. uvicorn runs one process per container and
        serves concurrent requests on its event loop; `--factory` builds the app in that process, and more
        capacity is more containers. gunicorn runs `WEB_CONCURRENCY` worker processes of `GUNICORN_THREADS`
        threads each (gthread), because the Flask app blocks on psycopg and argon2; with `preload_app = False`
        each worker builds its own app after the fork, so no engine, pool or thread is shared between
        processes, and the database pool defaults to one connection per thread. A thread serves one request
        from its first byte to its last, so a client that sends its body slowly, or does not read the answer,
        holds it: gunicorn is deployed behind a buffering proxy, as its documentation prescribes (nginx in
        `docker-compose.yml`, `nginx/flask.conf.template`; the ingress in Kubernetes), which hands it whole
        requests and takes whole answers. uvicorn's event loop waits for slow clients itself and needs none
        (`make chaos`, fault `slow-clients`). Both commands are in exec
        form, so the server is PID 1 and receives SIGTERM itself: uvicorn finishes in-flight requests within
        `--timeout-graceful-shutdown`, gunicorn within `graceful_timeout`. The request log is the app's own
        line in FastAPI (hence `--no-access-log`) and gunicorn's access log in Flask.
        """,
    ),
    Topic(
        "WebSockets",
        fastapi=(
            Python("fastapi_shop/order_events.py", ("watch_order", "_relay")),
            Python("fastapi_shop/server.py", ("WebSocketProtocol",)),
        ),
        flask=(
            Python("flask_shop/order_events.py", ("watch_order", "_relay", "OrderEventHub.sweep")),
            Python("flask_shop/gunicorn.conf.py", ("post_worker_init",)),
        ),
        differs="""
        Both apps serve the live order socket (`/api/v1/orders/{order_id}/events`) from one protocol module,
        `shared/http/sockets.py`, with the same steps in the same order: admit the socket under the process's
        limit, take the token (header or first message), read the order, then relay what the hub queues. Each
        process holds one `LISTEN` connection, whose notifications the hub fans out to its sockets. WebSockets
        are native to ASGI, so the FastAPI route is `@router.websocket` with the same `Depends` as the HTTP
        routes: the getters take Starlette's `HTTPConnection`, the base of `Request` and `WebSocket`. The
        token waits in `asyncio.timeout`. `_relay` waits on the queue and on the client at once
        (`asyncio.wait`), and an idle socket is a suspended task. uvicorn pings every 20 s and drops a silent
        peer itself. It closes open sockets with 1012 before the lifespan ends, so a one-method subclass of
        its protocol (`--ws fastapi_shop.server:WebSocketProtocol`) sends the documented 1001 instead, and
        caps a client message at 4 KiB. WSGI has no WebSockets. flask-sock is the small, maintained extension
        here: a plain view gets a `ws` object, on simple-websocket, under gunicorn's threads or gevent.
        Flask-SocketIO speaks Socket.IO rather than plain WebSockets, and gevent-websocket is unmaintained.
        The view blocks, so a socket holds its request thread (and simple-websocket's reader thread) for as
        long as it is open. Under the API's gthread workers, half the threads may hold sockets. The
        deployments serve Flask's sockets from a second gunicorn of the same image with gevent workers
        (`flask-events`), where a socket is a pair of greenlets. That needs gevent to patch the standard
        library before psycopg is imported, which `gunicorn.conf.py` keeps true by importing no part of the
        app in the master. A view cannot wait on its queue and its socket at once, so one sweeper thread per
        worker reads every watching socket once a second and wakes those whose client left or sent a message.
        gunicorn has no hook for SIGTERM, so `post_worker_init` wraps its handler to set a flag first (all a
        handler may safely do under gevent), and the sweeper closes the sockets with 1001; `_close` then waits
        for the client's close frame, which ends simple-websocket's reader thread, or the worker would wait
        out its 20 s ping timer. Both apps send every socket its order's state again, read in one query, when
        the listener comes back. Measured in `make bench` (two workers each, docs/performance.md): uvicorn
        held 10,000 idle sockets at 73 KiB each, and gunicorn with gevent at 135 KiB each (in one of three
        sittings, 2 handshakes of a burst waited out the pool and got 1011); gunicorn's threads held 4 a
        worker, by design. A change reached all of 1,000 watchers of its order within a p99 of 209 ms on
        uvicorn and 153 ms on gevent, within this machine's noise of each other.
        """,
    ),
    Topic(
        "Admin interfaces",
        fastapi=(
            Python("fastapi_shop/admin/__init__.py", ("init_app",)),
            Python("fastapi_shop/admin/views.py", ("ProductAdmin",)),
        ),
        flask=(
            Python("flask_shop/admin/__init__.py", ("init_app",)),
            Python("flask_shop/admin/views.py", ("ProductView",)),
        ),
        differs="""
        Both back offices are their ecosystem's usual choice: Flask-Admin 2 (Bootstrap 4) for Flask and
        SQLAdmin ("SQLAlchemy Admin for FastAPI and Starlette") for FastAPI. FastAPI-Admin, the other name
        that comes up, is built on Tortoise ORM, not SQLAlchemy, and has had no release in years, so it could
        not sit on this schema. Both are declarative in the same way: a `ModelView` per model with
        `column_list`, `column_searchable_list`, sorting and paging, `can_delete = False`, and overridable
        hooks where a write happens (`create_model`/`update_model` in Flask-Admin,
        `insert_model`/`update_model` in SQLAdmin), which here call the services, so the admin keeps the API's
        rules and writes the audit trail in the change's own transaction. Flask-Admin was the easier of the
        two to bend: its views take any form class, `@expose` adds a route to a view, and its templates
        already render Flask-WTF's `csrf_token()`. Its one friction is the session: it expects
        Flask-SQLAlchemy (2.x warns that 3.0 will take nothing else), so this app hands it a proxy to its own
        request session (the `LocalProxy` in `init_app`). SQLAdmin asks for more code: it takes the engine
        when it is mounted (so the FastAPI app now creates its engine with the app and the lifespan disposes
        of it), reconfigures the session factory it is given (hence a factory of its own), picks its URLs from
        the model's name (the Flask views use the same names), has no CSRF protection, signs out and runs its
        actions with GET links, and its flash messages append to the session in place, which Starlette 1.x
        does not notice. Python lines of the admin package: Flask 461, FastAPI 600 (blank lines left out; the
        forms, 88 lines in `shared/http/forms.py`, are shared).
        """,
    ),
    Topic(
        "Templates",
        fastapi=(
            Python("fastapi_shop/admin/sessions.py", ("templates",)),
            Python("fastapi_shop/admin/__init__.py", ("ShopAdmin.login",)),
            Template("fastapi_shop/admin/templates/back_office/product_details.html"),
        ),
        flask=(
            Python("flask_shop/admin/sessions.py", ("bp", "sign_in")),
            Template("flask_shop/admin/templates/back_office/product_details.html"),
        ),
        differs="""
        Both frameworks render Jinja2. Flask has it built in: `render_template` looks in the app's and every
        blueprint's `templates/` folder, so the sign-in page of the `back_office` blueprint is found by name,
        with `url_for`, `get_flashed_messages` and Flask-WTF's `csrf_token()` already in its context. FastAPI
        renders through Starlette's `Jinja2Templates`, an object made with its folder
        (`fastapi_shop/admin/sessions.py`); a template gets the `request`, and `url_for` resolves route names,
        while anything else a template calls is added to `templates.env.globals` by hand (the CSRF token,
        SQLAdmin's flash messages). The admins' own pages extend the library's base templates and override a
        block in both: Flask-Admin's model details page (block `details_table`), SQLAdmin's (block
        `action_buttons_bottom`). A dashboard replaces each admin's home page:
        Flask-Admin's `AdminIndexView` with an `@expose("/")`, SQLAdmin's `Admin.index`, which its own
        docstring invites one to override.
        """,
    ),
    Topic(
        "Static files",
        fastapi=(
            Python("fastapi_shop/admin/__init__.py", ("CachedStaticFiles",)),
            Python("fastapi_shop/admin/__init__.py", ("init_app",), mentioning=("mount",)),
        ),
        flask=(Python("flask_shop/admin/sessions.py", ("AssetsBlueprint", "bp")),),
        differs="""
        Flask serves a folder per app and per blueprint: the `back_office` blueprint's `static/` is at
        `/admin/assets/` with no code beyond `static_folder`, and `url_for("back_office.static", ...)` builds
        its URLs. FastAPI mounts Starlette's `StaticFiles` on a path; the back office's is mounted before
        SQLAdmin's `/admin`, which would otherwise take every path under it. Both send `ETag` and
        `Last-Modified`, so a browser revalidates; for a cache lifetime, Flask has a hook,
        `get_send_file_max_age`, overridden per blueprint, and `StaticFiles` has none, so a subclass sets
        `Cache-Control` on its file responses. Each admin library serves its own assets the same way
        (Flask-Admin as a blueprint, SQLAdmin as a mount at `/admin/statics`), and nothing a page loads comes
        from another host: Flask-Admin's default Bootstrap theme is used because several of its Bootswatch
        themes import web fonts from Google (`contract_tests/test_back_office.py` follows every script, style
        sheet and `url()` a page names).
        """,
    ),
    Topic(
        "Sessions and CSRF",
        fastapi=(
            Python(
                "fastapi_shop/admin/sessions.py",
                ("AdminAuthentication.login", "AdminAuthentication.authenticate"),
            ),
            Python("fastapi_shop/admin/guard.py", ("AdminRequestGuard",)),
        ),
        flask=(
            Python("flask_shop/admin/sessions.py", ("AdminLogin", "load_admin")),
            Python("flask_shop/admin/__init__.py", ("guard_admin_request",)),
        ),
        differs="""
        Both cookies are the framework's signed session (Flask's `SecureCookieSessionInterface`, Starlette's
        `SessionMiddleware`, both itsdangerous), and both hold only an opaque reference to an `admin_sessions`
        row: signing out, a revoked admin right, 30 idle minutes or 8 hours end a session on every worker
        (`valid_admin_session` in `shared/db/statements.py`), which a cookie alone could not. Flask gets this
        from flask-login: `get_id()` returns the reference rather than a user id, and a `user_loader` that
        answers only under `/admin` (the API's `request_loader` reads bearer tokens, so the cookie never
        authenticates the API). SQLAdmin's `AuthenticationBackend` is the one place for access in FastAPI: a
        `login`, a `logout`, and an `authenticate` run before every admin page. Both cookies are `HttpOnly`,
        `SameSite=Lax`, scoped to `/admin`, and `Secure` whenever the request came over HTTPS (directly or per
        `X-Forwarded-Proto` from a trusted proxy), which takes a one-method subclass in Flask and two
        middlewares chosen by scheme in Starlette, whose `https_only` is fixed. CSRF is the synchronizer token
        pattern in both, kept in the session. Flask-WTF's `CSRFProtect` does it for Flask, checked only under
        `/admin` (a 400 problem document on failure; Flask-Admin's own `SecureForm` would answer a missing
        token with the form again and a 200). SQLAdmin has none, and the libraries did not fit: starlette-csrf
        reads the token only from a header, which an HTML form cannot send, and asgi-csrf's multipart parsing
        fails on the python-multipart in use, while SQLAdmin's forms are multipart. So
        `fastapi_shop/admin/guard.py` is the app's own, 83 lines with its docstrings, on Starlette's form
        parser (403 on failure); it also refuses a NUL in a query (400), as `guard_admin_request` does in
        Flask.
        """,
    ),
    Topic(
        "Async database access",
        fastapi=(
            Python("fastapi_shop/services.py", ("register_user",), mentioning=("passwords",)),
            Python("fastapi_shop/passwords.py", ("PasswordHashing._bounded",)),
            Python("fastapi_shop/services.py", ("cancel_order",)),
        ),
        flask=(
            Python("flask_shop/services.py", ("register_user",), mentioning=("passwords",)),
            Python("flask_shop/passwords.py", ("PasswordHashing._bounded",)),
            Python("flask_shop/services.py", ("cancel_order",)),
        ),
        differs="""
        The services are the same functions, in the same order, with the same keyword arguments,
        executing the same statements from `shared/db/statements.py`; FastAPI's are `async def` on an
        `AsyncSession` (asyncpg) and await every round trip, Flask's are plain functions on a
        `Session` (psycopg). Async changes the rules in two places. A lazy load is I/O, which an
        `AsyncSession` cannot do unasked: relationships load eagerly (`lazy="selectin"` and `"joined"`
        in `shared/db/models.py`), objects stay readable after commit (`expire_on_commit=False`), and
        `mark_cancelled` returns the row with `RETURNING` rather than leaving an expired attribute to
        read. And CPU-bound work stops the event loop: argon2 runs in a worker thread
        (`asyncio.to_thread`), where in Flask it runs on the request's thread (argon2 releases the
        GIL). Both bound how many hashes run at once per process (`passwords.py`), an
        `asyncio.Semaphore` in one and a `threading.BoundedSemaphore` in the other, and answer 503
        when no slot frees up within a second. Concurrency comes from the event loop in one app, and
        from gunicorn's threads, each with a pooled connection, in the other.
        """,
    ),
)

TITLE = "FastAPI and Flask, side by side"
INTRO = (
    """
    This repository builds one HTTP API, the Place Order API (`docs/api.md`), twice: in FastAPI
    (`fastapi_shop/`) and in Flask (`flask_shop/`), over one PostgreSQL schema (`shared/`). For each topic
    that comparisons of the two frameworks cover, this guide names the file and function in each app, quotes
    them, and says what differs and why, including the gaps in each framework that the project had to fill.
    """,
    """
    The excerpts are cut from the code by `docs/side_by_side.py`, which also holds the paragraphs, so do not
    edit this file by hand: after changing code it quotes, run `make docs`. `tests/test_side_by_side.py` fails
    while this file is stale.
    """,
)


def render() -> str:
    """The guide, as Markdown."""
    contents = "\n".join(f"{n}. [{topic.title}](#{_slug(topic.title)})" for n, topic in enumerate(TOPICS, 1))
    blocks = [f"# {TITLE}", *map(_paragraph, INTRO), "## Contents", contents]
    for topic in TOPICS:
        blocks.append(f"## {topic.title}")
        for framework, sources in (("FastAPI", topic.fastapi), ("Flask", topic.flask)):
            for source in sources:
                blocks.append(f"{framework}: {source.label}")
                blocks.append(f"```{source.language}\n{source.excerpt()}\n```")
        blocks.append(_paragraph("**What differs.** " + topic.differs))
    return "\n\n".join(blocks) + "\n"


def _paragraph(text: str) -> str:
    """``text`` reflowed to :data:`WIDTH`, never inside a code span, with each repository path in a code span
    linked from ``docs/``."""
    linked = _PATH_SPAN.sub(lambda match: _link(match.group(1)), " ".join(text.split()))
    unbreakable = _CODE_SPAN.sub(lambda match: match.group().replace(" ", _NO_BREAK), linked)
    filled = textwrap.fill(unbreakable, WIDTH, break_long_words=False, break_on_hyphens=False)
    return filled.replace(_NO_BREAK, " ")


def _link(path: str) -> str:
    if not (ROOT / path).exists():
        raise MissingReference(f"{path} does not exist")
    return f"[`{path}`](../{path})"


def _slug(title: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def _read(path: str) -> str:
    try:
        return (ROOT / path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MissingReference(f"{path} does not exist") from None


def _defines(statement: ast.stmt, name: str) -> bool:
    """Whether ``statement`` defines ``name``: a ``def``, a ``class`` or an assignment to it."""
    if isinstance(statement, _Definition):
        return statement.name == name
    if isinstance(statement, ast.Assign):
        return any(isinstance(target, ast.Name) and target.id == name for target in statement.targets)
    if isinstance(statement, ast.AnnAssign):
        return isinstance(statement.target, ast.Name) and statement.target.id == name
    return False


def _mentions(statement: ast.stmt, names: tuple[str, ...]) -> bool:
    return any(
        (isinstance(node, ast.Name) and node.id in names)
        or (isinstance(node, ast.Attribute) and node.attr in names)
        for node in ast.walk(statement)
    )


def _first_line(statement: ast.stmt, lines: list[str]) -> int:
    """The 1-based line where ``statement`` starts to be quoted: its first decorator, or the comment lines
    right above it."""
    decorators = statement.decorator_list if isinstance(statement, _Definition) else []
    first = min([statement.lineno, *(decorator.lineno for decorator in decorators)])
    while first > 1 and lines[first - 2].lstrip().startswith("#"):
        first -= 1
    return first


def _last_line(statement: ast.stmt) -> int:
    return statement.end_lineno or statement.lineno


def _blank_run(lines: list[str], line: int, *, step: int) -> list[str]:
    """The blank lines from the 1-based ``line`` on, ``step`` lines at a time, up to one that is not blank."""
    run = []
    while 0 < line <= len(lines) and not lines[line - 1].strip():
        run.append("")
        line += step
    return run


def _blank_lines_between(first: ast.stmt, second: ast.stmt, lines: list[str]) -> int:
    """How many blank lines ruff would put between two statements quoted at the top level of an excerpt (it
    formats the guide's code blocks too): two around a definition, as PEP 8 says; none between statements on
    consecutive lines of the file; one otherwise."""
    if isinstance(first, _Definition) or isinstance(second, _Definition):
        return 2
    return 0 if _first_line(second, lines) == _last_line(first) + 1 else 1


if __name__ == "__main__":
    GUIDE.write_text(render(), encoding="utf-8")
