"""``docs/side-by-side.md`` is what ``docs/side_by_side.py`` renders from today's code; no database needed."""

from __future__ import annotations

import re

import pytest

from docs import side_by_side
from docs.side_by_side import DockerStage, MissingReference, Python, Source


def test_the_guide_is_current() -> None:
    on_disk = side_by_side.GUIDE.read_text(encoding="utf-8")
    assert on_disk == side_by_side.render(), "docs/side-by-side.md is stale: run `make docs` and commit it"


@pytest.mark.parametrize(
    ("reference", "named"),
    [
        (Python("fastapi_shop/app.py", ("create_app",)), "fastapi_shop/app.py"),
        (Python("fastapi_shop/main.py", ("make_app",)), "make_app"),
        (Python("flask_shop/smorest.py", ("ShopApi.register",)), "ShopApi.register"),
        (Python("flask_shop/__init__.py", ("create_app",), mentioning=("talisman",)), "talisman"),
        (DockerStage("Dockerfile", "django"), "django"),
    ],
    ids=["file", "symbol", "method", "statement", "stage"],
)
def test_a_reference_to_missing_code_fails_loudly(reference: Source, named: str) -> None:
    with pytest.raises(MissingReference, match=re.escape(named)):
        reference.excerpt()
