"""Database command line: ``python -m shared.db upgrade`` applies migrations, ``... seed`` seeds.

Both read ``DATABASE_URL`` (see :mod:`shared.config`) and talk to PostgreSQL through psycopg 3. ``upgrade``
takes an optional Alembic revision (default ``head``); concurrent runs wait for each other
(:func:`shared.db.revisions.upgrade`). ``seed`` needs ``SHOP_ADMIN_EMAIL`` and ``SHOP_ADMIN_PASSWORD`` for the
admin account and is safe to run any number of times (:func:`shared.db.seed.seed`).
"""

from __future__ import annotations

import argparse
import sys

from shared.config import Settings
from shared.db.revisions import upgrade
from shared.db.seed import seed
from shared.observability import logs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.db", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upgrade", help="apply Alembic migrations")
    up.add_argument("revision", nargs="?", default="head")
    sub.add_parser("seed", help="insert the catalog and the admin user (idempotent)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    logs.configure(level=settings.log_level, log_format=settings.log_format)
    if args.command == "upgrade":
        upgrade(settings, args.revision)
    else:
        seed(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
