"""The 850 map: every pass fixture read to canonical JSON (golden), written back through a real
interchange that validates clean and reads to the same order, and generated orders that survive
write -> read unchanged.

Goldens are written, never hand-edited: ``EDI_REGEN_GOLDENS=1 pytest tests/test_map_850.py``
rewrites ``fixtures/x12/<version>/850/pass/<name>.json`` (one canonical object per set, in file
order); review the diff against the EDI before committing it.
"""

from __future__ import annotations

import json
import os
import string
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from edi.findings import Finding
from edi.x12.control_numbers import CountingControlNumbers
from edi.x12.reader import X12Reader, read_interchanges
from edi.x12.structures import InterchangeEnd, Segment, TransactionSet
from edi.x12.validate import validated_events
from edi.x12.writer import GroupSpec, build_interchange, write_interchange
from engine.model.common import Address, Charge, Contact, Note, Party, PartyRole, Reference, Routing
from engine.model.order import Order, OrderLine, OrderPurpose
from mappings.profile import Capabilities, PartnerProfile
from mappings.x12 import po850
from mappings.x12.common import (
    MappingError,
    SegmentFields,
    date_at,
    description_segments,
    format_decimal,
    item_id_elements,
    read_description,
    read_item_ids,
)
from mappings.x12.po850 import read_order, write_order
from mappings.x12.registry import BY_SET_ID, map_for
from tests.conftest import FIXTURES
from tests.x12text import interchange

REGENERATE = os.environ.get("EDI_REGEN_GOLDENS", "") == "1"
VERSIONS = ("004010", "005010")
NOW = datetime(2024, 3, 6, 14, 30)
US = ("ZZ", "ACMESUPPLY")
THEM = ("ZZ", "NORTHWIND")
#: The fixtures' retailer, built here (demo partner folders change on their own schedule).
PROFILE = PartnerProfile(id="northwind", name="Northwind Home")


# -- shared with test_map_860 ------------------------------------------------------------------------


def pass_fixtures(set_id: str) -> list[Path]:
    return sorted(p for v in VERSIONS for p in (FIXTURES / "x12" / v / set_id / "pass").glob("*.x12"))


def fixture_id(path: Path) -> str:
    return path.relative_to(FIXTURES / "x12").with_suffix("").as_posix()


def version_of(path: Path) -> str:
    return path.relative_to(FIXTURES / "x12").parts[0]


def sets_in(path: Path) -> list[TransactionSet]:
    interchanges, findings = read_interchanges(path)
    assert not findings
    return [ts for ich in interchanges for group in ich.groups for ts in group.sets]


def as_json(model: BaseModel) -> Any:
    return model.model_dump(mode="json")


def check_golden(path: Path, models: list[BaseModel]) -> None:
    """The canonical JSON of every set in ``path`` equals ``<name>.json`` beside it."""
    golden = path.with_suffix(".json")
    data = [as_json(m) for m in models]
    if REGENERATE:
        golden.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    assert golden.exists(), f"{golden} is missing; write it with EDI_REGEN_GOLDENS=1 and review it"
    assert json.loads(golden.read_text()) == data


def through_interchange(
    segments: list[SegmentFields], functional_id: str, version: str, usage: str = "P"
) -> tuple[TransactionSet, list[Finding]]:
    """Build a real interchange around a written set, write it, read it back validated."""
    ich = build_interchange(
        US,
        THEM,
        [GroupSpec(functional_id, version, [segments])],
        control_numbers=CountingControlNumbers(),
        now=NOW,
        usage=usage,
    )
    reader = X12Reader(write_interchange(ich))
    sets: list[TransactionSet] = []
    findings: list[Finding] = []
    for event in validated_events(reader):
        if isinstance(event, TransactionSet):
            sets.append(event)
            findings += event.findings
            if event.group is not None:
                findings += event.group.findings
        elif isinstance(event, InterchangeEnd):
            findings += event.interchange.findings
    findings += reader.findings
    assert len(sets) == 1
    return sets[0], findings


def set_from(set_id: str, *segments: str, functional_id: str, version: str = "004010") -> TransactionSet:
    """A hand-written set (segments between ST and SE, ``*`` separated) read from a real interchange."""
    data = interchange([set_id, *segments], gs08=version, functional_id=functional_id).encode("latin-1")
    interchanges, _ = read_interchanges(data)
    return interchanges[0].groups[0].sets[0]


# -- fixtures --------------------------------------------------------------------------------------------

FIXTURES_850 = pass_fixtures("850")


def test_there_are_fixtures_in_both_versions() -> None:
    assert {version_of(p) for p in FIXTURES_850} == set(VERSIONS)


