"""gunicorn settings for the Flask app: ``gunicorn -c flask_shop/gunicorn.conf.py "flask_shop:create_app()"``.

Threaded workers (gthread): the app does blocking I/O (psycopg, argon2), so each worker serves
``GUNICORN_THREADS`` requests at once. Environment:

- ``GUNICORN_BIND`` (default ``0.0.0.0:8000``); ``--bind`` on the command line wins.
- ``WEB_CONCURRENCY``: worker processes (default 2). ``GUNICORN_THREADS``: threads per worker (default 4).
- ``SHOP_DB_POOL_SIZE`` defaults to the thread count: one pooled connection per request thread.
- ``SHOP_MAX_SOCKETS_PER_WORKER`` defaults to half the threads: a live order socket
  (``flask_shop/order_events.py``) holds its request thread for as long as it is open, and the other half
  stays for HTTP.
- ``GUNICORN_WORKER_CLASS=gevent``: gevent workers instead, each serving ``GUNICORN_WORKER_CONNECTIONS``
  (default 1000) connections as greenlets, of which ``SHOP_MAX_SOCKETS_PER_WORKER`` (default 900) may be
  sockets. The deployments run the app so a second time, for the sockets only (compose's ``flask-events``,
  the k8s ``flask-events`` Deployment): gevent patches the standard library (sockets, threads, ``select``)
  in each worker before the app is imported, which psycopg 3 (from 3.1.14) detects and then waits
  cooperatively; argon2's hashing, pure CPU, would block a whole gevent worker, so the API stays on threads.

Requests gunicorn refuses itself, before the app runs (a malformed request line, one over the limits of
:mod:`shared.http.api`), are answered with problem documents, like everything the app says; see
``ProblemThreadWorker`` below.

The first section is parity plumbing (the README's table): it exists so that both apps answer alike on the
wire, and a deployment behind a proxy that refuses such requests itself would not need it. It stays in
this file rather than in an importable ``flask_shop/server.py`` beside FastAPI's: gunicorn's master loads
the worker class, and a class from the ``flask_shop`` package would import the whole app into the master,
whose forked workers would then serve stale code under ``--reload`` (the compose development loop).
"""

import os
import shutil
import signal
import socket
import tempfile
from types import FrameType

from flask import Flask
from gunicorn import util
from gunicorn.arbiter import Arbiter
from gunicorn.http.message import Request
from gunicorn.workers.base import Worker
from gunicorn.workers.gthread import ThreadWorker

from shared.http.api import MAX_BODY_BYTES, MAX_HEADER_FIELD_BYTES, MAX_HEADER_FIELDS, MAX_REQUEST_LINE_BYTES
from shared.http.problems import raw_problem_response
from shared.observability.logs import json_config

# --- parity plumbing: problem documents for what gunicorn refuses, and bodies over the limit --------------


def _write_problem(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    util.write_nonblock(sock, raw_problem_response(status_int, mesg))


class ProblemThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn.workers.gthread has no types
    """gunicorn's threaded worker (gthread), answering the requests gunicorn refuses with a problem document
    instead of its HTML page. gunicorn writes that page with the module function ``gunicorn.util.write_error``
    and offers no setting or hook for it, so the worker replaces that function in its own process."""

    def init_process(self) -> None:
        util.write_error = _write_problem
        super().init_process()


def _problem_gevent_worker() -> type[Worker]:
    """gunicorn's gevent worker, answering refused requests as :class:`ProblemThreadWorker` does. Its module
    imports gevent, so it is loaded only when chosen (the master then imports gevent, not the app, nor
    psycopg: gevent must patch before psycopg is imported, in the worker)."""
    from gunicorn.workers.ggevent import GeventWorker

    class ProblemGeventWorker(GeventWorker):  # type: ignore[misc]  # gunicorn.workers.ggevent has no types
        def init_process(self) -> None:
            util.write_error = _write_problem
            super().init_process()

    return ProblemGeventWorker


def pre_request(worker: Worker, req: Request) -> None:
    """A body over the app's limit gets a 413 without being read: so do not invite it with
    ``100 Continue`` (which gunicorn sends before the app runs), and close the connection after the 413, as
    its response says (RFC 9110 §10.1.1). Else gunicorn would read at most 64 KiB of it, then close a
    connection its response called ``keep-alive``. (An app's own ``Connection`` header is dropped.)"""
    declared = next((value for name, value in req.headers if name == "CONTENT-LENGTH"), None)
    if declared is not None and int(declared) > MAX_BODY_BYTES:  # gunicorn has checked it is digits
        req._expected_100_continue = False  # gunicorn's own flag: it has no public way to decline
        req.force_close()


# --- the settings ----------------------------------------------------------------------------------------

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
WORKER_CLASSES = ("gthread", "gevent")
_worker_class_name = os.environ.get("GUNICORN_WORKER_CLASS", "gthread").strip().lower() or "gthread"
if _worker_class_name not in WORKER_CLASSES:
    raise RuntimeError(f"GUNICORN_WORKER_CLASS must be gthread or gevent, not {_worker_class_name!r}")
# the class itself, not a name: its module is this file, which is not importable
worker_class = _problem_gevent_worker() if _worker_class_name == "gevent" else ProblemThreadWorker
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))  # gthread: requests served at once per worker
# gevent: requests served at once per worker, as greenlets (gthread: connections open at once)
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))

