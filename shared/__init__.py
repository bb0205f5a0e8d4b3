"""Framework-free core of the shop: models, migrations, seed data, hashing and domain rules.

Both web apps (``flask_shop`` and ``fastapi_shop``) import from here; nothing in this package imports a web
framework.
"""
