"""gunicorn settings for the Flask app: ``gunicorn -c flask_shop/gunicorn.conf.py "flask_shop:create_app()"``.

Threaded workers (gthread): the app does blocking I/O (psycopg, argon2), so each worker serves
``GUNICORN_THREADS`` requests at once. Environment:

- ``GUNICORN_BIND`` (default ``0.0.0.0:8000``); ``--bind`` on the command line wins.
- ``WEB_CONCURRENCY``: worker processes (default 2). ``GUNICORN_THREADS``: threads per worker (default 4).
- ``SHOP_DB_POOL_SIZE`` defaults to the thread count: one pooled connection per request thread.
"""

import os

from flask import Flask
from gunicorn.arbiter import Arbiter
from gunicorn.workers.base import Worker

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
os.environ.setdefault("SHOP_DB_POOL_SIZE", str(threads))

# the app is created in each worker after the fork, so its confirmation threads and pool belong to the worker
preload_app = False
# workers' heartbeat files in memory, not on a container's (possibly slow) overlay disk; gunicorn's advice
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
control_socket_disable = True  # gunicorn's runtime control socket: unused here, and needs a home directory
timeout = 30  # seconds a request may take before the worker is restarted
graceful_timeout = 30  # seconds in-flight requests get to finish on SIGTERM
keepalive = 5

# one access log line per request, with its X-Request-ID (set by the app on every response)
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(M)sms request_id=%({x-request-id}o)s'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


# The outbox relay runs in each worker, where the server runs (see flask_shop/outbox.py): started once the
# worker has loaded the app, stopped when the worker exits. The app's modules are imported in the worker
# only, so that the master holds none of them (preload_app = False; --reload forks fresh code).
def post_worker_init(worker: Worker) -> None:
    if (app := _flask_app(worker)) is not None:
        from flask_shop.extensions import confirmations

        confirmations.start_relay(app)


def worker_exit(server: Arbiter, worker: Worker) -> None:
    if (app := _flask_app(worker)) is not None:
        from flask_shop.extensions import confirmations

        confirmations.shutdown(app)


def _flask_app(worker: Worker) -> Flask | None:
    """The worker's app; None where there is none: in the master (gunicorn also calls worker_exit there for
    a worker already gone), after create_app() failed, or while --reload serves its error page."""
    app = getattr(worker, "wsgi", None)
    return app if isinstance(app, Flask) else None
