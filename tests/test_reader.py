"""The streaming reader: delimiters, positions, envelopes and what it does with bad input."""

from __future__ import annotations

import io
import resource
import subprocess
import sys
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi.findings import Level, Severity
from edi.x12.reader import X12Reader, read_interchanges
from edi.x12.structures import Interchange, TransactionSet
from tests.x12text import PO_850, interchange, isa


def read(text: str | bytes, **options: int) -> tuple[list[Interchange], X12Reader]:
    data = text.encode("latin-1") if isinstance(text, str) else text
    reader = X12Reader(data, name="t.x12", keep_tree=True, **options)
    for _ in reader:
        pass
    return reader.interchanges, reader


def codes(ich: Interchange) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"interchange": [f.code for f in ich.findings]}
    for group in ich.groups:
        found.setdefault("group", []).extend(f.code for f in group.findings)
        for ts in group.sets:
            found.setdefault("set", []).extend(f.code for f in ts.findings)
    return found


def all_sets(interchanges: list[Interchange]) -> list[TransactionSet]:
    return [ts for ich in interchanges for g in ich.groups for ts in g.sets]


def test_delimiters_come_from_the_isa_header() -> None:
    text = interchange(PO_850, element="|", component=":", terminator="\n", sep="")
    [ich], reader = read(text)
    assert (ich.delimiters.element, ich.delimiters.component, ich.delimiters.segment) == ("|", ":", "\n")
    assert ich.delimiters.repetition is None
    [ts] = all_sets([ich])
    assert ts.segments[1].fields == ["BEG", "00", "SA", "PO123", "", "20261128"]
    assert codes(ich) == {"interchange": [], "group": [], "set": []}
    assert reader.findings == []


def test_repetition_separator_is_honoured_from_00402_only() -> None:
    [ich5], _ = read(interchange(PO_850, version="00501", repetition="^", gs08="005010"))
    assert ich5.delimiters.repetition == "^"
    [ich4], _ = read(interchange(PO_850, version="00401", repetition="U"))
    assert ich4.delimiters.repetition is None


@pytest.mark.parametrize("line_break", ["", "\n", "\r", "\r\n"])
def test_a_line_break_after_each_terminator_is_tolerated_silently(line_break: str) -> None:
    interchanges, reader = read(interchange(PO_850, sep=line_break))
    assert reader.findings == []
    assert [s.tag for s in all_sets(interchanges)[0].segments] == ["ST", "BEG", "PO1", "CTT", "SE"]


def test_segments_keep_byte_offset_and_positions() -> None:
    text = interchange(PO_850, PO_850)
    interchanges, _ = read(text)
    for ts in all_sets(interchanges):
        for number, seg in enumerate(ts.segments, start=1):
            assert seg.position == number
            assert text[seg.offset :].startswith(seg.tag + "*")
    second = all_sets(interchanges)[1]
    assert second.segments[0].index == 8  # ISA, GS, five segments of the first set, then this ST


def test_bom_and_whitespace_between_interchanges_are_warnings() -> None:
    text = "\ufeff".encode() + (interchange(PO_850) + "\n\n  \n" + interchange(PO_850, control="000000002")).encode()
    interchanges, reader = read(text)
    assert len(interchanges) == 2
    assert [f.code for f in reader.findings] == ["bom", "whitespace"]
    assert all(f.severity is Severity.WARNING for f in reader.findings)
    assert reader.findings[1].byte_offset == 3 + len(interchange(PO_850))  # after IEA's terminator and line break
    assert reader.findings[1].message.startswith("5 bytes")


def test_several_interchanges_groups_and_sets_in_one_file() -> None:
    text = interchange(PO_850, PO_850) + interchange(PO_850, control="000000002", element="|", terminator="'")
    interchanges, reader = read(text)
    assert [ich.control_number for ich in interchanges] == ["000000001", "000000002"]
    assert [len(g.sets) for ich in interchanges for g in ich.groups] == [2, 1]
    assert reader.findings == []
    assert all(not codes(ich)["set"] for ich in interchanges)


def test_envelope_counts_and_control_numbers_are_checked() -> None:
    text = interchange(PO_850)
    text = (
        text.replace("SE*5*0001", "SE*6*0002").replace("GE*1*1", "GE*2*7").replace("IEA*1*000000001", "IEA*3*000000009")
    )
    [ich], _ = read(text)
    assert sorted(codes(ich)["set"]) == ["3", "4"]
    assert sorted(codes(ich)["group"]) == ["4", "5"]
    assert sorted(codes(ich)["interchange"]) == ["001", "021"]


