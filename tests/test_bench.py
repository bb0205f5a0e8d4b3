"""``make bench``'s reports: rounds reduced to medians and ranges, and flame graphs to shares by component
(the runs themselves need wrk and servers, and CI's ``make bench BENCH_SMOKE=1`` checks them)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest

from bench.flame import NATIVE, shares
from bench.run import summarise


def run(app: str, scenario: str, connections: int, per_second: float, p99: float) -> dict[str, Any]:
    requests = int(per_second * 5)
    return {
        "app": app,
        "scenario": scenario,
        "connections": connections,
        "requests": requests,
        "per_second": per_second,
        "latency_ms": {"p50": p99 / 4, "p99": p99},
        "errors": 1 if per_second < 100 else 0,
        "cpu_seconds": {"wrk": 0.01 * requests, "app": 0.002 * requests, "postgres": 0.001 * requests},
    }


def test_each_figure_is_the_median_of_the_rounds_and_the_rate_keeps_its_range() -> None:
    rounds = [run("flask", "order", 32, rate, p99) for rate, p99 in ((90, 700), (120, 300), (110, 500))]

    [row] = summarise(rounds)

    assert row["rounds"] == 3
    assert row["per_second"] == 110
    assert row["per_second_range"] == [90, 120]
    assert row["latency_ms"] == {"p50": 125, "p99": 500}
    assert row["errors"] == 1  # added up, not a median: one failed request is one too many
    assert row["cpu_ms_per_request"] == {"wrk": 10, "app": 2, "postgres": 1}


def test_rows_come_app_by_app_scenario_by_scenario_a_baseline_before_its_app() -> None:
    runs = [
        run(app, scenario, connections, 1000, 10)
        for app in ("flask", "fastapi", "fastapi@5aa8e6c")
        for scenario in ("order", "healthz")
        for connections in (32, 1)
    ]

    order = [(row["app"], row["scenario"], row["connections"]) for row in summarise(runs)]

    assert order == [
        ("fastapi@5aa8e6c", "healthz", 1),
        ("fastapi", "healthz", 1),
        ("fastapi@5aa8e6c", "healthz", 32),
        ("fastapi", "healthz", 32),
        ("fastapi@5aa8e6c", "order", 1),
        ("fastapi", "order", 1),
        ("fastapi@5aa8e6c", "order", 32),
        ("fastapi", "order", 32),
        ("flask", "healthz", 1),
        ("flask", "healthz", 32),
        ("flask", "order", 1),
        ("flask", "order", 32),
    ]


def frame(title: str, depth: int, start: int, samples: int) -> str:
    """One frame as py-spy's SVG draws it (16 px a row, the root on top, the title escaped)."""
    escaped = html.escape(title, quote=False)
    return (
        f'<g><title>{escaped} ({samples} samples, 1.00%)</title><rect x="0%" y="{84 + 16 * depth}" '
        f'width="1%" height="15" fill="rgb(0,0,0)" fg:x="{start}" fg:w="{samples}"/></g>'
    )


def test_a_flame_graphs_samples_go_to_the_innermost_named_component(tmp_path: Path) -> None:
    svg = tmp_path / "order.svg"
    # SQLAlchemy's, not the app's
    generated = "<sqlalchemy generated __init__ for class shared.db.models.Order>"
    svg.write_text(
        "<svg>"
        + frame("all", 0, 0, 100)
        + frame('process 1:"python -m uvicorn"', 1, 0, 100)  # 10 samples under no Python frame
        + frame("run (asyncio/runners.py:118)", 2, 0, 90)  # 5 of its own
        + frame("place_order (fastapi_shop/orders.py:71)", 3, 0, 60)  # 15 of its own
        + frame("execute (sqlalchemy/orm/session.py:2300)", 4, 0, 40)  # 10 of its own
        + frame("_execute (asyncpg/connection.py:1800)", 5, 0, 30)  # all 30 its own
        + frame(f"__init__ ({generated}:4)", 4, 40, 5)
        + frame("select (selectors.py:468)", 3, 60, 25)  # 24 of its own: no component, so its caller's
        + frame("helper (x.py:1)", 4, 60, 1)  # no component either: its caller's caller's
        + "</svg>"
    )

    assert shares(svg) == pytest.approx(
        {
            "asyncpg": 0.30,
            "asyncio": 0.30,
            "the apps' own code": 0.15,
            "SQLAlchemy: ORM": 0.15,
            NATIVE: 0.10,
        }
    )
