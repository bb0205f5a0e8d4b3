"""``make bench``: each app under the same load on the same database, scenario by scenario, with wrk.

One throwaway PostgreSQL cluster (the contract suite's, ``contract_tests/stacks/local.py``), migrated and
seeded; customers and products made through the API. Then each app in turn, with equal resources
(:data:`RESOURCES`): two worker processes and at most 16 database connections each. FastAPI runs under
uvicorn, its requests on the event loop of each worker; Flask under gunicorn, 8 threads a worker.

Scenarios (``bench/wrk.lua``): ``healthz`` (no database: the framework's floor), ``product`` (one product by
id), ``search`` (``?q=`` over the catalog), ``order`` (two random products, a customer from a pool, an
``Idempotency-Key`` each) and ``shopper`` (browse, open a product, search, order, list my orders), each at
every concurrency of the sweep. For each: requests per second, latency percentiles, responses by status and
wrk's socket errors, and the CPU seconds per 1,000 requests of wrk, of the app's processes and of PostgreSQL's
(so the load generator's share is on the record). Per app: time from process start to the first ``200`` from
``/readyz``, and the memory of each worker idle and under load.

The ceiling, in the same run: pgbench replaying the SQL that one request of a scenario sends from that app
(``bench/pgbench/<scenario>.sql`` with the app's own pool check, written from what ``python -m
bench.capture`` shows), with as many
clients as the app has connections; each app's figure is also given as a share of it.

After each app's runs, the SQL checks ``make chaos`` makes too (``contract_tests/consistency.py``: no partial
order, stock taken equals units sold, one order per idempotency key, every confirmation delivered within
seconds), and no ``5xx``. A failed check fails the run; speed never does.

Rounds: a shared machine's speed drifts by tens of percent within minutes, so one run of each proves little.
The whole set is run :data:`ROUNDS` times, the apps taking turns within each round (each server started
afresh), and the table gives each figure's median over the rounds, with the range of the requests per
second. ``--baseline DIR`` adds each app as another checkout serves it (an earlier commit, with the same
migrations: ``git worktree add /tmp/before <commit>``) to every round, next to this one's: before and after,
measured in one sitting.

Why wrk: a compiled generator spends a fraction of the CPU per request the apps spend, so on a 2-core machine
it takes the least from the servers it measures; the table says how much it took. Results go to
``bench/results/<UTC time>.json`` (every run, and the medians) and ``.md``, with two charts
(:mod:`bench.charts`); ``--profile`` adds a py-spy flame graph of each run of the first round, and a table
of the components its samples went to (:mod:`bench.flame`).

Usage: ``python -m bench.run [--smoke] [--app fastapi|flask] [--scenario NAME ...] [--connections N ...]
[--seconds N] [--rounds N] [--baseline DIR] [--profile]`` (``make bench``, with ``BENCH_ARGS``; ``make bench
BENCH_SMOKE=1`` is the short run CI makes, one round at one concurrency, two seconds a scenario, to check that
it runs and that the checks pass).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

import psutil

from bench import charts, flame, sockets
from contract_tests.client import Api
from contract_tests.consistency import check_database
from contract_tests.stacks import ADMIN_EMAIL, ADMIN_PASSWORD, ROOT, SESSION_SECRET, TARGETS, Deployment
from contract_tests.stacks.local import (
    AppProcess,
    postgres_processes,
    postmaster,
    serve_app,
    throwaway_postgres,
)
from shared.config import Settings
from shared.db.revisions import upgrade
from shared.db.seed import seed
from shared.domain.security import hash_token

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
SCENARIOS = ("healthz", "product", "search", "order", "shopper")
CONCURRENCY = (1, 8, 32, 128)
SECONDS = 5  # a run; three rounds of five seconds tell more than one of fifteen on a machine that drifts
ROUNDS = 3
SMOKE_CONCURRENCY, SMOKE_SECONDS, SMOKE_CUSTOMERS = (8,), 2, 4  # --smoke: it checks, it does not measure
CUSTOMERS = 32
PRODUCTS = 40
STOCK = 1_000_000  # the most one product may hold (shared/domain/)
SEARCH_WORDS = ("beans", "grinder", "kettle", "dripper", "mug", "espresso", "roast", "filter")
# equal resources: two worker processes each, and the same pool per process (gunicorn's 8 threads each hold
# at most one connection; uvicorn's event loop shares its 8 among every request in flight)
WORKERS = 2
RESOURCES = {
    "SHOP_DB_POOL_SIZE": "8",
    "SHOP_DB_MAX_OVERFLOW": "0",
    "SHOP_OUTBOX_RELAY_SECONDS": "2",
}
SERVER_ARGS = {
    "fastapi": ["--workers", str(WORKERS)],
    "flask": [],
}  # TARGETS' gunicorn: 2 workers x 8 threads
CONFIRMATION_SECONDS = 15
# the ceiling: pgbench replaying each scenario's SQL (bench/pgbench/<scenario>.sql) with as many clients as
# the app has connections (2 workers x 8)
CEILING_SCENARIOS = ("product", "search", "order")
CEILING_CLIENTS = WORKERS * 8
# what each app sends before a transaction on a pooled connection (SQLAlchemy's pool_pre_ping), written in at
# the scripts' {pool check} lines: the async engine begins and rolls back a transaction, the sync one sends
# an empty query
POOL_CHECKS = {"fastapi": "BEGIN;\nROLLBACK;", "flask": ";"}


# --- the apps' servers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """An app as one checkout serves it: this one, or the ``--baseline`` one (labelled ``<app>@<commit>``)."""

    app: str
    label: str
    source: Path = ROOT


@dataclass
class Server:
    """A variant's running server."""

    label: str
    process: AppProcess

    @property
    def url(self) -> str:
        return self.process.url

    def processes(self) -> list[psutil.Process]:
        """The master and its workers."""
        return [psutil.Process(self.process.pid), *self.process.workers()]

    def worker_rss_mib(self) -> list[float]:
        return [worker.memory_info().rss / 2**20 for worker in self.process.workers()]


