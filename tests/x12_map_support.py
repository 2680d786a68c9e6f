"""What the 855, 865 and 856 map tests share: a partner profile built here (no demo profiles), the
pass fixtures with their golden canonical JSON, and a round trip through a real interchange.

Goldens are written, never hand-edited: ``EDI_REGEN_GOLDENS=1 pytest tests/test_map_855.py``
rewrites ``fixtures/x12/<version>/<set>/pass/<name>.json`` beside each document; review the diff
against the EDI before committing it.
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

from edi.findings import Finding
from edi.x12.control_numbers import CountingControlNumbers
from edi.x12.reader import X12Reader, read_interchanges
from edi.x12.structures import InterchangeEnd, TransactionSet
from edi.x12.validate import validated_events
from edi.x12.writer import GroupSpec, build_interchange, write_interchange
from engine.model.common import Reference
from engine.model.documents import Acknowledgement, AckPurpose, AckType, LineAck, LineAckStatus
from engine.model.reasons import CancelReason
from mappings.profile import Capabilities, PartnerProfile, ReasonCode, X12Identity
from mappings.x12.ack855 import CANCELLING, LINE_STATUSES
from mappings.x12.common import SegmentFields
from tests.conftest import FIXTURES
from tests.x12text import interchange

REGENERATE = os.environ.get("EDI_REGEN_GOLDENS", "") == "1"
VERSIONS = ("004010", "005010")
#: Fixed so that what is written does not change from run to run.
NOW = datetime(2024, 3, 6, 14, 30)
US = ("ZZ", "ACMESUPPLY")
THEM = ("ZZ", "NORTHWIND")

#: How the test partner says our cancel reasons: out of stock is "rejected" with their code W01,
#: discontinued "deleted" with A83, an invalid item R2 (the only reason said with R2).
REASONS = {
    CancelReason.OUT_OF_STOCK: ReasonCode(ack_status="IR", code="W01", text="Out of stock"),
    CancelReason.DISCONTINUED: ReasonCode(ack_status="ID", code="A83", text="Discontinued"),
    CancelReason.INVALID_ITEM: ReasonCode(ack_status="R2", code="A03"),
}


def partner(date_qualifier: str = "068", *, change_after_first_ack: str = "855-05") -> PartnerProfile:
    """A retailer as the fixtures' Northwind: BP / VP / UP item ids, a reason crosswalk."""
    return PartnerProfile.model_validate(
        {
            "id": "northwind",
            "name": "Northwind Home",
            "x12": X12Identity(isa_qualifier="ZZ", isa_id="NORTHWIND", gs_code="NORTHWIND"),
            "capabilities": Capabilities.model_validate(
                {
                    "accepts_backorders": True,
                    "backorder_date_qualifier": date_qualifier,
                    "change_after_first_ack": change_after_first_ack,
                    "reasons": REASONS,
                }
            ),
        }
    )


def pass_fixtures(set_id: str) -> list[Path]:
    return sorted(path for version in VERSIONS for path in (FIXTURES / "x12" / version / set_id / "pass").glob("*.x12"))


def fixture_id(path: Path) -> str:
    return path.relative_to(FIXTURES / "x12").with_suffix("").as_posix()


def version_of(path: Path) -> str:
    return path.relative_to(FIXTURES / "x12").parts[0]


def only_set(path: Path) -> TransactionSet:
    interchanges, findings = read_interchanges(path)
    assert not findings
    sets = [ts for ich in interchanges for group in ich.groups for ts in group.sets]
    assert len(sets) == 1, f"{path} should hold one transaction set"
    return sets[0]


def canonical(model: BaseModel) -> Any:
    return model.model_dump(mode="json")


def check_golden(path: Path, model: BaseModel) -> None:
    """The canonical JSON read from ``path`` equals ``<name>.json`` beside it (or rewrites it)."""
    golden = path.with_suffix(".json")
    data = canonical(model)
    if REGENERATE:
        golden.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    assert golden.exists(), f"{golden} is missing; write it with EDI_REGEN_GOLDENS=1 and review it"
    assert json.loads(golden.read_text()) == data


@dataclass
class Written:
    """A set written by a map, built into an interchange, written to bytes and read back validated."""

    data: bytes
    ts: TransactionSet
    findings: list[Finding] = field(default_factory=list)


