"""The order commands of `edi-engine`: a workspace, ingesting files, acting on orders, and what
people look at (cancels, changes, the outbox, interchanges, quarantine), plus the partner test.

Every command takes ``--json``; errors go to standard error with exit status 1 (a refused
action, an unknown order, a failed partner test) or 2 (bad usage, no workspace, a broken profile).

Options that belong to one line (``--qty``, ``--price``, ``--date``, ``--line-reason``) apply to
the ``--line`` before them; ``--sscc`` names the carton for the ``--line`` options after it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from engine.cli_mailboxes import cmd_partners_list, cmd_poll, cmd_run, cmd_serve, cmd_status, cmd_trust_host_key
from engine.config import CONFIG_NAME, DEFAULT_CONFIG, ConfigError, OurIdentity, load_workspace
from engine.db.repository import RepositoryError
from engine.db.tables import InterchangeStatus, OutboundKind, OutboundStatus
from engine.ingest import ingest_file
from engine.mailboxes import MailboxError
from engine.model import CancelReason, Order, OrderStatus
from engine.outbound import OutboundError
from engine.partner_test import PartnerTestReport, run_partner_test
from engine.reprocess import ReprocessRefused, reprocess
from engine.rules import AckChange, RuleRefused
from engine.runtime import Runtime
from engine.services import (
    CancelLines,
    NotFoundError,
    Rule,
    ShipLine,
    Shipment,
    acknowledge_cancels,
    acknowledge_rule,
    act,
    backorder_rule,
    cancel_bulk,
    cancel_rule,
    cancels_ack_rule,
    cancels_refuse_rule,
    changes_rule,
    list_cancels,
    list_changes,
    list_interchanges,
    list_orders,
    list_outbox,
    list_quarantine,
    preview,
    send_order,
    ship_rule,
    show_order,
)
from mappings.profiles import EXAMPLES_DIR, ProfileError, load_partners
from mappings.x12.common import MappingError
from transport.mailbox import TransportError

Handler = Callable[[argparse.Namespace, TextIO], int]


class UsageError(ValueError):
    """The command line itself is wrong (exit status 2)."""


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
        except (
            RuleRefused, NotFoundError, ReprocessRefused, OutboundError, MappingError, RepositoryError, MailboxError,
            TransportError,
        ) as refusal:  # fmt: skip
            print(f"edi-engine: {refusal}", file=sys.stderr)
            return 1
        except (ConfigError, ProfileError, UsageError) as problem:
            print(f"edi-engine: {problem}", file=sys.stderr)
            return 2

    return run


# -- values on the command line ----------------------------------------------------------------------
def _quantity(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise UsageError(f"{text!r} is not a quantity") from None
    if not value.is_finite() or value < 0:
        raise UsageError(f"{text!r} is not a quantity: quantities are numbers, never negative")
    return value


def _price(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise UsageError(f"{text!r} is not a price") from None
    if not value.is_finite():
        raise UsageError(f"{text!r} is not a price")
    return value


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{text!r} is not a date: write it as YYYY-MM-DD") from None


class _InOrder(argparse.Action):
    """Keeps per-line options in the order given, so that each belongs to the ``--line`` before it."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None
    ) -> None:
        namespace.sequence = [*(getattr(namespace, "sequence", None) or ()), (self.dest, values)]


def _line_options(parser: argparse.ArgumentParser, *names: str) -> None:
    """Add ``--line`` and the given per-line options (kept in order, see ``_InOrder``)."""
    helps = {
        "line": "a line number as the partner sent it; the options after it are for that line",
        "qty": "the quantity for the --line before it",
        "price": "the unit price we accept the --line before it at",
        "date": "the ship date (YYYY-MM-DD) we accept the --line before it for",
        "line_reason": "this line's own reason, overriding --reason",
        "sscc": "the carton (SSCC-18) holding the --line options after it",
    }
    for name in ("line", *names):
        flag = "--" + name.replace("_", "-")
        choices = [r.value for r in CancelReason] if name == "line_reason" else None
        parser.add_argument(flag, dest=name, action=_InOrder, help=helps[name], choices=choices)
    parser.set_defaults(sequence=())