@contextlib.contextmanager
def serve(variant: Variant, env: dict[str, str], workdir: Path) -> Iterator[Server]:
    """``variant``'s server (:func:`serve_app`, ``/readyz`` polled every 10 ms to time its start)."""
    metrics_dir = tempfile.mkdtemp(prefix=f"metrics-{variant.app}-", dir=workdir)
    with serve_app(
        TARGETS[variant.app],
        {**env, "PROMETHEUS_MULTIPROC_DIR": metrics_dir},
        workdir / f"{variant.label}.log",
        extra_args=SERVER_ARGS[variant.app],
        source=variant.source,
        poll_seconds=0.01,
    ) as process:
        time.sleep(1)  # every worker up, not only the first to answer
        yield Server(variant.label, process)


# --- load ---------------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One scenario at one concurrency against one app (a :class:`Variant`'s label) in one round: wrk's
    figures and the CPU each side spent."""

    app: str
    round: int
    scenario: str
    connections: int
    requests: int
    seconds: float
    latency_ms: dict[str, float]
    statuses: dict[str, int]
    socket_errors: dict[str, int]
    cpu_seconds: dict[str, float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def errors(self) -> int:
        failed = sum(count for status, count in self.statuses.items() if not status.startswith("2"))
        return failed + sum(self.socket_errors.values())


def cpu_seconds(processes: list[psutil.Process]) -> dict[int, float]:
    """CPU seconds (user and system) each of ``processes`` has used so far, by pid."""
    used = {}
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            used[process.pid] = times.user + times.system
    return used


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two :func:`cpu_seconds`: by the processes alive at the end (a backend that
    closed meanwhile took its count with it; one that opened counts whole)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def run_wrk(
    server: Server,
    *,
    postgres: psutil.Process,
    round_number: int,
    scenario: str,
    connections: int,
    seconds: int,
    data_file: Path,
    peak_rss: list[float],
    flame_graph: Path | None = None,
) -> Run:
    """wrk with ``bench/wrk.lua`` for ``seconds``; samples the workers' memory (MiB, the peak of each kept in
    ``peak_rss``) as it runs and, given ``flame_graph``, records the server with py-spy meanwhile (an SVG).
    ``postgres`` is the database's postmaster: its processes' CPU is counted too."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("make bench needs wrk: apt-get install wrk (brew install wrk)")
    threads = min(connections, 2)
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(BENCH / "wrk.lua"), server.url, "--", scenario, str(data_file)]  # fmt: skip
    app_before, db_before = cpu_seconds(server.processes()), cpu_seconds(postgres_processes(postgres))
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_rss, args=(server, stop, peak_rss), daemon=True)
    sampler.start()
    with profiled(server, flame_graph, seconds):
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)  # before py-spy, a child too, is waited for
    stop.set()
    sampler.join()
    if done.returncode != 0 or "bench-result " not in done.stdout:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = json.loads(done.stdout.split("bench-result ", 1)[1])
    return Run(
        app=server.label,
        round=round_number,
        scenario=scenario,
        connections=connections,
        requests=result["requests"],
        seconds=result["duration_us"] / 1e6,
        latency_ms={name: us / 1000 for name, us in result["latency_us"].items()},
        statuses=result["statuses"],
        socket_errors=result["socket_errors"],
        cpu_seconds={
            "wrk": (wrk_after.ru_utime + wrk_after.ru_stime) - (wrk_before.ru_utime + wrk_before.ru_stime),
            "app": cpu_spent(app_before, cpu_seconds(server.processes())),
            "postgres": cpu_spent(db_before, cpu_seconds(postgres_processes(postgres))),
        },
    )


