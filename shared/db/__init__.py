"""The database layer: one PostgreSQL schema for both apps, and the SQL whose shape is a rule.

- :mod:`~shared.db.models`: SQLAlchemy 2.x typed models; constraints live in the database too
- :mod:`~shared.db.statements`: the statements correctness depends on (lock order, the idempotency key's
  lock, ``SKIP LOCKED``), built once for both apps
- :mod:`~shared.db.login_throttles`: the statements that count failed logins
- :mod:`~shared.db.revisions`: which schema revision the code needs; the lock that serializes migrations
- :mod:`~shared.db.seed` and ``migrations/`` (Alembic)
- ``python -m shared.db upgrade | seed``: the command line (:mod:`shared.db.__main__`)

It imports the domain layer (what it stores) and the settings, nothing from the HTTP or observability layers
(but the command line, which configures logging).
"""
