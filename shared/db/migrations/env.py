"""Alembic environment: migrates ``shared.db.models.Base.metadata`` over psycopg 3 (sync)."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

from shared.config import Settings
from shared.db.models import Base
from shared.db.revisions import lock_migrations, unlock_migrations

config = context.config
# the alembic CLI with alembic.ini; python -m shared.db configures itself
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

target_metadata = Base.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings.from_env().url_for_driver(
        "psycopg"
    ).render_as_string(hide_password=False)


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade head --sql``)."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Apply migrations in one transaction (PostgreSQL DDL is transactional), holding the migration lock.

    Concurrent runs (two Job pods, a Job and a developer) wait for each other on the lock; the one that goes
    second reads the revision the first left and has nothing to do. The lock is session-level, so this must
    connect to PostgreSQL directly, never through a transaction-mode pooler.
    """
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        lock_migrations(connection)
        try:
            context.configure(connection=connection, target_metadata=target_metadata)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            unlock_migrations(connection)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