@contextlib.contextmanager
def profiled(server: Server, flame_graph: Path | None, seconds: int) -> Iterator[None]:
    """py-spy recording the server's processes (master and workers) into ``flame_graph`` while the block
    runs; nothing without ``flame_graph``. Samples 100 times a second without pausing the processes
    (``--nonblocking``: pausing 16 threads at every sample slowed gunicorn to a tenth), and only the thread
    holding the GIL (``--gil``), so the graph is where each process's Python runs: without it, gunicorn's
    threads waiting for the GIL after a driver call made psycopg look like half of Flask's time."""
    if flame_graph is None:
        yield
        return
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise RuntimeError("--profile needs py-spy (the bench extra: make install)")
    command = [spy, "record", "--pid", str(server.process.pid), "--subprocesses", "--nonblocking", "--gil",
               "--duration", str(seconds), "--rate", "100", "--format", "flamegraph",
               "--output", str(flame_graph)]  # fmt: skip
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    try:
        yield
    finally:
        _, stderr = recorder.communicate(timeout=seconds + 60)
        if recorder.returncode != 0:
            raise RuntimeError(f"py-spy failed ({recorder.returncode}): {stderr.decode()}")
        flame_graph.write_text(without_machine_paths(flame_graph.read_text()))


def without_machine_paths(svg: str) -> str:
    """``svg`` with the paths of this machine made relative: the checkout's (py-spy's command line, the
    processes' ``.venv/bin/python``) and Python's own, so that a committed graph says nothing of where it was
    made."""
    for prefix in sorted({str(ROOT), sys.prefix, sys.base_prefix}, key=len, reverse=True):
        svg = svg.replace(prefix + "/", "")
    return svg


def _sample_rss(server: Server, stop: threading.Event, peak: list[float]) -> None:
    while not stop.wait(0.5):
        with contextlib.suppress(psutil.NoSuchProcess):
            for index, rss in enumerate(server.worker_rss_mib()):
                if index < len(peak):
                    peak[index] = max(peak[index], rss)
                else:
                    peak.append(rss)


# --- data and checks ----------------------------------------------------------------------------------------


@dataclass
class Data:
    """What the load runs use: wrk's data file, and the values pgbench's scripts take."""

    file: Path
    product_ids: list[int]
    pgbench_variables: dict[str, str]


