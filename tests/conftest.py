"""Fixtures for the tests that need a real PostgreSQL: of ``shared/``, and of each app in process."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from contract_tests.stacks.local import throwaway_postgres
from shared.config import Settings
from shared.db.models import Product
from shared.db.revisions import upgrade
from tests.support import new_database


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (the contract suite's local stack starts it the same way)."""
    with (
        tempfile.TemporaryDirectory(prefix="shop-tests-") as workdir,
        throwaway_postgres(Path(workdir)) as url,
    ):
        yield url


@pytest.fixture
def empty_database_url(postgres_url: str) -> Iterator[str]:
    """A new, empty database on the throwaway cluster, dropped afterwards."""
    with new_database(postgres_url) as url:
        yield url


@pytest.fixture(scope="session")
def app_database_url(postgres_url: str) -> Iterator[str]:
    """A database for the in-process app tests, migrated once. Tests make their own users and products."""
    with new_database(postgres_url) as url:
        upgrade(Settings(database_url=url))
        yield url


@pytest.fixture
def app_settings(app_database_url: str) -> Settings:
    """Settings for an app under test; its periodic relay waits an hour, so tests run relays themselves."""
    return Settings(
        database_url=app_database_url,
        outbox_relay_seconds=3600,
        session_secret="unit-tests-session-secret-0123456789",
    )


@pytest.fixture
def database(app_database_url: str) -> Iterator[Session]:
    """A session on the apps' database, to set up and inspect what HTTP cannot reach."""
    engine = create_engine(Settings(database_url=app_database_url).url_for_driver("psycopg"))
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest.fixture
def product_id(database: Session) -> int:
    """A new product: 10 in stock at 1250 cents."""
    product = Product(
        sku=f"T-{uuid.uuid4().hex[:12].upper()}", name="In-process widget", price_cents=1250, stock=10
    )
    database.add(product)
    database.commit()
    return product.id
