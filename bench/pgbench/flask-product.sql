-- The SQL one product read (GET /api/v1/products/{id}) sends from the flask app, as `python -m bench.capture` shows it, for pgbench (-M prepared).
-- Replayed by make bench as the ceiling: the most this database serves of this work. Values the apps bind
-- are variables here: pgbench -D first_product=... -D last_product=... -D user_id=... -D token_hash=...
\set product random(:first_product, :last_product)
-- the sync engine's check of a pooled connection (pool_pre_ping): an empty query
;
BEGIN;
SELECT products.id, products.sku, products.name, products.description, products.price_cents, products.currency, products.stock, products.created_at, products.updated_at FROM products WHERE products.id = :product;
ROLLBACK;
