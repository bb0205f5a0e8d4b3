"""The Place Order API on FastAPI: async SQLAlchemy on asyncpg, Pydantic v2, served by uvicorn.

Entry point: ``uvicorn --factory fastapi_shop.main:create_app``.
"""