def _per_line(args: argparse.Namespace) -> list[dict[str, str]]:
    """The ``--line`` groups in order: {"line": N, "qty": Q, ..., "sscc": S when a carton was named}."""
    groups: list[dict[str, str]] = []
    carton: str | None = None
    for name, value in getattr(args, "sequence", ()):
        flag = "--" + name.replace("_", "-")
        if name == "sscc":
            carton = value
        elif name == "line":
            groups.append({"line": value, **({"sscc": carton} if carton is not None else {})})
        elif not groups:
            raise UsageError(f"{flag} {value} comes before any --line: put it after the --line it is for")
        elif name in groups[-1]:
            raise UsageError(f"line {groups[-1]['line']} has {flag} twice")
        else:
            groups[-1][name] = value
    numbers = [group["line"] for group in groups]
    twice = sorted({n for n in numbers if numbers.count(n) > 1})
    if twice and not any("sscc" in group for group in groups):
        raise UsageError(f"line {', '.join(twice)} is named twice: give each line once")
    return groups


def _cancel_lines(args: argparse.Namespace) -> CancelLines | None:
    groups = _per_line(args)
    if not groups:
        return None
    return {
        group["line"]: (
            _quantity(group["qty"]) if "qty" in group else None,
            CancelReason(group["line_reason"]) if "line_reason" in group else None,
        )
        for group in groups
    }


def _ack_changes(args: argparse.Namespace) -> dict[str, AckChange] | None:
    groups = _per_line(args)
    changes = {}
    for group in groups:
        if len(group) == 1:
            raise UsageError(f"say what changes on line {group['line']}: --qty, --price or --date after its --line")
        reason = group.get("line_reason") or args.reason
        changes[group["line"]] = AckChange(
            quantity=_quantity(group["qty"]) if "qty" in group else None,
            unit_price=_price(group["price"]) if "price" in group else None,
            ship_date=_date(group["date"]) if "date" in group else None,
            reason=CancelReason(reason) if reason else None,
        )
    return changes or None


def _shipment(args: argparse.Namespace) -> Shipment:
    groups = _per_line(args)
    if groups and any("sscc" in g for g in groups) and not all("sscc" in g for g in groups):
        raise UsageError("name a carton (--sscc) before the first --line, or none at all")
    lines = tuple(ShipLine(g["line"], _quantity(g["qty"]) if "qty" in g else None, g.get("sscc")) for g in groups)
    return Shipment(
        carrier=args.carrier,
        tracking_number=args.tracking,
        ship_date=_date(args.ship_date) if args.ship_date else None,
        lines=lines,
        shipment_id=args.shipment_id,
    )


# -- actions on one order: carried out (orders ACTION) or previewed (orders preview PO ACTION) ---------
@dataclass(frozen=True)
class _Action:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    rule: Callable[[argparse.Namespace, Runtime], Rule]


def _cancel_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", required=True, choices=[r.value for r in CancelReason])
    _line_options(parser, "qty", "line_reason")


def _backorder_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--line", required=True, help="the line to backorder")
    parser.add_argument("--ship-date", required=True, help="the expected ship date, YYYY-MM-DD")
    parser.add_argument("--qty", help="how much of the line's open quantity (default: all)")


def _ack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reason", choices=[r.value for r in CancelReason], help="why lines acknowledged for less are cut"
    )
    _line_options(parser, "qty", "price", "date", "line_reason")


def _ship_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--carrier", required=True, metavar="SCAC", help="the carrier's SCAC code (TD503)")
    parser.add_argument("--tracking", required=True, help="the shipment's tracking number (REF*CN)")
    parser.add_argument("--ship-date", help="YYYY-MM-DD (default: today)")
    parser.add_argument("--shipment-id", help="the shipment's id (BSN02; default: PO-n for the order's n-th shipment)")
    _line_options(parser, "qty", "sscc")