@pytest.mark.parametrize("path", FIXTURES_850, ids=fixture_id)
def test_fixture_reads_to_its_golden_canonical_json(path: Path) -> None:
    version = version_of(path)
    check_golden(path, [read_order(ts, PROFILE, version=version) for ts in sets_in(path)])


@pytest.mark.parametrize("path", FIXTURES_850, ids=fixture_id)
def test_fixture_round_trips_through_a_written_interchange_that_validates(path: Path) -> None:
    version = version_of(path)
    for ts in sets_in(path):
        order = read_order(ts, PROFILE, version=version)
        written, findings = through_interchange(write_order(order, PROFILE, version=version), "PO", version)
        assert findings == [], [f.message for f in findings]
        assert as_json(read_order(written, PROFILE, version=version)) == as_json(order)


@pytest.mark.parametrize("path", FIXTURES_850, ids=fixture_id)
def test_written_set_keeps_the_fixture_segments_the_model_holds(path: Path) -> None:
    """Apart from N2 (read into the address lines) and MTX01, the map writes what it read."""
    version = version_of(path)
    for ts in sets_in(path):
        if any(seg.tag == "N2" for seg in ts.segments):
            continue
        original = [seg.fields for seg in ts.segments[1:-1]]
        written, _ = through_interchange(
            write_order(read_order(ts, PROFILE, version=version), PROFILE, version=version), "PO", version
        )
        again = [seg.fields for seg in written.segments[1:-1]]
        if version == "005010":
            original = [[*f[:1], "", *f[2:]] if f[0] == "MTX" else f for f in original]
        assert again == original


def test_dropship_fixture_reads_as_expected() -> None:
    """A hand check of the golden's key facts, against the EDI itself."""
    path = FIXTURES / "x12" / "004010" / "850" / "pass" / "dropship.x12"
    (order,) = [read_order(ts, PROFILE, version="004010") for ts in sets_in(path)]
    assert (order.po_number, order.order_type, order.purpose) == ("NW5001234", "DS", OrderPurpose.ORIGINAL)
    assert order.order_date == date(2024, 3, 1)
    assert order.requested_ship_date == date(2024, 3, 5)
    assert order.ship_by_date == date(2024, 3, 15)
    ship_to = order.party(PartyRole.SHIP_TO)
    assert ship_to is not None and ship_to.address is not None
    assert ship_to.address.lines == ["C/O MARISOL ELLIS", "418 WILLOW BEND DR", "APT 2B"]
    assert ship_to.contacts == [Contact(function="IC", name="JORDAN ELLIS", phone="5125550147")]
    assert order.notes == [Note(code="GIFT MESSAGE", text="HAPPY BIRTHDAY SAM! LOVE, AUNT RUTH")]
    assert order.charges == [
        Charge(kind="charge", code="D240", amount=Decimal("8.95"), description="STANDARD SHIPPING")
    ]
    assert order.routing == Routing(carrier_code="UPSN", transport_method="U", routing="UPS GROUND")
    first = order.lines[0]
    assert first.item_ids == {
        "buyer_part": "NW-100234",
        "vendor_part": "AC-TWL-100",
        "upc": "081234500016",
        "sku": "440234",
    }
    assert (first.ordered_qty, first.unit_price, first.description) == (
        Decimal("2"),
        Decimal("24.99"),
        "BATH TOWEL, WHITE, 30X56",
    )
    # AMT*TT 173.93 is the lines' 164.98 and the 8.95 shipping charge.
    assert po850.transaction_total(order) == Decimal("173.93")


# -- reading: what partners send -------------------------------------------------------------------------


def _850(*segments: str, version: str = "004010") -> TransactionSet:
    return set_from("850", *segments, functional_id="PO", version=version)


BEG = "BEG*00*SA*PO1**20240304"
PO1 = "PO1*1*2*EA*3.25*PE*BP*B-1"


def test_problems_are_collected_and_located() -> None:
    ts = _850("BEG*00*SA*PO1**20241301", "DTM*010*2024", "PO1*1*FOUR*EA*3.25*PE*BP*B-1", "PO1*2*1*EA*X")
    with pytest.raises(MappingError) as caught:
        read_order(ts, PROFILE, version="004010")
    messages = [str(p) for p in caught.value.problems]
    assert messages == [
        "BEG05 (Date) '20241301' is not a date (CCYYMMDD) — ST 0001 / segment 2",
        "DTM02 (Date) '2024' is not a date (CCYYMMDD) — ST 0001 / segment 3",
        "PO102 (Quantity Ordered) 'FOUR' is not a number — ST 0001 / segment 4",
        "PO104 (Unit Price) 'X' is not a number — ST 0001 / segment 5",
    ]


