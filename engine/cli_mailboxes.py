"""The mailbox commands: ``edi-engine poll`` and ``edi-engine partners trust-host-key``; ``run``
(everything unattended) and ``serve`` (the internal listener alone)."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from engine.logs import configure
from engine.mailboxes import MailboxError, PollReport, mailbox_statuses
from engine.runtime import Runtime
from mappings.profile import As2Server, PartnerProfile, SftpServer


def _partners(runtime: Runtime, wanted: list[str]) -> list[PartnerProfile]:
    unknown = [p for p in wanted if p not in runtime.partners]
    if unknown:
        raise MailboxError(f"no partner {', '.join(unknown)} (partners: {', '.join(sorted(runtime.partners))})")
    return [runtime.partners[p] for p in (wanted or sorted(runtime.partners))]


def cmd_poll(args: argparse.Namespace, out: TextIO) -> int:
    """Poll each partner's mailbox once, under its lease as the scheduler does, ingest what is
    ready, then send what is owed."""
    from engine.scheduler import MailboxJobs

    runtime = Runtime.open(Path(args.workspace))
    jobs = MailboxJobs(runtime)  # not started: its jobs run once, here
    results = [_result(profile.id, jobs.run_once(profile.id)) for profile in _partners(runtime, args.partner)]
    if args.json:
        print(json.dumps(results, indent=2, default=str), file=out)
    else:
        print("\n".join(_text(r) for r in results), file=out)
    return 1 if any(r["error"] for r in results) else 0


def _result(partner_id: str, report: PollReport | None) -> dict[str, Any]:
    if report is None:
        return {"partner_id": partner_id, "files": [], "refused": {}, "delivered": [],
                "error": None, "busy": "another worker holds this mailbox's lease: not polled"}  # fmt: skip
    return {
        "partner_id": partner_id,
        "files": [f.as_dict() for f in report.files],
        "refused": report.refused,
        "delivered": report.delivered,
        "error": report.error,
        "busy": None,
    }


def _text(result: dict[str, Any]) -> str:
    lines = [f"partner {result['partner_id']}: {len(result['files'])} file(s) fetched"]
    lines += [f"  {f['file']}: {f['status']}" for f in result["files"]]
    lines += [f"  left in the mailbox: {name!r} ({why})" for name, why in result["refused"].items()]
    lines += [f"  sent {name}" for name in result["delivered"]]
    if result["busy"]:
        lines.append(f"  {result['busy']}")
    if result["error"]:
        lines.append(f"  error: {result['error']}")
    return "\n".join(lines)


def cmd_trust_host_key(args: argparse.Namespace, out: TextIO) -> int:
    """Show the SFTP server's host key, and add it to the partner's known_hosts when confirmed."""
    from transport.sftp import fetch_host_key, fingerprint, trust_host_key

    runtime = Runtime.open(Path(args.workspace))
    (profile,) = _partners(runtime, [args.partner])
    settings = profile.mailbox
    if not isinstance(settings, SftpServer):
        raise MailboxError(f"partner {profile.id}'s mailbox is {settings.kind} folders, not an SFTP server")
    key = fetch_host_key(settings.host, settings.port, timeout=settings.connect_timeout)
    seen = fingerprint(key)
    known_hosts = runtime.partners.folder(profile.id) / settings.known_hosts
    print(f"{settings.host}:{settings.port} offers a {key.get_name()} key, {seen}", file=out)
    if args.fingerprint is not None and args.fingerprint != seen:
        raise MailboxError(f"the key offered is {seen}, not {args.fingerprint}: not trusted")
    if args.fingerprint is None and not args.yes:
        print(
            "Check this fingerprint with the partner, then run again with --fingerprint "
            f"{seen} (or --yes) to add it to {known_hosts}.",
            file=out,
        )
        return 1
    trust_host_key(known_hosts, settings.host, settings.port, key)
    print(f"added to {known_hosts}", file=out)
    return 0


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    """Run unattended: every partner's mailbox polled on its schedule, the internal listener
    (health, metrics) and, when a partner uses AS2, the partner-facing AS2 listener, until
    SIGTERM (or ``--for``)."""
    from engine.scheduler import MailboxJobs  # APScheduler and uvicorn only for the long-running engine
    from engine.web.internal import Listener, internal_app

    configure(args.log_format)
    runtime = Runtime.open(Path(args.workspace))
    jobs = MailboxJobs(runtime)
    listeners = [Listener(internal_app(runtime, lambda: jobs.scheduler.running), *_address(args.listen))]
    as2 = runtime.workspace.settings.as2
    uses_as2 = any(isinstance(p.mailbox, As2Server) for p in runtime.partners.values())
    if args.as2_listen or uses_as2:
        from engine.web.as2_listener import as2_app  # pyas2lib only where AS2 is used

        listeners.append(Listener(
            as2_app(runtime), *_address(args.as2_listen or as2.listen),
            tls_certificate=str(runtime.workspace.path(as2.tls_certificate)) if as2.tls_certificate else None,
            tls_key=str(runtime.workspace.path(as2.tls_key)) if as2.tls_key else None,
        ))  # fmt: skip
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        jobs.start()
        for listener in listeners:
            listener.start()
        bound = "{}:{}".format(*listeners[0].address)
        print(f"edi-engine running: {len(runtime.partners)} mailboxes polled ({runtime.workspace.root}); "
              f"health and metrics on http://{bound}/healthz and /metrics, the portal on http://{bound}/", file=out)  # fmt: skip
        if len(listeners) > 1:
            scheme = "https" if as2.tls_certificate else "http"
            print("AS2 for partners on {}://{}:{}/as2".format(scheme, *listeners[1].address), file=out)
        out.flush()
        stop.wait(timeout=args.seconds)
    finally:
        for listener in listeners:
            listener.stop()
        jobs.stop()  # the file in hand is finished and its lease given back
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        runtime.close()
    print("edi-engine stopped", file=out)
    return 0


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    """Serve the internal listener (the portal, health, metrics) and nothing else, until SIGTERM
    (or ``--for``): more portal processes beside the one ``edi-engine run`` that polls and
    delivers, all sharing the database (sessions and login limits included)."""
    from engine.web.internal import Listener, internal_app

    configure(args.log_format)
    runtime = Runtime.open(Path(args.workspace))
    listener = Listener(internal_app(runtime, None), *_address(args.listen))
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        listener.start()
        print("edi-engine serving the portal on http://{}:{}/, health and metrics on /healthz and /metrics "
              "(no mailbox is polled here)".format(*listener.address), file=out)  # fmt: skip
        out.flush()
        stop.wait(timeout=args.seconds)
    finally:
        listener.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        runtime.close()
    print("edi-engine stopped", file=out)
    return 0


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def cmd_partners_list(args: argparse.Namespace, out: TextIO) -> int:
    """Each partner with its mailbox and, for AS2, every certificate's subject and expiry, warning
    30 days ahead (an expired certificate stops every message with the partner)."""
    from engine.certificates import partner_certificates

    runtime = Runtime.open(Path(args.workspace))
    now = runtime.now()
    certificates = partner_certificates(runtime)
    if args.json:
        rows = [
            {"partner_id": c.partner_id, "whose": c.whose, "error": c.error,
             **(asdict(c.certificate) if c.certificate else {}),
             "warning": c.certificate.warning(now) if c.certificate else c.error}
            for c in certificates
        ]  # fmt: skip
        partners = [{"id": p.id, "name": p.name, "role": p.role.value, "mailbox": _where(p)}
                    for _, p in sorted(runtime.partners.items())]  # fmt: skip
        print(json.dumps({"partners": partners, "certificates": rows}, indent=2, default=str), file=out)
        return 0
    for partner_id, profile in sorted(runtime.partners.items()):
        print(f"{partner_id}: {profile.name} ({profile.role.value}), {_where(profile)}", file=out)
        for c in (c for c in certificates if c.partner_id == partner_id):
            if c.certificate is None:
                print(f"  {c.whose} certificate: WARNING {c.error}", file=out)
                continue
            warning = c.certificate.warning(now)
            print(f"  {c.whose} certificate {c.certificate.subject}, expires {c.certificate.not_after:%Y-%m-%d}"
                  + (f"  WARNING: {warning}" if warning else ""), file=out)  # fmt: skip
    return 0


def _where(profile: PartnerProfile) -> str:
    settings = profile.mailbox
    if isinstance(settings, As2Server):
        return f"AS2 {settings.as2_id} at {settings.url}"
    if isinstance(settings, SftpServer):
        return f"SFTP {settings.username}@{settings.host}:{settings.port}"
    return "local folders"


def cmd_status(args: argparse.Namespace, out: TextIO) -> int:
    """Each mailbox's last poll, last error, what waits to be delivered and what is overdue."""
    statuses = mailbox_statuses(Runtime.open(Path(args.workspace)))
    if args.json:
        print(json.dumps([asdict(s) for s in statuses], indent=2, default=str), file=out)
        return 0
    for s in statuses:
        polled = s.last_poll_at.strftime("%Y-%m-%d %H:%M:%S UTC") if s.last_poll_at else "never"
        print(
            f"{s.partner_id} ({s.kind}): last poll {polled}, {s.files_fetched} file(s) fetched, "
            f"{s.waiting} waiting to go, {s.overdue} overdue 997(s)",
            file=out,
        )
        if s.last_error:
            print(f"  last error ({s.last_error_at:%Y-%m-%d %H:%M:%S UTC}): {s.last_error}", file=out)
    return 0
