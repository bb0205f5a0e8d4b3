"""The side-by-side guide's generator, ``side_by_side.py``; a package, so tests and mypy import it one way."""
