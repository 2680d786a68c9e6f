"""The portal's Orders page queries on a large database: SQLite and PostgreSQL, 1,000,000 orders by default.

    python -m bench.portal_orders [--orders 1000000] [--repeat 40] [--no-postgres] [--no-sqlite]
                                  [--no-compare] [--no-write] [--workdir DIR]

For each backend this makes a fresh database (a SQLite file, or a throwaway PostgreSQL database it
creates and drops), migrates it, and fills it directly, in bulk (``engine.db.bulk.insert_many`` on
SQLite, ``COPY`` on PostgreSQL): 20 partners in 4 organisations, ``--orders`` orders with 3 lines on
average in every status, 1% of them test orders. The counters are rebuilt with ``recount`` (timed).
Then it calls the query functions of ``engine.order_queries`` directly, each in a session of its
own as a request would, and reports p50/p95 of: the first page of each tab, a PO search (exact, a
prefix matching about 100 orders, a prefix matching a partner's every order), a month of order
dates, page 200 by keyset, and the tab counts, for an organisation's user (5 partners, a third of
the orders) and an administrator (all 20).

With ``--compare`` (the default) each backend is measured twice: with the indexes the migrations
make, and again after adding the indexes ``PROPOSED`` names (unless the migrations already make
them). The plans of the main queries (``EXPLAIN QUERY PLAN`` / ``EXPLAIN ANALYZE``) are kept with
the figures. Results go to the portal section of bench/README.md (``--no-write`` leaves it alone).
A benchmark, not a test: the 150 ms target is for the later HTTP measurement and is reported only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from bench.ingest import machine_facts, postgres_problem, scratch_postgres
from engine.db.bulk import insert_many
from engine.db.migrate import upgrade
from engine.db.order_counters import counters_match, recount
from engine.db.session import make_engine, make_sessions, unit_of_work
from engine.db.tables import OrderLineRow, OrderRow
from engine.db.types import JsonText
from engine.model import OrderStatus
from engine.order_queries import TABS, order_page, tab_counts

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
BEGIN = "<!-- portal-orders-results:begin (written by python -m bench.portal_orders; edit above this line) -->"
END = "<!-- portal-orders-results:end -->"

TARGET_MS = 150.0  # p95, for the Orders page over HTTP (measured later); the queries alone are reported against it

#: The indexes the Orders page needs beyond those of the migrations (asked for in the migration).
PROPOSED: tuple[tuple[str, str, str], ...] = (
    # (name, table, column list as CREATE INDEX takes it; PostgreSQL's operator class dropped on SQLite)
    ("ix_orders_partner_id_test_status_id", "orders", "partner_id, test, status, id"),
    ("ix_orders_partner_id_test_id", "orders", "partner_id, test, id"),
    ("ix_orders_partner_id_test_po_number", "orders", "partner_id, test, po_number text_pattern_ops"),
    ("ix_outbound_documents_order_id", "outbound_documents", "order_id"),
)

PARTNERS = [f"p{n:02d}" for n in range(1, 21)]
#: Orders per partner, relative: a few large retailers and a tail of small ones.
WEIGHTS = [10, 8, 6, 5, 4, *([67 / 15] * 15)]
ORGANISATIONS = {"acme": PARTNERS[:5], "globex": PARTNERS[5:10], "initech": PARTNERS[10:15], "umbrella": PARTNERS[15:]}
#: How orders spread over the statuses (an engine that has run a while: most are shipped).
STATUS_SHARE = {
    OrderStatus.SHIPPED: 0.60, OrderStatus.ACKNOWLEDGED: 0.15, OrderStatus.NEW: 0.09, OrderStatus.CANCELLED: 0.06,
    OrderStatus.BACKORDERED: 0.04, OrderStatus.PARTIALLY_SHIPPED: 0.04, OrderStatus.RETAILER_CANCEL_PENDING: 0.02,
}  # fmt: skip
START = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
CHUNK = 20_000


# -- the data ---------------------------------------------------------------------------------------
def po_of(partner: str, number: int) -> str:
    return f"{partner.upper()}-{number:08d}"


def generate(count: int, seed: int) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each order's columns (id 1..count, in arrival order) and its lines' columns."""
    rng = random.Random(seed)
    statuses, shares = list(STATUS_SHARE), list(STATUS_SHARE.values())
    numbers = dict.fromkeys(PARTNERS, 0)
    for order_id in range(1, count + 1):
        partner = rng.choices(PARTNERS, WEIGHTS)[0]
        numbers[partner] += 1
        status = rng.choices(statuses, shares)[0]
        test = rng.random() < 0.01
        created = START + dt.timedelta(seconds=order_id * 60)  # about two years for a million
        order_date = created.date() - dt.timedelta(days=rng.randrange(3))
        lines = [_line(rng, position, status) for position in range(1, rng.choice((1, 2, 3, 3, 4, 5)) + 1)]
        total = sum((line["ordered_qty"] * line.pop("price") for line in lines), Decimal(0))
        po = po_of(partner, numbers[partner])
        retailer = None if rng.random() < 0.5 else f"Store {rng.randrange(1, 400)}"
        document = {
            "partner_id": partner, "po_number": po, "order_date": order_date.isoformat(), "test": test,
            "acknowledged": status is not OrderStatus.NEW,
            "parties": [{"role": "ship_to", "name": f"Customer {order_id}", "address": {"lines": ["1 Main St"]}}],
            "lines": [{"line_number": str(line["position"]), "ordered_qty": str(line["ordered_qty"])} for line in lines],
        }  # fmt: skip
        yield (
            {
                "id": order_id, "partner_id": partner, "po_number": po, "test": test, "status": status,
                "order_date": order_date, "ship_by_date": order_date + dt.timedelta(days=14), "retailer": retailer,
                "total": total, "ordered_qty": sum(line["ordered_qty"] for line in lines),
                "open_qty": sum(line["open_qty"] for line in lines), "acknowledged": status is not OrderStatus.NEW,
                "document": JsonText(json.dumps(document)), "version": 1, "created_at": created, "updated_at": created,
            },
            [{"order_id": order_id, **line} for line in lines],
        )  # fmt: skip


