"""End-to-end ingest benchmark: one 850 file of N purchase orders into SQLite and PostgreSQL.

    python -m bench.ingest [--pos 1000] [--lines 10] [--no-postgres] [--repeat 1] [--no-profile] [--no-floors]
                           [--no-write]

For each backend this makes a fresh workspace (the example partners, a new SQLite file or a new
throwaway PostgreSQL database), ingests the file once with ``engine.ingest.ingest_file`` and times
it. Northwind's profile sends the 855 on receipt, so the run reads and validates the file, writes
the 997, maps every 850, applies the rules, stores the orders, renders one 855 per order and
places the N + 1 documents in the outbox. The result is verified (every order stored, one 997
accepting every set, one 855 per order, every outbound file valid with no findings).

The shares of time (parsing and validation, mapping, rules, database, outbound rendering) come
from a *separate* run under cProfile on another fresh workspace, so the profiler's overhead never
touches the timed figures. Results go to the ingest section of bench/README.md (``--no-write``
leaves it alone). A benchmark, not a test: a missed target is reported, never raised; a wrong
result (verification failure) stops the run.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import os
import platform
import pstats
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, cast

import psycopg
from sqlalchemy import Engine, Table, event, func, insert, make_url, select

import engine.ingest
from bench.generate import FileStats, generate, segments_per_po
from edi.x12.ack_results import AckStatus, read_functional_ack
from edi.x12.reader import X12Reader
from edi.x12.structures import GroupStart, InterchangeStart, TransactionSet
from edi.x12.validate import validated_events
from engine.config import CONFIG_NAME, DEFAULT_CONFIG
from engine.db.repository import InterchangeRepository, OrderRepository, OutboundRepository
from engine.db.session import unit_of_work
from engine.db.tables import OrderEventRow, OrderLineRow, OrderRow, OutboundDocument, OutboundKind, OutboundStatus
from engine.ingest import IngestReport, ingest_file
from engine.runtime import Runtime
from mappings.profiles import EXAMPLES_DIR

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
README = HERE / "README.md"
BEGIN = "<!-- ingest-results:begin (written by python -m bench.ingest; edit above this line) -->"
END = "<!-- ingest-results:end -->"

TARGET_SQLITE = 1_000  # orders/s, end to end, on SQLite

# The northwind example partner's identities (mappings/partners/northwind/profile.yaml) and ours
# (engine.config defaults): the file comes from Northwind to us.
PARTNER = "northwind"
PARTNER_ISA = ("ZZ", "NORTHWIND")
PARTNER_GS = "NORTHWIND"
OUR_ISA = ("ZZ", "ACMESUPPLY")
OUR_GS = "ACMESUPPLY"
VERSION = "004010"

POSTGRES_VARIABLES = ("EDI_BENCH_POSTGRES_URL", "EDI_TEST_POSTGRES_URL")
POSTGRES_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

CATEGORIES = ("parsing", "mapping", "rules", "database", "rendering", "other")
CATEGORY_NAMES = {
    "parsing": "parsing + validation (`edi/`)",
    "mapping": "mapping (`mappings/`)",
    "rules": "rules (`engine/rules`)",
    "database": "database (`sqlalchemy`, driver, `engine/db`)",
    "rendering": "outbound rendering (`engine/outbound`, `edi/x12/writer`)",
    "other": "other (pipeline glue, archive, files)",
}


# -- the input file --------------------------------------------------------------------------
def northwind_file(workdir: Path, pos: int, lines: int, seed: int) -> FileStats:
    """bench/generate.py's 850s, re-addressed from Northwind to us (same widths, same counts)."""
    path = workdir / f"ingest-northwind-{pos}x{lines}-s{seed}.x12"
    raw = workdir / f"ingest-raw-{pos}x{lines}-s{seed}.x12"
    stats = generate(raw, pos=pos, lines=lines, seed=seed)
    isa_seen = gs_seen = 0
    with open(raw, encoding="ascii", newline="") as source, open(path, "w", encoding="ascii", newline="") as out:
        for line in source:
            if line.startswith("ISA*"):
                fields = line.split("*")
                fields[5], fields[6] = PARTNER_ISA[0], f"{PARTNER_ISA[1]:15}"
                fields[7], fields[8] = OUR_ISA[0], f"{OUR_ISA[1]:15}"
                rewritten = "*".join(fields)
                assert len(rewritten) == len(line), "the ISA must keep its fixed width"
                line = rewritten
                isa_seen += 1
            elif line.startswith("GS*"):
                fields = line.split("*")
                fields[2], fields[3] = PARTNER_GS, OUR_GS
                assert fields[8].startswith(VERSION), fields[8]
                line = "*".join(fields)
                gs_seen += 1
            out.write(line)
    raw.unlink()
    assert (isa_seen, gs_seen) == (stats.interchanges, stats.groups), (isa_seen, gs_seen, stats)
    return FileStats(
        path, stats.segments, stats.transaction_sets, stats.groups, stats.interchanges, path.stat().st_size
    )


