"""The 865 map: fixtures to golden canonical JSON, round trips that validate clean, generated
acknowledgements of changes, and POC02 echoing the change request."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from engine.model.common import Reference
from engine.model.documents import (
    Acknowledgement,
    AckPurpose,
    ChangeKind,
    ChangePurpose,
    LineAck,
    LineAckStatus,
    LineChangeRequest,
    OrderChange,
)
from engine.model.reasons import CancelReason
from mappings.profile import Document, PartnerProfile
from mappings.x12.ack865 import read_ack, write_ack
from mappings.x12.common import MappingError
from mappings.x12.registry import BY_DOCUMENT, map_for
from tests.x12_map_support import (
    acknowledgements,
    as_the_partner_reads_it,
    canonical,
    check_golden,
    fixture_id,
    only_set,
    partner,
    pass_fixtures,
    set_from,
    through_interchange,
    trimmed,
    version_of,
)

FIXTURES_865 = pass_fixtures("865")


def _round_trip(ack: Acknowledgement, profile: PartnerProfile, version: str) -> Acknowledgement:
    written = through_interchange(write_ack(ack, profile, version=version), "CA", version)
    assert written.findings == []
    return read_ack(written.ts, profile, version=version)


def _ack(*lines: LineAck, **fields: Any) -> Acknowledgement:
    return Acknowledgement(
        partner_id="northwind",
        po_number="PO1",
        of_change=True,
        order_date=date(2024, 3, 1),
        lines=list(lines),
        **fields,
    )


def test_there_are_865_fixtures_in_both_versions() -> None:
    assert {version_of(path) for path in FIXTURES_865} == {"004010", "005010"}


@pytest.mark.parametrize("path", FIXTURES_865, ids=fixture_id)
def test_fixture_reads_as_its_golden_acknowledgement(path: Path) -> None:
    ack = read_ack(only_set(path), partner(), version=version_of(path))
    assert ack.of_change
    check_golden(path, ack)


@pytest.mark.parametrize("path", FIXTURES_865, ids=fixture_id)
def test_fixture_survives_write_and_read_again(path: Path) -> None:
    profile, version = partner(), version_of(path)
    ack = read_ack(only_set(path), profile, version=version)
    assert canonical(_round_trip(ack, profile, version)) == canonical(ack)


@pytest.mark.parametrize("version", ["004010", "005010"])
@given(ack=acknowledgements(of_change=True))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_acknowledgements_of_changes_survive_write_and_read(version: str, ack: Acknowledgement) -> None:
    again = _round_trip(ack, partner(), version)
    assert canonical(again) == canonical(as_the_partner_reads_it(ack))


def test_the_change_request_supplies_poc02_and_the_new_quantities() -> None:
    change = OrderChange(
        partner_id="northwind",
        po_number="PO1",
        purpose=ChangePurpose.CHANGE,
        lines=[
            LineChangeRequest(line_number="1", kind=ChangeKind.QUANTITY_DECREASE, quantity=Decimal(24), uom="EA"),
            LineChangeRequest(line_number="2", kind=ChangeKind.CANCEL_LINE, quantity=Decimal(0), uom="EA"),
        ],
    )
    ack = _ack(
        LineAck(line_number="1", status=LineAckStatus.ACCEPTED, quantity=Decimal(24), uom="EA"),
        LineAck(line_number="2", status=LineAckStatus.CANCELLED, quantity=Decimal(0), uom="EA"),
        references=[Reference(qualifier="PP", value="2")],
    )
    segments = trimmed(write_ack(ack, partner(), version="004010", change=change))
    assert segments[1] == ["BCA", "06", "AD", "PO1", "", "2", "20240301"]
    assert [s for s in segments if s[0] in ("POC", "CTT")] == [
        ["POC", "1", "QD", "24", "24", "EA"],
        ["POC", "2", "DI", "0", "0", "EA"],
        ["CTT", "2", "24"],
    ]


def test_without_the_request_poc02_says_what_the_answer_did() -> None:
    ack = _ack(
        LineAck(line_number="1", status=LineAckStatus.REJECTED, reason=CancelReason.DISCONTINUED),
        LineAck(line_number="2", status=LineAckStatus.PRICE_CHANGED),
        LineAck(line_number="3", status=LineAckStatus.ACCEPTED),
    )
    segments = trimmed(write_ack(ack, partner(), version="005010"))
    assert [s for s in segments if s[0] in ("POC", "REF", "ACK")] == [
        ["POC", "1", "RC"],
        ["REF", "ZZ", "A83", "Discontinued"],
        ["ACK", "ID"],  # the partner says "discontinued" as deleted
        ["POC", "2", "PC"],
        ["ACK", "IP"],
        ["POC", "3", "CA"],
        ["ACK", "IA"],
    ]


def test_a_seller_initiated_change_is_bca01_19() -> None:
    segments = write_ack(_ack(purpose=AckPurpose.CHANGE), partner(), version="004010")
    assert segments[1][1] == "19"


def test_the_unit_of_poc05_is_read_from_its_composite() -> None:
    ts = set_from("865", "BCA*00*AC*PO1**3*20240301", "POC*1*QI*30*30*CA>1", "ACK*IA*30*CA", functional_id="CA")
    ack = read_ack(ts, partner(), version="004010")
    assert ack.lines[0].uom == "CA"
    assert ack.references == [Reference(qualifier="PP", value="3")]


def test_an_855_is_not_read_as_an_865() -> None:
    ts = set_from("855", "BAK*00*AD*PO9*20240301", functional_id="PR")
    with pytest.raises(MappingError, match="is not 865"):
        read_ack(ts, partner(), version="004010")


def test_the_registry_carries_the_865_map() -> None:
    assert map_for("865").read is read_ack and map_for("865").write is write_ack
    assert map_for("865").functional_id == "CA"
    assert BY_DOCUMENT[Document.CHANGE_ACK].canonical is Acknowledgement