def _line(rng: random.Random, position: int, status: OrderStatus) -> dict[str, Any]:
    """A line whose quantities give the order ``status`` (the first line carries the difference)."""
    ordered = Decimal(rng.randrange(2, 24))
    cancelled = backordered = shipped = pending = Decimal(0)
    line_status = "open"
    if status is OrderStatus.SHIPPED or (status is OrderStatus.PARTIALLY_SHIPPED and position > 1):
        shipped, line_status = ordered, "shipped"
    elif status is OrderStatus.PARTIALLY_SHIPPED:
        shipped, line_status = Decimal(1), "partially_shipped"
    elif status is OrderStatus.CANCELLED:
        cancelled, line_status = ordered, "cancelled"
    elif status is OrderStatus.BACKORDERED and position == 1:
        backordered, line_status = Decimal(1), "backordered"
    elif status is OrderStatus.RETAILER_CANCEL_PENDING and position == 1:
        pending, line_status = ordered, "cancel_pending"
    return {
        "position": position, "line_number": str(position), "ordered_qty": ordered, "cancelled_qty": cancelled,
        "backordered_qty": backordered, "shipped_qty": shipped, "pending_cancel_qty": pending,
        "open_qty": ordered - cancelled - shipped, "status": line_status,
        "price": Decimal(rng.randrange(100, 9000)) / 100,
    }  # fmt: skip


def fill(sessions: sessionmaker[Session], backend: str, count: int, seed: int) -> tuple[float, float, int]:
    """The partners, orders and lines, in bulk; then the counters (``recount``). Seconds to load, seconds
    to recount, and how many lines."""
    with unit_of_work(sessions) as uow:
        for organisation, partners in ORGANISATIONS.items():
            for partner in partners:
                uow.partners.save(partner, name=f"Retailer {partner.upper()}", organisation_id=organisation)
    start = time.perf_counter()
    lines = 0
    rows = generate(count, seed)
    while True:
        chunk = [row for _, row in zip(range(CHUNK), rows, strict=False)]
        if not chunk:
            break
        orders = [order for order, _ in chunk]
        order_lines = [line for _, each in chunk for line in each]
        lines += len(order_lines)
        with unit_of_work(sessions) as uow:
            if backend == "postgresql":
                _copy(uow.session, "orders", orders)
                _copy(uow.session, "order_lines", order_lines)
            else:
                insert_many(uow.session, cast(Table, OrderRow.__table__), orders)
                insert_many(uow.session, cast(Table, OrderLineRow.__table__), order_lines)
        print(f"\r    {orders[-1]['id']:,} orders", end="", flush=True)
    print()
    loaded = time.perf_counter() - start
    with unit_of_work(sessions) as uow:
        if backend == "postgresql":  # ids given here: the sequence goes on after them
            uow.session.execute(text("SELECT setval('orders_id_seq', (SELECT max(id) FROM orders))"))
            uow.session.execute(text("SELECT setval('order_lines_id_seq', (SELECT max(id) FROM order_lines))"))
    start = time.perf_counter()
    with unit_of_work(sessions) as uow:
        recount(uow.session)
    return loaded, time.perf_counter() - start, lines