def _strptime_date(value: str) -> date | None:
    """What date_at read with strptime before it sliced: the reference it must agree with."""
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        return None


@given(
    value=st.text("0123456789", min_size=8, max_size=8)
    | st.dates().map(lambda d: d.strftime("%Y%m%d"))
    | st.text("0123456789 +-.٢", min_size=6, max_size=10)
)
def test_dates_read_as_strptime_reads_them_and_fail_where_it_fails(value: str) -> None:
    seg = Segment(["DTM", "010", value])
    expected = _strptime_date(value.strip())
    if expected is None and value.strip():
        with pytest.raises(MappingError, match="is not a date"):
            date_at(seg, 2)
    else:
        assert date_at(seg, 2) == expected


@given(number=st.decimals(allow_nan=False, allow_infinity=False) | st.sampled_from([Decimal("-0"), Decimal("1E+2")]))
def test_numbers_are_written_in_plain_notation_as_format_f_writes_them(number: Decimal) -> None:
    expected = format(number, "f")
    assert format_decimal(number) == ("0" if expected in ("-0", "+0") else expected)


def test_unknown_purpose_and_missing_beg_are_named() -> None:
    with pytest.raises(MappingError, match=r"BEG01 \(Transaction Set Purpose Code\) '19' is not an order purpose"):
        read_order(_850("BEG*19*SA*PO1**20240304", PO1), PROFILE, version="004010")
    with pytest.raises(MappingError, match="BEG is missing"):
        read_order(_850("CUR*BY*USD", PO1), PROFILE, version="004010")


def test_a_map_reads_only_its_own_set() -> None:
    ts = set_from("860", "BCH*04*SA*PO1**1*20240304", functional_id="PC")
    with pytest.raises(MappingError, match=r"ST01 .* is not 850"):
        read_order(ts, PROFILE, version="004010")


def test_unknown_item_id_qualifiers_are_kept_and_written_back() -> None:
    ts = _850(BEG, "PO1*1*2*EA*3.25*PE*CB*C-9*VN*V-1*VP*V-2*UP*0123")
    order = read_order(ts, PROFILE, version="004010")
    # VN and VP both mean vendor_part to this profile: the first wins, the second stays as sent.
    assert order.lines[0].item_ids == {"other:CB": "C-9", "vendor_part": "V-1", "other:VP": "V-2", "upc": "0123"}
    written = write_order(order, PROFILE, version="004010")
    po1 = next(seg for seg in written if seg[0] == "PO1")
    # The profile's expected kinds first (vendor_part as VP, its first qualifier), then the rest.
    assert po1[6:] == ["VP", "V-1", "UP", "0123", "CB", "C-9", "VP", "V-2"]


def test_item_ids_are_written_in_the_profile_order() -> None:
    profile = PartnerProfile(id="p", name="P", capabilities=Capabilities(item_ids_expected=["upc", "buyer_part"]))
    ids = {"buyer_part": "B", "sku": "S", "upc": "U"}
    assert item_id_elements(ids, profile, tag="PO1", first=6, max_pairs=10) == ["UP", "U", "BP", "B", "SK", "S"]
    with pytest.raises(MappingError, match=r"PO106 .*at most 2 item ids"):
        item_id_elements(ids, profile, tag="PO1", first=6, max_pairs=2)
    po1 = _850(BEG, "PO1*1*1*EA**PE*UP*U*BP*B*SK*S").segments[2]
    assert read_item_ids(po1, 6, profile) == {"upc": "U", "buyer_part": "B", "sku": "S"}


def test_heading_per_is_the_buying_partys_and_an_n9_without_text_is_a_reference() -> None:
    ts = _850(BEG, "PER*BD*PAT BUYER*EM*PAT@EXAMPLE.COM", "N9*PO*X-1*PRIOR ORDER", "N1*BY*NORTHWIND*92*B1", PO1)
    order = read_order(ts, PROFILE, version="004010")
    buyer = order.party(PartyRole.BUYING_PARTY)
    assert buyer is not None and buyer.name == "NORTHWIND"
    assert buyer.contacts == [Contact(function="BD", name="PAT BUYER", email="PAT@EXAMPLE.COM")]
    assert order.references == [Reference(qualifier="PO", value="X-1", description="PRIOR ORDER")]

    alone = read_order(_850(BEG, "PER*BD*PAT BUYER", PO1), PROFILE, version="004010")
    assert alone.parties == [Party(role=PartyRole.BUYING_PARTY, contacts=[Contact(function="BD", name="PAT BUYER")])]
    written = write_order(alone, PROFILE, version="004010")
    assert ["PER", "BD", "PAT BUYER"] in written and not any(seg[0] == "N1" for seg in written)


