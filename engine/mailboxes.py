"""Partners' mailboxes driven by the engine: poll (fetch, ingest, then mark done) and deliver.

The order of operations on the inbound side is what makes a crash harmless: the file is
fetched, archived and committed by ``ingest_data`` (steps 1 and 2 of ``engine.ingest``), and only
then deleted or moved on the partner's side. A crash before that leaves the file in the mailbox;
the next poll fetches it again, and the archive's duplicate detection (same bytes from the same
sender) recognises it: nothing lost, nothing applied twice. ``CRASH_POINTS`` names the places.

Delivery places each pending document with ``put`` (a temporary name, then a rename) and marks
it sent after: a crash between the two sends the same bytes under the same name again, which
the receiver's duplicate check drops. Secrets are read from the environment or a file when a
mailbox opens, and never written to logs, reports or the database.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, or_, select

from engine.db.leases import states
from engine.db.session import unit_of_work
from engine.db.tables import OutboundDocument, OutboundStatus
from engine.ingest import IngestReport, ingest_data
from engine.logs import register_secret
from engine.runtime import Runtime
from mappings.profile import As2Server, LocalFolders, PartnerProfile, Secret, SftpServer
from transport.local import LocalMailbox
from transport.mailbox import Mailbox, RemoteFile, Settling, TransportError
from transport.retry import Backoff

#: Where a poll or a delivery may stop (``crash_point`` is replaced by tests to stop there).
CRASH_POINTS = ("fetched", "before_remote_done", "uploaded")


def crash_point(name: str) -> None:
    """Does nothing; tests replace it to stop a poll or a delivery at ``name``."""


class MailboxError(Exception):
    """A mailbox that cannot be opened as its profile says (a missing secret, say); names what."""


@dataclass
class PollReport:
    """What one poll of one partner's mailbox did."""

    partner_id: str
    files: list[IngestReport] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # names left in the mailbox, with why
    delivered: list[str] = field(default_factory=list)  # what was put in the partner's outbound folder
    error: str | None = None  # the mailbox failed; what was fetched before that is in ``files``


def secret_value(secret: Secret, folder: Path) -> str:
    """The secret ``secret`` points at: an environment variable, or a file in the partner's folder."""
    if secret.env is not None:
        value = os.environ.get(secret.env)
        if not value:
            raise MailboxError(f"the environment variable {secret.env} (named in the profile) is not set")
        return register_secret(value)
    assert secret.file is not None
    path = folder / secret.file
    try:
        return register_secret(path.read_text(encoding="utf-8").rstrip("\r\n"))
    except OSError as error:
        raise MailboxError(f"cannot read the secret file {path}: {error.strerror}") from error


def open_mailbox(runtime: Runtime, profile: PartnerProfile, *, settling: Settling | None = None) -> Mailbox:
    """The partner's mailbox as its profile describes it (not yet connected, for a remote one)."""
    settings = profile.mailbox
    if isinstance(settings, As2Server):
        raise MailboxError(f"partner {profile.id} sends over AS2 (to POST /as2): there is no mailbox to poll")
    settling = settling or Settling(settle_seconds=settings.settle_seconds)
    if isinstance(settings, LocalFolders):
        return local_mailbox(runtime, profile.id, settings, settling)
    return _sftp_mailbox(runtime.partners.folder(profile.id), settings, settling)


def local_mailbox(runtime: Runtime, partner_id: str, settings: LocalFolders, settling: Settling) -> LocalMailbox:
    workspace = runtime.workspace
    return LocalMailbox(
        inbox=workspace.path(settings.inbox) if settings.inbox else workspace.inbox_dir / partner_id,
        outbox=workspace.path(settings.outbox) if settings.outbox else workspace.outbox_dir / partner_id,
        done_action=settings.after_fetch,
        archive=workspace.path(settings.archive) if settings.archive else None,
        settling=settling,
    )


def _sftp_mailbox(folder: Path, settings: SftpServer, settling: Settling) -> Mailbox:
    from transport.sftp import SftpMailbox, SftpSettings  # paramiko only where SFTP is used

    retries = settings.retries
    return SftpMailbox(
        SftpSettings(
            host=settings.host,
            port=settings.port,
            username=settings.username,
            known_hosts=folder / settings.known_hosts,
            key_file=folder / settings.key_file if settings.key_file else None,
            key_passphrase=secret_value(settings.key_passphrase, folder) if settings.key_passphrase else None,
            password=secret_value(settings.password, folder) if settings.password else None,
            inbound_dir=settings.inbound_dir,
            outbound_dir=settings.outbound_dir,
            archive_dir=settings.archive_dir,
            done_action=settings.after_fetch,
            pattern=settings.pattern,
            connect_timeout=settings.connect_timeout,
            operation_timeout=settings.operation_timeout,
            backoff=Backoff(attempts=retries.attempts, base=retries.base_seconds, cap=retries.cap_seconds),
        ),
        settling,
    )