def prepare(url: str, customers: int, workdir: Path) -> Data:
    """Products with ample stock and customers with tokens, made through the API; the data file wrk reads."""
    deployment = Deployment(admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD, _url_for=lambda _: url)
    with Api("bench", deployment) as api:
        product_ids = [api.create_product(stock=STOCK)["id"] for _ in range(PRODUCTS)]
        shoppers = [api.new_customer() for _ in range(customers)]
    lines = [f"product {i}" for i in product_ids] + [f"token {c.token}" for c in shoppers]
    lines += [f"word {w}" for w in SEARCH_WORDS]
    data_file = workdir / "wrk-data.txt"
    data_file.write_text("\n".join(lines) + "\n")
    if product_ids != list(range(product_ids[0], product_ids[-1] + 1)):
        raise RuntimeError("the products made are not one range of ids, which pgbench's scripts draw from")
    variables = {
        "first_product": str(product_ids[0]),
        "last_product": str(product_ids[-1]),
        "user_id": str(shoppers[0].id),
        "token_hash": hash_token(shoppers[0].token),
    }
    return Data(data_file, product_ids, variables)


def run_pgbench(
    database_url: str, app: str, scenario: str, seconds: int, variables: dict[str, str], workdir: Path
) -> float:
    """Transactions per second of ``bench/pgbench/<scenario>.sql`` with ``app``'s pool check written in,
    :data:`CEILING_CLIENTS` clients."""
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))  # Debian's, often not on PATH
    pgbench = shutil.which("pgbench") or (installed[-1] if installed else None)
    if pgbench is None:
        raise RuntimeError(
            "make bench needs pgbench, which comes with PostgreSQL (apt-get install postgresql)"
        )
    template = (BENCH / "pgbench" / f"{scenario}.sql").read_text()
    script = workdir / f"pgbench-{app}-{scenario}.sql"
    script.write_text(re.sub(r"^-- \{pool check\}.*$", POOL_CHECKS[app], template, flags=re.M))
    command = [str(pgbench), "--no-vacuum", "--protocol=prepared", f"--client={CEILING_CLIENTS}", "--jobs=2",
               f"--time={seconds}", f"--file={script}", *(f"--define={k}={v}" for k, v in variables.items()),
               database_url]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    if done.returncode != 0 or tps is None or (failed and int(failed.group(1))):
        raise RuntimeError(f"pgbench {script.name} failed:\n{done.stdout}\n{done.stderr}")
    return float(tps.group(1))


# --- report -------------------------------------------------------------------------------------------------


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per app, scenario and connections, over the rounds: the median of each figure (requests per
    second, each latency percentile in ms, the CPU ms per request of wrk, the app and PostgreSQL), the
    lowest and highest requests per second, and the errors of every round added up. Rows come app by app,
    scenario by scenario, in order of connections, a baseline's row just before its app's."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["app"], run["scenario"], run["connections"]), []).append(run)

    def order(key: tuple[str, str, int]) -> tuple[str, int, int, bool]:
        label, scenario, connections = key
        return label.split("@")[0], SCENARIOS.index(scenario), connections, "@" not in label

    rows = []
    for key in sorted(groups, key=order):
        group = groups[key]
        rates = [run["per_second"] for run in group]
        rows.append({
            "app": key[0], "scenario": key[1], "connections": key[2], "rounds": len(group),
            "per_second": median(rates), "per_second_range": [min(rates), max(rates)],
            "latency_ms": {p: median(run["latency_ms"][p] for run in group) for p in group[0]["latency_ms"]},
            "errors": sum(run["errors"] for run in group),
            "cpu_ms_per_request": {
                side: median(1000 * run["cpu_seconds"][side] / max(run["requests"], 1) for run in group)
                for side in group[0]["cpu_seconds"]
            },
        })  # fmt: skip
    return rows