def test_line_level_dates_references_and_notes() -> None:
    ts = _850(
        BEG,
        PO1,
        "PID*F****FIRST PART",
        "PID*F****SECOND PART",
        "REF*PD*PROMO7",
        "DTM*010*20240320",
        "MSG*HANDLE WITH CARE",
        "N9*L1*ENGRAVING",
        "MSG*FOR SAM",
        "N1*ST*STORE 9*92*S9",
        "PO1*2*1*EA",
        "CTT*2*3",
    )
    order = read_order(ts, PROFILE, version="004010")
    line = order.lines[0]
    assert line.description == "FIRST PART SECOND PART"
    assert line.requested_ship_date == date(2024, 3, 20)
    assert line.references == [Reference(qualifier="PD", value="PROMO7")]
    assert line.notes == [Note(text="HANDLE WITH CARE"), Note(code="ENGRAVING", text="FOR SAM")]
    assert order.lines[1].unit_price is None and order.total is None


def test_long_descriptions_span_pids_and_come_back_whole() -> None:
    description = " ".join(["WORD"] * 40)  # 199 characters
    pids = description_segments(description)
    assert [len(p[5]) for p in pids] == [79, 79, 39]
    ts = _850(BEG, PO1, *("*".join(p) for p in pids))
    assert read_description(ts.segments[3:]) == description


# -- writing -----------------------------------------------------------------------------------------------


def _order(**changes: Any) -> Order:
    base = Order(
        partner_id="northwind",
        po_number="PO1",
        order_type="SA",
        order_date=date(2024, 3, 4),
        lines=[OrderLine(line_number="1", ordered_qty=Decimal(2), unit_price=Decimal("3.25"))],
    )
    return base.model_copy(update=changes)


def test_what_cannot_be_written_is_named() -> None:
    with pytest.raises(MappingError, match=r"BEG02 .*no order type"):
        write_order(_order(order_type=None), PROFILE, version="004010")
    with pytest.raises(MappingError, match=r"BEG05 .*no order date"):
        write_order(_order(order_date=None), PROFILE, version="004010")
    with pytest.raises(MappingError, match=r"SAC05 .*more than 2 decimal places"):
        write_order(
            _order(charges=[Charge(kind="charge", code="D240", amount=Decimal("1.005"))]), PROFILE, version="004010"
        )
    with pytest.raises(MappingError, match=r"PO106 .*'style' .* — line 1"):
        line = OrderLine(line_number="1", ordered_qty=Decimal(1), item_ids={"style": "S1"})
        write_order(_order(lines=[line]), PROFILE, version="004010")
    with pytest.raises(ValueError, match="not one these maps speak"):
        write_order(_order(), PROFILE, version="003060")


def test_totals_count_lines_and_quantities() -> None:
    lines = [
        OrderLine(line_number="1", ordered_qty=Decimal(2), unit_price=Decimal("3.25")),
        OrderLine(line_number="2", ordered_qty=Decimal("1.5"), unit_price=Decimal("10.00")),
    ]
    charges = [Charge(kind="allowance", code="C310", amount=Decimal("1.00"))]
    written = write_order(_order(lines=lines, charges=charges), PROFILE, version="004010")
    assert written[-2:] == [["CTT", "2", "3.5"], ["AMT", "TT", "20.500"]]


def test_a_test_interchange_reads_as_a_test_order() -> None:
    written, _ = through_interchange(write_order(_order(), PROFILE, version="004010"), "PO", "004010", usage="T")
    assert read_order(written, PROFILE, version="004010").test


def test_the_registry_names_both_maps() -> None:
    assert set(BY_SET_ID) >= {"850", "860"}
    assert map_for("850").read is read_order and map_for("850").functional_id == "PO"
    with pytest.raises(KeyError, match="no X12 map for transaction set '810'"):
        map_for("810")


# -- generated orders ---------------------------------------------------------------------------------------

SAFE = string.ascii_uppercase + string.digits + ".,-/#&'"
word = st.text(SAFE, min_size=1, max_size=10)


def words(max_size: int) -> st.SearchStrategy[str]:
    """Text as partners send it: ASCII without the delimiters, single-spaced, no padding."""
    return st.lists(word, min_size=1, max_size=12).map(" ".join).filter(lambda t: len(t) <= max_size)


