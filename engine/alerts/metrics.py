"""Alerts in Prometheus terms, read from the database like the engine's other metrics:
``edi_alerts_total{kind}`` (recorded) and ``edi_alert_deliveries{channel,status}`` (pending,
sent, failed, skipped): pending that keeps growing, or any failed, means people are not told."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.alerts.store import counts
from engine.db.tables import Alert


def alert_metrics(session: Session) -> Iterator[Metric]:
    recorded = CounterMetricFamily("edi_alerts", "Alerts recorded, by kind", labels=["kind"])
    for kind, count in session.execute(select(Alert.kind, func.count()).group_by(Alert.kind)):
        recorded.add_metric([kind.value], count)
    yield recorded
    deliveries = GaugeMetricFamily(
        "edi_alert_deliveries", "Alerts by channel and delivery status (pending, sent, failed, skipped)",
        labels=["channel", "status"],
    )  # fmt: skip
    for channel, status, count in counts(session):
        deliveries.add_metric([channel, status.value], count)
    yield deliveries