def _cancels_refuse_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", required=True, help="why, in words the retailer reads")
    parser.add_argument("--line", action="append", help="only this line (repeat; default: every line waiting)")


def _changes_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--line", action="append", help="only this line (repeat; default: every line waiting)")


def _cancels_ack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--line", action="append", help="only this line (repeat; default: every line waiting)")


ACTIONS: tuple[_Action, ...] = (
    _Action(
        "cancel",
        "cancel items (855): the --line and --qty given, or all that is open",
        _cancel_arguments,
        lambda a, rt: cancel_rule(rt, reason=CancelReason(a.reason), lines=_cancel_lines(a), who=a.user),
    ),
    _Action(
        "backorder",
        "mark a line backordered with its expected ship date (855)",
        _backorder_arguments,
        lambda a, rt: backorder_rule(
            rt, line=a.line, ship_date=_date(a.ship_date), qty=_quantity(a.qty) if a.qty else None, who=a.user
        ),
    ),
    _Action(
        "ack",
        "acknowledge an order (855): every line accepted, or with the changes given per line",
        _ack_arguments,
        lambda a, rt: acknowledge_rule(rt, changes=_ack_changes(a), who=a.user),
    ),
    _Action(
        "ship",
        "ship (856): cartons by SSCC (SOPI) or loose items (SOI); all that is open without --line",
        _ship_arguments,
        lambda a, rt: ship_rule(rt, _shipment(a), who=a.user),
    ),
    _Action(
        "cancels-ack",
        "acknowledge the retailer's cancel (applies it; 865 or 855)",
        _cancels_ack_arguments,
        lambda a, rt: cancels_ack_rule(rt, lines=a.line, who=a.user),
    ),
    _Action(
        "cancels-refuse",
        "refuse the retailer's cancel, saying why",
        _cancels_refuse_arguments,
        lambda a, rt: cancels_refuse_rule(rt, reason=a.reason, lines=a.line, who=a.user),
    ),
    _Action(
        "changes-accept",
        "accept the retailer's pending changes",
        _changes_arguments,
        lambda a, rt: changes_rule(rt, accept=True, lines=a.line, who=a.user),
    ),
    _Action(
        "changes-reject",
        "reject the retailer's pending changes",
        _changes_arguments,
        lambda a, rt: changes_rule(rt, accept=False, lines=a.line, who=a.user),
    ),
)
ACTION_BY_NAME = {action.name: action for action in ACTIONS}


def _action_text(result: dict[str, Any]) -> str:
    lines = [f"PO {result['po_number']} ({result['partner_id']}): {result['status']}"]
    lines += [f"  wrote {d}" for d in result["documents"]]
    return "\n".join(lines)


def _carry_out(action: str) -> Handler:
    def handler(args: argparse.Namespace, out: TextIO) -> int:
        runtime = _runtime(args)
        rule = ACTION_BY_NAME[action].rule(args, runtime)
        result = act(runtime, args.po, rule, partner_id=args.partner)
        _emit(args, out, result.as_dict(), _action_text)
        return 0

    return handler


def cmd_orders_preview(args: argparse.Namespace, out: TextIO) -> int:
    runtime = _runtime(args)
    rule = ACTION_BY_NAME[args.preview_action].rule(args, runtime)
    result = preview(runtime, args.po, rule, partner_id=args.partner)

    def text(data: dict[str, Any]) -> str:
        lines = [
            f"PO {data['po_number']} ({data['partner_id']}): {args.preview_action} would leave it {data['status']}; "
            "nothing was stored or sent"
        ]
        if not data["documents"]:
            lines.append("no document would be sent")
        for document in data["documents"]:
            lines += ["", f"the {document['set']} it would send:", document["content"].rstrip("\n")]
            previous = document["previous"]
            if previous is None:
                lines.append(f"(no {document['set']} was sent for this order before)")
            else:
                lines += ["", f"difference from the last {document['set']} sent for this order ({previous['file']}):"]
                lines.append(document["diff"] or "(none)")
        return "\n".join(lines)

    _emit(args, out, result.as_dict(), text)
    return 0


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


