"""Reprocess a quarantined interchange after a person fixed what held it (a profile, a missing
order, a hook): its stored bytes go through the ingest pipeline again, deliberately.

A reprocess is not a re-fetch, so the duplicate check that stops a partner's repeated file
(same sender and digest as a committed interchange) must not stop it; but nothing that was
applied may be applied twice:

* the interchange's own record is reused (no new interchange, no second 997: the
  acknowledgement owed for the file is recorded once, under its cause);
* sets that were applied are skipped; only sets held in quarantine are mapped and applied;
* a set the 997/999 we sent rejected stays quarantined: the partner was told it was rejected and
  will send it again, and applying it now would apply it twice when they do;
* an interchange never committed (no partner profile had its sender) is committed by the
  reprocess, unless the same bytes were committed meanwhile under another record (the partner
  sent the file again): then it is that interchange's duplicate and nothing is applied.

Every step runs in one transaction, as ingest does; the outbox is flushed after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.db.repository import InterchangeAlreadyCommitted, NotFound
from engine.db.session import UnitOfWork, unit_of_work
from engine.db.tables import InterchangeStatus, SetStatus
from engine.ingest import IngestReport, acknowledge_file, apply_sets, read_envelope
from engine.outbound import flush_outbox
from engine.runtime import Runtime


class ReprocessRefused(Exception):
    """Nothing to reprocess, or it cannot be reprocessed yet; the sentence says why."""


@dataclass
class ReprocessReport:
    interchange_id: int
    partner_id: str | None
    status: str  # reprocessed, duplicate
    sets: list[dict[str, Any]] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    released: list[int] = field(default_factory=list)  # quarantine entries let go
    messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "interchange_id": self.interchange_id,
            "partner_id": self.partner_id,
            "status": self.status,
            "sets": self.sets,
            "orders": self.orders,
            "documents": self.documents,
            "released": self.released,
            "messages": self.messages,
        }


def reprocess(runtime: Runtime, interchange_id: int, *, who: str | None = None) -> ReprocessReport:
    """Run the quarantined parts of an interchange through ingest again (see the module doc)."""
    by = who or "cli"
    now = runtime.now()
    with unit_of_work(runtime.sessions) as uow:
        ich, held = _held(uow, interchange_id)
        data = uow.interchanges.content(interchange_id)
        name = ich.file_name or f"interchange {interchange_id}"
        envelope = read_envelope(data)
        if envelope is None:
            raise ReprocessRefused(f"interchange {interchange_id} has no readable ISA header; nothing can apply it")
        sender = ":".join(envelope.sender)
        profile = runtime.partners.by_isa(*envelope.sender)
        if profile is None:
            raise ReprocessRefused(
                f"still no partner profile has the ISA identity {sender}: add the partner (or fix its x12 "
                "identity) in the workspace's partners folder, then reprocess"
            )
        report = ReprocessReport(interchange_id, profile.id, "reprocessed")
        committed = ich.status is InterchangeStatus.COMMITTED
        test = ich.test
    try:
        with unit_of_work(runtime.sessions) as uow:
            ich = uow.interchanges.get(interchange_id)
            ich.partner_id = profile.id
            ingest = IngestReport(file=name, status="processed", interchange_id=interchange_id, partner_id=profile.id)
            acknowledge_file(uow, runtime, profile, data, interchange_id, ingest)
            done = {row.position for row in uow.interchanges.sets(interchange_id) if row.status is SetStatus.ACCEPTED}
            applied = apply_sets(
                uow, runtime, profile, data, interchange_id, ingest, test=test, skip=done,
                rejected_note=" (our acknowledgement rejected it: the partner must send it again)",
            )  # fmt: skip
            report.sets = ingest.sets
            rows = {row.id for row in uow.interchanges.sets(interchange_id) if row.position in applied}
            for quarantined in held:
                if quarantined.transaction_set_id in rows:
                    uow.interchanges.release(quarantined.id, by=by, at=now)
                    report.released.append(quarantined.id)
            for quarantined in held:
                if quarantined.transaction_set_id is None:  # the interchange itself (no partner then)
                    uow.interchanges.release(quarantined.id, by=by, at=now)
                    report.released.append(quarantined.id)
            if not committed:
                uow.interchanges.commit(interchange_id, at=now)
            report.orders, report.documents = ingest.orders, ingest.documents
            report.messages += ingest.messages
    except InterchangeAlreadyCommitted as clash:
        with unit_of_work(runtime.sessions) as uow:
            uow.interchanges.mark_duplicate(interchange_id)
            for quarantined in held:
                uow.interchanges.release(quarantined.id, by=by, at=now)
        report = ReprocessReport(interchange_id, profile.id, "duplicate", released=[q.id for q in held])
        report.messages.append(
            f"the same file from {sender} was applied meanwhile as interchange {clash.original_id}; "
            "nothing applied again"
        )
        return report
    flush_outbox(runtime)
    return report


def _held(uow: UnitOfWork, interchange_id: int) -> tuple[Any, list[Any]]:
    """The interchange and its open quarantine entries; refuses what there is no reason to reprocess."""
    try:
        ich = uow.interchanges.get(interchange_id)
    except NotFound:
        raise ReprocessRefused(f"there is no interchange {interchange_id}") from None
    if ich.status is InterchangeStatus.DUPLICATE:
        raise ReprocessRefused(
            f"interchange {interchange_id} repeats interchange {ich.duplicate_of_id}, which was applied; "
            "there is nothing to reprocess"
        )
    if ich.status is InterchangeStatus.REJECTED:
        raise ReprocessRefused(
            f"interchange {interchange_id} was rejected ({ich.reason}); the partner must send it again"
        )
    held = [entry for entry in uow.interchanges.quarantined() if entry.interchange_id == interchange_id]
    if not held:
        raise ReprocessRefused(f"interchange {interchange_id} has nothing in quarantine; there is nothing to reprocess")
    return ich, held
