-- The SQL one order (POST /api/v1/orders, two lines, then its confirmation) sends from either app, as `python -m bench.capture`
-- shows it, for pgbench (--protocol=prepared): make bench's ceiling. The apps differ only in how they check
-- a pooled connection, so make bench writes each app's check in at the {pool check} lines (POOL_CHECKS in
-- bench/run.py). The values the apps bind are pgbench variables: --define first_product=... last_product=...
-- user_id=... token_hash=...
-- two distinct products in id order, and a new Idempotency-Key
\set first random(:first_product, :last_product - 1)
\set second random(:first + 1, :last_product)
\set key random(1, 9000000000000000000)
\set lock random(-2147483648, 2147483647)
-- {pool check}: the app's check of a pooled connection (bench/run.py, POOL_CHECKS)
BEGIN;
SELECT auth_tokens.id, auth_tokens.user_id, auth_tokens.token_hash, auth_tokens.created_at, auth_tokens.expires_at, auth_tokens.revoked_at, users_1.id AS id_1, users_1.email, users_1.email_key, users_1.full_name, users_1.password_hash, users_1.is_admin, users_1.created_at AS created_at_1 FROM auth_tokens JOIN users AS users_1 ON users_1.id = auth_tokens.user_id WHERE auth_tokens.token_hash = :token_hash AND auth_tokens.revoked_at IS NULL AND auth_tokens.expires_at > now();
SELECT pg_try_advisory_xact_lock(:user_id, :lock) AS pg_try_advisory_xact_lock_1;
SELECT idempotency_keys.id, idempotency_keys.user_id, idempotency_keys.key, idempotency_keys.request_fingerprint, idempotency_keys.order_id, idempotency_keys.response_body, idempotency_keys.created_at, idempotency_keys.expires_at, idempotency_keys.expires_at <= now() AS anon_1 FROM idempotency_keys WHERE idempotency_keys.user_id = :user_id AND idempotency_keys.key = 'bench-' || :key;
SELECT products.id, products.sku, products.name, products.description, products.price_cents, products.currency, products.stock, products.created_at, products.updated_at FROM products WHERE products.id IN (:first, :second) ORDER BY products.id FOR UPDATE;
INSERT INTO orders (user_id, status, total_cents, currency, confirmed_at, cancelled_at) VALUES (:user_id, 'pending', 2500, 'USD', NULL, NULL) RETURNING orders.id AS order_id, orders.created_at \gset
-- the apps write the stock they computed from the locked row; the same row write
UPDATE products SET stock=stock - 1, updated_at=now() WHERE products.id = :first;
UPDATE products SET stock=stock - 1, updated_at=now() WHERE products.id = :second;
INSERT INTO order_items (order_id, product_id, sku, name, unit_price_cents, quantity, line_total_cents) SELECT p0::INTEGER, p1::INTEGER, p2::VARCHAR, p3::VARCHAR, p4::INTEGER, p5::INTEGER, p6::INTEGER FROM (VALUES (:order_id, :first, 'TEST-97290501A8F9', 'Contract Widget TEST-97290501A8F9', 1250, 1, 1250, 0), (:order_id, :second, 'TEST-532C7B3B85B6', 'Contract Widget TEST-532C7B3B85B6', 1250, 1, 1250, 1)) AS imp_sen(p0, p1, p2, p3, p4, p5, p6, sen_counter) ORDER BY sen_counter RETURNING order_items.id, order_items.id AS id__1;
INSERT INTO idempotency_keys (user_id, key, request_fingerprint, order_id, response_body, expires_at) VALUES (:user_id, 'bench-' || :key, 'aca35d089d91465db322d2b711c4ac6273edc45fe2ba232dd933550323bfe852', :order_id, '{"id":2,"status":"pending","items":[{"product_id":45,"sku":"TEST-97290501A8F9","name":"Contract Widget TEST-97290501A8F9","unit_price_cents":1250,"quantity":1,"line_total_cents":1250},{"product_id":46,"sku":"TEST-532C7B3B85B6","name":"Contract Widget TEST-532C7B3B85B6","unit_price_cents":1250,"quantity":1,"line_total_cents":1250}],"total_cents":2500,"currency":"USD","created_at":"2026-11-22T05:05:33.493744Z","confirmed_at": null}', (now() + '1 day'::INTERVAL)) RETURNING idempotency_keys.id, idempotency_keys.created_at;
INSERT INTO outbox (topic, order_id, payload, sent_at) VALUES ('order.confirmation', :order_id, '{"email": "user-ac8132b72623@example.com", "lines": [{"sku": "TEST-97290501A8F9", "name": "Contract Widget TEST-97290501A8F9", "quantity": 1, "line_total_cents": 1250}, {"sku": "TEST-532C7B3B85B6", "name": "Contract Widget TEST-532C7B3B85B6", "quantity": 1, "line_total_cents": 1250}], "currency": "USD", "order_id": 2, "full_name": "Ada Lovelace", "total_cents": 2500}'::JSONB, NULL) RETURNING outbox.id AS outbox_id, outbox.created_at, outbox.attempts \gset
COMMIT;
-- the confirmation, sent after the response: its own transaction
-- {pool check}: the app's check of a pooled connection (bench/run.py, POOL_CHECKS)
BEGIN;
SELECT outbox.id, outbox.topic, outbox.order_id, outbox.payload, outbox.created_at, outbox.sent_at, outbox.attempts FROM outbox WHERE outbox.order_id = :order_id AND outbox.topic = 'order.confirmation' AND outbox.sent_at IS NULL FOR UPDATE SKIP LOCKED;
SELECT orders.id, orders.user_id, orders.status, orders.total_cents, orders.currency, orders.created_at, orders.confirmed_at, orders.cancelled_at FROM orders WHERE orders.id = :order_id FOR UPDATE;
UPDATE orders SET status='confirmed', confirmed_at=now() WHERE orders.id = :order_id;
UPDATE outbox SET sent_at=now(), attempts=1 WHERE outbox.id = :outbox_id;
COMMIT;
