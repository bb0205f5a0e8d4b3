"""The charts of a ``make bench`` run: ``python -m bench.charts bench/results/<time>.json``.

Two PNGs next to the JSON, one panel per scenario, each app a colour:

- ``<time>-throughput.png``: requests per second against connections (the median over the rounds, a bar
  from the lowest to the highest), with the ceiling (pgbench replaying the scenario's SQL) as a dotted line
  where there is one;
- ``<time>-latency.png``: p50 (solid) and p99 (dashed) latency against connections, on a log scale (the
  medians over the rounds).

A ``--baseline`` checkout's app (``<app>@<commit>``) is drawn in its app's colour, paler.

``make bench`` draws them after each full run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt

COLOURS = {"fastapi": "#009485", "flask": "#3b3b3b"}


def draw(results_file: Path) -> list[Path]:
    """Write the two charts of ``results_file`` (a ``bench/results/*.json``); returns their paths."""
    results: dict[str, Any] = json.loads(results_file.read_text())
    rows = results.get("summary") or results["runs"]  # results from before rounds have runs only
    scenarios = list(dict.fromkeys(row["scenario"] for row in rows))
    apps = list(dict.fromkeys(row["app"] for row in rows))
    written = []
    for kind in ("throughput", "latency"):
        lines_of_panels = -(-len(scenarios) // 3)
        figure, axes = plt.subplots(lines_of_panels, 3, figsize=(12, 3.4 * lines_of_panels), squeeze=False)
        panels = list(axes.flat)
        for axis in panels[len(scenarios) :]:
            axis.set_visible(False)
        for axis, scenario in zip(panels, scenarios, strict=False):
            for app in apps:
                points = sorted(
                    (row for row in rows if row["app"] == app and row["scenario"] == scenario),
                    key=lambda row: row["connections"],
                )
                connections = [row["connections"] for row in points]
                colour = COLOURS.get(app.split("@")[0])
                alpha = 0.45 if "@" in app else 1.0
                if kind == "throughput":
                    throughput = [row["per_second"] for row in points]
                    low, high = zip(
                        *(row.get("per_second_range", [row["per_second"]] * 2) for row in points), strict=True
                    )
                    spread = [
                        [rate - least for rate, least in zip(throughput, low, strict=True)],
                        [most - rate for rate, most in zip(throughput, high, strict=True)],
                    ]
                    axis.errorbar(
                        connections,
                        throughput,
                        spread,
                        fmt="o-",
                        capsize=3,
                        color=colour,
                        alpha=alpha,
                        label=app,
                    )
                    ceiling = results["ceiling"].get(app, {}).get(scenario)
                    if ceiling:
                        axis.axhline(ceiling, color=colour, linestyle=":", label=f"{app} ceiling")
                else:
                    for percentile, style in (("p50", "o-"), ("p99", "s--")):
                        latency = [row["latency_ms"][percentile] for row in points]
                        axis.plot(connections, latency, style, color=colour, alpha=alpha,
                                  label=f"{app} {percentile}")  # fmt: skip
            axis.set_xscale("log", base=2)
            axis.set_xticks(sorted({row["connections"] for row in rows}))
            axis.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
            axis.set_title(scenario)
            axis.set_xlabel("connections")
            if kind == "throughput":
                axis.set_ylabel("requests per second")
                axis.set_ylim(bottom=0)
            else:
                axis.set_yscale("log")
                axis.set_ylabel("latency, ms")
            axis.grid(True, alpha=0.3)
        panels[0].legend(fontsize="small")
        figure.suptitle(f"make bench, {results['started']}: {kind}")
        figure.tight_layout()
        path = results_file.with_name(f"{results_file.stem}-{kind}.png")
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in draw(Path(sys.argv[1])):
        print(path)
