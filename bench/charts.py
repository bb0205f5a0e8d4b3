"""The charts of a ``make bench`` run: ``python -m bench.charts bench/results/<time>.json``.

Two PNGs next to the JSON, one panel per scenario, each app a colour:

- ``<time>-throughput.png``: requests per second against connections, with the ceiling (pgbench replaying
  the scenario's SQL) as a dotted line where there is one;
- ``<time>-latency.png``: p50 (solid) and p99 (dashed) latency against connections, on a log scale.

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
    runs = results["runs"]
    scenarios = list(dict.fromkeys(run["scenario"] for run in runs))
    apps = list(dict.fromkeys(run["app"] for run in runs))
    written = []
    for kind in ("throughput", "latency"):
        rows = -(-len(scenarios) // 3)
        figure, axes = plt.subplots(rows, 3, figsize=(12, 3.4 * rows), squeeze=False)
        panels = list(axes.flat)
        for axis in panels[len(scenarios) :]:
            axis.set_visible(False)
        for axis, scenario in zip(panels, scenarios, strict=False):
            for app in apps:
                points = sorted(
                    (run for run in runs if run["app"] == app and run["scenario"] == scenario),
                    key=lambda run: run["connections"],
                )
                connections = [run["connections"] for run in points]
                colour = COLOURS.get(app)
                if kind == "throughput":
                    throughput = [run["per_second"] for run in points]
                    axis.plot(connections, throughput, "o-", color=colour, label=app)
                    ceiling = results["ceiling"].get(app, {}).get(scenario)
                    if ceiling:
                        axis.axhline(ceiling, color=colour, linestyle=":", label=f"{app} ceiling")
                else:
                    for percentile, style in (("p50", "o-"), ("p99", "s--")):
                        latency = [run["latency_ms"][percentile] for run in points]
                        axis.plot(connections, latency, style, color=colour, label=f"{app} {percentile}")
            axis.set_xscale("log", base=2)
            axis.set_xticks(sorted({run["connections"] for run in runs}))
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
