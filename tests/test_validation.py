"""Schema validation: structure, elements, syntax notes, the 856 hierarchy, schemas added as data."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from edi.findings import Finding, Level
from edi.text import is_digits
from edi.x12.reader import X12Reader
from edi.x12.schema import DATA_DIR, SchemaSet, default_schemas, load_schemas
from edi.x12.structures import Group, Interchange, InterchangeEnd, TransactionSet
from edi.x12.validate import validated_events
from tests.conftest import ROOT
from tests.x12text import PO_850, interchange


def check(text: str, schemas: SchemaSet | None = None) -> tuple[list[TransactionSet], list[Interchange]]:
    reader = X12Reader(text.encode("latin-1"), name="t.x12")
    sets: list[TransactionSet] = []
    interchanges: list[Interchange] = []
    for event in validated_events(reader, schemas):
        if isinstance(event, TransactionSet):
            sets.append(event)
        elif isinstance(event, InterchangeEnd):
            interchanges.append(event.interchange)
    return sets, interchanges


def problems(ts: TransactionSet) -> list[tuple[str, str, int | None, str | None, int | None]]:
    """(level, code, segment position, segment id, element) of every finding but the AK502 5 summary."""
    return [
        (f.level.value, f.code, f.segment_position, f.segment_id, f.element)
        for f in ts.findings
        if not (f.level is Level.SET and f.code == "5")
    ]


def one_set(body: list[str], set_id: str = "850", gs08: str = "004010", **options: str) -> TransactionSet:
    version = "00501" if gs08.startswith("005") else "00401"
    repetition = "^" if gs08.startswith("005") else "U"
    [ts], _ = check(interchange([set_id, *body], gs08=gs08, version=version, repetition=repetition, **options))
    return ts


def test_a_clean_purchase_order_has_no_findings() -> None:
    assert one_set(PO_850).findings == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (["BEG*00*SA*PO1**20261128", "ZZZ*1", *PO_850[1:]], [("segment", "1", 3, "ZZZ", None)]),
        (["BEG*00*SA*PO1**20261128", "BSN*00*1*20261128*1200", *PO_850[1:]], [("segment", "6", 3, "BSN", None)]),
        ([*PO_850, "BEG*00*SA*PO1**20261128"], [("segment", "7", 5, "BEG", None)]),
        (PO_850[1:], [("segment", "3", 2, "BEG", None)]),
        (["BEG*00*SA*PO1**20261128", *PO_850], [("segment", "5", 3, "BEG", None)]),
    ],
    ids=["unrecognized", "not-in-set", "out-of-order", "mandatory-missing", "over-max-use"],
)
def test_segment_errors_carry_their_ak304_code_and_position(
    body: list[str], expected: list[tuple[object, ...]]
) -> None:
    ts = one_set(body)
    assert problems(ts) == expected
    assert any(f.level is Level.SET and f.code == "5" for f in ts.findings)


def test_a_loop_over_its_maximum_is_ak304_4() -> None:
    body = ["BEG*00*SA*PO1**20261128", *(["N1*ST*STORE"] * 201), *PO_850[1:]]
    assert problems(one_set(body)) == [("segment", "4", 203, "N1", None)]


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("BEG*00*SA**20261128", [("element", "1", 2, "BEG", 3), ("element", "1", 2, "BEG", 5)]),
        ("BEG*00*SA*" + "P" * 23 + "**20261128", [("element", "5", 2, "BEG", 3)]),
        ("BEG*00*SA*PO1**2026112", [("element", "8", 2, "BEG", 5)]),
        ("BEG*00*XX*PO1**20261128", [("element", "7", 2, "BEG", 2)]),
        ("BEG*00*SA*PO1**20260230", [("element", "8", 2, "BEG", 5)]),
        ("BEG*00*SA*PO1**20261128*****************X", [("element", "3", 2, "BEG", 13)]),
    ],
    ids=["mandatory", "too-long", "short-date", "code", "no-such-day", "too-many-elements"],
)
def test_element_errors_carry_their_ak403_code_and_position(segment: str, expected: list[tuple[object, ...]]) -> None:
    assert problems(one_set([segment, *PO_850[1:]])) == expected


def test_numbers_times_and_lengths_are_checked_by_type() -> None:
    body = [
        "BEG*00*SA*PO1**20261128",
        "DTM*002*20261201*2575",
        "PO1*1*1O*EA*9.99**UP*012345678905",
        "CTT*1234567",
    ]
    assert problems(one_set(body)) == [
        ("element", "9", 3, "DTM", 3),
        ("element", "6", 4, "PO1", 2),
        ("element", "5", 5, "CTT", 1),
    ]


def test_syntax_notes_give_ak403_2_and_10() -> None:
    body = ["BEG*00*SA*PO1**20261128", "PER*BD*JANE DOE*TE", "DTM*002", *PO_850[1:]]
    found = problems(one_set(body))
    assert ("element", "2", 3, "PER", 4) in found  # P0304: PER03 without PER04
    assert ("element", "2", 4, "DTM", 2) in found  # R020305: one of DTM02, 03, 05
    ctp = one_set(["BEG*00*SA*PO1**20261128", "REF*IA*1*DESC", *PO_850[1:]])
    assert problems(ctp) == []


def test_the_856_hierarchy_follows_bsn05() -> None:
    head = ["BSN*00*SHIP1*20261128*1200*0001", "HL*1**S", "TD1*CTN25*2", "HL*2*1*O", "PRF*PO1"]
    good = one_set(
        [*head, "HL*3*2*P", "MAN*GM*00000000000000000017", "HL*4*3*I", "LIN**UP*012345678905", "CTT*4"], "856"
    )
    assert problems(good) == []
    skipped_pack = one_set([*head, "HL*3*1*I", "LIN**UP*012345678905", "CTT*3"], "856")
    assert problems(skipped_pack) == [("element", "7", 7, "HL", 3)]
    out_of_sequence = one_set([*head, "HL*5*2*P", "HL*6*5*I", "CTT*4"], "856")
    assert problems(out_of_sequence) == [("element", "7", 7, "HL", 1)]
    unknown_parent = one_set([*head, "HL*3*9*P", "HL*4*3*I", "CTT*4"], "856")
    assert problems(unknown_parent) == [("element", "7", 7, "HL", 2)]


def test_one_bad_set_does_not_touch_the_next() -> None:
    text = interchange(["BEG*00*XX*PO1**20261128", *PO_850[1:]], PO_850, PO_850)
    sets, _ = check(text)
    assert [bool(ts.findings) for ts in sets] == [True, False, False]


def test_an_unknown_version_rejects_the_group_without_validating_its_sets() -> None:
    [ts], [ich] = check(interchange(["ZZZ*1", *PO_850], gs08="003099"))
    assert ts.findings == []
    group: Group = ts.group  # type: ignore[assignment]
    assert [f.code for f in group.findings] == ["2"]
    assert not group.supported and ich.findings == []


def test_an_unknown_transaction_set_is_ak502_1() -> None:
    ts = one_set([], set_id="123")
    assert problems(ts) == [("set", "1", 1, "ST", 1)]


def test_isa_values_are_checked_with_their_ta1_codes() -> None:
    text = interchange(PO_850).replace("*261128*1200*", "*261332*2500*")
    _, [ich] = check(text)
    assert [(f.code, f.element) for f in ich.findings] == [("014", 9), ("015", 10)]


def test_every_finding_says_where_in_one_sentence() -> None:
    ts = one_set(["BEG*00*SA*PO1**20261301", *PO_850[1:]])
    finding: Finding = ts.findings[0]
    assert str(finding) == (
        "AK403 8: BEG05 (Date) '20261301' is not a date (CCYYMMDD)"
        f" — t.x12 / ISA 000000001 / GS 1 / ST 0001 / segment 2 / byte {finding.byte_offset + 15}"  # type: ignore[operator]
    )


def test_a_transaction_set_is_added_through_data_alone(tmp_path: Path) -> None:
    extra = tmp_path / "schemas"
    (extra / "dictionary").mkdir(parents=True)
    (extra / "sets" / "004010").mkdir(parents=True)
    (extra / "dictionary" / "elements.yaml").write_text(
        textwrap.dedent(
            """
            "76": {name: Invoice Number, type: AN, min: 1, max: 22}
            "358": {name: Quantity Invoiced, type: R, min: 1, max: 10}
            "610": {name: Amount, type: N2, min: 1, max: 15}
            """
        )
    )
    (extra / "dictionary" / "segments.yaml").write_text(
        textwrap.dedent(
            """
            BIG: {name: Beginning Segment for Invoice, elements: [["373", M], ["76", M], ["373", O], ["324", O]]}
            IT1:
              name: Baseline Item Data (Invoice)
              elements: [["350", O], ["358", X], ["355", X], ["212", X], ["639", O], ["235", X], ["234", X]]
              syntax: [P020304, P0607]
            TDS: {name: Total Monetary Value Summary, elements: [["610", M]]}
            """
        )
    )
    (extra / "sets" / "004010" / "810.yaml").write_text(
        textwrap.dedent(
            """
            id: "810"
            name: Invoice
            functional_group: IN
            structure:
              - [ST, M, 1]
              - [BIG, M, 1]
              - loop: IT1
                usage: O
                max: 200000
                structure: [[IT1, M, 1]]
              - [TDS, M, 1]
              - [SE, M, 1]
            """
        )
    )
    schemas = load_schemas(DATA_DIR, extra)
    assert default_schemas().transaction_set("004010", "810") is None
    assert schemas.transaction_set("004010", "810") is not None
    good = ["810", "BIG*20261128*INV1", "IT1*1*10*EA*9.99**UP*012345678905", "TDS*9990"]
    [ts], _ = check(interchange(good, functional_id="IN"), schemas)
    assert ts.findings == []
    bad = ["810", "BIG*20261128*INV1", "IT1*1*10*EA***UP*012345678905", "TDS*99.90"]
    [ts], _ = check(interchange(bad, functional_id="IN"), schemas)
    assert problems(ts) == [("element", "2", 3, "IT1", 4), ("element", "6", 4, "TDS", 1)]


def test_schema_mistakes_name_the_file_and_entry(tmp_path: Path) -> None:
    broken = tmp_path / "schemas"
    shutil.copytree(DATA_DIR, broken)
    (broken / "sets" / "004010" / "850.yaml").write_text("id: '850'\nstructure:\n  - [NOPE, M, 1]\n")
    with pytest.raises(ValueError, match=r"850\.yaml.*NOPE"):
        load_schemas(broken)


@pytest.mark.parametrize("digit", ["²", "³", "¹"])
def test_a_latin_1_superscript_where_digits_belong_is_a_finding_not_a_crash(digit: str) -> None:
    """Latin-1 holds superscript digits, which ``str.isdigit`` accepts and ``int`` refuses."""
    data = (
        (ROOT / "fixtures/x12/004010/856/pass/sopi.x12")
        .read_bytes()
        .replace(b"HL*1*", f"HL*{digit}*".encode("latin-1"))
    )
    [ts] = [e for e in validated_events(X12Reader(data)) if isinstance(e, TransactionSet)]
    assert any(f.segment_id == "HL" and f.element == 1 and f.code == "7" for f in ts.findings), [
        str(f) for f in ts.findings
    ]


def test_only_ascii_digits_are_digits() -> None:
    assert is_digits("0123456789")
    assert not any(is_digits(text) for text in ("", "²", "1²", "٣", "12a", " 1"))
