"""The order commands of `edi-engine`: a workspace, ingesting files, and acting on orders.

Every command takes ``--json``; errors go to standard error with exit status 1 (a refused
action, an unknown order) or 2 (bad usage, no workspace).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select

from engine.config import CONFIG_NAME, DEFAULT_CONFIG, ConfigError
from engine.db.session import unit_of_work
from engine.db.tables import OutboundDocument
from engine.ingest import ingest_file
from engine.model import CancelReason, OrderStatus
from engine.rules import RuleRefused
from engine.runtime import Runtime
from engine.services import (
    NotFoundError,
    acknowledge,
    acknowledge_cancels,
    answer_changes,
    cancel,
    cancel_bulk,
    list_orders,
    mark_backordered,
    refuse_cancel,
    show_order,
)
from mappings.profiles import EXAMPLES_DIR, ProfileError

Handler = Callable[[argparse.Namespace, TextIO], int]


def _runtime(args: argparse.Namespace) -> Runtime:
    return Runtime.open(Path(args.workspace))


def _emit(args: argparse.Namespace, out: TextIO, data: Any, text: Callable[[Any], str]) -> None:
    if args.json:
        print(json.dumps(data, indent=2, default=str), file=out)
    else:
        print(text(data), file=out)


def _guarded(handler: Handler) -> Handler:
    """Turn the errors people cause into one line on stderr and an exit status."""

    def run(args: argparse.Namespace, out: TextIO) -> int:
        try:
            return handler(args, out)
        except (RuleRefused, NotFoundError) as refusal:
            print(f"edi-engine: {refusal}", file=sys.stderr)
            return 1
        except (ConfigError, ProfileError) as problem:
            print(f"edi-engine: {problem}", file=sys.stderr)
            return 2

    return run


# -- workspace and ingest ------------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace, out: TextIO) -> int:
    root = Path(args.dir)
    root.mkdir(parents=True, exist_ok=True)
    config = root / CONFIG_NAME
    if not config.exists():
        config.write_text(DEFAULT_CONFIG)
    partners = root / "partners"
    if not partners.exists():
        shutil.copytree(EXAMPLES_DIR, partners, ignore=shutil.ignore_patterns("__pycache__"))
    runtime = Runtime.open(root)
    data = {
        "workspace": str(root.resolve()),
        "database": runtime.workspace.database_url,
        "partners": sorted(runtime.partners),
    }
    _emit(args, out, data, lambda d: f"workspace {d['workspace']}: partners {', '.join(d['partners'])}")
    return 0


def cmd_ingest(args: argparse.Namespace, out: TextIO) -> int:
    runtime = _runtime(args)
    reports = [ingest_file(runtime, Path(name)).as_dict() for name in args.files]

    def text(items: list[dict[str, Any]]) -> str:
        lines = []
        for report in items:
            lines.append(f"{report['file']}: {report['status']} ({report['partner_id'] or 'no partner'})")
            lines += [
                f"  set {s['set']} {s['control_number']}: {s['status']}"
                + (f" — {s['reason']}" if s.get("reason") else "")
                for s in report["sets"]
            ]
            lines += [f"  wrote {d}" for d in report["documents"]]
            lines += [f"  {m}" for m in report["messages"]]
        return "\n".join(lines)

    _emit(args, out, reports, text)
    return 0 if all(r["status"] in ("processed", "duplicate") for r in reports) else 1


# -- orders ------------------------------------------------------------------------------------------
def cmd_orders_list(args: argparse.Namespace, out: TextIO) -> int:
    runtime = _runtime(args)
    rows = list_orders(runtime, statuses=args.status or (), partner_id=args.partner, po_prefix=args.po)

    def text(items: list[dict[str, Any]]) -> str:
        head = f"{'PO':<20} {'partner':<12} {'status':<24} {'open/ordered':>14} {'total':>12}"
        body = [
            f"{r['po_number']:<20} {r['partner_id']:<12} {r['status']:<24} "
            f"{r['open_qty'] + '/' + r['ordered_qty']:>14} {r['total'] or '':>12}"
            for r in items
        ]
        return "\n".join([head, *body]) if body else "no orders"

    _emit(args, out, rows, text)
    return 0


def cmd_orders_show(args: argparse.Namespace, out: TextIO) -> int:
    order = show_order(_runtime(args), args.po, args.partner)

    def text(o: dict[str, Any]) -> str:
        lines = [f"PO {o['po_number']} ({o['partner_id']}): {o['status']}"]
        for line in o["lines"]:
            backorder = (
                f" backordered {line['backordered_qty']} until {line['backorder_ship_date']}"
                if line["backorder_ship_date"]
                else ""
            )
            lines.append(
                f"  line {line['line_number']}: ordered {line['ordered_qty']} {line['uom']}, open {line['open_qty']}, "
                f"cancelled {line['cancelled_qty']}, shipped {line['shipped_qty']}{backorder} [{line['status']}]"
            )
        lines += [
            f"  {e['at']} {e['kind']} by {e['actor']['kind']}" + (f" ({e['reason']})" if e["reason"] else "")
            for e in o["events"]
        ]
        return "\n".join(lines)

    _emit(args, out, order, text)
    return 0


def _lines(args: argparse.Namespace) -> dict[str, tuple[Decimal, CancelReason | None]] | None:
    if not args.line:
        return None
    if len(args.qty or []) != len(args.line):
        raise NotFoundError("give one --qty for every --line")
    reasons = list(args.line_reason or [])
    out: dict[str, tuple[Decimal, CancelReason | None]] = {}
    for index, (line, qty) in enumerate(zip(args.line, args.qty, strict=True)):
        reason = CancelReason(reasons[index]) if index < len(reasons) and reasons[index] else None
        out[line] = (_decimal(qty), reason)
    return out


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise NotFoundError(f"{text!r} is not a quantity") from exc


def _action_text(result: dict[str, Any]) -> str:
    lines = [f"PO {result['po_number']} ({result['partner_id']}): {result['status']}"]
    lines += [f"  wrote {d}" for d in result["documents"]]
    return "\n".join(lines)


def cmd_orders_cancel(args: argparse.Namespace, out: TextIO) -> int:
    runtime = _runtime(args)
    reason = CancelReason(args.reason)
    if args.bulk:
        bulk = cancel_bulk(runtime, args.po, reason=reason, who=args.user)

        def text(d: dict[str, Any]) -> str:
            ok = [f"cancelled {c['po_number']} ({c['partner_id']})" for c in d["cancelled"]]
            bad = [f"refused {r['po_number']}: {r['reason']}" for r in d["refused"]]
            return "\n".join(ok + bad)

        _emit(args, out, bulk.as_dict(), text)
        return 1 if bulk.refused else 0
    if len(args.po) != 1:
        raise NotFoundError("name one PO, or use --bulk for several")
    result = cancel(runtime, args.po[0], reason=reason, lines=_lines(args), partner_id=args.partner, who=args.user)
    _emit(args, out, result.as_dict(), _action_text)
    return 0


def cmd_orders_backorder(args: argparse.Namespace, out: TextIO) -> int:
    result = mark_backordered(
        _runtime(args), args.po, line=args.line, ship_date=date.fromisoformat(args.ship_date),
        qty=_decimal(args.qty) if args.qty else None, partner_id=args.partner, who=args.user,
    )  # fmt: skip
    _emit(args, out, result.as_dict(), _action_text)
    return 0


def cmd_orders_ack(args: argparse.Namespace, out: TextIO) -> int:
    result = acknowledge(_runtime(args), args.po, partner_id=args.partner, who=args.user)
    _emit(args, out, result.as_dict(), _action_text)
    return 0


def cmd_cancels_list(args: argparse.Namespace, out: TextIO) -> int:
    rows = list_orders(_runtime(args), statuses=["retailer_cancel_pending"])
    _emit(args, out, rows, lambda items: "\n".join(f"{r['po_number']} ({r['partner_id']})" for r in items) or "none")
    return 0


def cmd_cancels_ack(args: argparse.Namespace, out: TextIO) -> int:
    runtime = _runtime(args)
    results = [acknowledge_cancels(runtime, po, who=args.user).as_dict() for po in args.po]
    _emit(args, out, results, lambda items: "\n".join(_action_text(r) for r in items))
    return 0


def cmd_cancels_refuse(args: argparse.Namespace, out: TextIO) -> int:
    result = refuse_cancel(_runtime(args), args.po, reason=args.reason, who=args.user)
    _emit(args, out, result.as_dict(), _action_text)
    return 0


def cmd_changes_answer(args: argparse.Namespace, out: TextIO) -> int:
    result = answer_changes(_runtime(args), args.po, accept=args.answer == "accept", lines=args.line, who=args.user)
    _emit(args, out, result.as_dict(), _action_text)
    return 0


def cmd_outbox_list(args: argparse.Namespace, out: TextIO) -> int:
    runtime = _runtime(args)
    with unit_of_work(runtime.sessions) as uow:
        rows = [
            {
                "id": d.id,
                "partner": d.partner_id,
                "kind": d.kind,
                "status": d.status,
                "file": d.file_name,
                "created_at": d.created_at,
            }
            for d in uow.session.scalars(select(OutboundDocument).order_by(OutboundDocument.id))
        ]
    _emit(
        args,
        out,
        rows,
        lambda items: (
            "\n".join(f"{r['id']:>5} {r['partner']:<12} {r['kind']:<4} {r['status']:<9} {r['file']}" for r in items)
            or "none"
        ),
    )
    return 0


def cmd_quarantine_list(args: argparse.Namespace, out: TextIO) -> int:
    runtime = _runtime(args)
    with unit_of_work(runtime.sessions) as uow:
        rows = [
            {"id": q.id, "interchange": q.interchange_id, "reason": q.reason} for q in uow.interchanges.quarantined()
        ]
    _emit(
        args,
        out,
        rows,
        lambda items: "\n".join(f"{r['id']:>5} interchange {r['interchange']}: {r['reason']}" for r in items) or "none",
    )
    return 0


def add_commands(commands: Any) -> None:
    """Register the workspace and order commands on the top-level parser's subcommands."""

    def command(name: str, handler: Handler, help_text: str, parent: Any = commands) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = parent.add_parser(name, help=help_text)
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument("--workspace", default=".", help="the workspace folder (default: here)")
        parser.add_argument("--user", default=None, help="who acts (recorded on the order's history)")
        parser.set_defaults(handler=_guarded(handler))
        return parser

    init = command("init", cmd_init, "create a workspace: configuration, database and example partners")
    init.add_argument("dir", nargs="?", default=".")
    ingest = command("ingest", cmd_ingest, "ingest inbound files: archive, acknowledge, apply, write what is owed")
    ingest.add_argument("files", nargs="+", metavar="FILE")

    orders = commands.add_parser("orders", help="list, show and act on orders").add_subparsers(
        dest="action", required=True
    )
    listing = command("list", cmd_orders_list, "list orders", orders)
    listing.add_argument("--status", action="append", choices=[s.value for s in OrderStatus])
    listing.add_argument("--partner")
    listing.add_argument("--po", help="PO number or its beginning")
    show = command("show", cmd_orders_show, "show one order with its lines and history", orders)
    show.add_argument("po")
    show.add_argument("--partner")
    cancel_cmd = command("cancel", cmd_orders_cancel, "cancel items of an order, or whole orders with --bulk", orders)
    cancel_cmd.add_argument("po", nargs="+")
    cancel_cmd.add_argument("--reason", required=True, choices=[r.value for r in CancelReason])
    cancel_cmd.add_argument("--line", action="append")
    cancel_cmd.add_argument("--qty", action="append")
    cancel_cmd.add_argument("--line-reason", action="append", choices=[r.value for r in CancelReason])
    cancel_cmd.add_argument("--bulk", action="store_true")
    cancel_cmd.add_argument("--partner")
    back = command("backorder", cmd_orders_backorder, "mark a line backordered with its expected ship date", orders)
    back.add_argument("po")
    back.add_argument("--line", required=True)
    back.add_argument("--ship-date", required=True, help="YYYY-MM-DD")
    back.add_argument("--qty")
    back.add_argument("--partner")
    ack = command("ack", cmd_orders_ack, "acknowledge an order (855), accepting every line", orders)
    ack.add_argument("po")
    ack.add_argument("--partner")

    cancels = commands.add_parser("cancels", help="retailer cancels waiting for an answer").add_subparsers(
        dest="action", required=True
    )
    command("list", cmd_cancels_list, "orders with a retailer cancel to acknowledge", cancels)
    cancels_ack = command("ack", cmd_cancels_ack, "acknowledge retailer cancels (applies them)", cancels)
    cancels_ack.add_argument("po", nargs="+")
    refuse = command("refuse", cmd_cancels_refuse, "refuse a retailer cancel, with the reason", cancels)
    refuse.add_argument("po")
    refuse.add_argument("--reason", required=True)

    changes = commands.add_parser("changes", help="retailer changes waiting for an answer").add_subparsers(
        dest="action", required=True
    )
    for answer in ("accept", "reject"):
        sub = command(answer, cmd_changes_answer, f"{answer} a retailer's pending changes", changes)
        sub.add_argument("po")
        sub.add_argument("--line", action="append")
        sub.set_defaults(answer=answer)

    outbox = commands.add_parser("outbox", help="documents we send").add_subparsers(dest="action", required=True)
    command("list", cmd_outbox_list, "every outbound document and its state", outbox)
    quarantine = commands.add_parser("quarantine", help="what waits for a person").add_subparsers(
        dest="action", required=True
    )
    command("list", cmd_quarantine_list, "quarantined interchanges and sets with the reason", quarantine)