# -- backends and workspaces -----------------------------------------------------------------
def postgres_admin_url() -> str:
    for name in POSTGRES_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    return POSTGRES_DEFAULT


def _conninfo(url: str) -> dict[str, Any]:
    parsed = make_url(url)
    return {
        "host": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username or "postgres",
        "password": parsed.password,
        "dbname": parsed.database or "postgres",
        "connect_timeout": 5,
    }


def postgres_problem() -> str | None:
    """None when the PostgreSQL server answers; else why not, in a sentence."""
    try:
        psycopg.connect(**_conninfo(postgres_admin_url())).close()
    except psycopg.OperationalError as error:
        shown = make_url(postgres_admin_url()).render_as_string(hide_password=True)
        return f"PostgreSQL is not reachable at {shown} ({str(error).strip()})"
    return None


def postgres_version() -> str:
    with psycopg.connect(**_conninfo(postgres_admin_url())) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database for the block; dropped afterwards, whatever happens."""
    admin = make_url(postgres_admin_url())
    connection = psycopg.connect(**_conninfo(postgres_admin_url()), autocommit=True)
    name = f"edi_bench_{os.getpid()}_{time.time_ns() % 10**9}"
    try:
        connection.execute(f'CREATE DATABASE "{name}"')
        try:
            yield admin.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
        finally:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        connection.close()


@contextmanager
def workspace(backend: str, scratch: Path, sets_per_interchange: int = 1) -> Iterator[tuple[Path, str | None]]:
    """A fresh workspace folder (config + the example partners, Northwind sending ``sets_per_interchange``
    sets per interchange) and the database URL to use."""
    root = Path(tempfile.mkdtemp(prefix=f"ingest-{backend}-", dir=scratch))
    (root / CONFIG_NAME).write_text(DEFAULT_CONFIG)
    shutil.copytree(EXAMPLES_DIR, root / "partners", ignore=shutil.ignore_patterns("__pycache__"))
    with (root / "partners" / PARTNER / "profile.yaml").open("a") as profile:
        profile.write(f"\nenvelopes: {{sets_per_interchange: {sets_per_interchange}}}\n")
    try:
        if backend == "postgresql":
            with scratch_postgres() as url:
                yield root, url
        else:
            yield root, None  # the config's own SQLite file, var/engine.db
    finally:
        shutil.rmtree(root, ignore_errors=True)


def engine_of(runtime: Runtime) -> Engine:
    bind = runtime.sessions.kw["bind"]
    assert isinstance(bind, Engine)
    return bind


@dataclass
class Opened:
    runtime: Runtime
    setup: float  # seconds for Runtime.open: migrations and partner rows


def open_runtime(root: Path, url: str | None) -> Opened:
    start = time.perf_counter()
    runtime = Runtime.open(root, database_url=url)
    setup = time.perf_counter() - start
    profile = runtime.partners.by_isa(*PARTNER_ISA)
    assert profile is not None and profile.id == PARTNER, f"no {PARTNER} profile for {PARTNER_ISA}"
    assert profile.acknowledgements.send_order_ack == "on_receipt", "the bench needs the 855 sent on receipt"
    return Opened(runtime, setup)


# -- one run -----------------------------------------------------------------------------------
@dataclass
class Timed:
    wall: float
    cpu: float
    statements: int  # SQL statements sent to the database during the ingest
    kinds: Counter[str]  # the same, by verb and table
    report: IngestReport
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage (STAGES), without a profiler


#: The pipeline's stages, timed by wrapping the function that does each (a wrapper costs about a
#: microsecond a call, a few milliseconds a run): (label, module, attribute). What no stage holds
#: (reading and validating the file, the receipt and commit transactions, the pipeline between
#: them) is reported as the rest.
STAGES: tuple[tuple[str, Any, str], ...] = (
    ("map the 850s (mappings)", engine.ingest, "_read_document"),
    ("apply the rules (engine/rules)", engine.ingest, "receive_order"),
    ("find the orders (one query per batch)", OrderRepository, "find_many"),
    ("store the new orders, lines and events", OrderRepository, "add_new"),
    ("record the sets", InterchangeRepository, "record_new_sets"),
    ("record the 997", engine.ingest, "_record_acknowledgements"),
    ("render and envelope the 855s", engine.ingest, "prepare_bundles"),
    ("record the 855s", OutboundRepository, "add_bundles"),
    ("flush the outbox", engine.ingest, "flush_outbox"),
)


@contextmanager
def stage_timers() -> Iterator[dict[str, float]]:
    """Time each of ``STAGES`` while the block runs; the seconds by label."""
    spent: dict[str, float] = dict.fromkeys((label for label, _, _ in STAGES), 0.0)
    originals = [(owner, name, getattr(owner, name)) for _, owner, name in STAGES]

    def timed(label: str, function: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - start

        return run

    for (label, owner, name), (_, _, function) in zip(STAGES, originals, strict=True):
        setattr(owner, name, timed(label, function))
    try:
        yield spent
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)


_VERB = re.compile(r"\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM|SELECT|BEGIN|COMMIT|SAVEPOINT|RELEASE)\b\s*(\S*)", re.I)
_FROM = re.compile(r"\bFROM\s+(\S+)", re.I)


def statement_kind(sql: str) -> str:
    """``INSERT orders``, ``SELECT outbound_documents``, ...: what a statement does to which table."""
    match = _VERB.match(sql)
    if match is None:
        return sql.split(None, 1)[0].upper() if sql.strip() else "?"
    verb = match.group(1).split()[0].upper()
    table = match.group(2)
    if verb == "SELECT":
        found = _FROM.search(sql)
        table = found.group(1) if found else ""
    return f"{verb} {table.strip(chr(34)).split('(')[0]}".strip()


def timed_ingest(runtime: Runtime, path: Path) -> Timed:
    statements = 0
    kinds: Counter[str] = Counter()

    def count(_connection: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        nonlocal statements
        statements += 1
        kinds[statement_kind(sql)] += 1

    engine = engine_of(runtime)
    event.listen(engine, "before_cursor_execute", count)
    gc.collect()
    try:
        with stage_timers() as stages:
            wall0, cpu0 = time.perf_counter(), time.process_time()
            report = ingest_file(runtime, path)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return Timed(wall, cpu, statements, kinds, report, dict(stages))


@dataclass
class Verified:
    orders: int
    lines: int
    documents: Counter[str]
    outbox_files: int
    outbox_sets: Counter[str]
    outbox_findings: int
    ack_status: str
    ack_accepted: int | None


def verify(runtime: Runtime, timed: Timed, stats: FileStats, lines: int, sets_per_interchange: int) -> Verified:
    """The ingest did everything it should: raise AssertionError (with what is wrong) if not."""
    pos = stats.transaction_sets
    carriers = 0 if sets_per_interchange == 1 else -(-pos // sets_per_interchange)
    interchanges_855 = pos if sets_per_interchange == 1 else carriers
    expected_pos = {f"PO{n:08d}" for n in range(1, pos + 1)}
    report = timed.report
    assert report.status == "processed", (report.status, report.messages)
    statuses = Counter(s.get("status") for s in report.sets)
    assert statuses == Counter({"applied": pos}), f"sets: {dict(statuses)}; first: {report.sets[:1]}"
    assert len(report.orders) == pos, len(report.orders)

    with unit_of_work(runtime.sessions) as uow:
        session = uow.session
        orders = session.execute(
            select(func.count(), func.count(func.distinct(OrderRow.po_number))).where(
                OrderRow.partner_id == PARTNER, OrderRow.test.is_(False)
            )
        ).one()
        line_rows = session.execute(select(func.count()).select_from(OrderLineRow)).scalar_one()
        documents = Counter(
            f"{kind.value} {status.value}"
            for kind, status in session.execute(select(OutboundDocument.kind, OutboundDocument.status))
        )
    assert tuple(orders) == (pos, pos), f"orders stored: {tuple(orders)}, expected {pos}"
    assert line_rows == pos * lines, f"order lines stored: {line_rows}, expected {pos * lines}"
    sent = OutboundStatus.SENT.value
    expected_documents = Counter(
        {f"{OutboundKind.FUNCTIONAL_ACK.value} {sent}": 1, f"{OutboundKind.ORDER_ACK.value} {sent}": pos + carriers}
    )
    assert documents == expected_documents, f"outbound documents: {dict(documents)}"

    folder = runtime.workspace.outbox_dir / PARTNER
    files = sorted(p for p in folder.iterdir() if p.is_file())
    sets: Counter[str] = Counter()
    findings = 0
    acked: list[str] = []
    ack_status, ack_accepted = "?", None
    for path in files:
        for ev in validated_events(X12Reader(path)):
            if isinstance(ev, InterchangeStart):
                ich = ev.interchange
                assert (ich.sender, ich.receiver) == (OUR_ISA, PARTNER_ISA), (path, ich.sender, ich.receiver)
            elif isinstance(ev, GroupStart):
                findings += len(ev.group.interchange.findings)
            elif isinstance(ev, TransactionSet):
                assert ev.group is not None
                findings += len(ev.findings) + len(ev.group.findings)
                sets[ev.id] += 1
                if ev.id == "855":
                    bak = next(s for s in ev.segments if s.tag == "BAK")
                    acked.append(bak.element(3))
                elif ev.id == "997":
                    result = read_functional_ack(ev)
                    ack_status = result.status.value if result.status else result.code
                    ack_accepted = result.accepted
                    assert result.status is AckStatus.ACCEPTED, f"997 says {ack_status}: {result.describe()}"
                    assert result.accepted == pos, f"997 accepts {result.accepted} sets, expected {pos}"
    assert len(files) == interchanges_855 + 1, f"{len(files)} files in the outbox, expected {interchanges_855 + 1}"
    assert sets == Counter({"997": 1, "855": pos}), f"outbound sets: {dict(sets)}"
    assert findings == 0, f"{findings} findings in the outbound files"
    assert len(acked) == pos and set(acked) == expected_pos, "the 855s do not answer every PO exactly once"
    return Verified(pos, line_rows, documents, len(files), sets, findings, ack_status, ack_accepted)


# -- the profile: shares by module, hot spots ----------------------------------------------------
FuncKey = tuple[str, int, str]
STRONG = ("rendering", "database", "rules")  # these win over an enclosing category
WEAK = ("parsing", "mapping")  # these give way to an enclosing outbound rendering


def category_of(filename: str) -> str | None:
    """The category a function's own code belongs to by where it lives; None: its caller's."""
    path = filename.replace(os.sep, "/")
    if "/site-packages/" in path:
        package = path.split("/site-packages/", 1)[1].split("/", 1)[0]
        if package in ("sqlalchemy", "psycopg", "psycopg_binary", "psycopg_pool", "alembic"):
            return "database"
        return None  # pydantic, yaml, ...: counted where they are called from
    repo = str(REPO).replace(os.sep, "/") + "/"
    if not path.startswith(repo):
        return None  # the standard library and built-ins (sqlite3's C calls included)
    relative = path[len(repo) :]
    if relative.startswith(("engine/outbound", "edi/x12/writer")):
        return "rendering"
    if relative.startswith("edi/"):
        return "parsing"
    if relative.startswith("mappings/"):
        return "mapping"
    if relative.startswith("engine/rules"):
        return "rules"
    if relative.startswith("engine/db"):
        return "database"
    return None  # engine/ingest.py, engine/model, engine/files.py, bench/: see the docstring below


def attribute(stats: dict[FuncKey, Any]) -> tuple[dict[str, float], dict[FuncKey, dict[str, float]]]:
    """Every function's own time (cProfile's tottime), split into categories.

    A function in a category's modules counts there. Code outside them (the standard library,
    built-ins such as sqlite3's ``execute``, pydantic, the canonical model, ``engine/ingest.py``)
    counts in its callers' category; time whose callers are all outside every category is
    "other". Parsing and mapping code called by outbound rendering (the 855 map's writer,
    delimiter helpers) counts as rendering.

    cProfile records caller -> callee pairs, not whole stacks, so a function called from several
    places is split by what each caller caused: its own time by the own time each caller caused,
    and the context it hands down to its callees by the cumulative time each caller caused. The
    contexts are solved as a fixed point over the call graph, so recursion (``deepcopy`` and
    ``_deepcopy_dict`` calling each other) takes the mix of whatever enters the cycle from
    outside. An approximation, close in practice.
    """
    keys = list(stats)
    index = {key: i for i, key in enumerate(keys)}
    width = len(CATEGORIES)
    other = CATEGORIES.index("other")
    rendering = CATEGORIES.index("rendering")
    own = [category_of(key[0]) for key in keys]

    def edges(column: int) -> list[list[tuple[int, float]]]:
        """Per function: (caller, weight) with the weight from column 2 (own) or 3 (cumulative)."""
        result = []
        for key in keys:
            callers = stats[key][4]
            pairs = [(index[c], float(v[column])) for c, v in callers.items() if c in index]
            if sum(w for _, w in pairs) <= 0:
                pairs = [(i, float(callers[keys[i]][1])) for i, _ in pairs]  # by call count
            result.append([(i, w) for i, w in pairs if w > 0])
        return result

    def settle(i: int, parent: list[float] | None) -> list[float]:
        """The function's own category applied over the context its callers give (None: a root)."""
        vector = [0.0] * width
        cat = own[i]
        if cat in STRONG:
            vector[CATEGORIES.index(cat)] = 1.0
            return vector
        if parent is None:
            vector[other] = 1.0
            return vector
        if cat in WEAK:
            vector[CATEGORIES.index(cat)] = 1.0 - parent[rendering]
            vector[rendering] = parent[rendering]
            return vector
        return parent

    def mixed(pairs: list[tuple[int, float]], down: list[list[float] | None]) -> list[float] | None:
        total = [0.0] * width
        for caller, weight in pairs:
            vector = down[caller]
            if vector is not None:
                for c in range(width):
                    total[c] += weight * vector[c]
        mass = sum(total)
        return [x / mass for x in total] if mass > 0 else None

    cumulative = edges(3)
    # The context each function hands its callees; None until some caller's context is known.
    down: list[list[float] | None] = [
        settle(i, None) if own[i] in STRONG or not cumulative[i] else None for i in range(len(keys))
    ]
    for _ in range(2000):
        change = 0.0
        for i in range(len(keys)):
            if own[i] in STRONG or not cumulative[i]:
                continue
            parent = mixed(cumulative[i], down)
            if parent is None:
                continue
            vector = settle(i, parent)
            previous = down[i]
            change = max(change, *(abs(a - b) for a, b in zip(vector, previous or [0.0] * width)))
            down[i] = vector
        if change < 1e-9:
            break

    totals: dict[str, float] = dict.fromkeys(CATEGORIES, 0.0)
    per_function: dict[FuncKey, dict[str, float]] = {}
    for i, (key, pairs) in enumerate(zip(keys, edges(2))):
        vector = settle(i, mixed(pairs, down) if pairs else None)
        per_function[key] = {cat: share for cat, share in zip(CATEGORIES, vector) if share > 0}
        for cat, share in zip(CATEGORIES, vector):
            totals[cat] += stats[key][2] * share
    return totals, per_function


