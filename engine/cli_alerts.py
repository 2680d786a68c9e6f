"""``edi-engine alerts [--send]``: the latest alerts and how each was delivered; with ``--send``,
one round of detection and sending first (what the scheduler does every minute).

Exit status: 0, or 1 when ``--send`` could not send something (it stays pending and is tried
again) or a detector failed; 2 for a broken configuration or profile.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from engine.alerts.run import AlertsReport, run_alerts
from engine.alerts.store import CHANNELS, recent, started
from engine.config import ConfigError
from engine.db.tables import Alert, DeliveryStatus
from engine.runtime import Runtime
from mappings.profiles import ProfileError


def add_alert_commands(commands: Any) -> None:
    """Register ``alerts`` on the top-level parser's subcommands."""
    about = "the latest alerts and their delivery; --send detects and sends first"
    parser: argparse.ArgumentParser = commands.add_parser("alerts", help=about, description=about)
    parser.add_argument("--send", action="store_true", help="detect, record and send what is due, then list")
    parser.add_argument("--partner", help="only this partner's alerts")
    parser.add_argument("--limit", type=_positive, default=20, help="how many to list (default 20)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--workspace", default=".", help="the workspace folder (default: here)")
    parser.set_defaults(handler=cmd_alerts)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def cmd_alerts(args: argparse.Namespace, out: TextIO) -> int:
    try:
        runtime = Runtime.open(Path(args.workspace))
    except (ConfigError, ProfileError) as problem:
        print(f"edi-engine: {problem}", file=sys.stderr)
        return 2
    try:
        report = run_alerts(runtime) if args.send else None
        alerts = recent(runtime, limit=args.limit, partner_id=args.partner)
        start = started(runtime)
    finally:
        runtime.close()
    if args.json:
        data = {
            "started_at": start.started_at.isoformat() if start else None,
            "baseline": start.baseline if start else None,
            "run": report.as_dict() if report else None,
            "alerts": [_as_dict(alert) for alert in alerts],
        }
        print(json.dumps(data, indent=2), file=out)
    else:
        if start is not None:
            print(f"alerts started {start.started_at:%Y-%m-%d %H:%M} UTC ({start.baseline} conditions that existed "
                  "then were recorded, not sent)", file=out)  # fmt: skip
        if report is not None:
            print(_run_text(report), file=out)
        for alert in alerts:
            print(_alert_text(alert), file=out)
        if not alerts:
            print("no alerts", file=out)
    return 0 if report is None or report.ok else 1


def _run_text(report: AlertsReport) -> str:
    lines = [
        f"this run: {len(report.recorded)} new alert(s)" + (" (the baseline: not sent)" if report.baseline else "")
    ]
    for channel in report.channels:
        lines.append(f"  {channel.channel}: {len(channel.sent)} sent, {len(channel.failed)} failed")
        lines += [f"    {key}: {error}" for key, error in channel.failed.items()]
    lines += [f"  error: {error}" for error in report.errors]
    return "\n".join(lines)


def _delivery(alert: Alert, channel: str) -> str:
    status: DeliveryStatus = getattr(alert, f"{channel}_status")
    attempts: int = getattr(alert, f"{channel}_attempts")
    error: str | None = getattr(alert, f"{channel}_last_error")
    if status is DeliveryStatus.SENT:
        return f"{channel} sent {getattr(alert, f'{channel}_sent_at'):%Y-%m-%d %H:%M} UTC"
    if status is DeliveryStatus.SKIPPED:
        return f"{channel} not sent ({'existed when alerts started' if alert.baseline else 'not configured or off'})"
    said = f"{channel} {status.value}" + (f" after {attempts} attempt(s)" if attempts else "")
    next_at = getattr(alert, f"{channel}_next_attempt_at")
    if status is DeliveryStatus.PENDING and next_at is not None and attempts:
        said += f", next {next_at:%Y-%m-%d %H:%M:%S} UTC"
    return said + (f": {error}" if error else "")


def _alert_text(alert: Alert) -> str:
    head = (f"{alert.id:>5} {alert.created_at:%Y-%m-%d %H:%M} {alert.kind.value:<16} {alert.partner_id or '-':<12} "
            f"{alert.subject}")  # fmt: skip
    return head + "\n      " + "; ".join(_delivery(alert, channel) for channel in CHANNELS)


def _as_dict(alert: Alert) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": alert.id,
        "key": alert.key,
        "kind": alert.kind.value,
        "partner": alert.partner_id,
        "subject": alert.subject,
        "text": alert.text,
        "occurred_at": alert.occurred_at.isoformat(),
        "created_at": alert.created_at.isoformat(),
        "baseline": alert.baseline,
    }
    for channel in CHANNELS:
        sent_at = getattr(alert, f"{channel}_sent_at")
        next_at = getattr(alert, f"{channel}_next_attempt_at")
        data[channel] = {
            "status": getattr(alert, f"{channel}_status").value,
            "attempts": getattr(alert, f"{channel}_attempts"),
            "sent_at": sent_at.isoformat() if sent_at else None,
            "next_attempt_at": next_at.isoformat() if next_at else None,
            "last_error": getattr(alert, f"{channel}_last_error"),
        }
    return data
