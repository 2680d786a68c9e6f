"""How long polls and ingests take, and how many polls failed, measured in this process: served
on ``/metrics`` beside the figures read from the database.

Unlike those figures, a timing belongs to the process that measured it; Prometheus scrapes each
process, and a sum over them is the engine's.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry()

#: Up to ten minutes: a slow SFTP server with many files is still a poll, not an outage.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

POLL_SECONDS = Histogram(
    "edi_mailbox_poll_seconds",
    "Time of one poll and delivery round of a partner's mailbox",
    ["partner", "kind"],
    buckets=_BUCKETS,
    registry=REGISTRY,
)
INGEST_SECONDS = Histogram(
    "edi_ingest_seconds",
    "Time to ingest one inbound file or AS2 message: archive, parse, apply and commit",
    ["partner"],
    buckets=_BUCKETS,
    registry=REGISTRY,
)
POLL_ERRORS = Counter(
    "edi_mailbox_poll_errors",
    "Polls and delivery rounds of a partner's mailbox that failed",
    ["partner", "kind"],
    registry=REGISTRY,
)
