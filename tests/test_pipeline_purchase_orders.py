"""Ordering from a supplier end to end, on SQLite and PostgreSQL: the 850 we send is valid and says
what the order says, the order is on file with its SENT event, and the supplier's 855 applies to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from edi.x12.reader import X12Reader
from edi.x12.structures import GroupStart, InterchangeStart, TransactionSet
from edi.x12.validate import validated_events
from engine.db.session import unit_of_work
from engine.db.tables import OutboundKind
from engine.ingest import ingest_file
from engine.model import ActorKind, EventKind, Order, OrderStatus, Reference
from engine.outbound import OutboundError
from engine.rules import Refusal, RuleRefused
from engine.runtime import Runtime
from engine.services import NotFoundError, list_outbox, send_order
from mappings.partners.fabrikam.hooks import VENDOR_NUMBER
from mappings.profile import Document
from mappings.profiles import EXAMPLES_DIR
from mappings.x12 import po850
from tests.pipeline_fixtures import (
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
    outbox,
    runtime,
    sample,
)

__all__ = ["clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_runtime", "runtime"]

#: The order Fabrikam's sample 855 (855-accept, BAK03 PO7001234) answers.
GIVEN = EXAMPLES_DIR / "fabrikam" / "samples" / "expected" / "given" / "PO7001234.json"


def given_order() -> Order:
    return Order.model_validate_json(GIVEN.read_text(encoding="utf-8"))


def read_850(path: Path, runtime: Runtime) -> tuple[InterchangeStart, GroupStart, Order]:
    """The one 850 in a file we wrote, validated (no finding anywhere) and read back by the 850 map."""
    events = list(validated_events(X12Reader(path.read_bytes(), name=path.name)))
    [start] = [e for e in events if isinstance(e, InterchangeStart)]
    [group] = [e for e in events if isinstance(e, GroupStart)]
    [ts] = [e for e in events if isinstance(e, TransactionSet)]
    assert ts.id == "850" and not ts.has_errors, [str(f) for f in ts.findings]
    assert not start.interchange.findings and not group.group.findings
    return start, group, po850.read_order(ts, runtime.partners["fabrikam"], version=group.group.version)


def test_an_order_sent_to_a_supplier_is_an_850_in_the_outbox_and_its_855_applies_to_it(runtime: Runtime) -> None:
    order = given_order()
    result = send_order(runtime, order, who="dana")
    assert (result.po_number, result.partner_id, result.status) == ("PO7001234", "fabrikam", "new")
    assert result.events == ["sent"] and [d.split(" ")[0] for d in result.documents] == ["850"]

    [written] = outbox(runtime, "fabrikam")
    start, group, read = read_850(written, runtime)
    assert start.interchange.receiver == ("ZZ", "FABRIKAM") and group.group.functional_id == "PO"
    # What the 850 says is the order, with the vendor number Fabrikam's hooks add (REF*IA).
    assert read.references == [*order.references, Reference(qualifier="IA", value=VENDOR_NUMBER)]
    assert read.model_copy(update={"references": order.references}) == order

    with unit_of_work(runtime.sessions) as uow:
        stored = uow.orders.find("fabrikam", "PO7001234")
    assert stored is not None and not stored.order.acknowledged
    [sent] = stored.order.events
    assert sent.kind is EventKind.SENT and (sent.actor.kind, sent.actor.id) == (ActorKind.SUPPLIER_USER, "dana")
    [row] = list_outbox(runtime, partner_id="fabrikam", kind=OutboundKind.PURCHASE_ORDER.value)
    assert row["po_number"] == "PO7001234" and row["status"] == "sent"

    report = ingest_file(runtime, sample(runtime, "fabrikam", "855-accept"))
    assert report.status == "processed", report.messages
    assert [(s["set"], s["status"]) for s in report.sets] == [("855", "applied")]
    with unit_of_work(runtime.sessions) as uow:
        answered = uow.orders.find("fabrikam", "PO7001234")
    assert answered is not None and answered.order.acknowledged
    assert answered.order.status is OrderStatus.ACKNOWLEDGED
    assert [e.kind for e in answered.order.events] == [EventKind.SENT, EventKind.PARTNER_ACKNOWLEDGED]
    assert [line.acknowledged_qty for line in answered.order.lines] == [2, 1, 4]


def test_the_same_po_sent_again_is_refused_and_nothing_more_is_written(runtime: Runtime) -> None:
    send_order(runtime, given_order())
    with pytest.raises(RuleRefused, match="PO7001234 is already on file") as refused:
        send_order(runtime, given_order())
    assert refused.value.code is Refusal.DUPLICATE_ORDER
    assert len(outbox(runtime, "fabrikam")) == 1


def test_an_order_for_a_retailer_or_an_unknown_partner_is_refused(runtime: Runtime) -> None:
    with pytest.raises(OutboundError, match="northwind is a retailer, not a supplier"):
        send_order(runtime, given_order().model_copy(update={"partner_id": "northwind"}))
    with pytest.raises(NotFoundError, match="no partner 'nobody'"):
        send_order(runtime, given_order().model_copy(update={"partner_id": "nobody"}))
    assert outbox(runtime, "northwind") == []
    with unit_of_work(runtime.sessions) as uow:
        assert uow.orders.find("northwind", "PO7001234") is None


def test_a_supplier_whose_profile_takes_no_850s_is_refused(runtime: Runtime) -> None:
    profile = runtime.partners["fabrikam"]
    documents = {document: setting for document, setting in profile.documents.items() if document != Document.ORDER}
    runtime.partners["fabrikam"] = profile.model_copy(update={"documents": documents})
    with pytest.raises(OutboundError, match="takes no X12 purchase orders"):
        send_order(runtime, given_order())
    assert outbox(runtime, "fabrikam") == []
