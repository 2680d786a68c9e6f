"""Mutated fixtures: every finding has a standard code and points inside a real segment, and the
sets the mutation did not touch read exactly as before."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi.findings import Finding, Level
from edi.x12.reader import X12Reader
from edi.x12.schema import DATA_DIR, default_schemas
from edi.x12.structures import GroupEnd, InterchangeEnd, TransactionSet
from edi.x12.validate import validated_events
from tests.conftest import FIXTURES

PASS_FILES = sorted((FIXTURES / "x12").glob("*/*/pass/*.x12"))
ENVELOPE = {"ISA", "GS", "ST", "SE", "GE", "IEA"}
#: The element whose code list each finding table draws from (999 lists where they hold more).
TABLE_ELEMENTS = {
    "TA105": ["I18"],
    "AK905": ["716"],
    "AK502": ["718", "618"],
    "AK304": ["720", "620"],
    "AK403": ["723", "621"],
}


@cache
def table_codes() -> dict[str, set[str]]:
    elements = default_schemas().dictionaries["005010"].elements
    base = default_schemas().dictionaries["004010"].elements
    tables: dict[str, set[str]] = {}
    for table, refs in TABLE_ELEMENTS.items():
        codes: set[str] = set()
        for ref in refs:
            for dictionary in (base, elements):
                if ref in dictionary and dictionary[ref].codes:
                    codes |= set(dictionary[ref].codes)
        tables[table] = codes
    ee = yaml.safe_load((DATA_DIR / "ack_codes.yaml").read_text())["EE"]
    tables["EE"] = set(ee)
    return tables


def read_all(data: bytes) -> tuple[list[TransactionSet], list[Finding]]:
    reader = X12Reader(data, name="mutated.x12")
    sets: list[TransactionSet] = []
    findings: list[Finding] = []
    for event in validated_events(reader):
        if isinstance(event, TransactionSet):
            sets.append(event)
            findings += event.findings
        elif isinstance(event, GroupEnd):
            findings += event.group.findings
        elif isinstance(event, InterchangeEnd):
            findings += event.interchange.findings
    return sets, findings + reader.findings


def segment_spans(data: bytes) -> list[tuple[int, int, str, tuple[str | None, str]]]:
    """(start, end, segment id, (GS06, ST02) of the set it is in) of every segment of a clean file."""
    spans = []
    for event in X12Reader(data):
        if isinstance(event, TransactionSet):
            terminator = event.group.interchange.delimiters.segment.encode() if event.group else b"~"
            for seg in event.segments:
                end = data.index(terminator, seg.offset)
                group = event.group.control_number if event.group else None
                spans.append((seg.offset, end, seg.tag, (group, event.control_number)))
    return spans


def assert_findings_are_coded_and_located(data: bytes, findings: list[Finding], *, terminator: bytes | None) -> None:
    """Codes come from the tables; with the file's terminator known, offsets fall inside their segment."""
    tables = table_codes()
    for finding in findings:
        assert finding.code in tables[finding.table], f"{finding} has no code from table {finding.table}"
        if finding.byte_offset is None or finding.level is Level.FILE:
            continue
        where = finding.byte_offset + (finding.offset_in_segment or 0)
        assert 0 <= finding.byte_offset <= where <= len(data), str(finding)
        if terminator is None:
            continue
        # The offset is inside the segment the finding names: not past that segment's terminator.
        rest = data[finding.byte_offset :]
        length = rest.find(terminator) if terminator in rest else len(rest)
        if finding.segment_id and finding.segment_id.isalnum() and finding.level is not Level.SEGMENT:
            assert rest.startswith(finding.segment_id.encode()), f"{finding} does not start at its segment"
        assert finding.byte_offset <= where <= finding.byte_offset + max(length, 1), f"{finding} points outside it"


mutation = st.sampled_from(["replace", "delete", "insert", "drop-segment", "double-segment"])
noise = st.sampled_from([b"~", b"*", b">", b"^", b"X", b"9", b" ", b"\x00", b"\xff", b"-", b"."]) | st.binary(
    min_size=1, max_size=3
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_fixtures_give_coded_located_findings_and_spare_the_other_sets(data: st.DataObject) -> None:
    path: Path = data.draw(st.sampled_from(PASS_FILES))
    original = path.read_bytes()
    spans = [s for s in segment_spans(original) if s[2] not in ENVELOPE]
    start, end, _, damaged = data.draw(st.sampled_from(spans))
    kind = data.draw(mutation)
    if kind == "drop-segment":
        mutated = original[:start] + original[end + 1 :]
    elif kind == "double-segment":
        mutated = original[:start] + original[start : end + 1] + original[start:]
    else:
        at = data.draw(st.integers(min_value=start, max_value=end - 1))
        chunk = data.draw(noise)
        keep = at if kind == "insert" else at + 1
        mutated = original[:at] + (chunk if kind != "delete" else b"") + original[keep:]
    before, _ = read_all(original)
    after, findings = read_all(mutated)
    assert_findings_are_coded_and_located(mutated, findings, terminator=b"~")
    untouched_before = {(ts.group.control_number if ts.group else None, ts.control_number): ts for ts in before}
    for ts in after:
        key = (ts.group.control_number if ts.group else None, ts.control_number)
        if key == damaged:
            continue
        twin = untouched_before.get(key)
        if twin is not None and ts.segments[0].fields == twin.segments[0].fields:
            assert [s.fields for s in ts.segments] == [s.fields for s in twin.segments]
            assert [f.code for f in ts.findings if f.level is not Level.SET] == [
                f.code for f in twin.findings if f.level is not Level.SET
            ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_envelopes_give_coded_located_findings(data: st.DataObject) -> None:
    path: Path = data.draw(st.sampled_from(PASS_FILES))
    original = path.read_bytes()
    at = data.draw(st.integers(min_value=0, max_value=len(original) - 1))
    chunk = data.draw(noise)
    mutated = original[:at] + chunk + original[at + 1 :]
    _, findings = read_all(mutated)
    assert_findings_are_coded_and_located(mutated, findings, terminator=None)


def test_every_pass_fixture_is_clean() -> None:
    assert PASS_FILES, "no pass fixtures found"
    for path in PASS_FILES:
        _, findings = read_all(path.read_bytes())
        assert [str(f) for f in findings] == [], path