def _copy(session: Session, table: str, rows: list[dict[str, Any]]) -> None:
    """``COPY table (...) FROM STDIN`` through psycopg, the PostgreSQL way to load many rows."""
    names = list(rows[0])
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([getattr(row[name], "value", row[name]) for name in names])


def add_proposed_indexes(engine: Engine) -> float:
    """The ``PROPOSED`` indexes the migrations do not make yet; the seconds it took."""
    existing = {ix["name"] for table in ("orders", "outbound_documents") for ix in inspect(engine).get_indexes(table)}
    start = time.perf_counter()
    with engine.begin() as connection:
        for name, table, columns in PROPOSED:
            if name not in existing:
                if engine.dialect.name != "postgresql":
                    columns = columns.replace(" text_pattern_ops", "")
                connection.execute(text(f"CREATE INDEX {name} ON {table} ({columns})"))
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE orders"))
    return time.perf_counter() - start


def missing_indexes(engine: Engine) -> list[str]:
    existing = {ix["name"] for table in ("orders", "outbound_documents") for ix in inspect(engine).get_indexes(table)}
    return [name for name, _, _ in PROPOSED if name not in existing]


# -- the measurements ----------------------------------------------------------------------------------
@dataclass
class Measured:
    label: str
    who: str  # organisation or administrator
    times: list[float] = field(default_factory=list)  # seconds
    rows: int = 0  # items on the page (or counts returned)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.times)
        return 1000 * ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass
class Phase:
    name: str  # "as migrated", "with the proposed indexes"
    measured: list[Measured]
    plans: dict[str, str]


def measure(
    sessions: sessionmaker[Session], label: str, who: str, call: Callable[[Session, int], int], repeat: int
) -> Measured:
    """``call`` ``repeat`` times (after one warm-up), each in a session of its own, or fewer when it is slow
    (at least 5 times, until 20 seconds are spent)."""
    result = Measured(label, who)
    with sessions() as session:
        call(session, -1)
    spent = 0.0
    for attempt in range(repeat):
        start = time.perf_counter()
        with sessions() as session:
            result.rows = call(session, attempt)
        elapsed = time.perf_counter() - start
        result.times.append(elapsed)
        spent += elapsed
        if attempt >= 4 and spent > 20:
            break
    return result


