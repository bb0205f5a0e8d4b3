"""The HTTP layer both apps share, with no web framework: what the API says on the wire.

- :mod:`~shared.http.api`: the API as a whole: description, limits, timestamps, CORS policy, static assets
- :mod:`~shared.http.problems`: RFC 9457 problem documents, the one mapping from domain exceptions to HTTP
  statuses, and the ``503`` with ``Retry-After`` for what :mod:`shared.unavailable` says could succeed soon
- :mod:`~shared.http.inputs`: how requests are read: I-JSON bodies, no NUL in text, ASCII digits, UTF-8 forms
- :mod:`~shared.http.authorization`: the bearer token in ``Authorization`` (RFC 6750)
- :mod:`~shared.http.request_id`: ``X-Request-ID``
- ``static/``: Swagger UI and ReDoc, served by both apps (``static/README.md``)

It imports the domain layer (whose exceptions it answers) and :mod:`shared.unavailable`, nothing from the
database or observability layers.
"""