def _ingest_text(items: list[dict[str, Any]]) -> str:
    lines = []
    for report in items:
        lines.append(f"{report['file']}: {report['status']} ({report['partner_id'] or 'no partner'})")
        lines += [
            f"  set {s['set']} {s['control_number']}: {s['status']}" + (f" — {s['reason']}" if s.get("reason") else "")
            for s in report["sets"]
        ]
        lines += [f"  wrote {d}" for d in report["documents"]]
        lines += [f"  {m}" for m in report["messages"]]
    return "\n".join(lines)


def cmd_ingest(args: argparse.Namespace, out: TextIO) -> int:
    runtime = _runtime(args)
    missing = [name for name in args.files if not Path(name).is_file()]
    if missing:
        raise UsageError(f"no such file: {', '.join(missing)}")
    reports = [ingest_file(runtime, Path(name)).as_dict() for name in args.files]
    _emit(args, out, reports, _ingest_text)
    return 0 if all(r["status"] in ("processed", "duplicate") for r in reports) else 1


def cmd_reprocess(args: argparse.Namespace, out: TextIO) -> int:
    result = reprocess(_runtime(args), args.id, who=args.user).as_dict()

    def text(r: dict[str, Any]) -> str:
        lines = [f"interchange {r['interchange_id']} ({r['partner_id']}): {r['status']}"]
        lines += [
            f"  set {s['set']} {s['control_number']}: {s['status']}" + (f" — {s['reason']}" if s.get("reason") else "")
            for s in r["sets"]
        ]
        lines += [f"  wrote {d}" for d in r["documents"]]
        lines += [f"  released quarantine entry {q}" for q in r["released"]]
        lines += [f"  {m}" for m in r["messages"]]
        return "\n".join(lines)

    _emit(args, out, result, text)
    still = [s for s in result["sets"] if s["status"] == "quarantined"]
    return 1 if still else 0


# -- orders ------------------------------------------------------------------------------------------
def cmd_orders_list(args: argparse.Namespace, out: TextIO) -> int:
    runtime = _runtime(args)
    rows = list_orders(runtime, statuses=args.status or (), partner_id=args.partner, po_prefix=args.po)

    def text(items: list[dict[str, Any]]) -> str:
        head = f"{'PO':<20} {'partner':<12} {'status':<24} {'open/ordered':>14} {'total':>12}"
        body = [
            f"{r['po_number']:<20} {r['partner_id']:<12} {r['status']:<24} "
            f"{_n(r['open_qty']) + '/' + _n(r['ordered_qty']):>14} {r['total'] or '':>12}"
            for r in items
        ]
        return "\n".join([head, *body]) if body else "no orders"

    _emit(args, out, rows, text)
    return 0


def _n(value: str) -> str:
    """A quantity as people write it: 7, not 7.0000."""
    return f"{Decimal(value).normalize():f}"


def cmd_orders_show(args: argparse.Namespace, out: TextIO) -> int:
    order = show_order(_runtime(args), args.po, args.partner)

    def text(o: dict[str, Any]) -> str:
        lines = [f"PO {o['po_number']} ({o['partner_id']}): {o['status']}"]
        for line in o["lines"]:
            backorder = (
                f" backordered {_n(line['backordered_qty'])} until {line['backorder_ship_date']}"
                if line["backorder_ship_date"]
                else ""
            )
            pending = f" cancel pending {_n(line['pending_cancel_qty'])}" if Decimal(line["pending_cancel_qty"]) else ""
            change = f" change pending ({line['pending_change']['kind']})" if line["pending_change"] else ""
            lines.append(
                f"  line {line['line_number']}: ordered {_n(line['ordered_qty'])} {line['uom']}, "
                f"open {_n(line['open_qty'])}, cancelled {_n(line['cancelled_qty'])}, "
                f"shipped {_n(line['shipped_qty'])}{backorder}{pending}{change} [{line['status']}]"
            )
        lines += [f"  line {line['line_number']}: add item waiting for an answer" for line in o["pending_lines"]]
        lines += [
            f"  {e['at']} {e['kind']} by {e['actor']['kind']}" + (f" ({e['reason']})" if e["reason"] else "")
            for e in o["events"]
        ]
        return "\n".join(lines)

    _emit(args, out, order, text)
    return 0


