"""What both apps share, by layer, with no web framework anywhere in it.

- :mod:`shared.domain`: the shop's rules as pure Python, and their exceptions; imports no other layer
- :mod:`shared.config`: the settings, read from the environment once
- :mod:`shared.db`: the schema (models, migrations, seed) and the statements correctness depends on
- :mod:`shared.http`: problem documents, input rules and the API's common parts, for both apps' routes
- :mod:`shared.observability`: logs, metrics and traces, the same from both apps
- :mod:`shared.mailer`: where order confirmations go
- :mod:`shared.unavailable`: which failures (a lost database, a timeout, no free slot) could succeed soon

Each imports only those listed before it; ``python -m shared.db``, a command line, stands above them all
(``tests/test_layers.py`` checks both).
"""
