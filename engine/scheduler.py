"""The engine running unattended: one APScheduler job per partner mailbox, on the partner's
schedule, each poll under the mailbox's lease (``engine.db.leases``).

APScheduler is a local timer in each process: its job store is in memory and never shared, so
any number of processes may run the same jobs; the lease in the database decides which of them
polls a given mailbox at a given moment. A job that is still running when its next time comes is
not started twice (``max_instances=1``), and missed runs are folded into one (``coalesce``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from engine.alerts.run import run_alerts
from engine.bulk_jobs import abandoned, run_job
from engine.db.leases import Lease, acquire, release, renew
from engine.ingest import overdue
from engine.mailboxes import MailboxError, PollReport, deliver, open_mailbox, poll
from engine.outbound import flush_outbox
from engine.runtime import Runtime
from engine.timings import POLL_ERRORS, POLL_SECONDS
from mappings.profile import DEFAULT_POLL_SECONDS, As2Server, PartnerProfile, PollSchedule, SftpServer
from transport.mailbox import Settling, TransportError, opened

log = logging.getLogger("edi_engine.scheduler")

#: How often bulk jobs left by a dead worker are looked for (a job's lease is 60 s).
BULK_JOBS_SECONDS = 30.0
#: How often sent documents are checked for an overdue 997 (idempotent: no lease needed).
OVERDUE_CHECK_SECONDS = 300.0
#: How often alerts are detected and sent (idempotent too: each is recorded once, sends are claimed).
ALERTS_SECONDS = 60.0


def trigger_of(schedule: PollSchedule) -> BaseTrigger:
    """The APScheduler trigger for a partner's poll schedule (cron in its time zone, else an interval)."""
    zone = ZoneInfo(schedule.timezone)
    if schedule.cron is not None:
        return CronTrigger.from_crontab(schedule.cron, timezone=zone)
    return IntervalTrigger(seconds=schedule.every_seconds or DEFAULT_POLL_SECONDS, timezone=zone)


