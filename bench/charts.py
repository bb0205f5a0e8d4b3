"""The charts of a ``make bench`` run: ``python -m bench.charts bench/results/<time>.json``.

PNGs next to the JSON, one panel per scenario, each app a colour:

- ``<time>-throughput.png``: requests per second against connections (the median over the rounds, a bar
  from the lowest to the highest), with the ceiling (pgbench replaying the scenario's SQL) as a dotted line
  where there is one;
- ``<time>-latency.png``: p50 (solid) and p99 (dashed) latency against connections, on a log scale (the
  medians over the rounds).

- ``<time>-sockets.png``: the live order sockets' part (:func:`draw_sockets`), when the run has it.

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
    if results.get("sockets"):
        written.append(draw_sockets(results_file, results))
    return written


def draw_sockets(results_file: Path, results: dict[str, Any]) -> Path:
    """``<time>-sockets.png``: the idle sockets each server held of those attempted (bars, refused and
    errors stacked above), and the fan-out latency, p50 and p99 (the live order sockets, bench/sockets.py)."""
    held, fan_out = results["sockets"]["held"], results["sockets"]["fan_out"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    servers = list(dict.fromkeys(row["server"] for row in held))
    attempts = sorted({row["attempted"] for row in held})
    width = 0.8 / len(servers)
    for n, server in enumerate(servers):
        rows = {row["attempted"]: row for row in held if row["server"] == server}
        at = [position + n * width for position in range(len(attempts))]
        colour = COLOURS.get(server.split()[0])
        counts = [rows[count]["held"] if count in rows else 0 for count in attempts]
        turned_away = [
            rows[count]["refused"] + rows[count]["errors"] if count in rows else 0 for count in attempts
        ]
        hatch = "//" if "gthread" in server else None
        left.bar(at, counts, width, color=colour, hatch=hatch, label=f"{server}: held")
        left.bar(at, turned_away, width, bottom=counts, color=colour, alpha=0.25, hatch=hatch)
        for x, count, row in zip(at, counts, (rows.get(count) for count in attempts), strict=True):
            if row and row["kib_per_socket"] is not None:
                left.annotate(f"{row['kib_per_socket']:.0f} KiB", (x, count), ha="center", va="bottom",
                              fontsize="x-small")  # fmt: skip
    left.set_xticks([position + width * (len(servers) - 1) / 2 for position in range(len(attempts))])
    left.set_xticklabels([f"{count:,} attempted" for count in attempts])
    left.set_yscale("log")
    left.set_ylim(1, 4 * max(attempts))
    left.set_ylabel("sockets (pale: refused or failed)")
    left.set_title("idle sockets held, memory per socket")
    left.legend(fontsize="small")
    names = [row["server"] for row in fan_out]
    colours = [COLOURS.get(name.split()[0]) for name in names]
    for offset, percentile, alpha in ((-0.2, "p50_ms", 1.0), (0.2, "p99_ms", 0.5)):
        positions = [n + offset for n in range(len(names))]
        right.bar(positions, [row[percentile] for row in fan_out], 0.4, color=colours, alpha=alpha)
    right.set_xticks(range(len(names)))
    right.set_xticklabels(
        [f"{row['server']}\n{row['watchers']} watchers an order" for row in fan_out], fontsize="small"
    )
    right.set_ylabel("ms from COMMIT to the client")
    right.set_title("fan-out latency (solid p50, pale p99)")
    figure.suptitle(f"make bench, {results['started']}: live order sockets")
    figure.tight_layout()
    path = results_file.with_name(f"{results_file.stem}-sockets.png")
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


if __name__ == "__main__":
    for path in draw(Path(sys.argv[1])):
        print(path)
