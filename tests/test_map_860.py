"""The 860 map: every pass fixture read to canonical JSON (golden), written back through a real
interchange that validates clean and reads to the same change, and generated changes that
survive write -> read unchanged.

Goldens: ``EDI_REGEN_GOLDENS=1 pytest tests/test_map_860.py`` rewrites
``fixtures/x12/<version>/860/pass/<name>.json``; review the diff against the EDI before committing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi.x12.structures import TransactionSet
from engine.model.common import Note, Reference
from engine.model.documents import ChangeKind, ChangePurpose, LineChangeRequest, OrderChange
from engine.model.order import Order
from mappings.profile import Document
from mappings.x12.change860 import CHANGE_KINDS, read_change, write_change
from mappings.x12.common import MappingError, date_at, required
from mappings.x12.registry import BY_DOCUMENT, map_for
from tests.conftest import FIXTURES
from tests.test_map_850 import (
    PROFILE,
    VERSIONS,
    as_json,
    check_golden,
    codes,
    dates,
    fixture_id,
    item_kinds,
    notes,
    pass_fixtures,
    prices,
    quantities,
    references,
    set_from,
    sets_in,
    through_interchange,
    version_of,
    words,
)

FIXTURES_860 = pass_fixtures("860")


def order_of(ts: TransactionSet) -> Order:
    """The order being changed, as the engine would have it: BCH02 and BCH06 are the order's."""
    bch = ts.segments[1]
    return Order(
        partner_id="northwind", po_number=required(bch, 3), order_type=required(bch, 2), order_date=date_at(bch, 6)
    )


def test_there_are_fixtures_in_both_versions() -> None:
    assert {version_of(p) for p in FIXTURES_860} == set(VERSIONS)


@pytest.mark.parametrize("path", FIXTURES_860, ids=fixture_id)
def test_fixture_reads_to_its_golden_canonical_json(path: Path) -> None:
    version = version_of(path)
    check_golden(path, [read_change(ts, PROFILE, version=version) for ts in sets_in(path)])


@pytest.mark.parametrize("path", FIXTURES_860, ids=fixture_id)
def test_fixture_round_trips_through_a_written_interchange_that_validates(path: Path) -> None:
    version = version_of(path)
    for ts in sets_in(path):
        change = read_change(ts, PROFILE, version=version)
        segments = write_change(change, PROFILE, version=version, order=order_of(ts))
        written, findings = through_interchange(segments, "PC", version)
        assert findings == [], [f.message for f in findings]
        assert as_json(read_change(written, PROFILE, version=version)) == as_json(change)


def test_line_changes_fixture_reads_as_expected() -> None:
    """A hand check of the golden's key facts, against the EDI itself."""
    path = FIXTURES / "x12" / "004010" / "860" / "pass" / "line-changes.x12"
    (change,) = [read_change(ts, PROFILE, version="004010") for ts in sets_in(path)]
    assert (change.po_number, change.purpose, change.change_number) == ("NW5002001", ChangePurpose.CHANGE, "2")
    assert change.change_date == date(2024, 3, 6)
    summary = [(line.line_number, line.kind, line.quantity, line.unit_price) for line in change.lines]
    assert summary == [
        ("1", ChangeKind.QUANTITY_DECREASE, Decimal(24), Decimal("3.25")),  # 36 ordered, 24 now
        ("2", ChangeKind.CANCEL_LINE, Decimal(0), Decimal("8.40")),
        ("3", ChangeKind.PRICE_CHANGE, Decimal(12), Decimal("14.75")),  # was 15.25
        ("13", ChangeKind.ADD_ITEM, Decimal(12), Decimal("21.30")),
    ]
    assert change.lines[0].item_ids == {
        "buyer_part": "NW-200117",
        "vendor_part": "AC-MUG-CER-WH",
        "upc": "081234500047",
    }
    assert change.lines[3].description == "OAK CUTTING BOARD, LARGE"


def test_header_cancel_fixture_reads_as_a_whole_order_cancel() -> None:
    path = FIXTURES / "x12" / "005010" / "860" / "pass" / "header-cancel.x12"
    (change,) = [read_change(ts, PROFILE, version="005010") for ts in sets_in(path)]
    assert (change.purpose, change.lines) == (ChangePurpose.CANCEL_ORDER, [])
    assert change.references == [Reference(qualifier="IA", value="V48213")]
    assert change.notes == [Note(code="CANCEL REASON", text="CUSTOMER REQUESTED CANCELLATION")]


# -- the tables ------------------------------------------------------------------------------------------

BCH = "BCH*04*SA*PO1**1*20240304****20240306"


def _860(*segments: str, version: str = "004010") -> TransactionSet:
    return set_from("860", *segments, functional_id="PC", version=version)


@pytest.mark.parametrize(("code", "kind"), CHANGE_KINDS)
def test_every_poc02_code_in_the_table_reads_to_its_kind(code: str, kind: ChangeKind) -> None:
    change = read_change(_860(BCH, f"POC*1*{code}*5*5*EA"), PROFILE, version="004010")
    assert change.lines[0].kind is kind


def test_every_kind_is_written_with_a_code_that_reads_back_to_it() -> None:
    order = Order(partner_id="northwind", po_number="PO1", order_type="SA", order_date=date(2024, 3, 4))
    for kind in ChangeKind:
        change = OrderChange(
            partner_id="northwind",
            po_number="PO1",
            purpose=ChangePurpose.CHANGE,
            lines=[LineChangeRequest(line_number="1", kind=kind)],
        )
        written, findings = through_interchange(
            write_change(change, PROFILE, version="004010", order=order), "PC", "004010"
        )
        assert findings == []
        assert read_change(written, PROFILE, version="004010").lines[0].kind is kind


