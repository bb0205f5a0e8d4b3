-- The SQL one search (GET /api/v1/products?q=beans&limit=20) sends from either app, as `python -m bench.capture`
-- shows it, for pgbench (--protocol=prepared): make bench's ceiling. The apps differ only in how they check
-- a pooled connection, so make bench writes each app's check in at the {pool check} lines (POOL_CHECKS in
-- bench/run.py). The values the apps bind are pgbench variables: --define first_product=... last_product=...
-- user_id=... token_hash=...
-- {pool check}: the app's check of a pooled connection (bench/run.py, POOL_CHECKS)
BEGIN;
SELECT count(*) AS count_1 FROM (SELECT products.id AS id, products.sku AS sku, products.name AS name, products.description AS description, products.price_cents AS price_cents, products.currency AS currency, products.stock AS stock, products.created_at AS created_at, products.updated_at AS updated_at FROM products WHERE (products.name ILIKE '%' || 'beans' || '%' ESCAPE '/')) AS anon_1;
SELECT products.id, products.sku, products.name, products.description, products.price_cents, products.currency, products.stock, products.created_at, products.updated_at FROM products WHERE (products.name ILIKE '%' || 'beans' || '%' ESCAPE '/') ORDER BY products.id LIMIT 20 OFFSET 0;
ROLLBACK;
