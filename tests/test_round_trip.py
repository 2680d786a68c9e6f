"""Round trips: bytes -> tree -> bytes for every canonical fixture, and tree -> bytes -> tree for
generated interchanges with any delimiters.

The generators here (``documents``, ``render``, ``shape``) are also used by test_oracles.py.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi.x12.delimiters import Delimiters
from edi.x12.reader import read_interchanges
from edi.x12.structures import Group, Interchange, Segment, TransactionSet
from edi.x12.writer import write_interchange, write_interchanges

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "x12"
PASS_FILES = sorted(FIXTURES.glob("*/*/pass/*.x12"))
FAIL_FILES = sorted(FIXTURES.glob("*/*/fail/*.x12"))
ENVELOPE_TAGS = {"ISA", "IEA", "GS", "GE", "ST", "SE"}

#: Delimiters seen in the field: punctuation, and the information separators FS, GS, RS, US.
DELIMITER_CHARS = string.punctuation + "\x1c\x1d\x1e\x1f"
#: A line feed is a common segment terminator (then nothing follows it).
TERMINATOR_CHARS = DELIMITER_CHARS + "\n"
#: Data: printable ASCII (space included) and some Latin-1 letters and signs.
VALUE_CHARS = "".join(chr(c) for c in range(0x20, 0x7F)) + "éÄßÿ°§"
VERSIONS = ("00401", "00501")
HYPOTHESIS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: An element in the abstract: its repeats, each a tuple of components (one for a simple element).
Element = tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class SetDoc:
    st01: str
    st02: str
    body: tuple[tuple[str, tuple[Element, ...]], ...]


@dataclass(frozen=True)
class GroupDoc:
    gs: tuple[str, ...]  # GS01..GS08
    sets: tuple[SetDoc, ...]


@dataclass(frozen=True)
class Document:
    """An interchange independent of its delimiters, so it can be rendered with any of them."""

    isa: tuple[str, ...]  # ISA01..ISA15; ISA11 is filled in by render
    groups: tuple[GroupDoc, ...]

    @property
    def version(self) -> str:
        return self.isa[11]


@st.composite
def delimiters_for(draw: st.DrawFn, version: str) -> Delimiters:
    segment = draw(st.sampled_from(TERMINATOR_CHARS))
    others = st.sampled_from([c for c in DELIMITER_CHARS if c != segment])
    count = 3 if version == "00501" else 2
    chosen = draw(st.lists(others, min_size=count, max_size=count, unique=True))
    repetition = chosen[2] if version == "00501" else None
    return Delimiters(element=chosen[0], component=chosen[1], segment=segment, repetition=repetition)


def text(allowed: str, min_size: int = 0, max_size: int = 6) -> st.SearchStrategy[str]:
    return st.text(alphabet=allowed, min_size=min_size, max_size=max_size)


def digits(width: int) -> st.SearchStrategy[str]:
    return st.integers(0, 10**width - 1).map(lambda n: f"{n:0{width}d}")


@st.composite
def documents(draw: st.DrawFn, version: str | None = None, avoid: str = "", most: int = 3) -> Document:
    """A random interchange whose values avoid the delimiters in ``avoid``, with 1-``most`` groups
    of 1-``most`` sets each."""
    version = version or draw(st.sampled_from(VERSIONS))
    allowed = "".join(c for c in VALUE_CHARS if c not in avoid)
    repeats = version == "00501"
    isa = (
        "00",
        draw(st.sampled_from([" " * 10, "SECRET    "])),
        "00",
        draw(st.sampled_from([" " * 10, "SECRET    "])),
        draw(st.sampled_from(["ZZ", "01", "12"])),
        draw(text(allowed, 1, 15)).ljust(15),
        draw(st.sampled_from(["ZZ", "01", "12"])),
        draw(text(allowed, 1, 15)).ljust(15),
        draw(digits(6)),
        draw(digits(4)),
        "",
        version,
        draw(digits(9)),
        draw(st.sampled_from("01")),
        draw(st.sampled_from("PT")),
    )
    tags = st.from_regex(r"[A-Z][A-Z0-9]{1,2}", fullmatch=True).filter(lambda tag: tag not in ENVELOPE_TAGS)
    component = text(allowed)
    composite = st.lists(component, min_size=1, max_size=3).map(tuple)
    element = st.lists(composite, min_size=1, max_size=3 if repeats else 1).map(tuple)
    segment = st.tuples(tags, st.lists(element, max_size=5).map(tuple))
    groups = []
    first_group = draw(st.integers(1, 999_999_990))
    for g in range(draw(st.integers(1, most))):
        gs = (
            draw(text(string.ascii_uppercase, 2, 2)),
            draw(text(allowed, 2, 15)),
            draw(text(allowed, 2, 15)),
            draw(digits(8)),
            draw(digits(4)),
            str(first_group + g),
            "X",
            version + "0",
        )
        first_set = draw(st.integers(1, 99_990))
        sets = tuple(
            SetDoc(draw(digits(3)), f"{first_set + s:04d}", tuple(draw(st.lists(segment, max_size=4))))
            for s in range(draw(st.integers(1, most)))
        )
        groups.append(GroupDoc(gs, sets))
    return Document(isa, tuple(groups))


@st.composite
def documents_with_delimiters(draw: st.DrawFn) -> tuple[Document, Delimiters]:
    version = draw(st.sampled_from(VERSIONS))
    delimiters = draw(delimiters_for(version))
    return draw(documents(version, avoid=_chars(delimiters))), delimiters


def _chars(delimiters: Delimiters) -> str:
    return delimiters.element + delimiters.component + delimiters.segment + (delimiters.repetition or "")


def render_element(element: Element, delimiters: Delimiters) -> str:
    repetition = delimiters.repetition or ""
    return repetition.join(delimiters.component.join(components) for components in element)


def render(doc: Document, delimiters: Delimiters) -> Interchange:
    """The tree the reader should produce for ``doc`` written with ``delimiters``."""
    isa = ["ISA", *doc.isa, delimiters.component]
    isa[11] = delimiters.repetition or "U"
    ich = Interchange(isa=Segment(isa), delimiters=delimiters, offset=0)
    for group_doc in doc.groups:
        group = Group(interchange=ich, gs=Segment(["GS", *group_doc.gs]))
        for set_doc in group_doc.sets:
            segments = [Segment(["ST", set_doc.st01, set_doc.st02])]
            for tag, elements in set_doc.body:
                segments.append(Segment([tag, *(render_element(e, delimiters) for e in elements)]))
            segments.append(Segment(["SE", str(len(segments) + 1), set_doc.st02]))
            group.sets.append(TransactionSet(group=group, segments=segments, segment_count=len(segments)))
        group.set_count = len(group.sets)
        group.ge = Segment(["GE", str(group.set_count), group.gs.element(6)])
        ich.groups.append(group)
    ich.group_count = len(ich.groups)
    ich.iea = Segment(["IEA", str(ich.group_count), ich.control_number])
    return ich


def line_break_for(delimiters: Delimiters) -> str:
    return "" if delimiters.segment == "\n" else "\n"


Shape = tuple[object, ...]


def shape(ich: Interchange) -> Shape:
    """Everything a tree says, as plain values: fields of every segment, grouped as the envelopes are."""
    return (
        ich.isa.fields,
        ich.delimiters,
        [
            (group.gs.fields, [[seg.fields for seg in ts.segments] for ts in group.sets], group.ge and group.ge.fields)
            for group in ich.groups
        ],
        ich.iea and ich.iea.fields,
    )


def all_findings(interchanges: list[Interchange]) -> list[str]:
    found = [str(f) for ich in interchanges for f in ich.findings]
    for ich in interchanges:
        for group in ich.groups:
            found += [str(f) for f in group.findings]
            found += [str(f) for ts in group.sets for f in ts.findings]
    return found


def read_back(data: bytes) -> list[Interchange]:
    interchanges, file_findings = read_interchanges(data)
    assert [str(f) for f in file_findings] == []
    assert all_findings(interchanges) == []
    return interchanges


# -- fixtures ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PASS_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_pass_fixture_is_written_back_byte_for_byte(path: Path) -> None:
    data = path.read_bytes()
    interchanges, _ = read_interchanges(data)
    assert write_interchanges(interchanges) == data


def test_an_interchange_holding_a_ta1_and_groups_is_written_back_byte_for_byte() -> None:
    data = PASS_FILES[0].read_bytes()
    gs = data.index(b"GS*")
    with_ta1 = data[:gs] + b"TA1*000000777*240301*1015*E*025~\n" + data[gs:]
    [ich] = read_back(with_ta1)
    assert [ta1.tag for ta1 in ich.ta1s] == ["TA1"] and ich.groups
    assert write_interchange(ich) == with_ta1


# -- generated trees --------------------------------------------------------------------------


@HYPOTHESIS
@given(documents_with_delimiters())
def test_a_written_tree_reads_back_as_the_same_tree_without_findings(case: tuple[Document, Delimiters]) -> None:
    doc, delimiters = case
    tree = render(doc, delimiters)
    data = write_interchange(tree, line_break=line_break_for(delimiters))
    [read] = read_back(data)
    assert shape(read) == shape(tree)
    assert write_interchange(read, line_break=line_break_for(delimiters)) == data


@HYPOTHESIS
@given(st.data())
def test_rewriting_with_other_delimiters_keeps_every_field(data: st.DataObject) -> None:
    version = data.draw(st.sampled_from(VERSIONS))
    first = data.draw(delimiters_for(version), label="first delimiters")
    second = data.draw(delimiters_for(version), label="second delimiters")
    doc = data.draw(documents(version, avoid=_chars(first) + _chars(second)))
    [once] = read_back(write_interchange(render(doc, first), line_break=line_break_for(first)))
    [twice] = read_back(write_interchange(once, second, line_break=line_break_for(second)))
    assert shape(twice) == shape(render(doc, second))


@settings(HYPOTHESIS, max_examples=50)  # two or three interchanges an example
@given(st.data())
def test_interchanges_written_one_after_another_read_back_in_order_each_with_its_delimiters(
    data: st.DataObject,
) -> None:
    written, trees = b"", []
    for n in range(data.draw(st.integers(2, 3), label="interchanges")):
        version = data.draw(st.sampled_from(VERSIONS))
        delimiters = data.draw(delimiters_for(version))
        doc = data.draw(documents(version, avoid=_chars(delimiters), most=2))
        doc = Document((*doc.isa[:12], f"{n + 1:09d}", *doc.isa[13:]), doc.groups)  # ISA13 unique in the file
        trees.append(render(doc, delimiters))
        written += write_interchange(trees[-1], line_break=line_break_for(delimiters))
    read = read_back(written)
    assert [shape(ich) for ich in read] == [shape(tree) for tree in trees]


@pytest.mark.parametrize(
    "second",
    [
        Delimiters(element="|", component=":", segment="!", repetition="^"),  # another terminator
        Delimiters(element="|", component=">", segment="~", repetition="^"),  # same terminator
    ],
    ids=["other-terminator", "other-element-separator"],
)
def test_a_file_of_interchanges_with_different_delimiters_reads_back(second: Delimiters) -> None:
    first = Delimiters(element="*", component=">", segment="~", repetition="^")
    doc = Document(
        ("00", " " * 10, "00", " " * 10, "ZZ", "SENDER".ljust(15), "ZZ", "RECEIVER".ljust(15), "240102", "0304", "",
         "00501", "000000001", "0", "P"),
        (GroupDoc(("PO", "SENDER", "RECEIVER", "20240102", "0304", "1", "X", "005010"),
                  (SetDoc("850", "0001", (("BEG", ((("00",),), (("SA",),))),)),)),),
    )  # fmt: skip
    later = Document((*doc.isa[:12], "000000002", *doc.isa[13:]), doc.groups)
    trees = [render(doc, first), render(later, second)]
    data = write_interchange(trees[0]) + write_interchange(trees[1])
    read = read_back(data)
    assert [shape(ich) for ich in read] == [shape(tree) for tree in trees]
