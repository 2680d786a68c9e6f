"""Prometheus metrics read from the database, so every process serving ``/metrics`` reports the
same figures for the whole engine (no counters in process memory that another worker lacks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from engine.alerts.metrics import alert_metrics
from engine.db.session import unit_of_work
from engine.db.tables import (
    As2Message,
    As2Status,
    Direction,
    Interchange,
    MailboxRow,
    OutboundDocument,
    OutboundStatus,
    QuarantineEntry,
    TransactionSet,
)
from engine.runtime import Runtime


class EngineCollector(Collector):
    """Documents in and out per partner and type, interchanges by status, quarantine, 997s awaited,
    and each mailbox's polls."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        with unit_of_work(self.runtime.sessions) as uow:
            session = uow.session
            yield _counter(
                "edi_documents_in", "Inbound transaction sets, by partner, set and status",
                ["partner", "set", "status"],
                session.execute(
                    select(Interchange.partner_id, TransactionSet.set_id, TransactionSet.status, func.count())
                    .join(Interchange, TransactionSet.interchange_id == Interchange.id)
                    .group_by(Interchange.partner_id, TransactionSet.set_id, TransactionSet.status)
                ),
            )  # fmt: skip
            carrier = aliased(OutboundDocument)
            is_carrier = exists().where(carrier.bundle_id == OutboundDocument.id)
            yield _counter(
                "edi_documents_out", "Outbound documents, by partner, kind and status (pending, sent, accepted, "
                "rejected, overdue)", ["partner", "kind", "status"],
                session.execute(
                    select(OutboundDocument.partner_id, OutboundDocument.kind, OutboundDocument.status, func.count())
                    .where(~is_carrier)
                    .group_by(OutboundDocument.partner_id, OutboundDocument.kind, OutboundDocument.status)
                ),
            )  # fmt: skip
            yield _counter(
                "edi_interchanges_in", "Inbound interchanges by partner and status (rejected: unreadable or refused)",
                ["partner", "status"],
                session.execute(
                    select(Interchange.partner_id, Interchange.status, func.count())
                    .group_by(Interchange.partner_id, Interchange.status)
                ),
            )  # fmt: skip
            quarantined = session.scalar(select(func.count()).where(QuarantineEntry.released_at.is_(None)))
            yield GaugeMetricFamily(
                "edi_quarantine_size", "Quarantine entries not yet released", value=quarantined or 0
            )
            awaited = session.execute(
                select(OutboundDocument.partner_id, func.count())
                .where(OutboundDocument.status == OutboundStatus.SENT, OutboundDocument.due_at.is_not(None))
                .group_by(OutboundDocument.partner_id)
            )
            yield _gauge("edi_outbound_awaiting_997", "Sent documents whose 997 is still to come", ["partner"], awaited)
            yield from alert_metrics(session)
            yield from as2_metrics(session)
            rows = list(session.scalars(select(MailboxRow)))
        polled = GaugeMetricFamily("edi_mailbox_last_poll_timestamp_seconds", "When each mailbox was last polled",
                                   labels=["partner"])  # fmt: skip
        failing = GaugeMetricFamily("edi_mailbox_failing", "1 when the mailbox's last poll failed", labels=["partner"])
        fetched = CounterMetricFamily(
            "edi_mailbox_files_fetched", "Files fetched from each mailbox", labels=["partner"]
        )
        for row in rows:
            if row.last_poll_at is not None:
                polled.add_metric([row.partner_id], row.last_poll_at.timestamp())
            failing.add_metric(
                [row.partner_id], float(row.last_error_at is not None and row.last_error_at == row.last_poll_at)
            )
            fetched.add_metric([row.partner_id], row.files_fetched)
        yield from (polled, failing, fetched)


def _counter(name: str, documentation: str, labels: list[str], rows: Any) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=labels)
    for *values, count in rows:
        family.add_metric([str(v if v is not None else "") for v in values], count)
    return family


def _gauge(name: str, documentation: str, labels: list[str], rows: Any) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for *values, count in rows:
        family.add_metric([str(v if v is not None else "") for v in values], count)
    return family


def as2_metrics(session: Session) -> Iterator[Metric]:
    """AS2 messages by partner, direction and status; outbound ones whose MDN did not confirm
    delivery (waiting for a resend); and the resends so far (every send after a message's first)."""
    yield _gauge(
        "edi_as2_messages", "AS2 messages by partner, direction and status (sending, delivered, failed, "
        "received, refused)", ["partner", "direction", "status"],
        session.execute(
            select(As2Message.partner_id, As2Message.direction, As2Message.status, func.count())
            .group_by(As2Message.partner_id, As2Message.direction, As2Message.status)
        ),
    )  # fmt: skip
    outbound = As2Message.direction == Direction.OUTBOUND
    yield _gauge(
        "edi_as2_mdn_failures", "Outbound AS2 messages whose MDN was negative, did not verify or did not come",
        ["partner"],
        session.execute(
            select(As2Message.partner_id, func.count())
            .where(outbound, As2Message.status == As2Status.FAILED)
            .group_by(As2Message.partner_id)
        ),
    )  # fmt: skip
    yield _counter(
        "edi_delivery_retries", "Deliveries sent again after a first try (AS2 resends, same Message-ID)",
        ["partner"],
        session.execute(
            select(As2Message.partner_id, func.coalesce(func.sum(As2Message.attempts - 1), 0))
            .where(outbound, As2Message.attempts > 1)
            .group_by(As2Message.partner_id)
        ),
    )  # fmt: skip