@dataclass
class MailboxJobs:
    """Polls and deliveries for every partner, as scheduled jobs."""

    runtime: Runtime
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}")
    lease: timedelta | None = None  # default: the workspace's lease_seconds
    scheduler: BackgroundScheduler = field(init=False)
    #: Per partner, the mailbox's settling memory, kept between polls (which files are complete).
    _settling: dict[str, Settling] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        if self.lease is None:
            self.lease = timedelta(seconds=self.runtime.workspace.settings.lease_seconds)
        self.scheduler = BackgroundScheduler(
            timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        )
        for profile in self.runtime.partners.values():
            self.scheduler.add_job(
                self.run_once, trigger_of(profile.mailbox.poll), args=[profile.id], id=f"mailbox:{profile.id}",
                name=f"poll and deliver for {profile.id}", next_run_time=datetime.now(UTC),  # a first poll at once
            )  # fmt: skip
        self.scheduler.add_job(self.flag_overdue, IntervalTrigger(seconds=OVERDUE_CHECK_SECONDS), id="overdue-997s")
        self.scheduler.add_job(run_alerts, IntervalTrigger(seconds=ALERTS_SECONDS), args=[self.runtime], id="alerts")
        self.scheduler.add_job(self.finish_bulk_jobs, IntervalTrigger(seconds=BULK_JOBS_SECONDS), id="bulk-jobs")

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        """Finish the polls in hand, then stop (their leases are given back as each ends)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)

    def finish_bulk_jobs(self) -> list[int]:
        """Run the portal's bulk jobs that no worker holds (their process died, or none took them)."""
        finished = [job for job in abandoned(self.runtime) if run_job(self.runtime, job, owner=self.owner)]
        for job in finished:
            log.info("bulk job %d finished", job)
        return finished

    def flag_overdue(self) -> list[str]:
        """Sent documents whose 997 is past the partner's deadline become overdue (``status``, metrics)."""
        flagged = overdue(self.runtime)
        for document in flagged:
            log.warning("997 overdue: %s", document)
        return flagged

    def run_once(self, partner_id: str) -> PollReport | None:
        """One poll and delivery of the partner's mailbox, if this worker gets its lease; a failing
        partner is recorded and never stops the others (each is its own job)."""
        runtime = self.runtime
        assert self.lease is not None
        lease = acquire(runtime.sessions, partner_id, self.owner, ttl=self.lease, now=runtime.now())
        if lease is None:
            return None
        profile = runtime.partners[partner_id]
        report = PollReport(partner_id)
        started = time.perf_counter()
        renewing = _Renewal(runtime, lease, self.lease)
        try:
            report = self._poll(profile)
        except Exception as error:  # a bug must not kill the scheduler thread; it is recorded and logged
            log.exception("polling %s failed", partner_id)
            report.error = f"{type(error).__name__}: {error}"
        finally:
            renewing.stop()
            POLL_SECONDS.labels(partner_id, profile.mailbox.kind).observe(time.perf_counter() - started)
            if report.error:
                POLL_ERRORS.labels(partner_id, profile.mailbox.kind).inc()
            release(runtime.sessions, lease, now=runtime.now(), error=report.error, fetched=len(report.files))
        if report.error:
            log.warning("mailbox of %s: %s", partner_id, report.error)
        elif report.files or report.delivered:
            statuses = ", ".join(f"{f.file}: {f.status}" for f in report.files)
            log.info(
                "mailbox of %s: %d fetched (%s), %d sent",
                partner_id,
                len(report.files),
                statuses,
                len(report.delivered),
            )
        return report

    def _poll(self, profile: PartnerProfile) -> PollReport:
        if isinstance(profile.mailbox, As2Server):
            return self._as2(profile)
        settling = self._settling.setdefault(profile.id, Settling(settle_seconds=profile.mailbox.settle_seconds))
        report = PollReport(profile.id)
        try:
            with opened(open_mailbox(self.runtime, profile, settling=settling)) as mailbox:
                report = poll(self.runtime, profile, mailbox)
                if report.error is None and isinstance(profile.mailbox, SftpServer):
                    report.delivered = deliver(self.runtime, profile, mailbox)
        except (MailboxError, TransportError) as error:
            report.error = str(error)
        if not isinstance(profile.mailbox, SftpServer):  # local folders: the outbox flush writes them
            report.delivered = [Path(p).name for p in flush_outbox(self.runtime, partner_ids=[profile.id])]
        return report

    def _as2(self, profile: PartnerProfile) -> PollReport:
        """An AS2 partner pushes to ``POST /as2``: its job sends what is pending (and resends what
        is due) and posts the asynchronous MDNs we owe it."""
        from engine.as2 import deliver_as2, send_async_mdns  # pyas2lib only where AS2 is used
        from transport.as2 import As2ConfigError

        report = PollReport(profile.id)
        try:
            send_async_mdns(self.runtime, partner_ids=[profile.id])
            done = deliver_as2(self.runtime, profile)
            report.delivered, report.error = done.delivered, done.error
        except (MailboxError, TransportError, As2ConfigError) as error:
            report.error = str(error)
        return report


class _Renewal:
    """Keeps a poll's lease alive while the poll runs (a poll may outlast ``lease_seconds``: a large
    file, a slow server), renewing it every third of its length on a thread of its own. A holder
    that lost its lease (the process stalled past its expiry) stops renewing; another worker may
    then poll, and the duplicate check of ingest keeps that harmless."""

    def __init__(self, runtime: Runtime, lease: Lease, ttl: timedelta) -> None:
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(runtime, lease, ttl), daemon=True,
                                        name=f"lease {lease.partner_id}")  # fmt: skip
        self._thread.start()

    def _run(self, runtime: Runtime, lease: Lease, ttl: timedelta) -> None:
        while not self._stopped.wait(ttl.total_seconds() / 3):
            try:
                if not renew(runtime.sessions, lease, ttl=ttl, now=runtime.now()):
                    log.warning("the lease on %s's mailbox passed to another worker during the poll", lease.partner_id)
                    return
            except Exception:  # the database is away for a moment: try again at the next beat
                log.exception("renewing the lease on %s's mailbox failed", lease.partner_id)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)
