"""Alerts in the database: each condition recorded once, and its delivery on each channel.

Recording is exactly once per key: a key already in ``alerts`` is skipped, and two workers that
find the same new condition at once both insert it with ``ON CONFLICT DO NOTHING``, so one row
wins. What a new alert is sent on is decided when it is recorded (the channels configured then,
the kinds on, the partner's opt-outs): changing the configuration later never re-sends old alerts.

The first run on a database (no ``alert_start`` row) records what it finds as a baseline, sent
nowhere, in the same transaction that writes ``alert_start``: turning alerts on for a workspace
with a history tells nobody about its old conditions, and every condition after that is new.

Sending claims one alert on one channel at a time, in a short transaction of its own (never
held open while a server is talked to, so SQLite's single writer is not held up): the claim
moves ``next_attempt_at`` past the send's time, so no other worker takes it meanwhile, and a
worker killed mid-send leaves it to be sent again once the claim lapses (at least once, not
exactly once, across a crash: receivers can drop a repeat by the alert's key).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.alerts.detectors import Candidate
from engine.alerts.settings import AlertsSettings
from engine.db.session import unit_of_work
from engine.db.tables import Alert, AlertStart, DeliveryStatus
from engine.logs import masked
from engine.runtime import Runtime
from mappings.profile_alerts import AlertKind

ChannelName = Literal["email", "webhook"]
CHANNELS: tuple[ChannelName, ...] = ("email", "webhook")
#: How long a claimed send is left to its worker before another may take it (longer than any timeout).
CLAIM = timedelta(minutes=10)
SUBJECT_LIMIT = 200
TEXT_LIMIT = 20_000
ERROR_LIMIT = 500
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class AlertMessage:
    """One alert as a channel sends it."""

    id: int
    key: str
    kind: AlertKind
    partner_id: str | None
    subject: str
    text: str
    occurred_at: datetime
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        """The webhook's body (and ``edi-engine alerts --json``'s core)."""
        return {
            "id": self.id,
            "key": self.key,
            "kind": self.kind.value,
            "partner": self.partner_id,
            "subject": self.subject,
            "text": self.text,
            "occurred_at": self.occurred_at.isoformat(),
            "created_at": self.created_at.isoformat(),
        }


@dataclass
class Recorded:
    """What one recording did: the keys that were new, and whether they were the baseline."""

    keys: list[str]
    baseline: bool


def clean_subject(subject: str) -> str:
    """One line, no control characters, not too long: partners' data (file names, reasons) must
    not end a mail header or fill a chat message."""
    line = " ".join(_CONTROL.sub(" ", subject).split())
    return line if len(line) <= SUBJECT_LIMIT else line[: SUBJECT_LIMIT - 1] + "…"


def clean_text(text: str) -> str:
    body = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    return body if len(body) <= TEXT_LIMIT else body[: TEXT_LIMIT - 1] + "…"


def wanted(settings: AlertsSettings, runtime: Runtime, candidate: Candidate) -> dict[ChannelName, bool]:
    """Whether each channel sends this alert: configured, the kind on, the partner not opted out,
    and (for e-mail) someone to send it to."""
    profile = runtime.partners.get(candidate.partner_id) if candidate.partner_id else None
    on = candidate.kind in settings.kinds and (profile is None or candidate.kind not in profile.alerts.off)
    email = settings.email
    recipients = bool(email and (email.to or (profile is not None and profile.alerts.to)))
    return {"email": on and recipients, "webhook": on and settings.webhook is not None}


def record(runtime: Runtime, candidates: Sequence[Candidate]) -> Recorded:
    """Record each candidate whose key is new; the first run ever records them as the baseline."""
    settings = runtime.workspace.settings.alerts
    now = runtime.now()
    with unit_of_work(runtime.sessions) as uow:
        session = uow.session
        first = _start(session, now)
        known = _known_keys(session, [c.key for c in candidates])
        new: list[str] = []
        for candidate in candidates:
            if candidate.key in known:
                continue
            known.add(candidate.key)
            sends = {channel: not first and on for channel, on in wanted(settings, runtime, candidate).items()}
            inserted = session.execute(
                _insert(session)
                .values(_columns(candidate, sends, baseline=first, now=now))
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(Alert.id)
            )
            if inserted.first() is not None:  # (rowcount says -1 for an insert on PostgreSQL)
                new.append(candidate.key)
        if first:
            session.execute(update(AlertStart).where(AlertStart.id == 1).values(baseline=len(new)))
        return Recorded(new, baseline=first)


def _start(session: Session, now: datetime) -> bool:
    """Write ``alert_start`` if this is the first run on the database; whether it was."""
    dialect = session.get_bind().dialect.name
    insert = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(AlertStart)
    written = insert.values(id=1, started_at=now, baseline=0).on_conflict_do_nothing().returning(AlertStart.id)
    return session.execute(written).first() is not None


def _known_keys(session: Session, keys: list[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(keys), 500):
        known |= set(session.scalars(select(Alert.key).where(Alert.key.in_(keys[start : start + 500]))))
    return known


def _columns(candidate: Candidate, sends: dict[ChannelName, bool], *, baseline: bool, now: datetime) -> dict[str, Any]:
    columns: dict[str, Any] = {
        "key": candidate.key,
        "kind": candidate.kind,
        "partner_id": candidate.partner_id,
        "subject": clean_subject(candidate.subject),
        "text": clean_text(candidate.text),
        "occurred_at": candidate.occurred_at,
        "created_at": now,
        "baseline": baseline,
    }
    for channel in CHANNELS:
        columns |= {
            f"{channel}_status": DeliveryStatus.PENDING if sends[channel] else DeliveryStatus.SKIPPED,
            f"{channel}_attempts": 0,
            f"{channel}_next_attempt_at": now if sends[channel] else None,
        }
    return columns


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(Alert)


def started(runtime: Runtime) -> AlertStart | None:
    """When this database started looking for alerts, and how many it found then (or None: not yet)."""
    with unit_of_work(runtime.sessions) as uow:
        return uow.session.get(AlertStart, 1)


# -- sending -------------------------------------------------------------------------------------------
def _column(channel: ChannelName, name: str) -> Any:
    return getattr(Alert, f"{channel}_{name}")


def due(runtime: Runtime, channel: ChannelName, *, now: datetime, limit: int) -> list[int]:
    """The alerts waiting to go on ``channel`` whose time has come, oldest first."""
    with unit_of_work(runtime.sessions) as uow:
        query = (
            select(Alert.id)
            .where(_column(channel, "status") == DeliveryStatus.PENDING, _column(channel, "next_attempt_at") <= now)
            .order_by(_column(channel, "next_attempt_at"), Alert.id)
            .limit(limit)
        )
        return list(uow.session.scalars(query))


def claim(runtime: Runtime, channel: ChannelName, alert_id: int, *, now: datetime) -> AlertMessage | None:
    """Take the alert for one try on ``channel``; None if it is not due (another worker took it)."""
    status, attempts, next_at = (_column(channel, n) for n in ("status", "attempts", "next_attempt_at"))
    with unit_of_work(runtime.sessions) as uow:
        taken = uow.session.execute(
            update(Alert)
            .where(Alert.id == alert_id, status == DeliveryStatus.PENDING, next_at <= now)
            .values({f"{channel}_next_attempt_at": now + CLAIM, f"{channel}_attempts": attempts + 1})
            .returning(Alert.id)
        )
        if taken.first() is None:
            return None
        row = uow.session.get_one(Alert, alert_id)
        return AlertMessage(row.id, row.key, row.kind, row.partner_id, row.subject, row.text, row.occurred_at,
                            row.created_at)  # fmt: skip


def succeeded(runtime: Runtime, channel: ChannelName, alert_id: int, *, now: datetime) -> None:
    with unit_of_work(runtime.sessions) as uow:
        uow.session.execute(
            update(Alert)
            .where(Alert.id == alert_id)
            .values({f"{channel}_status": DeliveryStatus.SENT, f"{channel}_sent_at": now,
                     f"{channel}_next_attempt_at": None, f"{channel}_last_error": None})
        )  # fmt: skip


def failed(
    runtime: Runtime, channel: ChannelName, alert_id: int, error: str, *, now: datetime, give_up: bool = False
) -> datetime | None:
    """Record a failed try: tried again after the backoff, or given up (after the last attempt, or
    ``give_up``). Returns when it is tried again (None: never). The error is stored masked."""
    retry = runtime.workspace.settings.alerts.retry
    with unit_of_work(runtime.sessions) as uow:
        row = uow.session.get_one(Alert, alert_id)
        attempts: int = getattr(row, f"{channel}_attempts")
        again = None if give_up or attempts >= retry.attempts else now + retry.delay(attempts)
        values = {
            f"{channel}_status": DeliveryStatus.PENDING if again else DeliveryStatus.FAILED,
            f"{channel}_next_attempt_at": again,
            f"{channel}_last_error": masked(error)[:ERROR_LIMIT],
        }
        uow.session.execute(update(Alert).where(Alert.id == alert_id).values(values))
        return again


def postpone(runtime: Runtime, channel: ChannelName, until: datetime) -> None:
    """Every alert due on ``channel`` before ``until`` waits until then: a server that is down is
    not asked again for each alert (no attempt is counted for them)."""
    status, next_at = _column(channel, "status"), _column(channel, "next_attempt_at")
    with unit_of_work(runtime.sessions) as uow:
        uow.session.execute(
            update(Alert)
            .where(status == DeliveryStatus.PENDING, next_at < until)
            .values({f"{channel}_next_attempt_at": until})
        )


def recent(runtime: Runtime, *, limit: int = 50, partner_id: str | None = None) -> list[Alert]:
    """The latest alerts, newest first."""
    with unit_of_work(runtime.sessions) as uow:
        query = select(Alert).order_by(Alert.id.desc()).limit(limit)
        if partner_id is not None:
            query = query.where(Alert.partner_id == partner_id)
        return list(uow.session.scalars(query))


def counts(session: Session) -> Iterable[tuple[str, DeliveryStatus, int]]:
    """(channel, status, how many alerts) for the metrics."""
    for channel in CHANNELS:
        status = _column(channel, "status")
        for value, count in session.execute(select(status, func.count()).group_by(status)):
            yield channel, value, count
