"""Database command line: ``python -m shared.db upgrade`` applies migrations, ``... seed`` seeds.

Both read ``DATABASE_URL`` (see :mod:`shared.config`) and talk to PostgreSQL through psycopg 3. ``upgrade``
takes an optional Alembic revision (default ``head``); concurrent runs wait for each other. ``seed`` needs
``SHOP_ADMIN_EMAIL`` and ``SHOP_ADMIN_PASSWORD`` for the admin account and is safe to run any number of times.
"""

from __future__ import annotations

import argparse
import logging
import sys

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.schema import MIGRATIONS
from shared.seed import seed_admin, seed_catalog


def alembic_config(settings: Settings) -> Config:
    """An Alembic config for ``shared/migrations`` pointed at ``settings.database_url`` (psycopg driver)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # '%' is Alembic's interpolation character; escape it for URL-encoded passwords
    url = settings.url_for_driver("psycopg").render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Apply migrations up to ``revision``. Concurrent runs serialize on an advisory lock (see
    :mod:`shared.schema`), so ``DATABASE_URL`` must reach PostgreSQL directly, not a transaction-mode
    pooler."""
    command.upgrade(alembic_config(settings), revision)


def seed(settings: Settings) -> None:
    """Seed catalog and admin in one transaction. Raises SystemExit if admin credentials are missing."""
    if not (settings.admin_email and settings.admin_password):
        raise SystemExit("seed: set SHOP_ADMIN_EMAIL and SHOP_ADMIN_PASSWORD for the admin account")
    engine = create_engine(settings.url_for_driver("psycopg"), hide_parameters=True)  # the admin's hash
    try:
        with Session(engine) as session, session.begin():
            inserted = seed_catalog(session)
            admin = seed_admin(session, email=settings.admin_email, password=settings.admin_password)
        logging.getLogger("shop.seed").info("seed: %d products inserted; admin %s", inserted, admin)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.db", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upgrade", help="apply Alembic migrations")
    up.add_argument("revision", nargs="?", default="head")
    sub.add_parser("seed", help="insert the catalog and the admin user (idempotent)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    settings.configure_logging()
    if args.command == "upgrade":
        upgrade(settings, args.revision)
    else:
        seed(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