def cmd_orders_cancel(args: argparse.Namespace, out: TextIO) -> int:
    runtime = _runtime(args)
    reason = CancelReason(args.reason)
    if args.bulk:
        if args.sequence:
            raise UsageError("a bulk cancel cancels every open line: leave out --line, --qty and --line-reason")
        bulk = cancel_bulk(runtime, args.po, reason=reason, who=args.user)

        def text(d: dict[str, Any]) -> str:
            ok = [f"cancelled {c['po_number']} ({c['partner_id']})" for c in d["cancelled"]]
            bad = [f"refused {r['po_number']}: {r['reason']}" for r in d["refused"]]
            return "\n".join(ok + bad)

        _emit(args, out, bulk.as_dict(), text)
        for item in bulk.refused:
            print(f"edi-engine: {item['po_number']}: {item['reason']}", file=sys.stderr)
        return 1 if bulk.refused else 0
    if len(args.po) != 1:
        raise UsageError("name one PO, or use --bulk for several")
    args.po = args.po[0]
    return _carry_out("cancel")(args, out)


def _order_file(path: Path, partner: str | None) -> Order:
    """A canonical order as JSON (as ``engine.model.Order`` writes it), for ``partner`` when given."""
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise UsageError(f"{path} is not JSON: {problem}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} is not a canonical order: it holds no JSON object")
    if partner is not None:
        data["partner_id"] = partner
    try:
        return Order.model_validate(data)
    except ValidationError as problem:
        said = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'order'}: {e['msg']}" for e in problem.errors()[:3])
        raise UsageError(f"{path} is not a canonical order: {said}") from None


def cmd_orders_send(args: argparse.Namespace, out: TextIO) -> int:
    """Send a supplier a purchase order (850) from a canonical order in a JSON file."""
    order = _order_file(Path(args.file), args.partner)
    result = send_order(_runtime(args), order, who=args.user)
    _emit(args, out, result.as_dict(), _action_text)
    return 0


def cmd_cancels_list(args: argparse.Namespace, out: TextIO) -> int:
    rows = list_cancels(_runtime(args), partner_id=args.partner)

    def text(items: list[dict[str, Any]]) -> str:
        return (
            "\n".join(
                f"{r['po_number']} ({r['partner_id']}): "
                + ", ".join(f"line {w['line_number']} cancel {_n(w['pending_cancel_qty'])}" for w in r["lines"])
                for r in items
            )
            or "no retailer cancels waiting"
        )

    _emit(args, out, rows, text)
    return 0


def cmd_cancels_ack(args: argparse.Namespace, out: TextIO) -> int:
    """Acknowledge Cancels for several orders: each is answered (or refused) on its own."""
    runtime = _runtime(args)
    done: list[dict[str, Any]] = []
    refused: list[dict[str, str]] = []
    for po in args.po:
        try:
            done.append(acknowledge_cancels(runtime, po, lines=args.line, who=args.user).as_dict())
        except (RuleRefused, NotFoundError) as refusal:
            refused.append({"po_number": po, "reason": str(refusal)})

    def text(d: dict[str, Any]) -> str:
        return "\n".join(
            [_action_text(r) for r in d["acknowledged"]]
            + [f"refused {r['po_number']}: {r['reason']}" for r in d["refused"]]
        )

    _emit(args, out, {"acknowledged": done, "refused": refused}, text)
    for item in refused:
        print(f"edi-engine: {item['po_number']}: {item['reason']}", file=sys.stderr)
    return 1 if refused else 0


