"""The Acknowledger: the 997/999 built from the events a caller reads anyway, in one pass.

It must give exactly what ``acknowledge`` gives for every fixture, pass the events on unchanged,
and draw control numbers only in ``finish``, interchange by interchange in file order.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from edi.x12.acks import AckKind, Acknowledgements, Acknowledger, acknowledge
from edi.x12.control_numbers import CountingControlNumbers
from edi.x12.reader import X12Reader
from edi.x12.structures import Event, GroupEnd, GroupStart, InterchangeEnd, InterchangeStart, TransactionSet
from edi.x12.validate import validated_events
from tests.x12text import PO_850, interchange

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted((ROOT / "fixtures" / "x12").glob("*/*/*/*.x12"))
NOW = datetime(2024, 3, 4, 12, 0)
BAD_DATE_850 = ["BEG*00*SA*PO123**20261301", "PO1*1*10*EA*9.99**UP*012345678905", "CTT*1"]
#: Two interchanges, the second with a faulty set, then junk after the last IEA (a reader finding).
TWO_INTERCHANGES = (interchange(PO_850) + interchange(BAD_DATE_850, control="000000002", ack="1") + "junk").encode()


class Recording(CountingControlNumbers):
    """Counts as usual and records every number drawn, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.drawn: list[tuple[str, int]] = []

    def next_interchange(self, sender: str, receiver: str) -> int:
        return self._record("ISA13", super().next_interchange(sender, receiver))

    def next_group(self, sender: str, receiver: str) -> int:
        return self._record("GS06", super().next_group(sender, receiver))

    def next_set(self, sender: str, receiver: str) -> int:
        return self._record("ST02", super().next_set(sender, receiver))

    def _record(self, level: str, number: int) -> int:
        self.drawn.append((level, number))
        return number


def one_pass(source: Path | bytes, kind: AckKind, numbers: CountingControlNumbers) -> Acknowledgements:
    """What a pipeline does: read once, keep every set, acknowledge at the end."""
    acknowledger = Acknowledger(kind=kind)
    reader = X12Reader(source, name="in.x12")
    kept = [e for e in acknowledger.observe(validated_events(reader)) if isinstance(e, TransactionSet)]
    result = acknowledger.finish(numbers, now=NOW, reader_findings=reader.findings)
    del kept  # held until the acknowledgements are finished, as a pipeline mapping them would
    return result


def described(events: Any) -> list[tuple[Any, ...]]:
    """Events as comparable values: their kind, segments and findings."""
    out: list[tuple[Any, ...]] = []
    for event in events:
        if isinstance(event, TransactionSet):
            out.append(("set", [s.fields for s in event.segments], list(event.findings)))
        elif isinstance(event, GroupStart | GroupEnd):
            out.append((type(event).__name__, event.group.gs.fields, list(event.group.findings)))
        else:
            out.append((type(event).__name__, event.interchange.isa.fields, list(event.interchange.findings)))
    return out


@pytest.mark.parametrize("kind", ["997", "999"])
@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.relative_to(ROOT / "fixtures" / "x12").as_posix())
def test_one_pass_gives_the_same_acknowledgements_as_acknowledge(path: Path, kind: AckKind) -> None:
    expected = acknowledge(path, kind=kind, control_numbers=CountingControlNumbers(), now=NOW, name="in.x12")
    assert one_pass(path, kind, CountingControlNumbers()) == expected


def test_there_are_pass_and_fail_fixtures() -> None:
    assert {p.parent.name for p in FIXTURES} == {"pass", "fail"}


@pytest.mark.parametrize("path", FIXTURES[::7], ids=lambda p: p.name)
def test_observe_passes_on_exactly_the_validated_events(path: Path) -> None:
    observed = list(Acknowledger().observe(validated_events(X12Reader(path))))
    assert described(observed) == described(validated_events(X12Reader(path)))