def through_interchange(segments: list[SegmentFields], functional_id: str, version: str, usage: str = "P") -> Written:
    ich = build_interchange(
        US,
        THEM,
        [GroupSpec(functional_id, version, [segments])],
        control_numbers=CountingControlNumbers(),
        now=NOW,
        usage=usage,
    )
    data = write_interchange(ich)
    reader = X12Reader(data)
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
    return Written(data, sets[0], findings)


def set_from(set_id: str, *segments: str, functional_id: str, version: str = "004010") -> TransactionSet:
    """A hand-written set (the segments between ST and SE, ``*`` separated) read from a real interchange."""
    data = interchange([set_id, *segments], gs08=version, functional_id=functional_id).encode("latin-1")
    interchanges, _ = read_interchanges(data)
    return interchanges[0].groups[0].sets[0]


def segment_lines(data: bytes) -> list[str]:
    return [line.rstrip("~") for line in data.decode("latin-1").splitlines()]


def trimmed(segments: Iterable[SegmentFields]) -> list[SegmentFields]:
    """Segments as the builder writes them: trailing empty elements dropped."""
    out = []
    for seg in segments:
        seg = list(seg)
        while len(seg) > 1 and not seg[-1]:
            seg.pop()
        out.append(seg)
    return out


def tags(segments: Iterable[SegmentFields]) -> list[str]:
    return [seg[0] for seg in segments]


# -- strategies ------------------------------------------------------------------------------------

ALNUM = string.ascii_uppercase + string.digits
#: Values as partners send them: no padding (readers strip it), none of the delimiters.
values = st.text(ALNUM + "-", min_size=1, max_size=12).filter(lambda v: v.strip() == v)
words = st.from_regex(r"[A-Z0-9]([A-Z0-9 ]{0,18}[A-Z0-9])?", fullmatch=True)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
quantities = st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False, allow_infinity=False)
prices = st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False, allow_infinity=False)
line_numbers = st.integers(min_value=1, max_value=999).map(str)
item_ids = st.dictionaries(st.sampled_from(["buyer_part", "vendor_part", "upc", "sku"]), values, max_size=4)


def nonzero(value: Decimal) -> bool:
    return value > 0


_STATUS_OF = dict(LINE_STATUSES)


@st.composite
def line_acks(draw: st.DrawFn) -> LineAck:
    quantity = draw(st.none() | quantities)
    status = draw(st.sampled_from(LineAckStatus))
    return LineAck(
        line_number=draw(line_numbers),
        status=status,
        quantity=quantity,
        uom=draw(st.sampled_from(["EA", "CA", "PK"])) if quantity is not None else None,
        unit_price=draw(st.none() | prices),
        ship_date=draw(st.none() | dates),
        reason=draw(st.none() | st.sampled_from([r.value for r in CancelReason])),
        item_ids=draw(item_ids),
    )


@st.composite
def acknowledgements(draw: st.DrawFn, *, of_change: bool = False) -> Acknowledgement:
    references = draw(
        st.lists(
            st.builds(
                Reference,
                qualifier=st.sampled_from(["IA", "DP", "CT", "IT"]),
                value=values,
                description=st.none() | words,
            ),
            max_size=3,
        )
    )
    return Acknowledgement(
        partner_id="northwind",
        po_number=draw(values),
        of_change=of_change,
        purpose=draw(st.sampled_from(AckPurpose)),
        ack_type=draw(st.sampled_from(AckType)),
        ack_date=draw(st.none() | dates),
        order_date=draw(dates),
        reason=draw(st.none() | st.sampled_from([r.value for r in CancelReason])),
        lines=draw(st.lists(line_acks(), max_size=6, unique_by=lambda line: line.line_number)),
        references=references,
    )


def as_the_partner_reads_it(ack: Acknowledgement) -> Acknowledgement:
    """What comes back: a cancel reason the partner says with its own ACK01 code comes back with
    the status that code means (their "rejected" for our "cancelled", say)."""
    lines = []
    for line in ack.lines:
        said = REASONS.get(CancelReason(line.reason)) if line.reason else None
        if line.status in CANCELLING and said is not None:
            line = line.model_copy(update={"status": _STATUS_OF[said.ack_status]})
        lines.append(line)
    return ack.model_copy(update={"lines": lines})
