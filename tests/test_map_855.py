"""The 855 map: fixtures to golden canonical JSON, round trips through real interchanges that
validate clean, generated acknowledgements, backorder date qualifiers and cancel reasons."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from engine.model.common import Reference
from engine.model.documents import Acknowledgement, AckPurpose, AckType, LineAck, LineAckStatus
from engine.model.order import Order, OrderLine
from engine.model.reasons import CancelReason
from mappings.profile import Document, PartnerProfile
from mappings.x12.ack855 import read_ack, write_ack
from mappings.x12.common import MappingError
from mappings.x12.registry import BY_DOCUMENT, map_for
from tests.x12_map_support import (
    REASONS,
    acknowledgements,
    as_the_partner_reads_it,
    canonical,
    check_golden,
    fixture_id,
    only_set,
    partner,
    pass_fixtures,
    segment_lines,
    set_from,
    through_interchange,
    trimmed,
    version_of,
)

FIXTURES_855 = pass_fixtures("855")


def _round_trip(ack: Acknowledgement, profile: PartnerProfile, version: str) -> Acknowledgement:
    written = through_interchange(write_ack(ack, profile, version=version), "PR", version)
    assert written.findings == []
    return read_ack(written.ts, profile, version=version)


def test_there_are_855_fixtures_in_both_versions() -> None:
    assert {version_of(path) for path in FIXTURES_855} == {"004010", "005010"}


@pytest.mark.parametrize("path", FIXTURES_855, ids=fixture_id)
def test_fixture_reads_as_its_golden_acknowledgement(path: Path) -> None:
    ack = read_ack(only_set(path), partner(), version=version_of(path))
    check_golden(path, ack)


@pytest.mark.parametrize("path", FIXTURES_855, ids=fixture_id)
def test_fixture_survives_write_and_read_again(path: Path) -> None:
    profile, version = partner(), version_of(path)
    ack = read_ack(only_set(path), profile, version=version)
    assert canonical(_round_trip(ack, profile, version)) == canonical(ack)


def test_the_statuses_fixture_reads_every_line_status() -> None:
    path = next(p for p in FIXTURES_855 if p.stem == "statuses")
    ack = read_ack(only_set(path), partner(), version=version_of(path))
    assert ack.ack_type is AckType.ACCEPTED_WITH_CHANGES
    assert [line.status for line in ack.lines] == [
        LineAckStatus.ACCEPTED,
        LineAckStatus.BACKORDERED,
        LineAckStatus.REJECTED,
        LineAckStatus.CANCELLED,
        LineAckStatus.QUANTITY_CHANGED,
        LineAckStatus.PRICE_CHANGED,
        LineAckStatus.DATE_RESCHEDULED,
        LineAckStatus.BACKORDERED,  # BP: partial shipment, balance backordered
        LineAckStatus.ACCEPTED_WITH_CHANGES,
        LineAckStatus.REJECTED,  # R2
    ]
    # R2 is how this partner says "invalid item", and only that reason, so it names it.
    assert ack.lines[-1].reason == CancelReason.INVALID_ITEM
    assert ack.lines[2].reason is None  # IR alone says no particular reason
    assert ack.references[0] == Reference(qualifier="VN", value="SO-778812")  # BAK08


# -- generated acknowledgements ------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["004010", "005010"])
@given(ack=acknowledgements())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_acknowledgements_survive_write_and_read(version: str, ack: Acknowledgement) -> None:
    again = _round_trip(ack, partner(), version)
    assert canonical(again) == canonical(as_the_partner_reads_it(ack))


# -- the partner's ways ------------------------------------------------------------------------------------


def _ack(*lines: LineAck, **fields: Any) -> Acknowledgement:
    return Acknowledgement(
        partner_id="northwind", po_number="PO1", order_date=date(2024, 3, 1), lines=list(lines), **fields
    )


@pytest.mark.parametrize("qualifier", ["068", "079"])
def test_a_backordered_line_carries_the_profiles_date_qualifier(qualifier: str) -> None:
    profile = partner(qualifier)
    line = LineAck(
        line_number="2", status=LineAckStatus.BACKORDERED, quantity=Decimal(8), uom="EA", ship_date=date(2024, 3, 29)
    )
    segments = write_ack(_ack(line), profile, version="004010")
    assert ["ACK", "IB", "8", "EA", qualifier, "20240329"] in segments
    assert _round_trip(_ack(line), profile, "004010").lines == [line]


def test_a_079_date_is_read_by_a_068_partner_too() -> None:
    line = LineAck(line_number="1", status=LineAckStatus.BACKORDERED, ship_date=date(2024, 4, 2))
    written = through_interchange(write_ack(_ack(line), partner("079"), version="005010"), "PR", "005010")
    assert read_ack(written.ts, partner("068"), version="005010").lines[0].ship_date == date(2024, 4, 2)


def test_a_cancel_reason_goes_out_as_the_partners_status_and_code() -> None:
    line = LineAck(
        line_number="4", status=LineAckStatus.CANCELLED, quantity=Decimal(6), uom="EA", reason=CancelReason.OUT_OF_STOCK
    )
    written = through_interchange(write_ack(_ack(line), partner(), version="004010"), "PR", "004010")
    assert written.findings == []
    lines = segment_lines(written.data)
    po1 = next(i for i, text in enumerate(lines) if text.startswith("PO1*4"))
    # Under the line: the partner's reason code and text, then ACK01 as they say "out of stock".
    assert lines[po1 + 1 : po1 + 3] == ["REF*ZZ*W01*Out of stock", "ACK*IR*6*EA"]
    again = read_ack(written.ts, partner(), version="004010")
    assert again.lines[0].reason == CancelReason.OUT_OF_STOCK


def test_a_reason_the_profile_does_not_crosswalk_goes_out_as_ours() -> None:
    line = LineAck(line_number="1", status=LineAckStatus.CANCELLED, reason=CancelReason.CUSTOMER_REQUEST)
    segments = trimmed(write_ack(_ack(line), partner(), version="004010"))
    assert ["REF", "ZZ", "customer_request", "Customer request"] in segments
    assert ["ACK", "ID"] in segments
    assert _round_trip(_ack(line), partner(), "004010").lines == [line]


def test_a_partners_unknown_reason_code_is_kept_as_sent() -> None:
    ts = set_from(
        "855", "BAK*00*RD*PO9*20240301", "PO1*1*2*EA", "REF*ZZ*Q77*Warehouse flooded", "ACK*IR*2*EA", "CTT*1",
        functional_id="PR",
    )  # fmt: skip
    ack = read_ack(ts, partner(), version="004010")
    assert ack.ack_type is AckType.REJECTED
    assert ack.lines[0].reason == "Q77"


def test_a_change_after_the_first_acknowledgement_follows_the_profile() -> None:
    ack = _ack(purpose=AckPurpose.CHANGE)
    assert write_ack(ack, partner(), version="004010")[1][1] == "04"
    assert write_ack(ack, partner(change_after_first_ack="855-19"), version="004010")[1][1] == "19"


def test_the_order_supplies_the_ordered_quantity_and_the_hash_total() -> None:
    order = Order(
        partner_id="northwind",
        po_number="PO1",
        lines=[
            OrderLine(line_number="1", ordered_qty=Decimal(20), uom="EA"),
            OrderLine(line_number="2", ordered_qty=Decimal(5), uom="CA"),
        ],
    )
    ack = _ack(
        LineAck(line_number="1", status=LineAckStatus.ACCEPTED, quantity=Decimal(12), uom="EA"),
        LineAck(
            line_number="1", status=LineAckStatus.BACKORDERED, quantity=Decimal(8), uom="EA", ship_date=date(2024, 4, 1)
        ),
        LineAck(line_number="2", status=LineAckStatus.ACCEPTED, quantity=Decimal(5), uom="CA"),
        ack_type=AckType.ACCEPTED_WITH_CHANGES,
    )
    segments = trimmed(write_ack(ack, partner(), version="005010", order=order))
    # A split line is one PO1 with an ACK for each part.
    assert [s for s in segments if s[0] in ("PO1", "ACK", "CTT")] == [
        ["PO1", "1", "20", "EA"],
        ["ACK", "IA", "12", "EA"],
        ["ACK", "IB", "8", "EA", "068", "20240401"],
        ["PO1", "2", "5", "CA"],
        ["ACK", "IA", "5", "CA"],
        ["CTT", "2", "25"],
    ]
    assert _round_trip(ack, partner(), "005010").lines == ack.lines


def test_a_seller_order_number_goes_in_bak08() -> None:
    ack = _ack(references=[Reference(qualifier="VN", value="SO-1"), Reference(qualifier="IA", value="V1")])
    segments = trimmed(write_ack(ack, partner(), version="004010"))
    assert segments[1][8] == "SO-1"
    assert ["REF", "IA", "V1"] in segments


def test_reading_collects_every_problem_with_its_place() -> None:
    ts = set_from(
        "855", "BAK*00*AD*PO9*20241301", "PO1*1*2*EA", "ACK*IH*2*EA", "PO1*2*x*EA", "ACK*IA", functional_id="PR"
    )
    with pytest.raises(MappingError) as raised:
        read_ack(ts, partner(), version="004010")
    problems = {(p.element_ref, p.position) for p in raised.value.problems}
    assert problems == {("BAK04", 2), ("ACK01", 4), ("PO102", 5)}
    assert "BAK04 (Date) '20241301' is not a date (CCYYMMDD) — ST 0001 / segment 2" in str(raised.value)


def test_a_profile_status_that_does_not_cancel_is_refused_on_write() -> None:
    profile = partner()
    bad = profile.model_copy(
        update={
            "capabilities": profile.capabilities.model_copy(
                update={
                    "reasons": {
                        CancelReason.OTHER: REASONS[CancelReason.OUT_OF_STOCK].model_copy(update={"ack_status": "IA"})
                    }
                }
            )
        }
    )
    line = LineAck(line_number="1", status=LineAckStatus.CANCELLED, reason=CancelReason.OTHER)
    with pytest.raises(MappingError, match="ACK01"):
        write_ack(_ack(line), bad, version="004010")


def test_an_acknowledgement_from_a_test_interchange_or_a_test_partner_is_a_test() -> None:
    segments = write_ack(_ack(), partner(), version="004010")
    assert read_ack(through_interchange(segments, "PR", "004010", usage="T").ts, partner(), version="004010").test
    live = through_interchange(segments, "PR", "004010").ts
    assert not read_ack(live, partner(), version="004010").test
    assert read_ack(live, partner().model_copy(update={"usage": "T"}), version="004010").test


def test_the_registry_carries_the_855_map() -> None:
    assert map_for("855").read is read_ack and map_for("855").write is write_ack
    assert map_for("855").functional_id == "PR"
    assert BY_DOCUMENT[Document.ORDER_ACK].canonical is Acknowledgement