def markdown(results: dict[str, Any]) -> str:
    rounds = results["rounds"]
    lines = [
        f"# Benchmark, {results['started']}",
        "",
        f"{results['machine']}; each app: {results['resources']}.",
        "",
        (
            f"{rounds} rounds of {results['seconds']} s a run, the apps in turns; each figure is the median "
            "over the rounds (max ms: of each round's maximum), and req/s gives the lowest and highest round."
            if rounds > 1
            else f"1 round of {results['seconds']} s a run."
        ),
        f"Ceiling: pgbench replaying the scenario's SQL with {CEILING_CLIENTS} clients (bench/pgbench/).",
        "",
        "| app | scenario | connections | req/s | of ceiling | p50 ms | p95 ms | p99 ms | max ms | errors "
        "| CPU ms per request: wrk / app / PostgreSQL |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in results["summary"]:
        cpu, latency = row["cpu_ms_per_request"], row["latency_ms"]
        low, high = row["per_second_range"]
        rate = f"{row['per_second']:,.0f}" + (f" ({low:,.0f}-{high:,.0f})" if row["rounds"] > 1 else "")
        ceiling = results["ceiling"].get(row["app"], {}).get(row["scenario"])
        share = f"{row['per_second'] / ceiling:.0%} of {ceiling:,.0f}" if ceiling else "-"
        lines.append(
            f"| {row['app']} | {row['scenario']} | {row['connections']} | {rate} | {share} | "
            f"{latency['p50']:.1f} | {latency['p95']:.1f} | {latency['p99']:.1f} | {latency['max']:.0f} | "
            f"{row['errors']} | {cpu['wrk']:.2f} / {cpu['app']:.2f} / {cpu['postgres']:.2f} |"
        )
    lines += [
        "",
        "| app | startup to ready, median (range) | RSS per worker, idle | RSS per worker, peak under load |",
        "| --- | ---: | --- | --- |",
    ]
    for app, facts in results["apps"].items():
        startup = facts["startup_seconds"]
        idle, peak = facts["idle_rss_mib"], facts["peak_rss_mib"]
        lines.append(
            f"| {app} | {median(startup):.2f} s ({min(startup):.2f}-{max(startup):.2f}) | "
            f"{min(idle):.0f}-{max(idle):.0f} MiB | {max(peak):.0f} MiB |"
        )
    for name, by_component in results.get("profiles", {}).items():
        lines += ["", flame.table(f"Where the Python CPU went: {name}", by_component)]
    if results.get("sockets"):
        lines += ["", sockets.markdown(results["sockets"]).rstrip("\n")]
    if results.get("image_mib"):
        lines += [
            "",
            "Images: " + ", ".join(f"{app} {mib:.0f} MiB" for app, mib in results["image_mib"].items()),
        ]
    lines += [
        "",
        "Checks: " + ("; ".join(results["failures"]) if results["failures"] else "every check passed"),
        *(
            ["", "The baseline's checks: " + "; ".join(found)]
            if (found := results["baseline_findings"])
            else []
        ),
    ]
    return "\n".join(lines) + "\n"


def image_sizes_mib() -> dict[str, float] | None:
    """Each app's image (the Dockerfile's target) built and measured, in MiB; ``None`` without a Docker
    engine."""
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "info"], capture_output=True, check=False).returncode != 0:  # noqa: S603
        return None
    sizes = {}
    for app in TARGETS:
        tag = f"shop-{app}:bench"
        subprocess.run([docker, "build", "--quiet", "--target", app, "--tag", tag, str(ROOT)],  # noqa: S603
                       capture_output=True, check=True)  # fmt: skip
        inspected = subprocess.run([docker, "image", "inspect", "--format", "{{.Size}}", tag],  # noqa: S603
                                   capture_output=True, text=True, check=True)  # fmt: skip
        sizes[app] = int(inspected.stdout) / 2**20
    return sizes


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")  # fmt: skip
    return f"{os.cpu_count()} cores ({cpu}), {psutil.virtual_memory().total / 2**30:.0f} GiB"


# --- main ---------------------------------------------------------------------------------------------------


