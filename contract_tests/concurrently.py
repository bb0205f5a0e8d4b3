"""Fire many requests at the same instant, each on its own already-open connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import httpx

from contract_tests.conformance import Conformance, checked_client

Request = Callable[[httpx.Client], httpx.Response]


def run_together(
    base_url: str | list[str], requests: list[Request], timeout: float = 60
) -> list[httpx.Response]:
    """Send ``requests`` in as many threads, released together by a barrier; responses in order.

    Each thread gets its own client on ``base_url`` (one for all, or one per request) whose connection is
    opened (``GET /healthz``) before the barrier, so connection set-up does not stagger the requests: they
    reach the servers within a millisecond or so.
    """
    base_urls = base_url if isinstance(base_url, list) else [base_url] * len(requests)
    barrier = threading.Barrier(len(requests))

    def send(client: httpx.Client, request: Request) -> httpx.Response:
        client.get("/healthz").raise_for_status()
        barrier.wait(timeout)
        return request(client)

    # each answer checked against its app's document, as the suite's own client does; read before the race
    conformance = {url: Conformance(url) for url in set(base_urls)}
    for check in conformance.values():
        assert check.openapi is not None

    def client_of(url: str) -> httpx.Client:
        return checked_client(url, timeout=timeout, conformance=conformance[url])

    with ExitStack() as stack, ThreadPoolExecutor(max_workers=len(requests)) as pool:
        clients = [stack.enter_context(client_of(url)) for url in base_urls]
        futures = [
            pool.submit(send, client, request) for client, request in zip(clients, requests, strict=True)
        ]
        return [future.result(timeout) for future in futures]
