"""Where a flame graph's CPU samples go, by component: ``python -m bench.flame FILE.svg ...``.

``make bench --profile`` records each run with py-spy into an SVG flame graph (inferno's, as py-spy writes
it: every frame a ``<rect>`` with its first sample ``fg:x``, its samples ``fg:w`` and its depth as ``y``).
This reads the frames back, finds each frame's own samples (its samples less its callees'), and gives each
to the component of the innermost frame on its stack whose code belongs to one of :data:`COMPONENTS`: time
spent in asyncio's transport under asyncpg counts as asyncio, time in asyncpg's own code as asyncpg.
``make bench`` records with ``--gil``, so every sample is of the thread that holds the GIL: where each
process's Python runs, not where its threads wait.
"""

from __future__ import annotations

import bisect
import collections
import html
import re
import sys
from dataclasses import dataclass
from pathlib import Path

# (component, what its frames' code locations start with), the first match wins. py-spy gives a location
# as the module's path under its sys.path entry ("sqlalchemy/orm/session.py"), or, for the code SQLAlchemy
# generates at import, "<sqlalchemy generated ... wrapper for sqlalchemy.orm.session.Session._flush>"
_GENERATED = r"<sqlalchemy generated .*"
COMPONENTS = (
    ("asyncpg", r"asyncpg/"),
    ("psycopg", r"psycopg/"),
    ("SQLAlchemy: building and caching statements", rf"sqlalchemy/sql/|{_GENERATED}sqlalchemy\.sql\."),
    ("SQLAlchemy: ORM", rf"sqlalchemy/orm/|{_GENERATED}(sqlalchemy\.orm\.|__init__ for class)"),
    ("SQLAlchemy: engine, pool and dialect", rf"sqlalchemy/|{_GENERATED}"),
    ("pydantic", r"pydantic(_core)?/"),
    ("marshmallow", r"(marshmallow|webargs|apispec)/"),
    ("email (standard library)", r"email/"),
    ("logging", r"logging/"),
    ("prometheus_client", r"prometheus_client/"),
    ("Starlette and FastAPI", r"(starlette|fastapi)/"),
    ("uvicorn and httptools", r"(uvicorn|httptools)/"),
    ("Flask, Werkzeug and their extensions", r"(flask|werkzeug|flask_login|flask_smorest|flask_cors)/"),
    ("gunicorn", r"gunicorn/"),
    ("the apps' own code", r"(fastapi_shop|flask_shop|shared)/"),
    ("asyncio", r"asyncio/"),
    ("threads", r"threading\.py|concurrent/"),
)
NATIVE = "native code, under no Python frame"
FRAME = re.compile(
    r'<g><title>(?P<title>[^<]*) \([\d,]+ samples?, [\d.]+%\)</title><rect [^>]*y="(?P<y>\d+)"'
    r'[^>]*fg:x="(?P<x>\d+)" fg:w="(?P<w>\d+)"'
)


@dataclass
class Frame:
    title: str  # "function (path/of/file.py:line)", or a process's command line
    depth: int  # 0 is the root
    start: int  # the first of its samples, in the graph's order
    samples: int
    parent: Frame | None = None
    own: int = 0  # its samples less its callees'


def frames(svg: str) -> list[Frame]:
    """The flame graph's frames, each linked to its caller, with its own samples counted."""
    found = [(html.unescape(m["title"]), int(m["y"]), int(m["x"]), int(m["w"])) for m in FRAME.finditer(svg)]
    if not found:
        raise ValueError("no frames: not a flame graph py-spy wrote")
    rows = sorted({y for _, y, _, _ in found})  # py-spy draws the root on top, each callee a row lower
    depth_of = {y: depth for depth, y in enumerate(rows)}
    by_depth: dict[int, list[Frame]] = collections.defaultdict(list)
    for title, y, start, samples in found:
        by_depth[depth_of[y]].append(Frame(title, depth_of[y], start, samples, own=samples))
    for row in by_depth.values():
        row.sort(key=lambda frame: frame.start)
    for depth in sorted(by_depth)[1:]:
        callers = by_depth[depth - 1]
        starts = [caller.start for caller in callers]
        for frame in by_depth[depth]:
            found_at = bisect.bisect_right(starts, frame.start) - 1
            if found_at < 0:
                raise ValueError(f"{frame.title} has no caller: not a flame graph py-spy wrote")
            caller = callers[found_at]
            frame.parent = caller
            caller.own -= frame.samples
    return [frame for row in by_depth.values() for frame in row]


def location(title: str) -> str | None:
    """Where a frame's code is: ``"sqlalchemy/orm/session.py"`` of the frame
    ``"_flush (sqlalchemy/orm/session.py:4300)"``; ``None`` for a frame that is a process (py-spy's
    ``process 12:"command line"``) or the root."""
    _, opened, rest = title.partition(" (")
    where, colon, line = rest.removesuffix(")").rpartition(":")
    return where if opened and colon and line.isdigit() else None


def component(frame: Frame) -> str:
    """The component of the innermost frame on ``frame``'s stack whose code belongs to one, or "other"; a
    process's own samples (no Python frame: uvloop's loop, a C extension called from C) are
    :data:`NATIVE`."""
    if location(frame.title) is None:
        return NATIVE
    walk: Frame | None = frame
    while walk is not None:
        where = location(walk.title) or ""
        for name, pattern in COMPONENTS:
            if re.match(pattern, where):
                return name
        walk = walk.parent
    return "other"


def shares(svg_file: Path) -> dict[str, float]:
    """Each component's share (0..1) of the samples of ``svg_file`` (a py-spy flame graph), largest first;
    empty if it has none."""
    counts: collections.Counter[str] = collections.Counter()
    for frame in frames(svg_file.read_text()):
        if frame.own > 0:
            counts[component(frame)] += frame.own
    sampled = sum(counts.values())
    return {name: count / sampled for name, count in counts.most_common()} if sampled else {}


def table(title: str, by_component: dict[str, float]) -> str:
    """:func:`shares` as a Markdown table headed ``title``."""
    rows = [f"| {name} | {share:.0%} |" for name, share in by_component.items()]
    return "\n".join([f"| {title} | share of the samples |", "| --- | ---: |", *rows])


if __name__ == "__main__":
    for path in map(Path, sys.argv[1:]):
        print(table(path.name, shares(path)) + "\n")
