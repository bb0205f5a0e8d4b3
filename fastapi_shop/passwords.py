"""Password hashing with a bound: at most ``SHOP_PASSWORD_HASH_CONCURRENCY`` argon2 computations at once in
this process.

An argon2id hash or check (:mod:`shared.domain.security`) takes about 0.3 s of CPU and 64 MiB of memory: the
costliest thing a client can ask for, and anyone can ask for it (register, log in). Unbounded, a burst of
logins would grow each process by 64 MiB per login and starve every other request of CPU. Here a request
waits at most ``HASH_QUEUE_SECONDS`` for a free slot, then gets a 503 (:class:`ServiceUnavailable`). The
computation runs in a worker thread (``asyncio.to_thread``), so the event loop keeps serving meanwhile. The
Flask app's ``passwords.py`` bounds its threads the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from shared.domain.security import hash_password, verify_password
from shared.unavailable import HASH_QUEUE_SECONDS, HASHING_BUSY, ServiceUnavailable

T = TypeVar("T")


class PasswordHashing:
    """:func:`hash_password` and :func:`verify_password`, ``concurrency`` at a time; both raise
    :class:`ServiceUnavailable` when no slot frees up within ``HASH_QUEUE_SECONDS``."""

    def __init__(self, concurrency: int) -> None:
        self._slots = asyncio.Semaphore(concurrency)

    async def hash(self, password: str) -> str:
        return await self._bounded(hash_password, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await self._bounded(verify_password, password_hash, password)

    async def _bounded(self, function: Callable[..., T], *args: object) -> T:
        try:
            async with asyncio.timeout(HASH_QUEUE_SECONDS):
                await self._slots.acquire()
        except TimeoutError:
            raise ServiceUnavailable(HASHING_BUSY) from None
        try:
            return await asyncio.to_thread(function, *args)
        finally:
            self._slots.release()
