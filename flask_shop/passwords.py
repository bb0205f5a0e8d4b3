"""Password hashing with a bound: at most ``SHOP_PASSWORD_HASH_CONCURRENCY`` argon2 computations at once in
this process.

An argon2id hash or check (:mod:`shared.domain.security`) takes about 0.3 s of CPU and 64 MiB of memory: the
costliest thing a client can ask for, and anyone can ask for it (register, log in). Unbounded, a burst of
logins would grow each process by 64 MiB per login and starve every other request of CPU. Here a request
waits at most ``HASH_QUEUE_SECONDS`` for a free slot, then gets a 503 (:class:`ServiceUnavailable`). The
computation runs on the request's own thread (argon2 releases the GIL). The FastAPI app's ``passwords.py``
bounds its worker threads the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app

from shared.domain.security import hash_password, verify_password
from shared.unavailable import HASH_QUEUE_SECONDS, HASHING_BUSY, ServiceUnavailable

T = TypeVar("T")


class PasswordHashing:
    """:func:`hash_password` and :func:`verify_password`, ``concurrency`` at a time; both raise
    :class:`ServiceUnavailable` when no slot frees up within ``HASH_QUEUE_SECONDS``."""

    def __init__(self, concurrency: int) -> None:
        self._slots = threading.BoundedSemaphore(concurrency)

    def hash(self, password: str) -> str:
        return self._bounded(hash_password, password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        return self._bounded(verify_password, password_hash, password)

    def _bounded(self, function: Callable[..., T], *args: object) -> T:
        if not self._slots.acquire(timeout=HASH_QUEUE_SECONDS):
            raise ServiceUnavailable(HASHING_BUSY)
        try:
            return function(*args)
        finally:
            self._slots.release()


def init_app(app: Flask) -> None:
    """Keep the process's :class:`PasswordHashing` on the app."""
    concurrency = app.config["SHOP_SETTINGS"].password_hash_concurrency
    app.extensions["shop.password_hashing"] = PasswordHashing(concurrency)


def get_password_hashing() -> PasswordHashing:
    """The app's :class:`PasswordHashing`."""
    hashing: PasswordHashing = current_app.extensions["shop.password_hashing"]
    return hashing
