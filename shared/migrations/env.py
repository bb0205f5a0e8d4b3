"""Alembic environment: migrates ``shared.models.Base.metadata`` over psycopg 3 (sync)."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

from shared.config import Settings
from shared.models import Base

config = context.config
if config.config_file_name is not None:  # the alembic CLI with alembic.ini; shared.db configures itself
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
    """Apply migrations in one transaction (PostgreSQL DDL is transactional)."""
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
