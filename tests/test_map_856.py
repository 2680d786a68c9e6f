"""The 856 map: fixtures to golden canonical JSON, round trips that validate clean (HL structure
included), generated ship notices, SOPI versus SOI, and SSCC-18 check digits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.model.common import Address, Party, PartyRole, Reference, Routing
from engine.model.documents import Pack, ShipNotice, ShippedItem, ShippedOrder
from mappings.profile import Document, PartnerProfile
from mappings.x12.asn856 import PURPOSES, read_ship_notice, sscc_check_digit, valid_sscc, write_ship_notice
from mappings.x12.common import MappingError
from mappings.x12.registry import BY_DOCUMENT, map_for
from tests.x12_map_support import (
    NOW,
    canonical,
    check_golden,
    dates,
    fixture_id,
    item_ids,
    line_numbers,
    nonzero,
    only_set,
    partner,
    pass_fixtures,
    quantities,
    set_from,
    through_interchange,
    trimmed,
    values,
    version_of,
    words,
)

FIXTURES_856 = pass_fixtures("856")


def _write(notice: ShipNotice, version: str = "004010", profile: PartnerProfile | None = None) -> list[list[str]]:
    return write_ship_notice(notice, profile or partner(), version=version, created=NOW)


def _round_trip(notice: ShipNotice, profile: PartnerProfile, version: str) -> ShipNotice:
    written = through_interchange(_write(notice, version, profile), "SH", version)
    assert written.findings == []
    return read_ship_notice(written.ts, profile, version=version)


def _hl(segments: list[list[str]]) -> list[list[str]]:
    return [seg[1:5] for seg in trimmed(segments) if seg[0] == "HL"]


def test_there_are_856_fixtures_in_both_versions_and_both_structures() -> None:
    assert {(version_of(p), p.stem) for p in FIXTURES_856} == {
        (v, s) for v in ("004010", "005010") for s in ("soi", "sopi")
    }


@pytest.mark.parametrize("path", FIXTURES_856, ids=fixture_id)
def test_fixture_reads_as_its_golden_ship_notice(path: Path) -> None:
    notice = read_ship_notice(only_set(path), partner(), version=version_of(path))
    check_golden(path, notice)


@pytest.mark.parametrize("path", FIXTURES_856, ids=fixture_id)
def test_fixture_survives_write_and_read_again(path: Path) -> None:
    profile, version = partner(), version_of(path)
    notice = read_ship_notice(only_set(path), profile, version=version)
    assert canonical(_round_trip(notice, profile, version)) == canonical(notice)


@pytest.mark.parametrize("path", FIXTURES_856, ids=fixture_id)
def test_the_written_hierarchy_is_the_fixtures(path: Path) -> None:
    """HL01 counts up, HL02 names the parent, HL04 says whether children follow, as in the fixture;
    BSN05 is 0001 for the packed notice and 0004 for the other."""
    version = version_of(path)
    ts = only_set(path)
    segments = _write(read_ship_notice(ts, partner(), version=version), version)
    assert _hl(segments) == [seg.fields[1:5] for seg in ts.segments if seg.tag == "HL"]
    assert segments[1][5] == ts.segments[1].element(5)
    assert trimmed(segments)[-1] == ["CTT", str(len(_hl(segments)))]


# -- generated ship notices -------------------------------------------------------------------------------


@st.composite
def ssccs(draw: st.DrawFn) -> str:
    digits = draw(st.text("0123456789", min_size=17, max_size=17))
    return digits + sscc_check_digit(digits)


shipped_items = st.builds(
    ShippedItem,
    line_number=line_numbers,
    quantity=quantities.filter(nonzero),
    uom=st.sampled_from(["EA", "CA"]),
    item_ids=item_ids,
)
packs = st.builds(
    Pack,
    sscc=st.none() | ssccs(),
    tracking_number=st.none() | values,
    items=st.lists(shipped_items, max_size=3),
)
parties = st.builds(
    Party,
    role=st.sampled_from([PartyRole.SHIP_TO, PartyRole.SHIP_FROM, PartyRole.MARK_FOR]),
    name=words,
    id_qualifier=st.none(),
    id=st.none(),
    address=st.none()
    | st.builds(
        Address,
        lines=st.lists(words, max_size=2),
        city=st.sampled_from(["RENO", "SPARKS", "LAS VEGAS"]),
        state=st.just("NV"),
        postal_code=st.just("89502"),
    ),
)
routings = st.builds(
    Routing,
    carrier_code=st.sampled_from(["UPSN", "FDEG", "ODFL"]),
    transport_method=st.none() | st.sampled_from(["M", "U"]),
    routing=st.none() | words,
)


@st.composite
def ship_notices(draw: st.DrawFn) -> ShipNotice:
    packed = draw(st.booleans())
    orders = [
        ShippedOrder(
            po_number=draw(values),
            packs=draw(st.lists(packs, max_size=3)) if packed else [],
            items=[] if packed else draw(st.lists(shipped_items, max_size=3)),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    return ShipNotice(
        partner_id="northwind",
        shipment_id=draw(values.filter(lambda v: len(v) >= 2)),
        ship_date=draw(dates),
        purpose=draw(st.sampled_from([name for _, name in PURPOSES])),
        routing=draw(st.none() | routings),
        tracking_numbers=draw(st.lists(values, max_size=2)),
        parties=draw(st.lists(parties, max_size=2)),
        orders=orders,
        references=draw(
            st.lists(st.builds(Reference, qualifier=st.sampled_from(["BM", "PK", "IA"]), value=values), max_size=2)
        ),
    )


@pytest.mark.parametrize("version", ["004010", "005010"])
@given(notice=ship_notices())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_ship_notices_survive_write_and_read(version: str, notice: ShipNotice) -> None:
    """Every written notice also validates clean, hierarchy included (``_round_trip`` asserts it)."""
    assert canonical(_round_trip(notice, partner(), version)) == canonical(notice)


# -- structure and labels -----------------------------------------------------------------------------------

ITEM = ShippedItem(line_number="1", quantity=Decimal(2), item_ids={"upc": "081234500016"})


def _notice(*orders: ShippedOrder) -> ShipNotice:
    return ShipNotice(partner_id="northwind", shipment_id="ASN-1", ship_date=date(2024, 3, 6), orders=list(orders))


def test_a_notice_with_packs_is_sopi_and_one_without_is_soi() -> None:
    packed = _write(_notice(ShippedOrder(po_number="PO1", packs=[Pack(sscc="081234500000000016", items=[ITEM])])))
    assert packed[1][5] == "0001"
    assert _hl(packed) == [["1", "", "S", "1"], ["2", "1", "O", "1"], ["3", "2", "P", "1"], ["4", "3", "I", "0"]]
    assert ["MAN", "GM", "00081234500000000016"] in trimmed(packed)
    loose = _write(_notice(ShippedOrder(po_number="PO1", items=[ITEM])))
    assert loose[1][5] == "0004"
    assert _hl(loose) == [["1", "", "S", "1"], ["2", "1", "O", "1"], ["3", "2", "I", "0"]]


def test_an_sscc_with_a_wrong_check_digit_is_refused_on_write() -> None:
    with pytest.raises(MappingError, match="check digit 7, where GS1 mod 10 gives 6"):
        _write(_notice(ShippedOrder(po_number="PO1", packs=[Pack(sscc="081234500000000017", items=[ITEM])])))


@pytest.mark.parametrize("label", ["08123450000000001", "0812345000000000166", "08123450000000001X"])
def test_an_sscc_that_is_not_18_digits_is_refused(label: str) -> None:
    with pytest.raises(MappingError, match="SSCC-18"):
        valid_sscc(label)


def test_an_sscc_may_be_given_with_its_application_identifier() -> None:
    assert valid_sscc("00081234500000000016") == "081234500000000016"


def test_loose_items_beside_packs_are_refused() -> None:
    with pytest.raises(MappingError, match="every item is in a pack"):
        _write(
            _notice(
                ShippedOrder(po_number="PO1", packs=[Pack(sscc="081234500000000016", items=[ITEM])]),
                ShippedOrder(po_number="PO2", items=[ITEM]),
            )
        )


def test_an_item_without_ids_names_its_line_in_sn101() -> None:
    item = ShippedItem(line_number="7", quantity=Decimal(3))
    segments = trimmed(_write(_notice(ShippedOrder(po_number="PO1", items=[item]))))
    assert ["SN1", "7", "3", "EA"] in segments
    assert not [seg for seg in segments if seg[0] == "LIN"]
    assert _round_trip(_notice(ShippedOrder(po_number="PO1", items=[item])), partner(), "005010").orders[0].items == [
        item
    ]


def test_a_tare_level_and_man_cp_tracking_are_read() -> None:
    ts = set_from(
        "856", "BSN*00*ASN-9*20240306*1430*0001", "HL*1**S*1", "DTM*011*20240305", "HL*2*1*O*1", "PRF*PO7",
        "HL*3*2*T*1", "HL*4*3*P*1", "MAN*GM*081234500000000016**CP*1Z999", "HL*5*4*I*0", "LIN**UP*081234500016",
        "SN1*4*6*EA", "CTT*5",
        functional_id="SH",
    )  # fmt: skip
    notice = read_ship_notice(ts, partner(), version="004010")
    assert notice.ship_date == date(2024, 3, 5)
    pack = notice.orders[0].packs[0]
    assert (pack.sscc, pack.tracking_number) == ("081234500000000016", "1Z999")
    assert pack.items == [ShippedItem(line_number="4", quantity=Decimal(6), item_ids={"upc": "081234500016"})]


def test_a_structure_with_packs_above_orders_is_refused() -> None:
    ts = set_from("856", "BSN*00*ASN-9*20240306*1430*0003", "HL*1**S*0", functional_id="SH")
    with pytest.raises(MappingError, match="BSN05"):
        read_ship_notice(ts, partner(), version="004010")


def test_shipment_tracking_is_ref_cn_and_a_bill_of_lading_stays_a_reference() -> None:
    notice = _notice(ShippedOrder(po_number="PO1", items=[ITEM])).model_copy(
        update={"tracking_numbers": ["1Z1"], "references": [Reference(qualifier="BM", value="BOL7")]}
    )
    segments = trimmed(_write(notice))
    assert ["REF", "CN", "1Z1"] in segments
    assert ["REF", "BM", "BOL7"] in segments
    assert _round_trip(notice, partner(), "004010") == notice


def test_the_registry_carries_the_856_map() -> None:
    assert map_for("856").read is read_ship_notice and map_for("856").write is write_ship_notice
    assert map_for("856").functional_id == "SH"
    assert BY_DOCUMENT[Document.SHIP_NOTICE].canonical is ShipNotice
