"""The project's own files read as data, for tests that check they agree: the Dockerfile's stages, and the
environment variables the apps read."""

from __future__ import annotations

import os
import runpy
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


@cache
def dockerfile_stages() -> dict[str, list[str]]:
    """Each ``FROM ... AS name`` stage of the Dockerfile with its instruction lines (continuations joined)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("FROM "):
            current = stages.setdefault(line.split()[-1], [])
        elif line and not line.startswith("#"):
            current.append(line)
    return stages


def dockerfile_instruction(stage: str, instruction: str) -> str:
    """The argument of the last ``instruction`` in ``stage``, else in ``runtime``, the app stages' base."""
    for name in (stage, "runtime"):
        lines = [line for line in dockerfile_stages()[name] if line.startswith(instruction + " ")]
        if lines:
            return lines[-1][len(instruction) + 1 :].strip()
    raise AssertionError(f"the Dockerfile's {stage} stage has no {instruction}")


class _RecordingEnviron(dict[str, str]):
    """``os.environ`` stand-in that records which variables are read."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return super().__contains__(key)

    def setdefault(self, key: str, default: str = "") -> str:
        self.read.add(key)
        return super().setdefault(key, default)


def variables_read(monkeypatch: pytest.MonkeyPatch, app: str) -> set[str]:
    """The environment variables ``app``'s process reads as it starts: ``shared/config.py``, whether to trace
    (``shared/observability/tracing.py``), and gunicorn.conf.py for Flask."""
    from shared.config import Settings
    from shared.observability import tracing

    environ = _RecordingEnviron()
    with monkeypatch.context() as patch:
        patch.setattr(os, "environ", environ)
        Settings.from_env()
        tracing.tracing_requested()
        if app == "flask":
            runpy.run_path(str(ROOT / "flask_shop" / "gunicorn.conf.py"))
    return environ.read