def label(key: FuncKey) -> str:
    filename, line, name = key
    if filename == "~":
        return name  # a built-in, e.g. {method 'execute' of 'sqlite3.Cursor' objects}
    path = filename.replace(os.sep, "/")
    repo = str(REPO).replace(os.sep, "/") + "/"
    if path.startswith(repo):
        path = path[len(repo) :]
    elif "/site-packages/" in path:
        path = path.split("/site-packages/", 1)[1]
    elif "/lib/python" in path:
        path = "stdlib/" + path.split("/lib/python", 1)[1].split("/", 1)[1]
    return f"{path}:{line} {name}"


@dataclass
class Hot:
    label: str
    calls: int
    own: float
    cumulative: float
    category: str


@dataclass
class Profiled:
    wall: float  # the profiled run's wall time (inflated by the profiler)
    total: float  # seconds of own time cProfile counted
    shares: dict[str, float]  # category -> fraction of total
    by_self: list[Hot]
    by_cumulative: list[Hot]
    path: Path  # the saved profile (pstats format)


def profiled_ingest(runtime: Runtime, path: Path, save: Path) -> Profiled:
    profiler = cProfile.Profile()
    gc.collect()
    start = time.perf_counter()
    profiler.enable()
    report = ingest_file(runtime, path)
    profiler.disable()
    wall = time.perf_counter() - start
    assert report.status == "processed", report.messages
    profiler.dump_stats(str(save))
    stats: dict[FuncKey, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    totals, per_function = attribute(stats)
    total = sum(totals.values())
    shares = {cat: seconds / total for cat, seconds in totals.items()}

    def hot(key: FuncKey) -> Hot:
        _cc, nc, tt, ct, _ = stats[key]
        split = per_function.get(key, {})
        main = max(split, key=lambda c: split[c]) if split else "other"
        return Hot(label(key), nc, tt, ct, main)

    by_self = [hot(k) for k in sorted(stats, key=lambda k: stats[k][2], reverse=True)[:15]]
    repo = str(REPO)
    ours = [
        k
        for k in stats
        if k[0].startswith(repo) and "/.venv/" not in k[0] and "/bench/" not in k[0] and stats[k][3] < 0.9 * total
    ]
    by_cumulative = [hot(k) for k in sorted(ours, key=lambda k: stats[k][3], reverse=True)[:20]]
    return Profiled(wall, total, shares, by_self, by_cumulative, save)


# -- floors: what one parse and a bulk write of the same rows cost ---------------------------------
FLOOR_TABLES = (OrderRow, OrderLineRow, OrderEventRow, OutboundDocument)


@dataclass
class Floors:
    parse: float  # one X12Reader + validated_events pass over the file
    database: float  # the timed run's stored rows, written again by Core executemany in one transaction
    rows: dict[str, int]


def floors(backend: str, runtime: Runtime, path: Path, scratch: Path) -> Floors:
    """Two reference points for the shares: neither is part of the timed ingest."""
    gc.collect()
    start = time.perf_counter()
    sets = sum(1 for ev in validated_events(X12Reader(path)) if isinstance(ev, TransactionSet))
    parse = time.perf_counter() - start
    assert sets > 0
    with engine_of(runtime).connect() as connection:
        rows = {
            table.__tablename__: [dict(row._mapping) for row in connection.execute(select(table.__table__))]
            for table in FLOOR_TABLES
        }
    for document in rows[OutboundDocument.__tablename__]:
        document["interchange_id"] = None  # the interchange row is not copied
    with workspace(backend, scratch) as (root, url):
        target = open_runtime(root, url).runtime
        engine = engine_of(target)
        gc.collect()
        start = time.perf_counter()
        with engine.begin() as connection:
            for table in FLOOR_TABLES:
                connection.execute(insert(cast(Table, table.__table__)), rows[table.__tablename__])
        database = time.perf_counter() - start
        engine.dispose()
    return Floors(parse, database, {name: len(values) for name, values in rows.items()})


# -- the run -----------------------------------------------------------------------------------
@dataclass
class BackendResult:
    backend: str
    sets_per_interchange: int = 1  # Northwind's envelopes setting: 855s per interchange (and file)
    setup: float = 0.0
    runs: list[Timed] = field(default_factory=list)
    verified: Verified | None = None
    profile: Profiled | None = None
    floors: Floors | None = None
    skipped: str | None = None

    @property
    def best(self) -> Timed:
        return min(self.runs, key=lambda t: t.wall)

    @property
    def name(self) -> str:
        """The backend and how the 855s are enveloped, as the tables name a run."""
        if self.sets_per_interchange == 1:
            return f"{self.backend}, one 855 per interchange"
        return f"{self.backend}, {self.sets_per_interchange} 855s per interchange"


def run_backend(backend: str, sets_per_interchange: int, stats: FileStats, args: argparse.Namespace) -> BackendResult:
    result = BackendResult(backend, sets_per_interchange)
    for attempt in range(1, args.repeat + 1):
        with workspace(backend, args.workdir, sets_per_interchange) as (root, url):
            opened = open_runtime(root, url)
            timed = timed_ingest(opened.runtime, stats.path)
            print(
                f"  {result.name} run {attempt}: {timed.wall:.2f} s wall, {timed.cpu:.2f} s CPU, "
                f"{stats.transaction_sets / timed.wall:,.0f} orders/s, {timed.statements:,} SQL statements",
                flush=True,
            )
            result.verified = verify(opened.runtime, timed, stats, args.lines, sets_per_interchange)
            result.setup = opened.setup if attempt == 1 else min(result.setup, opened.setup)
            result.runs.append(timed)
            if attempt == 1 and not args.no_floors:
                result.floors = floors(backend, opened.runtime, stats.path, args.workdir)
                print(
                    f"  {result.name} floors: one read+validate pass {result.floors.parse:.2f} s; the stored rows "
                    f"by Core executemany {result.floors.database:.2f} s",
                    flush=True,
                )
            engine_of(opened.runtime).dispose()
    if not args.no_profile:
        with workspace(backend, args.workdir, sets_per_interchange) as (root, url):
            opened = open_runtime(root, url)
            save = args.workdir / f"ingest-{backend}-{sets_per_interchange}-{stats.transaction_sets}x{args.lines}.prof"
            result.profile = profiled_ingest(opened.runtime, stats.path, save)
            engine_of(opened.runtime).dispose()
        print(
            f"  {result.name} profiled run: {result.profile.wall:.2f} s wall under cProfile; saved {save}", flush=True
        )
    return result


def machine_facts(with_postgres: bool) -> list[str]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        memory = f", {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB RAM"
    except (ValueError, OSError):
        memory = ""
    facts = [
        f"nproc {nproc}" + (f" ({cpu})" if cpu else "") + memory,
        f"Python {platform.python_version()} ({platform.python_implementation()}), {platform.platform()}",
        f"SQLAlchemy {metadata.version('sqlalchemy')}, pydantic {metadata.version('pydantic')}, "
        f"SQLite {sqlite3.sqlite_version}, psycopg {metadata.version('psycopg')}"
        + (f", PostgreSQL server {postgres_version()} on 127.0.0.1 (same machine)" if with_postgres else ""),
        f"temporary files (workspaces, SQLite database, outbox) in {tempfile.gettempdir()}",
    ]
    facts.append(code_state())
    if hasattr(os, "getloadavg"):
        facts.append("load average at start " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return facts


def code_state() -> str:
    """The commit measured, and any uncommitted changes to the code the ingest runs."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "edi", "engine", "mappings"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "code: not a git checkout"
    if not changed:
        return f"code: commit {head}, no uncommitted changes in edi/, engine/, mappings/"
    names = ", ".join(f"`{line[3:]}`" for line in changed[:8]) + (", ..." if len(changed) > 8 else "")
    return f"code: commit {head} plus uncommitted changes in {names}"


def command_line(args: argparse.Namespace) -> str:
    parts = ["python -m bench.ingest", f"--pos {args.pos}", f"--lines {args.lines}"]
    if args.repeat != 1:
        parts.append(f"--repeat {args.repeat}")
    if args.no_postgres:
        parts.append("--no-postgres")
    if args.envelopes != [1, 500]:
        parts.append("--envelopes " + ",".join(str(n) for n in args.envelopes))
    return " ".join(parts)


def render(
    when: str, args: argparse.Namespace, facts: list[str], stats: FileStats, results: list[BackendResult]
) -> tuple[str, list[tuple[str, str, str]]]:
    pos = stats.transaction_sets
    out = [
        BEGIN,
        "",
        "### Last run",
        "",
        f"{when}; `{command_line(args)}`",
        "",
        *(f"- {fact}" for fact in facts),
        f"- input: {pos:,} POs x {args.lines} lines = {stats.segments:,} segments "
        f"({stats.transaction_sets:,} sets, {stats.groups} group, {stats.interchanges} interchange), "
        f"{stats.bytes / 1024:,.0f} KiB",
        "",
        f"Timed runs (no profiler; best of {args.repeat}; setup = `Runtime.open`, migrations included, not counted):",
        "",
        "| backend | ingest wall (s) | CPU (s) | orders/s | lines/s | SQL statements (per order) | setup (s) "
        "| verified |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        if r.skipped:
            out.append(f"| {r.name} | - | - | - | - | - | - | skipped: {r.skipped} |")
            continue
        best, v = r.best, r.verified
        assert v is not None
        runs = "" if len(r.runs) == 1 else " (runs: " + ", ".join(f"{t.wall:.2f}" for t in r.runs) + ")"
        out.append(
            f"| {r.name} | {best.wall:.2f}{runs} | {best.cpu:.2f} | {pos / best.wall:,.0f} | "
            f"{pos * args.lines / best.wall:,.0f} | {best.statements:,} ({best.statements / pos:.1f}) | "
            f"{r.setup:.2f} | {v.orders:,} orders and {v.lines:,} lines stored; {v.outbox_files:,} files in the "
            f"outbox: {v.outbox_sets['997']} 997 ({v.ack_status}, {v.ack_accepted:,} sets) + "
            f"{v.outbox_sets['855']:,} 855 sets, {v.outbox_findings} findings |"
        )
    with_floors = [r for r in results if r.floors is not None]
    if with_floors:
        out += [
            "",
            "Reference points, not part of the ingest: one `X12Reader` + `validated_events` pass over the file, "
            "and the rows the timed run stored (orders, lines, events, outbound documents with their content) "
            "written again into a fresh database by SQLAlchemy Core `executemany` in one transaction:",
            "",
            "| backend | one read + validate pass (s) | per order (ms) | rows | bulk write of those rows (s) "
            "| per order (ms) |",
            "| --- | ---: | ---: | --- | ---: | ---: |",
        ]
        for r in with_floors:
            f = r.floors
            assert f is not None
            counts = ", ".join(f"{n:,} {name}" for name, n in f.rows.items())
            out.append(
                f"| {r.name} | {f.parse:.2f} | {1000 * f.parse / pos:.2f} | {counts} | {f.database:.2f} | "
                f"{1000 * f.database / pos:.2f} |"
            )
    measured = [r for r in results if r.runs]
    if measured:
        out += [
            "",
            "Where the best timed run spent its time, per order (ms), each stage timed by wrapping the function "
            "that does it (no profiler; see `STAGES` in `bench/ingest.py`):",
            "",
            "| stage | " + " | ".join(r.name for r in measured) + " |",
            "| --- | " + " | ".join("---:" for _ in measured) + " |",
            *(
                f"| {label} | "
                + " | ".join(f"{1000 * r.best.stages.get(label, 0.0) / pos:.3f}" for r in measured)
                + " |"
                for label, _, _ in STAGES
            ),
            "| the rest: read and validate the file once, receive and commit, the pipeline | "
            + " | ".join(f"{1000 * (r.best.wall - sum(r.best.stages.values())) / pos:.3f}" for r in measured)
            + " |",
            "| **whole ingest** | " + " | ".join(f"**{1000 * r.best.wall / pos:.3f}**" for r in measured) + " |",
        ]
    if measured:
        kinds = sorted(
            {k for r in measured for k in r.best.kinds}, key=lambda k: -max(r.best.kinds[k] for r in measured)
        )
        out += [
            "",
            "SQL statements sent during the timed ingest, by what they do (a SQLAlchemy `before_cursor_execute` "
            "count; an executemany counts once):",
            "",
            "| statement | " + " | ".join(f"{r.name} | per order" for r in measured) + " |",
            "| --- | " + " | ".join("---: | ---:" for _ in measured) + " |",
            *(
                f"| `{k}` | "
                + " | ".join(f"{r.best.kinds[k]:,} | {r.best.kinds[k] / pos:.2f}" for r in measured)
                + " |"
                for k in kinds
            ),
        ]
    profiled = [r for r in results if r.profile is not None]
    if profiled:
        out += [
            "",
            "Share of the time, from a separate run of each backend under cProfile (own time per function, by "
            "module; library and built-in time counted in its caller's category; see above). The seconds column "
            "applies the share to the timed run's wall time, an estimate.",
            "",
            "| category | " + " | ".join(f"{r.name}: share | est. s" for r in profiled) + " |",
            "| --- | " + " | ".join("---: | ---:" for _ in profiled) + " |",
        ]
        for cat in CATEGORIES:
            cells = []
            for r in profiled:
                assert r.profile is not None
                share = r.profile.shares[cat]
                cells.append(f"{share:.1%} | {share * r.best.wall:.2f}")
            out.append(f"| {CATEGORY_NAMES[cat]} | " + " | ".join(cells) + " |")
        out.append(
            "| profiled run: wall (profiler overhead) | "
            + " | ".join(
                f"{r.profile.wall:.2f} s ({r.profile.wall / r.best.wall:.1f}x) | -" for r in profiled if r.profile
            )
            + " |"
        )
        for r in profiled:
            p = r.profile
            assert p is not None
            out += [
                "",
                f"Hot spots on {r.name}, by own time (profiled run, {p.total:.1f} s counted):",
                "",
                "| function | calls | own (s) | cumulative (s) | counted as |",
                "| --- | ---: | ---: | ---: | --- |",
                *(
                    f"| `{h.label}` | {h.calls:,} | {h.own:.2f} | {h.cumulative:.2f} | {h.category} |"
                    for h in p.by_self[: 15 if r is profiled[0] else 8]
                ),
            ]
            if r is profiled[0]:
                out += [
                    "",
                    f"Engine functions by cumulative time on {r.name} (profiled run; `ingest_file` and `_process`, "
                    "which hold everything, left out):",
                    "",
                    "| function | calls | cumulative (s) | share of run | per call (ms) |",
                    "| --- | ---: | ---: | ---: | ---: |",
                    *(
                        f"| `{h.label}` | {h.calls:,} | {h.cumulative:.2f} | {h.cumulative / p.total:.0%} | "
                        f"{1000 * h.cumulative / max(h.calls, 1):.2f} |"
                        for h in p.by_cumulative
                    ),
                ]
    checks: list[tuple[str, str, str]] = []
    for r in results:
        if r.backend == "sqlite":
            target = f"{r.name}: >= {TARGET_SQLITE:,} orders/s"
            if r.skipped or not r.runs:
                checks.append((target, "not measured", "SKIP"))
            else:
                rate = pos / r.best.wall
                verdict = "PASS" if rate >= TARGET_SQLITE else "FAIL"
                gap = "" if rate >= TARGET_SQLITE else f", {TARGET_SQLITE / rate:.1f}x short"
                checks.append((target, f"{rate:,.0f} orders/s{gap}", verdict))
        elif r.runs:
            checks.append((f"{r.name} (no target; reported)", f"{pos / r.best.wall:,.0f} orders/s", "INFO"))
    out += ["", "Target:", "", "| target | measured | result |", "| --- | --- | --- |"]
    out += [f"| {target} | {measured} | {verdict} |" for target, measured, verdict in checks]
    out += ["", END, ""]
    return "\n".join(out), checks


def write_readme(section: str) -> None:
    text = README.read_text() if README.exists() else "# Benchmarks\n\n"
    if BEGIN in text and END in text:
        head = text[: text.index(BEGIN)]
        tail = text[text.index(END) + len(END) :].lstrip("\n")
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    README.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--pos", type=int, default=1000, help="purchase orders in the file (default 1000)")
    parser.add_argument("--lines", type=int, default=10, help="PO1 lines per purchase order (default 10)")
    parser.add_argument("--seed", type=int, default=850)
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per backend, each on a fresh workspace")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--envelopes",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 500],
        help="Northwind's 855s per interchange, one run each (default 1,500: one per document, and bundled)",
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the profiled runs (no shares)")
    parser.add_argument("--no-floors", action="store_true", help="skip the parse and bulk-write reference points")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/README.md alone")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "edi-engine-bench", help="where the files go"
    )
    args = parser.parse_args(argv)
    if args.pos < 1 or args.lines < 1 or args.repeat < 1:
        parser.error("--pos, --lines and --repeat must be at least 1")
    args.workdir.mkdir(parents=True, exist_ok=True)

    backends = ["sqlite"] if args.no_postgres else ["sqlite", "postgresql"]
    problem = None if args.no_postgres else postgres_problem()
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    facts = machine_facts(with_postgres="postgresql" in backends and problem is None)
    stats = northwind_file(args.workdir, args.pos, args.lines, args.seed)
    assert stats.segments == stats.transaction_sets * segments_per_po(args.lines) + 2 * (
        stats.groups + stats.interchanges
    )
    print(f"input: {stats.path} ({stats.transaction_sets:,} POs, {stats.segments:,} segments, {stats.bytes:,} bytes)")

    results: list[BackendResult] = []
    for backend in backends:
        if backend == "postgresql" and problem is not None:
            print(f"  postgresql: skipped: {problem}")
            results.append(BackendResult(backend, skipped=problem))
            continue
        for sets_per_interchange in args.envelopes:
            results.append(run_backend(backend, sets_per_interchange, stats, args))

    section, checks = render(when, args, facts, stats, results)
    print()
    print(section)
    for target, measured, verdict in checks:
        print(f"{verdict:4}  {target}: {measured}")
    if not args.no_write:
        write_readme(section)
        print(f"wrote {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