def test_observe_hands_on_the_very_objects_it_is_given() -> None:
    events = list(validated_events(X12Reader(TWO_INTERCHANGES)))
    observed = list(Acknowledger().observe(iter(events)))
    assert len(observed) == len(events) and all(a is b for a, b in zip(observed, events, strict=True))


def test_control_numbers_are_drawn_only_by_finish_in_the_order_acknowledge_draws_them() -> None:
    today = Recording()
    expected = acknowledge(TWO_INTERCHANGES, control_numbers=today, now=NOW)
    numbers = Recording()
    acknowledger = Acknowledger()
    reader = X12Reader(TWO_INTERCHANGES)
    for _ in acknowledger.observe(validated_events(reader)):
        assert numbers.drawn == []
    result = acknowledger.finish(numbers, now=NOW, reader_findings=reader.findings)
    assert result == expected and numbers.drawn == today.drawn
    assert [level for level, _ in numbers.drawn] == ["ISA13", "GS06", "ST02"] * 2


def test_numbers_the_caller_draws_after_finish_follow_the_acknowledgements() -> None:
    numbers = CountingControlNumbers()
    result = one_pass(TWO_INTERCHANGES, "997", numbers)
    assert [i.reply_control_number for i in result.interchanges] == ["000000001", "000000002"]
    assert numbers.next_interchange("ZZ:ACMESUPPLY", "ZZ:NORTHWIND") == 3


def test_the_reader_findings_count_towards_the_totals_only() -> None:
    results = []
    for with_reader_findings in (False, True):
        acknowledger = Acknowledger()
        reader = X12Reader(TWO_INTERCHANGES)
        for _ in acknowledger.observe(validated_events(reader)):
            pass
        found = reader.findings if with_reader_findings else []
        results.append(acknowledger.finish(CountingControlNumbers(), now=NOW, reader_findings=found))
    without, with_them = results
    assert len(reader.findings) == 1 and reader.findings[0].table not in without.by_table
    assert with_them.data == without.data and with_them.interchanges == without.interchanges
    assert with_them.errors + with_them.warnings == without.errors + without.warnings + 1
    assert with_them.by_table[reader.findings[0].table] == 1


def test_feed_takes_the_events_one_at_a_time() -> None:
    acknowledger = Acknowledger(kind="999")
    reader = X12Reader(TWO_INTERCHANGES)
    for event in validated_events(reader):
        acknowledger.feed(event)
    result = acknowledger.finish(CountingControlNumbers(), now=NOW, reader_findings=reader.findings)
    assert result == acknowledge(TWO_INTERCHANGES, kind="999", control_numbers=CountingControlNumbers(), now=NOW)


def test_finish_before_the_last_interchange_ends_is_refused() -> None:
    acknowledger = Acknowledger()
    events: list[Event] = []
    for event in acknowledger.observe(validated_events(X12Reader(TWO_INTERCHANGES))):
        events.append(event)
        if isinstance(event, GroupEnd):
            break
    assert isinstance(events[0], InterchangeStart) and not any(isinstance(e, InterchangeEnd) for e in events)
    with pytest.raises(RuntimeError, match="interchange 000000001 was not read to its end"):
        acknowledger.finish(CountingControlNumbers(), now=NOW, reader_findings=[])


def test_finish_is_called_once_and_ends_the_feeding() -> None:
    acknowledger = Acknowledger()
    events = list(validated_events(X12Reader(TWO_INTERCHANGES)))
    for event in events:
        acknowledger.feed(event)
    acknowledger.finish(CountingControlNumbers(), now=NOW, reader_findings=[])
    with pytest.raises(RuntimeError, match="finish was already called"):
        acknowledger.finish(CountingControlNumbers(), now=NOW, reader_findings=[])
    with pytest.raises(RuntimeError, match="no more events"):
        acknowledger.feed(events[0])


def test_the_kind_is_checked_when_the_acknowledger_is_made() -> None:
    with pytest.raises(ValueError, match="kind must be '997' or '999'"):
        Acknowledger(kind="998")  # type: ignore[arg-type]