@pytest.mark.parametrize(
    ("code", "purpose"),
    [("01", ChangePurpose.CANCEL_ORDER), ("04", ChangePurpose.CHANGE), ("05", ChangePurpose.REPLACE)],
)
def test_bch01_purposes(code: str, purpose: ChangePurpose) -> None:
    assert read_change(_860(f"BCH*{code}*SA*PO1**1*20240304"), PROFILE, version="004010").purpose is purpose


def test_unknown_codes_and_bad_values_are_collected_and_located() -> None:
    ts = _860("BCH*02*SA*PO1**1*20240304", "POC*1*TI*5*5*EA", "POC*2*QD*-3*0*EA", "DTM*010*20240231")
    with pytest.raises(MappingError) as caught:
        read_change(ts, PROFILE, version="004010")
    assert [str(p) for p in caught.value.problems] == [
        "BCH01 (Transaction Set Purpose Code) '02' is not a change purpose this map knows (01 cancel, 04 change, 05 replace) — ST 0001 / segment 2",
        "POC02 (Change or Response Type Code) 'TI' is not a change this map knows — ST 0001 / segment 3",
        "POC03 (Quantity Ordered) '-3' is a negative quantity — ST 0001 / segment 4",
    ]


def test_line_dates_and_units_in_a_composite() -> None:
    change = read_change(_860(BCH, "POC*1*RS*5*5*CA>12", "DTM*010*20240320"), PROFILE, version="005010")
    line = change.lines[0]
    assert (line.kind, line.uom, line.ship_date) == (ChangeKind.DATE_CHANGE, "CA", date(2024, 3, 20))


def test_writing_needs_the_order_and_a_unit_with_a_quantity() -> None:
    change = OrderChange(
        partner_id="northwind",
        po_number="PO1",
        purpose=ChangePurpose.CHANGE,
        lines=[LineChangeRequest(line_number="4", kind=ChangeKind.QUANTITY_INCREASE, quantity=Decimal(3))],
    )
    with pytest.raises(MappingError, match=r"BCH02 .*pass the order being changed"):
        write_change(change, PROFILE, version="004010")
    order = Order(partner_id="northwind", po_number="PO1", order_type="SA", order_date=date(2024, 3, 4))
    with pytest.raises(MappingError, match=r"POC05 .*no unit — line 4"):
        write_change(change, PROFILE, version="004010", order=order)


def _trimmed(seg: list[str]) -> list[str]:
    """As the builder writes a segment: trailing empty elements dropped."""
    while len(seg) > 1 and not seg[-1]:
        seg = seg[:-1]
    return seg


def test_poc04_is_written_as_the_new_quantity() -> None:
    change = OrderChange(
        partner_id="northwind",
        po_number="PO1",
        purpose=ChangePurpose.CHANGE,
        lines=[LineChangeRequest(line_number="1", kind=ChangeKind.QUANTITY_DECREASE, quantity=Decimal(24), uom="EA")],
    )
    order = Order(partner_id="northwind", po_number="PO1", order_type="DS", order_date=date(2024, 3, 4))
    written = [_trimmed(seg) for seg in write_change(change, PROFILE, version="004010", order=order)]
    assert written[1] == ["BCH", "04", "DS", "PO1", "", "", "20240304"]
    assert written[2] == ["POC", "1", "QD", "24", "24", "EA"]
    assert written[-1] == ["CTT", "1", "24"]


def test_the_registry_carries_the_change_map() -> None:
    assert map_for("860").read is read_change and map_for("860").functional_id == "PC"
    assert BY_DOCUMENT[Document.ORDER_CHANGE].canonical is OrderChange


# -- generated changes --------------------------------------------------------------------------------------


@st.composite
def line_changes(draw: st.DrawFn, number: int) -> LineChangeRequest:
    quantity = draw(st.none() | quantities)
    return LineChangeRequest(
        line_number=str(number),
        kind=draw(st.sampled_from(ChangeKind)),
        quantity=quantity,
        uom=draw(st.sampled_from(["EA", "CA", "PK"])) if quantity is not None else draw(st.none() | st.just("EA")),
        unit_price=draw(st.none() | prices),
        ship_date=draw(st.none() | dates),
        item_ids=draw(st.dictionaries(item_kinds, codes, max_size=6)),
        description=draw(st.none() | words(200)),
    )


@st.composite
def changes(draw: st.DrawFn) -> OrderChange:
    count = draw(st.integers(min_value=0, max_value=5))
    return OrderChange(
        partner_id="northwind",
        po_number=draw(codes),
        purpose=draw(st.sampled_from(ChangePurpose)),
        change_date=draw(st.none() | dates),
        change_number=draw(st.none() | st.from_regex(r"[0-9]{1,8}", fullmatch=True)),
        lines=[draw(line_changes(n)) for n in range(1, count + 1)],
        references=draw(st.lists(references, max_size=3)),
        notes=draw(st.lists(notes, max_size=2)),
    )


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(change=changes(), order_date=dates)
def test_generated_changes_survive_write_and_read(version: str, change: OrderChange, order_date: date) -> None:
    order = Order(partner_id="northwind", po_number=change.po_number, order_type="SA", order_date=order_date)
    written, findings = through_interchange(write_change(change, PROFILE, version=version, order=order), "PC", version)
    assert findings == [], [f.message for f in findings]
    assert as_json(read_change(written, PROFILE, version=version)) == as_json(change)