def cmd_changes_list(args: argparse.Namespace, out: TextIO) -> int:
    rows = list_changes(_runtime(args), partner_id=args.partner)

    def describe(change: dict[str, Any]) -> str:
        said = [
            f"{name} {change[key]}"
            for key, name in (("quantity", "quantity"), ("unit_price", "price"), ("ship_date", "ship date"))
            if change[key] is not None
        ]
        return f"  line {change['line_number']}: {change['kind']}" + (f" ({', '.join(said)})" if said else "")

    def text(items: list[dict[str, Any]]) -> str:
        lines = []
        for r in items:
            lines.append(f"{r['po_number']} ({r['partner_id']})")
            lines += [describe(change) for change in r["lines"]]
        return "\n".join(lines) or "no retailer changes waiting"

    _emit(args, out, rows, text)
    return 0


def cmd_outbox_list(args: argparse.Namespace, out: TextIO) -> int:
    rows = list_outbox(_runtime(args), partner_id=args.partner, kind=args.kind, status=args.status)

    def text(items: list[dict[str, Any]]) -> str:
        return "\n".join(
            f"{r['id']:>5} {r['partner']:<12} {r['kind']:<4} {r['status']:<9} {r['po_number'] or '-':<14} {r['file']}"
            for r in items
        )

    _emit(args, out, rows, lambda items: text(items) or "none")
    return 0


def cmd_interchanges_list(args: argparse.Namespace, out: TextIO) -> int:
    rows = list_interchanges(_runtime(args), partner_id=args.partner, status=args.status)

    def text(items: list[dict[str, Any]]) -> str:
        lines = []
        for r in items:
            sets = " ".join(f"{s['set']}:{s['status']}" for s in r["sets"])
            lines.append(
                f"{r['id']:>5} {r['partner'] or '?':<12} ISA {r['control_number'] or '?':<9} {r['status']:<9} "
                f"{r['file'] or ''} {sets}".rstrip()
            )
        return "\n".join(lines) or "none"

    _emit(args, out, rows, text)
    return 0


def cmd_quarantine_list(args: argparse.Namespace, out: TextIO) -> int:
    rows = list_quarantine(_runtime(args))

    def text(items: list[dict[str, Any]]) -> str:
        return (
            "\n".join(
                f"{r['id']:>5} interchange {r['interchange']}"
                + (f" set {r['set']} {r['set_control_number']}" if r["set"] else "")
                + f": {r['reason']}"
                for r in items
            )
            or "none"
        )

    _emit(args, out, rows, text)
    return 0


# -- partners ------------------------------------------------------------------------------------------
def cmd_partners_test(args: argparse.Namespace, out: TextIO) -> int:
    us = OurIdentity()
    if args.partners is not None:
        folder = Path(args.partners)
        with contextlib.suppress(ConfigError):  # outside any workspace: our default identity
            us = load_workspace(Path(args.workspace)).settings.us
    else:
        workspace = load_workspace(Path(args.workspace))
        folder, us = workspace.partners_dir, workspace.settings.us
    partners = load_partners(folder, ours=(us.isa_qualifier, us.isa_id))
    wanted = args.partner or sorted(partners)
    unknown = [p for p in wanted if p not in partners]
    if unknown:
        raise UsageError(f"no partner {', '.join(unknown)} in {folder} (partners: {', '.join(sorted(partners))})")
    reports = [run_partner_test(partners, pid, us=us, update=args.update) for pid in wanted]
    _emit(args, out, [r.as_dict() for r in reports], lambda _: "\n".join(_test_text(r) for r in reports))
    return 0 if all(r.ok for r in reports) else 1


def _test_text(report: PartnerTestReport) -> str:
    lines = [f"partner {report.partner_id}: {'ok' if report.ok else 'FAILED'}"]
    if report.given:
        lines.append(f"  given orders: {', '.join(report.given)}")
    for sample in report.samples:
        sets = ", ".join(f"{s['set']} {s['status']}" for s in sample.sets)
        lines.append(f"  {sample.sample}: {'ok' if sample.ok else 'FAILED'} ({sets}; {len(sample.files)} files)")
        lines += [f"    {line}" for mismatch in sample.mismatches for line in mismatch.splitlines()]
        lines += [f"    inconsistent: {problem}" for problem in sample.problems]
    lines += [f"  {problem}" for problem in report.problems]
    lines += [f"  wrote {path}" for path in report.updated]
    lines += [f"  removed {path}" for path in report.removed]
    return "\n".join(lines)


