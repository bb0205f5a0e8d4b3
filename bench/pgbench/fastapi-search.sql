-- The SQL one search (GET /api/v1/products?q=beans&limit=20) sends from the fastapi app, as `python -m bench.capture` shows it, for pgbench (-M prepared).
-- Replayed by make bench as the ceiling: the most this database serves of this work. Values the apps bind
-- are variables here: pgbench -D first_product=... -D last_product=... -D user_id=... -D token_hash=...
-- the async engine's check of a pooled connection (pool_pre_ping): a transaction begun and rolled back
BEGIN;
ROLLBACK;
BEGIN;
SELECT count(*) AS count_1 FROM (SELECT products.id AS id, products.sku AS sku, products.name AS name, products.description AS description, products.price_cents AS price_cents, products.currency AS currency, products.stock AS stock, products.created_at AS created_at, products.updated_at AS updated_at FROM products WHERE (products.name ILIKE '%' || 'beans' || '%' ESCAPE '/')) AS anon_1;
SELECT products.id, products.sku, products.name, products.description, products.price_cents, products.currency, products.stock, products.created_at, products.updated_at FROM products WHERE (products.name ILIKE '%' || 'beans' || '%' ESCAPE '/') ORDER BY products.id LIMIT 20 OFFSET 0;
ROLLBACK;
