"""The Place Order API on FastAPI: async SQLAlchemy on asyncpg, Pydantic v2, served by uvicorn.

Entry point: ``uvicorn fastapi_shop.main:app``.
"""