# -- the parser ----------------------------------------------------------------------------------------
def add_commands(commands: Any) -> None:
    """Register the workspace and order commands on the top-level parser's subcommands."""

    def command(name: str, handler: Handler, help_text: str, parent: Any = commands) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text)
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument("--workspace", default=".", help="the workspace folder (default: here)")
        parser.add_argument("--user", default=None, help="who acts (recorded on the order's history)")
        parser.set_defaults(handler=_guarded(handler))
        return parser

    def group(name: str, help_text: str) -> Any:
        return commands.add_parser(name, help=help_text).add_subparsers(dest="action", required=True)

    init = command("init", cmd_init, "create a workspace: configuration, database and example partners")
    init.add_argument("dir", nargs="?", default=".")
    ingest = command("ingest", cmd_ingest, "ingest inbound files: archive, acknowledge, apply, write what is owed")
    ingest.add_argument("files", nargs="+", metavar="FILE")
    again = command("reprocess", cmd_reprocess, "run a quarantined interchange through ingest again, after a fix")
    again.add_argument("id", type=int, metavar="ID", help="the interchange (as quarantine list shows it)")

    orders = group("orders", "list, show and act on orders")
    listing = command("list", cmd_orders_list, "list orders", orders)
    listing.add_argument("--status", action="append", choices=[s.value for s in OrderStatus])
    listing.add_argument("--partner")
    listing.add_argument("--po", help="PO number or its beginning")
    show = command("show", cmd_orders_show, "show one order with its lines and history", orders)
    show.add_argument("po")
    show.add_argument("--partner")

    cancel_cmd = command(
        "cancel", cmd_orders_cancel, "cancel items of an order (855), or whole orders with --bulk", orders
    )
    cancel_cmd.add_argument("po", nargs="+")
    cancel_cmd.add_argument("--bulk", action="store_true", help="cancel every open line of every PO named")
    cancel_cmd.add_argument("--partner")
    _cancel_arguments(cancel_cmd)
    for action in ACTIONS:
        if action.name in ("cancel",) or "-" in action.name:
            continue
        sub = command(action.name, _carry_out(action.name), action.help, orders)
        sub.add_argument("po")
        sub.add_argument("--partner")
        action.arguments(sub)

    send = command("send", cmd_orders_send, "send a supplier a purchase order (850) from a canonical order", orders)
    send.add_argument("file", metavar="FILE", help="the order as JSON (engine.model.Order, as it serialises)")
    send.add_argument("--partner", help="the supplier (default: the order's partner_id)")

    preview_cmd = orders.add_parser(
        "preview", help="print the document an action would send, and its difference from the last one sent"
    )
    preview_cmd.add_argument("po")
    previews = preview_cmd.add_subparsers(dest="preview_action", required=True, metavar="ACTION")
    for action in ACTIONS:
        sub = command(action.name, cmd_orders_preview, f"preview: {action.help}", previews)
        sub.add_argument("--partner")
        action.arguments(sub)

    cancels = group("cancels", "retailer cancels waiting for an answer")
    cancels_list = command("list", cmd_cancels_list, "orders with a retailer cancel to acknowledge", cancels)
    cancels_list.add_argument("--partner")
    cancels_ack = command("ack", cmd_cancels_ack, "acknowledge retailer cancels (applies them; 865 or 855)", cancels)
    cancels_ack.add_argument("po", nargs="+")
    cancels_ack.add_argument("--line", action="append", help="only this line (repeat; default: every line waiting)")
    refuse = command("refuse", _carry_out("cancels-refuse"), "refuse a retailer cancel, with the reason", cancels)
    refuse.add_argument("po")
    refuse.add_argument("--partner")
    _cancels_refuse_arguments(refuse)

    changes = group("changes", "retailer changes waiting for an answer")
    changes_list = command("list", cmd_changes_list, "orders with retailer changes to accept or reject", changes)
    changes_list.add_argument("--partner")
    for answer in ("accept", "reject"):
        sub = command(answer, _carry_out(f"changes-{answer}"), f"{answer} a retailer's pending changes (865)", changes)
        sub.add_argument("po")
        sub.add_argument("--partner")
        _changes_arguments(sub)

    outbox = group("outbox", "documents we send")
    outbox_list = command("list", cmd_outbox_list, "every outbound document and its state", outbox)
    outbox_list.add_argument("--partner")
    outbox_list.add_argument("--kind", choices=[k.value for k in OutboundKind])
    outbox_list.add_argument("--status", choices=[s.value for s in OutboundStatus])

    interchanges = group("interchanges", "what partners sent us")
    ich_list = command(
        "list", cmd_interchanges_list, "interchanges received, newest first, with their sets", interchanges
    )
    ich_list.add_argument("--partner")
    ich_list.add_argument("--status", choices=[s.value for s in InterchangeStatus])

    quarantine = group("quarantine", "what waits for a person")
    command("list", cmd_quarantine_list, "quarantined interchanges and sets with the reason", quarantine)

    # ``edi-engine partners`` alone lists them, as ``partners list`` does.
    partners = command(
        "partners", cmd_partners_list, "trading partners: mailboxes and certificates (list)"
    ).add_subparsers(dest="action")
    command("list", cmd_partners_list, "each partner's mailbox and certificates, with expiry warnings", partners)
    test = command(
        "test", cmd_partners_test, "run a partner's samples through the maps and rules and compare", partners
    )
    test.add_argument("partner", nargs="*", metavar="PARTNER", help="partner ids (default: every partner)")
    test.add_argument("--partners", metavar="DIR", help="a partners folder (default: the workspace's)")
    test.add_argument("--update", action="store_true", help="write the expected files from this run")
    trust = command(
        "trust-host-key", cmd_trust_host_key, "show a partner's SFTP host key and add it to its known_hosts", partners
    )
    trust.add_argument("partner", metavar="PARTNER")
    trust.add_argument("--fingerprint", help="the SHA256 fingerprint the partner told you; the key must match it")
    trust.add_argument("--yes", action="store_true", help="trust the key offered without a fingerprint to match")
    polling = command("poll", cmd_poll, "poll partners' mailboxes once: ingest what is ready, send what is owed")
    polling.add_argument("partner", nargs="*", metavar="PARTNER", help="partner ids (default: every partner)")
    running = command("run", cmd_run, "run unattended: poll every mailbox on its schedule and deliver, until SIGTERM")
    running.add_argument(
        "--for", dest="seconds", type=float, default=None, metavar="SECONDS", help="stop after this long"
    )
    running.add_argument(
        "--listen",
        default="127.0.0.1:8081",
        metavar="HOST:PORT",
        help="the internal listener (portal, health, metrics)",
    )
    running.add_argument(
        "--as2-listen",
        default=None,
        metavar="HOST:PORT",
        help="the partner-facing AS2 listener (POST /as2; default: [as2] listen in edi-engine.toml, "
        "started when a partner uses AS2)",
    )
    running.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="the log on stderr: lines, or one JSON object each",
    )
    serving = command("serve", cmd_serve, "serve the portal, health and metrics (no polling), until SIGTERM")
    serving.add_argument(
        "--for", dest="seconds", type=float, default=None, metavar="SECONDS", help="stop after this long"
    )
    serving.add_argument(
        "--listen",
        default="127.0.0.1:8081",
        metavar="HOST:PORT",
        help="the internal listener (portal, health, metrics)",
    )
    serving.add_argument("--log-format", choices=["text", "json"], default="text", help="the log on stderr")
    command("status", cmd_status, "each mailbox's last poll and error, what waits to go and what is overdue")
