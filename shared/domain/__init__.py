"""The domain layer: the shop's rules as pure Python, with the exceptions that report their violations.

No I/O, no database, no web framework, and no import from the other layers of ``shared``: the database layer
(:mod:`shared.db`) stores what these rules decide, the HTTP layer (:mod:`shared.http`) turns their exceptions
into problem documents, and each app's services call them inside a transaction.

- :mod:`~shared.domain.limits`: the currency and the bounds of every input
- :mod:`~shared.domain.exceptions`: every rule violation the API reports, all :class:`DomainError`
- :mod:`~shared.domain.pricing`: pricing an order's line items from the catalog, and the stock they take
- :mod:`~shared.domain.order_status`: the order life cycle
- :mod:`~shared.domain.idempotency`: Idempotency-Key values, request fingerprints, replays
- :mod:`~shared.domain.emails`: which email addresses are accepted, and when two name one account
- :mod:`~shared.domain.security`: argon2id passwords, opaque tokens stored as SHA-256
- :mod:`~shared.domain.logins`: who is throttled after failed logins, and for how long
- :mod:`~shared.domain.confirmation`: the order confirmation email
"""
