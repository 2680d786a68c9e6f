"""One round of alerts: detect, record what is new, send what is due on each channel.

The scheduler runs it every minute (``engine.scheduler``); ``edi-engine alerts --send`` runs it
by hand. Nothing in it stops the engine: a detector that fails is logged and the others run; the
channels send side by side, each on its own thread, so a slow or dead SMTP server never delays
the webhook (or the other way round); a channel that is down is asked again after a backoff
(``[alerts.retry]``) with every alert it owes, and one refused alert does not hold up the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from engine.alerts.channels import Channel, DeliveryError, EmailChannel, WebhookChannel
from engine.alerts.detectors import DETECTORS, Candidate, Detector
from engine.alerts.store import claim, due, failed, postpone, record, succeeded
from engine.runtime import Runtime

log = logging.getLogger("edi_engine.alerts")

#: Alerts one channel sends in one run at most; the rest go in the next (a minute later).
BATCH = 200


@dataclass
class ChannelReport:
    """What one channel did in a run: the keys sent, and each failure with its error."""

    channel: str
    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


@dataclass
class AlertsReport:
    """What one run found, recorded and sent."""

    found: int = 0
    recorded: list[str] = field(default_factory=list)
    baseline: bool = False  # the first run: what it recorded existed already and was not sent
    channels: list[ChannelReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # detectors or channels that failed outright

    @property
    def ok(self) -> bool:
        return not self.errors and not any(c.failed for c in self.channels)

    def as_dict(self) -> dict[str, Any]:
        return {
            "found": self.found,
            "recorded": self.recorded,
            "baseline": self.baseline,
            "channels": {c.channel: {"sent": c.sent, "failed": c.failed} for c in self.channels},
            "errors": self.errors,
        }


def detect(runtime: Runtime, detectors: Sequence[Detector], report: AlertsReport) -> list[Candidate]:
    """Every detector's candidates; one that fails is reported and logged, and the others still run."""
    found: list[Candidate] = []
    for detector in detectors:
        name = getattr(detector, "__name__", repr(detector))
        try:
            found += list(detector(runtime))
        except Exception as error:  # a bug in one detector must not silence the others
            log.exception("alert detector %s failed", name)
            report.errors.append(f"detector {name}: {type(error).__name__}: {error}")
    return found


def channels(runtime: Runtime) -> list[Channel]:
    """The channels ``[alerts]`` configures."""
    settings = runtime.workspace.settings.alerts
    opened: list[Channel] = []
    if settings.email is not None:
        opened.append(EmailChannel(settings.email, runtime))
    if settings.webhook is not None:
        opened.append(WebhookChannel(settings.webhook, runtime))
    return opened


def deliver(runtime: Runtime, channel: Channel) -> ChannelReport:
    """Send what is due on ``channel``, oldest first, each alert claimed on its own. At the first
    failure that says the channel is down, every alert it owes waits for the backoff."""
    report = ChannelReport(channel.name)
    try:
        for alert_id in due(runtime, channel.name, now=runtime.now(), limit=BATCH):
            alert = claim(runtime, channel.name, alert_id, now=runtime.now())
            if alert is None:
                continue
            try:
                channel.send(alert)
            except Exception as error:  # anything, a bug included: recorded on the alert, never raised
                down = error.channel_down if isinstance(error, DeliveryError) else True
                said = str(error) if isinstance(error, DeliveryError) else f"{type(error).__name__}: {error}"
                again = failed(runtime, channel.name, alert.id, said, now=runtime.now())
                report.failed[alert.key] = said
                retry = f"tried again at {again:%Y-%m-%d %H:%M:%S} UTC" if again else "given up"
                log.warning("alert %s by %s failed (%s): %s", alert.key, channel.name, retry, said)
                if down:
                    if again is not None:
                        postpone(runtime, channel.name, again)
                    break
            else:
                succeeded(runtime, channel.name, alert.id, now=runtime.now())
                report.sent.append(alert.key)
    finally:
        channel.close()
    return report


def run_alerts(runtime: Runtime, *, detectors: Sequence[Detector] | None = None, send: bool = True) -> AlertsReport:
    """Detect, record what is new (exactly once per key), and send what is due (unless ``send`` is
    False). Never raises for a failing detector, channel or alert: the report says what failed."""
    report = AlertsReport()
    candidates = detect(runtime, DETECTORS if detectors is None else detectors, report)
    report.found = len(candidates)
    try:
        recorded = record(runtime, candidates)
    except Exception as error:  # the database: logged, and the scheduler's next run tries again
        log.exception("recording alerts failed")
        report.errors.append(f"recording: {type(error).__name__}: {error}")
        return report
    report.recorded, report.baseline = recorded.keys, recorded.baseline
    if recorded.baseline:
        log.info("alerts started: %d existing conditions recorded without being sent", len(recorded.keys))
    elif recorded.keys:
        log.info("%d new alerts: %s", len(recorded.keys), ", ".join(recorded.keys))
    opened = channels(runtime) if send else []
    if opened:
        with ThreadPoolExecutor(max_workers=len(opened), thread_name_prefix="alerts") as pool:
            futures = [pool.submit(deliver, runtime, channel) for channel in opened]
        for channel, future in zip(opened, futures, strict=True):
            try:
                report.channels.append(future.result())
            except Exception as error:  # the database, while sending: the alerts stay pending
                log.exception("sending alerts by %s failed", channel.name)
                report.errors.append(f"{channel.name}: {type(error).__name__}: {error}")
    for sent in report.channels:
        if sent.sent:
            log.info("alerts sent by %s: %s", sent.channel, ", ".join(sent.sent))
    return report