# the app is created in each worker after the fork, so its confirmation threads and pool belong to the worker
preload_app = False
# workers' heartbeat files in memory, not on a container's (possibly slow) overlay disk; gunicorn's advice
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
control_socket_disable = True  # gunicorn's runtime control socket: unused here, and needs a home directory
timeout = 30  # seconds a request may take before the worker is restarted
graceful_timeout = 30  # seconds in-flight requests get to finish on SIGTERM
keepalive = 5
limit_request_line = MAX_REQUEST_LINE_BYTES  # gunicorn's defaults, stated: uvicorn enforces the same
limit_request_fields = MAX_HEADER_FIELDS
limit_request_field_size = MAX_HEADER_FIELD_BYTES

# The app logs one access line per request itself, as the FastAPI app does (shared/observability/logs.py), so
# gunicorn's access log stays off. LOG_FORMAT=json: gunicorn's own lines too, from the master's first.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
    logconfig_dict = json_config(loglevel.upper())

# /metrics adds up every worker's counts (prometheus-client's multiprocess mode,
# shared/observability/metrics.py): each worker writes them to files in PROMETHEUS_MULTIPROC_DIR, inherited
# from the master. Unless the environment names one, each server run gets a fresh, empty directory of its own,
# removed when the master exits (on_exit, below).
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="shop-metrics-")


# The outbox relay, and the export of traces when they are on (shared/observability/tracing.py), run in each
# worker, where the server runs (see flask_shop/outbox.py): started once the worker has loaded the app,
# stopped when the worker exits. The app's modules are imported in the worker only, so that the master holds
# none of them (preload_app = False; --reload forks fresh code).
# So does the live order sockets' LISTEN connection; and on SIGTERM, before gunicorn's own handler stops the
# worker, the sockets are told to close with 1001 (going away): gunicorn has no hook for SIGTERM itself.
def post_worker_init(worker: Worker) -> None:
    if (app := _flask_app(worker)) is not None:
        from flask_shop.extensions import confirmations, order_event_hub
        from shared.observability import tracing

        confirmations.start_relay(app)
        order_event_hub.start(app)
        gunicorn_exit = signal.getsignal(signal.SIGTERM)

        def going_away(signum: int, frame: FrameType | None) -> None:
            order_event_hub.shutting_down()
            if callable(gunicorn_exit):
                gunicorn_exit(signum, frame)

        signal.signal(signal.SIGTERM, going_away)
        if (provider := app.extensions.get("shop.tracing")) is not None:
            tracing.start_export(provider)


def worker_exit(server: Arbiter, worker: Worker) -> None:
    if (app := _flask_app(worker)) is not None:
        from flask_shop.extensions import confirmations, order_event_hub

        confirmations.shutdown(app)
        order_event_hub.shutdown()
        if (provider := app.extensions.get("shop.tracing")) is not None:
            provider.shutdown()  # sends the spans still queued, the confirmations' among them


def on_starting(server: Arbiter) -> None:
    """The app's defaults that follow the worker model, from the settings as gunicorn resolved them (a
    ``--threads`` on the command line included), set in the master's environment, which the workers inherit:
    a pooled connection per request thread; and the live order sockets a worker may hold. A socket holds its
    thread under gthread, so half the threads stay for HTTP; under gevent it holds a greenlet, and 100 of
    the connections stay for HTTP."""
    threads, connections = server.cfg.threads, server.cfg.worker_connections
    os.environ.setdefault("SHOP_DB_POOL_SIZE", str(threads))
    sockets = connections - 100 if _worker_class_name == "gevent" else threads // 2
    os.environ.setdefault("SHOP_MAX_SOCKETS_PER_WORKER", str(max(1, sockets)))


def child_exit(server: Arbiter, worker: Worker) -> None:
    """A worker is gone: its gauges leave the sum (``shop_websockets_open`` adds the live workers' up)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Arbiter) -> None:
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def _flask_app(worker: Worker) -> Flask | None:
    """The worker's app; None where there is none: in the master (gunicorn also calls worker_exit there for
    a worker already gone), after create_app() failed, or while --reload serves its error page."""
    app = getattr(worker, "wsgi", None)
    return app if isinstance(app, Flask) else None