def test_duplicate_st02_and_gs06_are_flagged() -> None:
    one = interchange(PO_850, PO_850).replace("0002", "0001")
    [ich], _ = read(one)
    assert codes(ich)["set"] == ["23"]
    group = one[one.index("GS*") : one.index("IEA")]
    doubled = one.replace("IEA*1*", "IEA*2*").replace(group, group + group)
    [ich], _ = read(doubled)
    assert codes(ich)["group"] == ["19"]


def test_missing_trailers_are_reported_at_every_level() -> None:
    text = interchange(PO_850)
    cut = text[: text.index("SE*")]
    [ich], _ = read(cut)
    assert codes(ich) == {"interchange": ["023"], "group": ["3"], "set": ["2"]}


TA1 = "TA1*000000777*240301*1015*A*000"
TA1_REJECTED = "TA1*000000778*240301*1016*R*001"


def test_a_ta1_between_isa_and_gs_reads_with_no_finding_and_lands_on_the_interchange() -> None:
    text = interchange(PO_850)
    gs = text.index("GS*")
    [ich], reader = read(text[:gs] + TA1 + "~\n" + TA1_REJECTED + "~\n" + text[gs:])
    assert ["*".join(ta1.fields) for ta1 in ich.ta1s] == [TA1, TA1_REJECTED]
    assert [ta1.index for ta1 in ich.ta1s] == [2, 3]  # ISA is 1
    assert ich.ta1s[0].offset == gs
    assert codes(ich) == {"interchange": [], "group": [], "set": []}
    assert reader.findings == []


def test_an_interchange_of_a_ta1_alone_has_no_groups_and_no_finding() -> None:
    text = interchange(PO_850)
    alone = text[: text.index("GS*")] + TA1 + "~\n" + text[text.index("IEA*") :].replace("IEA*1", "IEA*0")
    [ich], _ = read(alone)
    assert [ta1.tag for ta1 in ich.ta1s] == ["TA1"]
    assert ich.groups == [] and ich.findings == []


@pytest.mark.parametrize(
    "before",
    ["ST*850*0001", "GS*PO*NORTHWIND*ACMESUPPLY*20261128*1200*2*", "IEA*"],
    ids=["inside-a-group", "between-groups", "after-the-groups"],
)
def test_a_ta1_after_a_gs_is_content_out_of_order(before: str) -> None:
    text = interchange(PO_850)
    group = text[text.index("GS*") : text.index("IEA*")]
    second = group.replace("*1*X*", "*2*X*").replace("GE*1*1", "GE*1*2")
    text = text.replace("IEA*1*", "IEA*2*").replace(group, group + second)
    [ich], _ = read(text.replace(before, TA1 + "~\n" + before, 1))
    assert ich.ta1s == []
    [finding] = ich.findings
    assert (finding.code, finding.segment_id) == ("024", "TA1")
    assert all(not g.findings for g in ich.groups)


def test_wrong_isa_widths_are_named_with_their_ta1_code() -> None:
    header = isa()
    narrow = header.replace("NORTHWIND      ", "NORTHWIND", 1)
    [ich], _ = read(interchange(PO_850).replace(header, narrow))
    assert [(f.code, f.element) for f in ich.findings] == [("006", 6)]
    assert ich.findings[0].offset_in_segment == header.index("NORTHWIND")
    assert all_sets([ich])[0].findings == []  # the rest of the interchange still reads


def test_colliding_separators_refuse_the_interchange_but_not_the_file() -> None:
    bad = interchange(PO_850, component="*")
    good = interchange(PO_850, control="000000002")
    interchanges, _ = read(bad + good)
    assert [f.code for f in interchanges[0].findings] == ["027"]
    assert interchanges[-1].control_number == "000000002"
    assert all_sets(interchanges[-1:])[0].findings == []


@pytest.mark.parametrize(
    ("segment", "why"), [("beg*00*SA*PO1**20261128", "lowercase"), ("BEGIN*00*SA*PO1**20261128", "too long")]
)
def test_malformed_segment_ids_are_unrecognized_segments(segment: str, why: str) -> None:
    [ich], _ = read(interchange([segment, *PO_850[1:]]))
    [finding] = all_sets([ich])[0].findings
    assert (finding.level, finding.code, finding.segment_position) == (Level.SEGMENT, "1", 2)
    assert why in finding.message


def test_empty_file_and_garbage_produce_findings_not_tracebacks() -> None:
    assert read(b"")[0] == []
    interchanges, reader = read(bytes(range(256)) * 100)
    assert interchanges == []
    assert [f.code for f in reader.findings] == ["junk"]
    assert reader.findings[0].byte_offset == 0


