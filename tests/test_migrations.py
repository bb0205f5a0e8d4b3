"""``python -m shared.db upgrade``: concurrent runs serialize on the migration lock; the schema check; the
migrations make the schema the models describe."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from shared.config import Settings
from shared.db.models import Base
from shared.db.revisions import MIGRATION_LOCK_ID, head_revision, schema_not_ready, upgrade
from tests.support import new_database

ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 30


def _waiting_for_the_lock(connection: psycopg.Connection[tuple[int]]) -> int:
    """How many sessions wait for the migration lock (a bigint key is split into classid/objid)."""
    row = connection.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND ((classid::bigint << 32) | objid::bigint) = %s",
        (MIGRATION_LOCK_ID,),
    ).fetchone()
    assert row is not None
    return row[0]


def test_two_upgrades_at_once_both_succeed_and_apply_the_schema_once(empty_database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": empty_database_url, "LOG_LEVEL": "INFO"}
    command = [sys.executable, "-m", "shared.db", "upgrade"]
    with psycopg.connect(empty_database_url, autocommit=True) as gate:
        # Hold the lock so both runs start and queue on it; releasing it lets them race for real.
        gate.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_ID,))
        runs = [
            subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True) for _ in range(2)
        ]
        try:
            deadline = time.monotonic() + WAIT_SECONDS
            while _waiting_for_the_lock(gate) < 2:
                assert time.monotonic() < deadline, "the upgrades never waited for the migration lock"
                assert all(run.poll() is None for run in runs), "an upgrade finished without the lock"
                time.sleep(0.1)
            gate.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_ID,))
            logs = [run.communicate(timeout=WAIT_SECONDS)[1] for run in runs]
        finally:
            for run in runs:
                run.kill()
        assert [run.returncode for run in runs] == [0, 0], logs
        # Alembic logs "Running upgrade 0001 -> 0002, ..." for each revision it applies
        applied = sum(log.count(f"-> {head_revision()},") for log in logs)
        assert applied == 1, logs
        revisions = gate.execute("SELECT version_num FROM alembic_version").fetchall()
        assert revisions == [(head_revision(),)]


def test_a_database_without_a_schema_is_not_ready() -> None:
    assert schema_not_ready(None) == (
        f"The database has no schema yet; this version needs revision {head_revision()}."
    )


def test_the_head_revision_is_ready() -> None:
    assert schema_not_ready(head_revision()) is None


def test_a_revision_from_a_later_release_is_ready() -> None:
    # expand/contract migrations: the release before a migration still runs on the schema after it
    assert schema_not_ready(uuid.uuid4().hex[:12]) is None


def _check_constraints(url: str) -> dict[str, str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'c'"
        ).fetchall()
    return dict(rows)


def test_the_models_and_the_migrations_make_the_same_check_constraints(
    empty_database_url: str, postgres_url: str
) -> None:
    # `alembic check` compares tables, columns and indexes, not CHECK constraints: this does. Among them is
    # the order status CHECK that SQLAlchemy generates from OrderStatus (shared/db/models.py)
    upgrade(Settings(database_url=empty_database_url))
    with new_database(postgres_url) as from_models:
        engine = create_engine(Settings(database_url=from_models).url_for_driver("psycopg"))
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql("CREATE EXTENSION pg_trgm")
                Base.metadata.create_all(connection)
        finally:
            engine.dispose()
        generated = _check_constraints(from_models)
    migrated = _check_constraints(empty_database_url)
    assert migrated == generated
    assert migrated["ck_orders_status_known"] == (
        "CHECK (((status)::text = ANY ((ARRAY['pending'::character varying, 'confirmed'::character varying, "
        "'cancelled'::character varying])::text[])))"
    )


def test_the_migrations_make_the_schema_the_models_describe(empty_database_url: str) -> None:
    # what `alembic check` does: autogenerate's comparison of tables, columns, indexes and unique constraints
    upgrade(Settings(database_url=empty_database_url))
    engine = create_engine(Settings(database_url=empty_database_url).url_for_driver("psycopg"))
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def _users(url: str) -> dict[int, tuple[str, str]]:
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT id, email, email_key FROM users").fetchall()
    return {user_id: (email, key) for user_id, email, key in rows}


def _insert_users_as_the_release_before_0003(url: str, addresses: list[str]) -> None:
    with psycopg.connect(url) as connection:
        for address in addresses:
            connection.execute(
                "INSERT INTO users (email, full_name, password_hash) VALUES (%s, 'Old release', 'x')",
                (address,),
            )


def test_revision_0003_keys_the_existing_accounts_and_keeps_the_release_before_it_working(
    empty_database_url: str,
) -> None:
    settings = Settings(database_url=empty_database_url)
    upgrade(settings, "0002")
    _insert_users_as_the_release_before_0003(
        empty_database_url, ["Ada@Example.COM", "x,victim@Example.com", "\u0391\u03a31@example.com"]
    )
    upgrade(settings)
    assert sorted(_users(empty_database_url).values()) == [
        ("Ada@example.com", "ada@example.com"),  # normalized: the domain's letter case
        ("x,victim@example.com", "x,victim@example.com"),  # refused by today's rules: kept, keyed
        ("\u0391\u03a31@example.com", "\u03b1\u03c31@example.com"),  # capital alpha, sigma: folded
    ]
    # the release before 0003 inserts no email_key: the trigger fills one in, and the unique key holds
    _insert_users_as_the_release_before_0003(empty_database_url, ["Old@Example.com"])
    assert ("Old@Example.com", "old@example.com") in _users(empty_database_url).values()
    with pytest.raises(psycopg.errors.UniqueViolation):
        _insert_users_as_the_release_before_0003(empty_database_url, ["OLD@example.com"])


def test_revision_0003_stops_before_changing_anything_when_two_accounts_now_share_a_key(
    empty_database_url: str,
) -> None:
    settings = Settings(database_url=empty_database_url)
    upgrade(settings, "0002")
    sharp_s, upper_case = "stra\u00dfe@example.com", "STRASSE@example.com"
    _insert_users_as_the_release_before_0003(empty_database_url, [sharp_s, upper_case])
    with pytest.raises(RuntimeError, match="now name one account"):
        upgrade(settings)
    with psycopg.connect(empty_database_url) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
        emails = connection.execute("SELECT email FROM users ORDER BY id").fetchall()
        assert emails == [(sharp_s,), (upper_case,)]