def describe(profile: PartnerProfile, name: str) -> str:
    """Where a mailbox file is, for messages: ``sftp://host:port/dir/name`` or the local path."""
    settings = profile.mailbox
    if isinstance(settings, SftpServer):
        return f"sftp://{settings.host}:{settings.port}/{settings.inbound_dir.strip('/')}/{name}"
    return f"{profile.id} inbox: {name}"


def poll(runtime: Runtime, profile: PartnerProfile, mailbox: Mailbox) -> PollReport:
    """Fetch every ready file, ingest it, then mark it done; stop at the first mailbox failure.

    A file is marked done whatever ingest made of it (processed, duplicate, quarantined): its
    bytes are archived and recorded either way, and leaving it would fetch it again forever.
    """
    report = PollReport(profile.id)
    try:
        ready: list[RemoteFile] = mailbox.ready()
        report.refused = dict(mailbox.refused)
        for file in ready:
            data = mailbox.fetch(file)
            crash_point("fetched")
            report.files.append(ingest_data(runtime, data, source=describe(profile, file.name), name=file.name))
            crash_point("before_remote_done")
            mailbox.done(file)
    except TransportError as error:
        report.error = str(error)
    return report


def deliver(
    runtime: Runtime, profile: PartnerProfile, mailbox: Mailbox, *, after_each: Callable[[str], None] | None = None
) -> list[str]:
    """Put every pending document of the partner into its mailbox, each marked sent in its own
    transaction once it is there; the names put. A mailbox failure (``TransportError``) stops the
    delivery: what was put is marked, the rest stays pending for the next run."""
    with unit_of_work(runtime.sessions) as uow:
        waiting = uow.outbound.pending_ids([profile.id])
    placed: list[str] = []
    for document_id in waiting:
        with unit_of_work(runtime.sessions) as uow:
            for document in uow.outbound.hold_pending([document_id]):  # none if another worker sent it
                name = mailbox.put(document.file_name or f"document-{document.id}.x12", document.content)
                crash_point("uploaded")
                if after_each is not None:
                    after_each(name)
                uow.outbound.mark_sent_many([document.id], at=runtime.now())
                placed.append(name)
    return placed


@dataclass(frozen=True)
class MailboxStatus:
    """One partner's mailbox as ``edi-engine status`` shows it."""

    partner_id: str
    kind: str
    last_poll_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    files_fetched: int
    waiting: int  # documents not yet delivered
    overdue: int  # documents sent whose 997 is late (due and not acknowledged)


def mailbox_statuses(runtime: Runtime) -> list[MailboxStatus]:
    """Every partner's mailbox: its last poll, its last error, what waits to go and what is overdue."""
    now = runtime.now()
    polled = {state.partner_id: state for state in states(runtime.sessions)}
    with unit_of_work(runtime.sessions) as uow:
        counts = uow.session.execute(
            select(
                OutboundDocument.partner_id,
                func.count().filter(OutboundDocument.status == OutboundStatus.PENDING),
                func.count().filter(
                    or_(
                        OutboundDocument.status == OutboundStatus.OVERDUE,
                        (OutboundDocument.status == OutboundStatus.SENT) & (OutboundDocument.due_at < now),
                    )
                ),
            )
            .where(OutboundDocument.bundle_id.is_(None))
            .group_by(OutboundDocument.partner_id)
        ).all()
    by_partner = {partner_id: (waiting, overdue) for partner_id, waiting, overdue in counts}
    statuses = []
    for partner_id, profile in sorted(runtime.partners.items()):
        state = polled.get(partner_id)
        waiting, overdue = by_partner.get(partner_id, (0, 0))
        last = (
            (state.last_poll_at, state.last_error, state.last_error_at, state.files_fetched)
            if state
            else (None,) * 3 + (0,)
        )
        statuses.append(MailboxStatus(partner_id, profile.mailbox.kind, *last, waiting=waiting, overdue=overdue))
    return statuses