def test_junk_between_interchanges_is_skipped_and_located() -> None:
    first = interchange(PO_850)
    interchanges, reader = read(first + "hello there~" + interchange(PO_850, control="000000002"))
    assert len(interchanges) == 2
    assert [(f.code, f.byte_offset) for f in reader.findings] == [("junk", len(first))]


def test_a_segment_over_the_length_limit_is_cut_and_reported_without_holding_it() -> None:
    text = interchange(["N1*ST*" + "A" * 5000, *PO_850])
    [ich], _ = read(text, max_segment_length=1000, chunk_size=256)
    [ts] = all_sets([ich])
    [finding] = ts.findings
    assert (finding.level, finding.code, finding.segment_position, finding.element) == (Level.ELEMENT, "5", 2, 2)
    assert "5006 bytes" in finding.message
    assert [s.tag for s in ts.segments] == ["ST", "N1", "BEG", "PO1", "CTT", "SE"]


def _large_single_segment(size: int) -> Iterator[bytes]:
    yield interchange(PO_850).split("ST*")[0].encode()
    yield b"ST*850*0001~N1*ST*"
    block = b"A" * (1 << 20)
    for _ in range(size // len(block)):
        yield block
    yield b"~SE*3*0001~GE*1*1~IEA*1*000000001~"


class _Chunks(io.RawIOBase):
    def __init__(self, parts: Iterator[bytes]) -> None:
        self.parts = parts
        self.pending = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while len(self.pending) < size:
            part = next(self.parts, None)
            if part is None:
                break
            self.pending += part
        out, self.pending = self.pending[:size], self.pending[size:]
        return out


def test_a_100_mb_segment_is_reported_in_bounded_memory() -> None:
    reader = X12Reader(_Chunks(_large_single_segment(100 << 20)), name="big.x12")  # type: ignore[arg-type]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sets = [ev for ev in reader if isinstance(ev, TransactionSet)]
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    [ts] = sets
    assert [f.code for f in ts.findings] == ["5"]
    assert grown_kb < 40_000, f"peak memory grew by {grown_kb} kB reading one 100 MB segment"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunk=st.integers(min_value=1, max_value=300))
def test_chunk_boundaries_never_change_what_is_read(chunk: int) -> None:
    text = interchange(PO_850, PO_850) + "\r\n" + interchange(PO_850, control="000000002", element="|")
    whole, reader_whole = read(text)
    pieces, reader_pieces = read(text, chunk_size=chunk)
    assert [[s.fields for s in ts.segments] for ts in all_sets(whole)] == [
        [s.fields for s in ts.segments] for ts in all_sets(pieces)
    ]
    assert [[s.offset for s in ts.segments] for ts in all_sets(whole)] == [
        [s.offset for s in ts.segments] for ts in all_sets(pieces)
    ]
    assert [f.code for f in reader_whole.findings] == [f.code for f in reader_pieces.findings]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_file_cut_anywhere_reads_without_error_and_says_where_it_ends(data: st.DataObject) -> None:
    text = interchange(PO_850, PO_850)
    cut = data.draw(st.integers(min_value=0, max_value=len(text) - 2))
    interchanges, reader = read(text[:cut])
    if text[:cut].strip():
        reported = [f.code for ich in interchanges for f in ich.findings] + [f.code for f in reader.findings]
        assert "023" in reported or "junk" in reported


def test_reading_a_file_by_path_closes_it(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "po.x12"  # type: ignore[operator]
    path.write_text(interchange(PO_850))
    interchanges, findings = read_interchanges(path)
    assert len(interchanges) == 1 and findings == []


def test_reading_runs_in_bounded_memory_whatever_the_file_size(tmp_path: pytest.TempPathFactory) -> None:
    """Peak RSS of a child process reading 2,000 and 20,000 sets differs by far less than the data."""
    body = "".join(interchange(PO_850 * 3, control=f"{n:09d}") for n in range(1, 41))
    small = tmp_path / "small.x12"  # type: ignore[operator]
    small.write_text(body * 25)
    large = tmp_path / "large.x12"  # type: ignore[operator]
    large.write_text(body * 250)
    script = (
        "import resource,sys\n"
        "from edi.x12.reader import X12Reader\n"
        "n=sum(1 for _ in X12Reader(sys.argv[1]))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    rss = [int(subprocess.check_output([sys.executable, "-c", script, str(p)]).split()[-1]) for p in (small, large)]
    grown_kb = rss[1] - rss[0]
    assert large.stat().st_size >= 10 * small.stat().st_size
    assert grown_kb < 8_000, f"reading a file ten times larger grew peak RSS by {grown_kb} kB"
