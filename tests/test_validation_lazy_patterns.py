"""Segment patterns are compiled as a file first holds each segment, not for a whole set definition."""

from __future__ import annotations

from edi.x12.delimiters import Delimiters
from edi.x12.reader import X12Reader
from edi.x12.schema import default_schemas
from edi.x12.structures import TransactionSet
from edi.x12.validate import _set_pattern, validated_events
from tests.x12text import PO_850, interchange

#: Delimiters no other test uses, so the compiled patterns seen here are this test's alone.
OWN = {"element": "#", "component": "&", "terminator": "`"}
BAD_DATE_850 = ["BEG*00*SA*PO123**20261301", "PO1*1*10*EA*9.99**UP*012345678905", "CTT*1"]


def sets(text: str) -> list[TransactionSet]:
    return [e for e in validated_events(X12Reader(text.encode())) if isinstance(e, TransactionSet)]


def test_only_the_segments_a_file_holds_have_their_pattern_compiled() -> None:
    [ts] = sets(interchange(PO_850, **OWN))
    assert ts.findings == []
    tsdef = default_schemas().transaction_set("004010", "850")
    assert tsdef is not None
    compiled = _set_pattern(tsdef).matchers[Delimiters(element="#", component="&", segment="`")]
    assert set(compiled) == {"ST", "BEG", "PO1", "CTT", "SE"} < tsdef.tags


def test_a_segment_first_seen_with_a_fault_is_reported_as_with_any_delimiters() -> None:
    [first_seen] = sets(interchange(BAD_DATE_850, **{**OWN, "element": "!"}))
    [usual] = sets(interchange(BAD_DATE_850))
    found = [(f.segment_id, f.element, f.code) for f in first_seen.findings]
    assert ("BEG", 5, "8") in found and found == [(f.segment_id, f.element, f.code) for f in usual.findings]