def run_phase(name: str, engine: Engine, sessions: sessionmaker[Session], args: argparse.Namespace) -> Phase:
    organisation = ORGANISATIONS["acme"]
    administrator = PARTNERS
    rng = random.Random(7)
    with sessions() as session:
        known = [
            po for (po,) in session.execute(
                text("SELECT po_number FROM orders WHERE partner_id IN ('p01', 'p03') AND test = :t ORDER BY id"),
                {"t": False},
            ).all()[:: max(1, args.orders // 5000)]
        ]  # fmt: skip
    exact = [rng.choice(known) for _ in range(args.repeat + 1)]
    hundred = [po[:-2] for po in exact]  # PO numbers are per partner and 8 digits: the last two vary
    whole = [po.split("-")[0] + "-" for po in exact]
    month_from, month_to = dt.date(2024, 3, 1), dt.date(2024, 3, 31)
    cursor_200 = {}
    for who, visible in (("organisation", organisation), ("administrator", administrator)):
        after = None
        with sessions() as session:
            for _ in range(199):
                after = order_page(session, visible, after=after).next_cursor
        cursor_200[who] = after

    def page_of(visible: list[str], **query: Any) -> Callable[[Session, int], int]:
        return lambda session, _: len(order_page(session, visible, **query).items)

    def searched(visible: list[str], values: list[str]) -> Callable[[Session, int], int]:
        return lambda session, n: len(order_page(session, visible, po=values[n]).items)

    runs: list[tuple[str, str, Callable[[Session, int], int]]] = []
    for who, visible in (("organisation", organisation), ("administrator", administrator)):
        runs += [(f"first page, tab {tab}", who, page_of(visible, tab=tab)) for tab in TABS]
    for who, visible in (("organisation", organisation), ("administrator", administrator)):
        runs += [
            ("PO search, exact", who, searched(visible, exact)),
            ("PO search, prefix of about 100", who, searched(visible, hundred)),
            ("PO search, prefix of a partner's every PO", who, searched(visible, whole)),
            ("order dates in one month, tab all", who, page_of(visible, order_date_from=month_from, order_date_to=month_to)),
            ("page 200 by keyset, tab all", who, page_of(visible, after=cursor_200[who])),
            ("tab counts", who, lambda session, _, v=visible: len(tab_counts(session, v))),
        ]  # fmt: skip
    measured = []
    for label, who, call in runs:
        result = measure(sessions, label, who, call, args.repeat)
        print(f"    {label} ({who}): p50 {result.percentile(0.5):.1f} ms, p95 {result.percentile(0.95):.1f} ms")
        measured.append(result)
    two = organisation[:2]  # two partners of the organisation: a plan shows one branch per partner
    plans = explain(engine, sessions, {
        "tab new, two partners": lambda s: order_page(s, two, tab="new"),
        "PO prefix of about 100, two partners": lambda s: order_page(s, two, po=hundred[0]),
        "page 200, two partners": lambda s: order_page(s, two, after=cursor_200["organisation"]),
        "order dates in one month, two partners": lambda s: order_page(s, two, order_date_from=month_from,
                                                                       order_date_to=month_to),
    })  # fmt: skip
    return Phase(name, measured, plans)


def explain(
    engine: Engine, sessions: sessionmaker[Session], calls: dict[str, Callable[[Session], Any]]
) -> dict[str, str]:
    """The plan of each call's queries on orders (the statements it sends, explained with their parameters)."""
    plans = {}
    for label, call in calls.items():
        seen: list[tuple[str, Any]] = []

        def keep(
            _c: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool,
            seen: list[tuple[str, Any]] = seen,
        ) -> None:  # fmt: skip
            if "FROM orders" in statement:
                seen.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", keep)
        try:
            with sessions() as session:
                call(session)
        finally:
            event.remove(engine, "before_cursor_execute", keep)
        prefix = (
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) "
            if engine.dialect.name == "postgresql"
            else "EXPLAIN QUERY PLAN "
        )
        lines = []
        with engine.connect() as connection:
            for statement, parameters in seen:
                result = connection.exec_driver_sql(prefix + statement, parameters)
                rows = result.all()
                lines += [str(row[0]) if engine.dialect.name == "postgresql" else f"{'  ' * _depth(row, rows)}{row[-1]}"
                          for row in rows]  # fmt: skip
                lines.append("")
        plans[label] = "\n".join(lines).strip()
    return plans


def _depth(row: Any, rows: list[Any]) -> int:
    """How deep a SQLite plan row sits (its parent chain)."""
    parents = {r[0]: r[1] for r in rows}
    depth, parent = 0, row[1]
    while parent in parents:
        depth, parent = depth + 1, parents[parent]
    return depth


# -- a backend ------------------------------------------------------------------------------------------
@dataclass
class BackendResult:
    backend: str
    orders: int = 0
    lines: int = 0
    load: float = 0.0
    recount: float = 0.0
    index: float = 0.0
    size: str = ""
    phases: list[Phase] = field(default_factory=list)
    skipped: str | None = None


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "postgresql":
        with scratch_postgres() as url:
            yield url
        return
    folder = Path(tempfile.mkdtemp(prefix="portal-orders-", dir=workdir))
    try:
        yield f"sqlite:///{folder / 'engine.db'}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_backend(backend: str, args: argparse.Namespace) -> BackendResult:
    result = BackendResult(backend, orders=args.orders)
    with database(backend, args.workdir) as url:
        upgrade(url)
        engine = make_engine(url)
        sessions = make_sessions(engine)
        try:
            print(f"  {backend}: loading {args.orders:,} orders")
            result.load, result.recount, result.lines = fill(sessions, backend, args.orders, args.seed)
            with sessions() as session:
                assert counters_match(session) == [], "the counters do not match the orders"
            if backend == "postgresql":
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    connection.execute(text("VACUUM ANALYZE"))
                    result.size = connection.execute(
                        text("SELECT pg_size_pretty(pg_database_size(current_database()))")
                    ).scalar_one()
            print(f"  {backend}: loaded in {result.load:.0f} s, recounted in {result.recount:.2f} s")
            missing = missing_indexes(engine)
            if args.compare and missing:
                print(f"  {backend}: as migrated (without {', '.join(missing)})")
                result.phases.append(run_phase("as migrated", engine, sessions, args))
            if missing:
                result.index = add_proposed_indexes(engine)
                print(f"  {backend}: added the proposed indexes in {result.index:.0f} s")
            result.phases.append(
                run_phase("with the proposed indexes" if missing else "as migrated", engine, sessions, args)
            )
            if backend == "sqlite":
                result.size = f"{Path(url[len('sqlite:///') :]).stat().st_size / 2**30:.2f} GiB"
        finally:
            engine.dispose()
    return result


# -- the report -------------------------------------------------------------------------------------------
def command_line(args: argparse.Namespace) -> str:
    parts = ["python -m bench.portal_orders", f"--orders {args.orders}", f"--repeat {args.repeat}"]
    parts += [flag for flag, on in (("--no-postgres", args.no_postgres), ("--no-sqlite", args.no_sqlite),
                                    ("--no-compare", not args.compare)) if on]  # fmt: skip
    return " ".join(parts)


def render(when: str, args: argparse.Namespace, facts: list[str], results: list[BackendResult]) -> str:
    out = [BEGIN, "", "### Last run", "", f"{when}; `{command_line(args)}`", "", *(f"- {fact}" for fact in facts), ""]
    out += ["| backend | orders | lines | bulk load (s) | `recount` (s) | proposed indexes built (s) | database size |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for r in results:
        if r.skipped:
            out.append(f"| {r.backend} | skipped: {r.skipped} | | | | | |")
        else:
            out.append(f"| {r.backend} | {r.orders:,} | {r.lines:,} | {r.load:.0f} | {r.recount:.2f} | "
                       f"{r.index:.0f} | {r.size} |")  # fmt: skip
    columns = [(r, phase) for r in results for phase in r.phases]
    if columns:
        out += [
            "",
            f"Milliseconds per call, p50 / p95 of {args.repeat} calls (fewer for a call slower than half a second), "
            "each in a session of its own; organisation = 5 partners with a third of the orders, "
            "administrator = all 20 partners:",
            "",
            "| query | who | " + " | ".join(f"{r.backend}, {phase.name}" for r, phase in columns) + " |",
            "| --- | --- | " + " | ".join("---:" for _ in columns) + " |",
        ]
        for index, first in enumerate(columns[0][1].measured):
            cells = []
            for _, phase in columns:
                m = phase.measured[index]
                p95 = m.percentile(0.95)
                mark = "" if p95 < TARGET_MS else " **over 150**"
                cells.append(f"{m.percentile(0.5):.1f} / {p95:.1f}{mark}")
            out.append(f"| {first.label} | {first.who} | " + " | ".join(cells) + " |")
    for r, phase in columns:
        if phase.name == "as migrated" and len(r.phases) > 1:
            continue
        out += ["", f"<details><summary>Plans on {r.backend}, {phase.name}</summary>", ""]
        for label, plan in phase.plans.items():
            out += [f"{label}:", "", "```", plan, "```", ""]
        out += ["</details>"]
    out += ["", END, ""]
    return "\n".join(out)


def write_readme(section: str) -> None:
    text_ = README.read_text()
    if BEGIN in text_ and END in text_:
        text_ = text_[: text_.index(BEGIN)] + section + text_[text_.index(END) + len(END) :].lstrip("\n")
    else:
        text_ = text_.rstrip("\n") + "\n\n" + section
    README.write_text(text_)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders in the database (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=40, help="calls per measurement (default 40)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-compare", dest="compare", action="store_false",
                        help="measure only with the proposed indexes")  # fmt: skip
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/README.md alone")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "edi-engine-bench")
    args = parser.parse_args(argv)
    if args.orders < 1000 or args.repeat < 5:
        parser.error("--orders must be at least 1000 and --repeat at least 5")
    args.workdir.mkdir(parents=True, exist_ok=True)
    backends = [b for b, off in (("sqlite", args.no_sqlite), ("postgresql", args.no_postgres)) if not off]
    problem = postgres_problem() if "postgresql" in backends else None
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    facts = machine_facts(with_postgres="postgresql" in backends and problem is None)
    results = []
    for backend in backends:
        if backend == "postgresql" and problem is not None:
            print(f"  postgresql: skipped: {problem}")
            results.append(BackendResult(backend, skipped=problem))
            continue
        results.append(run_backend(backend, args))
    section = render(when, args, facts, results)
    print()
    print(section)
    if not args.no_write:
        write_readme(section)
        print(f"wrote {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