def variants(apps: Iterable[str], baseline: Path | None) -> list[tuple[Variant, ...]]:
    """For each app, the variants that take turns on it: this checkout's and, given ``baseline``, first the
    same app from there, labelled with that checkout's commit."""
    if baseline is None:
        return [(Variant(app, app),) for app in apps]
    git = ["git", "-C", str(baseline), "rev-parse", "--short", "HEAD"]
    revision = subprocess.run(git, capture_output=True, text=True, check=False).stdout.strip()  # noqa: S603
    tag = revision or baseline.name
    return [(Variant(app, f"{app}@{tag}", baseline.resolve()), Variant(app, app)) for app in apps]


@dataclass
class Plan:
    """What each server is put through: the scenarios at each concurrency, for ``seconds`` a run."""

    scenarios: list[str]
    sweep: list[int]
    seconds: int
    customers: int
    profile_stem: str | None  # with --profile: the flame graphs' file name stem (the results')


def measure(variant: Variant, *, round_number: int, plan: Plan, database_url: str, postgres: psutil.Process,
            env: dict[str, str], workdir: Path, results: dict[str, Any], data: Data) -> None:  # fmt: skip
    """One round of ``plan`` against a fresh server of ``variant``: every run, then the checks while the
    server still runs (its relay delivers what the requests' own deliveries missed); all recorded in
    ``results``. The checks cover the whole database, which every variant writes to."""
    facts = results["apps"].setdefault(
        variant.label, {"startup_seconds": [], "idle_rss_mib": [], "peak_rss_mib": []}
    )
    with serve(variant, env, workdir) as server:
        facts["startup_seconds"].append(server.process.startup_seconds)
        facts["idle_rss_mib"] += server.worker_rss_mib()
        peak: list[float] = []
        statuses_5xx = 0
        for scenario in plan.scenarios:
            for connections in plan.sweep:
                print(f"bench: round {round_number}, {variant.label}, {scenario}, {connections} connections",
                      flush=True)  # fmt: skip
                flame_graph = (
                    RESULTS / f"{plan.profile_stem}-{variant.label}-{scenario}-{connections}.svg"
                    if plan.profile_stem and round_number == 1
                    else None
                )
                run = run_wrk(
                    server,
                    postgres=postgres,
                    round_number=round_number,
                    scenario=scenario,
                    connections=connections,
                    seconds=plan.seconds,
                    data_file=data.file,
                    peak_rss=peak,
                    flame_graph=flame_graph,
                )
                results["runs"].append(dataclasses.asdict(run) | {
                    "per_second": run.per_second, "errors": run.errors})  # fmt: skip
                if flame_graph is not None:
                    results["profiles"][flame_graph.name] = flame.shares(flame_graph)
                statuses_5xx += sum(n for s, n in run.statuses.items() if s.startswith("5"))
        facts["peak_rss_mib"] += peak
        failures = [f"{statuses_5xx} responses 5xx"] if statuses_5xx else []
        failures += check_database(
            database_url, data.product_ids, stock=STOCK, wait_seconds=CONFIRMATION_SECONDS
        )
    # a baseline's failures are findings about it (what a change fixed), reported but not this run's failure
    found = results["failures"] if variant.source == ROOT else results["baseline_findings"]
    found += [f"{variant.label}, round {round_number}: {failure}" for failure in failures]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="CI's short run: it checks, it does not measure")
    parser.add_argument("--app", choices=sorted(TARGETS), action="append", help="default: both")
    parser.add_argument("--scenario", choices=SCENARIOS, action="append", help="default: all")
    parser.add_argument("--seconds", type=int, help=f"per run (default {SECONDS}; smoke {SMOKE_SECONDS})")
    parser.add_argument("--connections", type=int, action="append", help=f"default: {CONCURRENCY}")
    parser.add_argument("--rounds", type=int, help=f"default {ROUNDS}; smoke 1")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also run each app from this checkout, in the same rounds (before and after, in one sitting)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="a py-spy flame graph of each run of the first round, "
        "bench/results/<time>-<app>-<scenario>-<connections>.svg "
        "(narrow it with --scenario and --connections; the recording costs the servers some speed)",
    )
    parser.add_argument(
        "--sockets",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the live order sockets' part, after the rounds (bench/sockets.py; default: on)",
    )
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.smoke else ROUNDS)
    started = datetime.now(UTC)
    stem = started.strftime("%Y-%m-%dT%H%M%SZ")
    plan = Plan(
        scenarios=args.scenario or list(SCENARIOS),
        sweep=args.connections or list(SMOKE_CONCURRENCY if args.smoke else CONCURRENCY),
        seconds=args.seconds or (SMOKE_SECONDS if args.smoke else SECONDS),
        customers=SMOKE_CUSTOMERS if args.smoke else CUSTOMERS,
        profile_stem=stem if args.profile else None,
    )
    if args.profile:
        RESULTS.mkdir(exist_ok=True)
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "resources": f"{WORKERS} worker processes, {RESOURCES}; gunicorn 8 threads a worker",
        "smoke": args.smoke,
        "rounds": rounds,
        "seconds": plan.seconds,
        "runs": [],
        "ceiling_rounds": {},
        "apps": {},
        "profiles": {},
        "failures": [],
        "baseline_findings": [],
    }
    workdir = Path(tempfile.mkdtemp(prefix="shop-bench-"))
    try:
        with throwaway_postgres(workdir) as database_url:
            settings = Settings(
                database_url=database_url, admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD
            )
            upgrade(settings)
            seed(settings)
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "SHOP_SESSION_SECRET": SESSION_SECRET,
                **RESOURCES,
            }
            postgres = postmaster(database_url)
            apps = args.app or list(TARGETS)
            with serve(Variant(apps[0], apps[0]), env, workdir) as server:  # the data, through the API
                data = prepare(server.url, plan.customers, workdir)
            lineup = variants(apps, args.baseline)
            for round_number in range(1, rounds + 1):
                # a baseline first in odd rounds, second in even ones: neither always meets the database and
                # the machine as the other left them
                for turns in lineup:
                    for variant in turns if round_number % 2 else turns[::-1]:
                        measure(
                            variant,
                            round_number=round_number,
                            plan=plan,
                            database_url=database_url,
                            postgres=postgres,
                            env=env,
                            workdir=workdir,
                            results=results,
                            data=data,
                        )
                # after the apps, with no server running: what runs before each app's turn is the same
                for app in apps:  # the scripts follow this checkout's SQL
                    for scenario in (s for s in CEILING_SCENARIOS if s in plan.scenarios):
                        print(f"bench: round {round_number}, ceiling: pgbench replaying {app}'s {scenario}")
                        tps = run_pgbench(
                            database_url, app, scenario, plan.seconds, data.pgbench_variables, workdir
                        )
                        results["ceiling_rounds"].setdefault(app, {}).setdefault(scenario, []).append(tps)
            if args.sockets:
                print("bench: live order sockets (bench/sockets.py)", flush=True)
                results["sockets"] = sockets.measure_all(env=env, workdir=workdir, smoke=args.smoke)
                results["failures"] += sockets.check(results["sockets"])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["summary"] = summarise(results["runs"])
    results["ceiling"] = {
        app: {scenario: median(tps) for scenario, tps in by_scenario.items()}
        for app, by_scenario in results["ceiling_rounds"].items()
    }
    if not args.smoke:
        print("bench: image sizes (where a Docker engine answers)", flush=True)
        results["image_mib"] = image_sizes_mib()
    report = markdown(results)
    print("\n" + report)
    if not args.smoke:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
        (RESULTS / f"{stem}.md").write_text(report)
        charts.draw(RESULTS / f"{stem}.json")
        print(f"bench: results in bench/results/{stem}.json and .md, charts in {stem}-*.png")
    print(
        "bench: "
        + ("FAILED\n  " + "\n  ".join(results["failures"]) if results["failures"] else "every check passed")
    )
    return 1 if results["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