codes = st.text(string.ascii_uppercase + string.digits + "-", min_size=2, max_size=15)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
quantities = st.one_of(
    st.integers(min_value=0, max_value=99999).map(Decimal),
    st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False, allow_infinity=False),
)
prices = st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False, allow_infinity=False)
item_kinds = st.sampled_from(
    ["buyer_part", "vendor_part", "upc", "gtin", "ean", "sku", "isbn", "manufacturer_part", "other:CB", "other:ZZ"]
)
references = st.builds(
    Reference, qualifier=st.sampled_from(["IA", "DP", "CO", "VR"]), value=codes, description=st.none() | words(80)
)
notes = st.builds(
    Note,
    code=st.none() | st.sampled_from(["GIFT MESSAGE", "SPECIAL INSTRUCTIONS"]),
    text=st.lists(words(120), min_size=1, max_size=3).map("\n".join),
)


@st.composite
def addresses(draw: st.DrawFn) -> Address | None:
    lines = draw(st.lists(words(55), max_size=4))
    city = draw(st.none() | words(30).filter(lambda c: len(c) >= 2))
    if not lines and city is None:
        return None
    return Address(
        lines=lines,
        city=city,
        state=draw(st.none() | st.sampled_from(["TX", "WA", "ON"])),
        postal_code=draw(st.none() | st.from_regex(r"[0-9]{5}", fullmatch=True)),
        country=draw(st.none() | st.sampled_from(["US", "CA"])),
    )


contacts = st.builds(
    Contact,
    function=st.sampled_from(["IC", "BD", "OC"]),
    name=st.none() | words(60),
    phone=st.none() | st.from_regex(r"[0-9]{10}", fullmatch=True),
    email=st.none() | st.just("PAT@EXAMPLE.COM"),
    fax=st.none() | st.from_regex(r"[0-9]{10}", fullmatch=True),
)


@st.composite
def parties(draw: st.DrawFn) -> Party:
    identified = draw(st.booleans())
    return Party(
        role=draw(st.sampled_from(PartyRole)),
        name=draw(words(60)),
        id_qualifier="92" if identified else None,
        id=draw(codes) if identified else None,
        address=draw(addresses()),
        contacts=draw(st.lists(contacts, max_size=2)),
    )


routings = st.builds(
    Routing,
    carrier_code=st.none() | st.from_regex(r"[A-Z]{2,4}", fullmatch=True),
    transport_method=st.none() | st.sampled_from(["M", "U", "A"]),
    routing=st.none() | words(35),
    service_level=st.none() | st.sampled_from(["ND", "SE", "G2"]),
).filter(lambda r: any((r.carrier_code, r.transport_method, r.routing, r.service_level)))
charges = st.builds(
    Charge,
    kind=st.sampled_from(["allowance", "charge"]),
    code=st.sampled_from(["D240", "C310", "H850"]),
    amount=st.none() | prices,
    description=st.none() | words(80),
)


@st.composite
def order_lines(draw: st.DrawFn, number: int) -> OrderLine:
    quantity = draw(quantities)
    return OrderLine(
        line_number=str(number),
        item_ids=draw(st.dictionaries(item_kinds, codes, max_size=6)),
        description=draw(st.none() | words(200)),
        ordered_qty=quantity,
        uom=draw(st.sampled_from(["EA", "CA", "PK", "DZ"])),
        unit_price=draw(st.none() | prices),
        requested_ship_date=draw(st.none() | dates),
        references=draw(st.lists(references, max_size=2)),
        notes=draw(st.lists(notes, max_size=2)),
    )


@st.composite
def orders(draw: st.DrawFn) -> Order:
    count = draw(st.integers(min_value=1, max_value=5))
    return Order(
        partner_id="northwind",
        po_number=draw(codes),
        purpose=draw(st.sampled_from(OrderPurpose)),
        order_type=draw(st.sampled_from(["SA", "DS", "RE", "NE"])),
        order_date=draw(dates),
        requested_ship_date=draw(st.none() | dates),
        ship_by_date=draw(st.none() | dates),
        delivery_date=draw(st.none() | dates),
        currency=draw(st.none() | st.sampled_from(["USD", "CAD"])),
        parties=draw(st.lists(parties(), max_size=4)),
        routing=draw(st.none() | routings),
        references=draw(st.lists(references, max_size=3)),
        notes=draw(st.lists(notes, max_size=2)),
        charges=draw(st.lists(charges, max_size=3)),
        lines=[draw(order_lines(n)) for n in range(1, count + 1)],
    )


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=orders())
def test_generated_orders_survive_write_and_read(version: str, order: Order) -> None:
    written, findings = through_interchange(write_order(order, PROFILE, version=version), "PO", version)
    assert findings == [], [f.message for f in findings]
    assert as_json(read_order(written, PROFILE, version=version)) == as_json(order)
