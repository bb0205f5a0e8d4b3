"""The schema's revision: which Alembic revision this code needs, which one a database has, applying the
migrations (:func:`upgrade`), and the lock that lets only one migration run at a time.

Readiness rule (both apps' ``/readyz``): a process serves traffic only once the database's revision is this
code's head, or a revision this code does not know, which a later release applied. Accepting newer revisions
is what makes a rollback possible: migrations are written expand/contract, so each schema still serves the
release before it, and a rolled-back pod becomes ready against it (see ``k8s/README.md``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, func, select, text

from shared.config import Settings

MIGRATIONS = Path(__file__).parent / "migrations"

# Session-level advisory lock held by every migration run (shared/db/migrations/env.py). One bigint key: its
# key space is separate from the (int4, int4) pairs that idempotency keys lock, so the two never collide.
MIGRATION_LOCK_ID = 0x73686F70_6D696772  # "shopmigr"


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


def head_revision() -> str:
    """The newest revision in ``shared/db/migrations``: the schema this code needs."""
    head = _scripts().get_current_head()
    if head is None:
        raise RuntimeError(f"{MIGRATIONS} has no revisions")
    return head


def current_revision(connection: Connection) -> str | None:
    """The database's Alembic revision, or ``None`` when it has never been migrated (no ``alembic_version``).

    Sync, on purpose: the async app calls it with ``await connection.run_sync(current_revision)``.
    """
    return MigrationContext.configure(connection).get_current_revision()


def schema_not_ready(revision: str | None) -> str | None:
    """Why a database at ``revision`` cannot serve this code, as a sentence for a 503 problem's ``detail``;
    ``None`` when it can (the head, or a newer revision this code does not know: see the module docstring)."""
    head = head_revision()
    if revision is None:
        return f"The database has no schema yet; this version needs revision {head}."
    known = {script.revision for script in _scripts().walk_revisions()}
    if revision != head and revision in known:
        return f"The database schema is at revision {revision}; this version needs revision {head}."
    return None


@dataclass
class SchemaGate:
    """One process's readiness memory: ``passed`` once the database had a revision this code can serve.

    Until then each readiness check reads the revision; after that it only asks whether the database
    answers, and a schema is never "un-ready" again (a later release's migration is fine, see above).
    """

    passed: bool = False

    def check(self, revision: str | None) -> str | None:
        """:func:`schema_not_ready` for ``revision``; remembers a pass."""
        reason = schema_not_ready(revision)
        if reason is None:
            self.passed = True
        return reason


def lock_migrations(connection: Connection) -> None:
    """Wait for the migration lock and hold it for the rest of ``connection``'s database session.

    A session-level lock (``pg_advisory_lock``), so it must be taken on a direct connection to PostgreSQL:
    through a transaction-mode pooler (PgBouncer ``pool_mode=transaction``) the next statement may run on
    another server connection, and the lock would protect nothing.

    The session first turns off the statement and lock timeouts, which the database role may carry as
    defaults for the apps (k8s production): a run waits for a concurrent one as long as that takes, and a
    migration may run longer than any request should.
    """
    connection.execute(text("SET statement_timeout = 0"))
    connection.execute(text("SET lock_timeout = 0"))
    connection.execute(select(func.pg_advisory_lock(MIGRATION_LOCK_ID)))
    connection.commit()  # the lock outlives this transaction; Alembic then begins its own


def unlock_migrations(connection: Connection) -> None:
    """Release :func:`lock_migrations`' lock (closing the connection would too)."""
    connection.execute(select(func.pg_advisory_unlock(MIGRATION_LOCK_ID)))
    connection.commit()


def alembic_config(settings: Settings) -> Config:
    """An Alembic config for ``shared/db/migrations`` pointed at ``settings.database_url`` (psycopg
    driver)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # '%' is Alembic's interpolation character; escape it for URL-encoded passwords
    url = settings.url_for_driver("psycopg").render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Apply migrations up to ``revision``. Concurrent runs serialize on the migration lock
    (:func:`lock_migrations`), so ``DATABASE_URL`` must reach PostgreSQL directly, not a transaction-mode
    pooler."""
    command.upgrade(alembic_config(settings), revision)
