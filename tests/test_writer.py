"""The writer and the builder: envelopes padded and counted, delimiters never written as data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edi.x12.control_numbers import CountingControlNumbers
from edi.x12.delimiters import Delimiters
from edi.x12.reader import read_interchanges
from edi.x12.structures import Interchange
from edi.x12.writer import (
    GroupSpec,
    WriteError,
    build_interchange,
    tree_segments,
    write_interchange,
    write_interchanges,
)
from tests.test_round_trip import HYPOTHESIS, all_findings

NOW = datetime(2024, 3, 5, 9, 7)
ORDER = [["ST", "850"], ["BEG", "00", "SA", "PO1", "", "20240301"], ["PO1", "1", "2", "EA"], ["CTT", "1"]]
TA1 = ["TA1", "000000777", "240301", "1015", "R", "001"]


def build(*sets: Any, version: str = "004010", **options: Any) -> Interchange:
    options.setdefault("control_numbers", CountingControlNumbers())
    options.setdefault("now", NOW)
    return build_interchange(("ZZ", "ACME"), ("12", "5125550147"), [("PO", version, list(sets or [ORDER]))], **options)


def text(ich: Interchange, **options: Any) -> str:
    return write_interchange(ich, **options).decode("latin-1")


def lines(ich: Interchange) -> list[str]:
    return text(ich).splitlines()


# -- the builder ------------------------------------------------------------------------------


def test_built_isa_is_106_bytes_with_each_field_padded_to_its_width() -> None:
    isa = lines(build())[0]
    assert len(isa) == 106
    assert isa == (
        "ISA*00*          *00*          *ZZ*ACME           *12*5125550147     *240305*0907*U*00401*000000001*0*P*>~"
    )


def test_isa12_and_isa11_follow_the_version() -> None:
    isa_4010 = build(version="004010").isa
    isa_5010 = build(version="005010X231A1").isa
    assert (isa_4010.element(11), isa_4010.element(12)) == ("U", "00401")
    assert (isa_5010.element(11), isa_5010.element(12)) == ("^", "00501")
    assert build(version="005010").groups[0].version == "005010"


def test_isa_takes_the_delimiters_ack_request_and_usage() -> None:
    delimiters = Delimiters(element="|", component=":", segment="\n", repetition="!")
    ich = build(version="005010", delimiters=delimiters, ack_requested=True, usage="T")
    isa = text(ich, line_break="").split("\n")[0]
    assert isa.split("|")[11:] == ["!", "00501", "000000001", "1", "T", ":"]


def test_isa13_gs06_and_st02_come_from_the_provider_and_trailers_repeat_them() -> None:
    numbers = CountingControlNumbers(interchange_start=41003, group_start=410031, set_start=17)
    ich = build(ORDER, ORDER, control_numbers=numbers)
    assert ich.control_number == "000041003"
    assert ich.iea is not None and ich.iea.fields == ["IEA", "1", "000041003"]
    [group] = ich.groups
    assert group.control_number == "410031"
    assert group.ge is not None and group.ge.fields == ["GE", "2", "410031"]
    assert [ts.control_number for ts in group.sets] == ["0017", "0018"]
    assert [ts.segments[-1].fields for ts in group.sets] == [["SE", "5", "0017"], ["SE", "5", "0018"]]


def test_se01_counts_the_segments_from_st_to_se_inclusive() -> None:
    short = [["ST", "997"], ["AK1", "PO", "1"], ["AK9", "A", "1", "1", "1"]]
    [group] = build(short, ORDER).groups
    assert [ts.segments[-1].element(1) for ts in group.sets] == ["4", "5"]


def test_ge01_and_iea01_count_sets_and_groups() -> None:
    ich = build_interchange(
        ("ZZ", "ACME"),
        ("ZZ", "NORTHWIND"),
        [("PO", "004010", [ORDER, ORDER, ORDER]), ("PR", "004010", [[["ST", "855"], ["BAK", "00", "AC"]]])],
        control_numbers=CountingControlNumbers(),
        now=NOW,
    )
    assert [group.ge.fields for group in ich.groups if group.ge] == [["GE", "3", "1"], ["GE", "1", "2"]]
    assert ich.iea is not None and ich.iea.fields == ["IEA", "2", "000000001"]


def test_gs_carries_the_date_time_ids_agency_and_version() -> None:
    assert lines(build())[1] == "GS*PO*ACME*5125550147*20240305*0907*1*X*004010~"
    ich = build(group_sender="ACMEAPP", group_receiver="NWAPP")
    assert ich.groups[0].gs.fields[2:4] == ["ACMEAPP", "NWAPP"]


def test_trailing_empty_elements_and_components_are_trimmed() -> None:
    ich = build([["ST", "850", "", ""], ["N1", "ST", "JORDAN", "", ""], ["REF", "ZZ", ["A", "B", "", ""], "", ""]])
    assert lines(ich)[2:5] == ["ST*850*0001~", "N1*ST*JORDAN~", "REF*ZZ*A>B~"]


def test_empty_elements_inside_a_segment_are_kept() -> None:
    assert lines(build())[3] == "BEG*00*SA*PO1**20240301~"


def test_a_composite_is_joined_with_the_component_separator() -> None:
    ich = build([["ST", "997"], ["AK4", ["2", "1"], "66", "1"]], delimiters=Delimiters(component=":"))
    assert lines(ich)[3] == "AK4*2:1*66*1~"


def test_st03_is_kept_when_given() -> None:
    ich = build([["ST", "850", "", "005010X999"], ["BEG", "00"]], version="005010")
    assert ich.groups[0].sets[0].segments[0].fields == ["ST", "850", "0001", "005010X999"]


def test_a_built_interchange_reads_back_without_findings() -> None:
    ich = build(ORDER, ORDER, version="005010")
    interchanges, file_findings = read_interchanges(write_interchange(ich))
    assert file_findings == [] and all_findings(interchanges) == []
    assert [seg.fields for seg in tree_segments(interchanges[0])] == [seg.fields for seg in tree_segments(ich)]


def test_build_interchange_with_only_a_ta1_writes_isa_ta1_iea() -> None:
    numbers = CountingControlNumbers()
    ich = build_interchange(
        ("ZZ", "ACME"), ("ZZ", "NORTHWIND"), [], ta1s=[TA1], control_numbers=numbers, now=NOW,
        interchange_version="00401",
    )  # fmt: skip
    assert ich.groups == [] and ich.group_count == 0
    assert lines(ich)[1:] == ["TA1*000000777*240301*1015*R*001~", "IEA*0*000000001~"]
    assert numbers.next_group("ACME", "NORTHWIND") == 1  # no group number was drawn
    [read], file_findings = read_interchanges(write_interchange(ich))
    assert file_findings == [] and read.findings == []
    assert [ta1.fields for ta1 in read.ta1s] == [TA1]


def test_ta1s_are_written_right_after_the_isa_ahead_of_the_groups() -> None:
    ich = build(ta1s=[TA1, [*TA1[:4], "A", "000"]])
    assert [line.split("*")[0] for line in lines(ich)[:4]] == ["ISA", "TA1", "TA1", "GS"]
    assert [seg.index for seg in tree_segments(ich)][:4] == [1, 2, 3, 4]


def test_groups_with_different_gs02_gs03_share_one_interchange() -> None:
    numbers = CountingControlNumbers()
    ich = build_interchange(
        ("ZZ", "ACME"),
        ("ZZ", "NORTHWIND"),
        [
            GroupSpec("PO", "004010", [ORDER], sender="ACMEEAST", receiver="NWSTORES"),
            GroupSpec("PO", "004010", [ORDER], sender="ACMEWEST"),
            ("PO", "004010", [ORDER]),  # a plain tuple: the defaults
        ],
        control_numbers=numbers,
        now=NOW,
        group_receiver="NWAPP",
    )
    assert [g.gs.fields[2:4] for g in ich.groups] == [
        ["ACMEEAST", "NWSTORES"],
        ["ACMEWEST", "NWAPP"],
        ["ACME", "NWAPP"],
    ]
    assert ich.control_number == "000000001" and ich.iea is not None and ich.iea.fields == ["IEA", "3", "000000001"]
    # The provider counts GS06 per GS02 / GS03; within one interchange each GS06 is still unique.
    assert [g.control_number for g in ich.groups] == ["1", "2", "3"]
    [read], _ = read_interchanges(write_interchange(ich))
    assert all_findings([read]) == []
    assert [g.gs.fields[2:4] for g in read.groups] == [g.gs.fields[2:4] for g in ich.groups]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"groups": [], "ta1s": []}, "at least one functional group or a TA1"),
        ({"groups": [], "ta1s": [TA1]}, "pass interchange_version"),
        ({"ta1s": [["TA2", "000000777"]]}, "must be a TA1 segment"),
        ({"ta1s": [[*TA1, "extra"]]}, "TA101..TA105"),
        ({"ta1s": [["TA1", "000000777", "240301", "10*15", "A", "000"]]}, "TA103"),
        ({"groups": [GroupSpec("PO", "004010", [ORDER], receiver="N")]}, "GS03 'N' must be 2 to 15 characters"),
    ],
)
def test_a_malformed_ta1_or_group_spec_is_refused(options: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"groups": [("PO", "004010", [ORDER])], "control_numbers": CountingControlNumbers()}
    arguments.update(options)
    with pytest.raises(ValueError, match=message):
        build_interchange(("ZZ", "ACME"), ("ZZ", "NORTHWIND"), **arguments)


@pytest.mark.parametrize(
    ("segment", "reference", "role"),
    [
        (["BEG", "00", "SA", "PO*1"], "BEG03", "element"),
        (["BEG", "00", "SA", "PO~1"], "BEG03", "segment"),
        (["BEG", "00", "SA", "PO>1"], "BEG03", "component"),
        (["BEG", "00", "SA", "PO^1"], "BEG03", "repetition"),
        (["REF", "ZZ", ["A", "B*C"]], "REF02-2", "element"),
    ],
)
def test_a_value_containing_a_delimiter_is_refused_naming_segment_and_element(
    segment: list[Any], reference: str, role: str
) -> None:
    numbers = CountingControlNumbers()
    with pytest.raises(WriteError, match=f"{reference} .* contains the {role} separator") as refused:
        build([["ST", "850"], segment], version="005010", control_numbers=numbers)
    assert refused.value.segment_id == segment[0]
    assert numbers.next_interchange("ZZ:ACME", "12:5125550147") == 1  # a refused document draws no numbers


def test_the_repetition_character_is_data_in_004010() -> None:
    ich = build([["ST", "850"], ["MSG", "A^B"]], version="004010")
    assert lines(ich)[3] == "MSG*A^B~"


def test_an_envelope_value_containing_a_delimiter_is_refused() -> None:
    with pytest.raises(WriteError, match=r"ISA06 .* element separator"):
        build_interchange(
            ("ZZ", "AC*ME"), ("ZZ", "NORTHWIND"), [("PO", "004010", [ORDER])], control_numbers=CountingControlNumbers()
        )
    with pytest.raises(WriteError, match=r"GS02 .* segment separator"):
        build(group_sender="AC~ME")


def test_a_value_outside_latin_1_is_refused() -> None:
    with pytest.raises(WriteError, match=r"MSG01 .* outside Latin-1"):
        build([["ST", "850"], ["MSG", "price in €"]])


def test_latin_1_values_are_written_as_single_bytes() -> None:
    data = write_interchange(build([["ST", "850"], ["MSG", "CRÈME BRÛLÉE"]]))
    assert "MSG*CRÈME BRÛLÉE~".encode("latin-1") in data


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ([[["BEG", "00"]]], "must start with an ST"),
        ([[["ST", "850", "0001"]]], "ST02 '0001' is given"),
        ([[["ST", "850"], ["SE", "2", "0001"]]], "the builder writes the envelopes"),
        ([[["ST", "850"], ["beg", "00"]]], "not a segment id"),
        ([[["ST"]]], "ST01"),
        ([], "at least one transaction set"),
    ],
)
def test_a_malformed_set_is_refused(sets: list[Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_interchange(
            ("ZZ", "ACME"), ("ZZ", "NORTHWIND"), [("PO", "004010", sets)], control_numbers=CountingControlNumbers()
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sender": ("Z", "ACME")}, "ISA05"),
        ({"sender": ("ZZ", "A" * 16)}, "ISA06"),
        ({"receiver": ("ZZ", "")}, "ISA08"),
        ({"sender": ("ZZ", "A")}, "GS02 'A' must be 2 to 15 characters"),
        ({"usage": "X"}, "ISA15"),
        ({"groups": []}, "at least one functional group"),
        ({"groups": [("PO", "004010", [ORDER]), ("PO", "005010", [ORDER])]}, "interchange_version"),
        ({"groups": [("P", "004010", [ORDER])]}, "GS01"),
        ({"delimiters": Delimiters(element="*", component="*")}, "unusable delimiters"),
    ],
)
def test_a_malformed_envelope_is_refused(options: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {
        "sender": ("ZZ", "ACME"),
        "receiver": ("ZZ", "NORTHWIND"),
        "groups": [("PO", "004010", [ORDER])],
        "control_numbers": CountingControlNumbers(),
    }
    arguments.update(options)
    with pytest.raises(ValueError, match=message):
        build_interchange(**arguments)


def test_mixed_group_versions_need_an_explicit_interchange_version() -> None:
    ich = build_interchange(
        ("ZZ", "ACME"),
        ("ZZ", "NORTHWIND"),
        [("PO", "004010", [ORDER]), ("PO", "005010", [ORDER])],
        control_numbers=CountingControlNumbers(),
        interchange_version="00501",
    )
    assert ich.version == "00501"


def test_the_clock_is_read_when_no_time_is_given() -> None:
    before = datetime.now()
    ich = build_interchange(
        ("ZZ", "ACME"), ("ZZ", "NORTHWIND"), [("PO", "004010", [ORDER])], control_numbers=CountingControlNumbers()
    )
    assert ich.isa.element(9) in {before.strftime("%y%m%d"), datetime.now().strftime("%y%m%d")}


element_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="*>~^"))


@HYPOTHESIS
@given(st.lists(st.lists(element_text, max_size=6), min_size=1, max_size=8))
def test_any_built_set_reads_back_with_its_trailing_empty_elements_trimmed(bodies: list[list[str]]) -> None:
    body = [["MSG", *values] for values in bodies]
    ich = build([["ST", "850"], *body], version="005010")
    [read] = read_interchanges(write_interchange(ich))[0]
    trimmed = [seg[: max([i + 1 for i, v in enumerate(seg) if v] or [1])] for seg in body]
    assert [seg.fields for seg in read.groups[0].sets[0].segments[1:-1]] == trimmed
    assert all_findings([read]) == []


# -- writing trees ----------------------------------------------------------------------------


def test_a_tree_is_written_with_its_own_delimiters_by_default() -> None:
    delimiters = Delimiters(element="|", component=":", segment="!", repetition="^")
    ich = build(version="005010", delimiters=delimiters)
    assert text(ich).splitlines()[2] == "ST|850|0001!"


def test_a_tree_is_written_with_other_delimiters_including_isa11_and_isa16() -> None:
    ich = build([["ST", "850"], ["REF", "ZZ", ["A", "B"]]], version="005010")
    other = Delimiters(element="|", component=":", segment="\n", repetition="!")
    written = text(ich, delimiters=other, line_break="").split("\n")
    assert written[0].endswith("|!|00501|000000001|0|P|:")
    assert written[3] == "REF|ZZ|A:B"


def test_repeats_and_components_are_rewritten_with_the_new_separators() -> None:
    source = (
        "ISA*00*          *00*          *ZZ*A              *ZZ*B              *240305*0907*^*00501*000000001*0*P*>~\n"
        "GS*PO*A*B*20240305*0907*1*X*005010~\nST*850*0001~\nREF*ZZ*A>B^C>D^E~\nSE*3*0001~\nGE*1*1~\nIEA*1*000000001~\n"
    )
    [ich], _ = read_interchanges(source.encode())
    written = text(ich, delimiters=Delimiters(element="|", component=":", segment="~", repetition="!"))
    assert "REF|ZZ|A:B!C:D!E~" in written


def test_data_holding_a_character_of_the_new_delimiters_is_refused() -> None:
    ich = build([["ST", "850"], ["MSG", "A|B"]])
    with pytest.raises(WriteError, match=r"MSG01 'A\|B' contains the element separator '\|'.*ST 0001 / segment 2"):
        write_interchange(ich, Delimiters(element="|"))


def test_a_hand_edited_value_holding_a_delimiter_is_refused_with_its_location() -> None:
    ich = build()
    ich.groups[0].sets[0].segments[1].fields[3] = "PO*1"
    with pytest.raises(WriteError, match=r"BEG03 'PO\*1' .* ISA 000000001 / GS 1 / ST 0001 / segment 2") as refused:
        write_interchange(ich)
    assert (refused.value.segment_id, refused.value.element) == ("BEG", 3)


def test_a_line_break_that_is_a_delimiter_is_refused() -> None:
    ich = build(delimiters=Delimiters(segment="\n"))
    with pytest.raises(ValueError, match="line_break '\\\\n' contains the segment separator"):
        write_interchange(ich)
    assert write_interchange(ich, line_break="").count(b"\n") == 9


@pytest.mark.parametrize("line_break", ["\r\n", ""])
def test_the_line_break_after_each_segment_is_chosen_by_the_caller(line_break: str) -> None:
    data = write_interchange(build(), line_break=line_break)
    assert data.count(f"~{line_break}".encode()) == 9 and data.endswith(f"~{line_break}".encode())
    interchanges, _ = read_interchanges(data)
    assert all_findings(interchanges) == []


def test_only_line_breaks_may_follow_a_terminator() -> None:
    with pytest.raises(ValueError, match="line_break must be one of"):
        write_interchange(build(), line_break=" ")


def test_an_incomplete_tree_is_written_as_far_as_it_goes() -> None:
    source = (
        "ISA*00*          *00*          *ZZ*A              *ZZ*B              *240305*0907*U*00401*000000001*0*P*>~\n"
        "GS*PO*A*B*20240305*0907*1*X*004010~\nST*850*0001~\nBEG*00*SA*PO1**20240301~\n"
    )
    interchanges, _ = read_interchanges(source.encode())
    assert write_interchanges(interchanges).decode() == source


def test_several_interchanges_are_written_one_after_another() -> None:
    numbers = CountingControlNumbers()
    first, second = build(control_numbers=numbers), build(control_numbers=numbers)
    data = write_interchanges([first, second])
    assert data == write_interchange(first) + write_interchange(second)
    assert [ich.control_number for ich in read_interchanges(data)[0]] == ["000000001", "000000002"]
