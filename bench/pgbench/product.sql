-- The SQL one product read (GET /api/v1/products/{id}) sends from either app, as `python -m bench.capture`
-- shows it, for pgbench (--protocol=prepared): make bench's ceiling. The apps differ only in how they check
-- a pooled connection, so make bench writes each app's check in at the {pool check} lines (POOL_CHECKS in
-- bench/run.py). The values the apps bind are pgbench variables: --define first_product=... last_product=...
-- user_id=... token_hash=...
\set product random(:first_product, :last_product)
-- {pool check}: the app's check of a pooled connection (bench/run.py, POOL_CHECKS)
BEGIN;
SELECT products.id, products.sku, products.name, products.description, products.price_cents, products.currency, products.stock, products.created_at, products.updated_at FROM products WHERE products.id = :product;
ROLLBACK;
