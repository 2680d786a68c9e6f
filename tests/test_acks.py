"""Building acknowledgements (TA1, 997, 999) and reading them back, on small inline documents."""

from __future__ import annotations

import gc
import io
import weakref
from collections.abc import Iterable, Iterator
from datetime import datetime

import pytest

from edi.findings import Finding, Level, Severity
from edi.x12 import acks as acks_module
from edi.x12.ack_results import AckStatus, read_acknowledgements
from edi.x12.acks import AckKind, Acknowledgements, ack_codes, acknowledge
from edi.x12.control_numbers import CountingControlNumbers
from edi.x12.reader import read_interchanges
from edi.x12.schema import default_schemas
from edi.x12.structures import Event, TransactionSet
from edi.x12.validate import validated_events
from tests.x12text import PO_850, interchange

NOW = datetime(2024, 3, 4, 12, 0)
BAD_DATE_850 = ["BEG*00*SA*PO123**20261301", "PO1*1*10*EA*9.99**UP*012345678905", "CTT*1"]
V5 = {"version": "00501", "repetition": "^", "gs08": "005010"}


def ack(text: str, kind: AckKind = "997", numbers: CountingControlNumbers | None = None) -> Acknowledgements:
    return acknowledge(text.encode("latin-1"), kind=kind, control_numbers=numbers or CountingControlNumbers(), now=NOW)


def segments(data: bytes) -> list[str]:
    return [s.strip() for s in data.decode("latin-1").split("~") if s.strip()]


def tags(data: bytes) -> list[str]:
    return [s.split("*")[0] for s in segments(data)]


def find(data: bytes, tag: str) -> list[str]:
    return [s for s in segments(data) if s.split("*")[0] == tag]


# -- accepted, accepted with errors, partially accepted, rejected -------------------------------


def test_a_clean_group_is_accepted_with_one_ak2_loop_per_set() -> None:
    result = ack(interchange(PO_850, PO_850))
    assert tags(result.data) == [
        "ISA", "GS", "ST", "AK1", "AK2", "AK5", "AK2", "AK5", "AK9", "SE", "GE", "IEA",
    ]  # fmt: skip
    assert find(result.data, "AK1") == ["AK1*PO*1"]
    assert find(result.data, "AK2") == ["AK2*850*0001", "AK2*850*0002"]
    assert find(result.data, "AK9") == ["AK9*A*2*2*2"]
    [summary] = result.interchanges
    assert summary.ta104 is None
    assert [(g.status, [s.status for s in g.sets]) for g in summary.groups] == [("A", ["A", "A"])]
    assert (result.errors, result.warnings) == (0, 0)


def test_the_reply_goes_back_to_the_sender_with_the_ids_swapped() -> None:
    result = ack(interchange(PO_850))
    isa = find(result.data, "ISA")[0].split("*")
    assert (isa[5], isa[6].strip(), isa[7], isa[8].strip()) == ("ZZ", "ACMESUPPLY", "ZZ", "NORTHWIND")
    assert isa[14] == "0"  # we never ask for a TA1 to an acknowledgement
    gs = find(result.data, "GS")[0].split("*")
    assert (gs[1], gs[2], gs[3], gs[8]) == ("FA", "ACMESUPPLY", "NORTHWIND", "004010")


def test_one_bad_set_makes_the_group_partially_accepted_with_segment_and_element_detail() -> None:
    result = ack(interchange(BAD_DATE_850, PO_850))
    assert find(result.data, "AK3") == ["AK3*BEG*2**8"]
    assert find(result.data, "AK4") == ["AK4*5*373*8*20261301"]  # position, element number, code, copy
    assert find(result.data, "AK5") == ["AK5*R*5", "AK5*A"]
    assert find(result.data, "AK9") == ["AK9*P*2*2*1"]
    assert result.by_table == {"AK403": 1, "AK502": 1}


def test_every_set_rejected_rejects_the_group() -> None:
    result = ack(interchange(BAD_DATE_850, BAD_DATE_850))
    assert find(result.data, "AK9") == ["AK9*R*2*2*0"]


def _with_extra_findings(monkeypatch: pytest.MonkeyPatch, extra: Iterable[Finding]) -> None:
    """Let the validator add ``extra`` to the first transaction set it passes on."""
    extra = list(extra)

    def patched(events: Iterable[Event], *args: object, **kwargs: object) -> Iterator[Event]:
        first = True
        for event in validated_events(events, *args, **kwargs):  # type: ignore[arg-type]
            if isinstance(event, TransactionSet) and first:
                event.findings.extend(extra)
                first = False
            yield event

    monkeypatch.setattr(acks_module, "validated_events", patched)


def test_warnings_only_accept_with_errors_noted(monkeypatch: pytest.MonkeyPatch) -> None:
    warning = Finding(
        level=Level.ELEMENT, code="5", message="long but tolerated", severity=Severity.WARNING,
        segment_position=2, segment_id="BEG", element=3, element_ref="324", value="PO123",
    )  # fmt: skip
    _with_extra_findings(monkeypatch, [warning])
    result = ack(interchange(PO_850, PO_850))
    assert find(result.data, "AK3") == ["AK3*BEG*2**8"]
    assert find(result.data, "AK5") == ["AK5*E*5", "AK5*A"]
    assert find(result.data, "AK9") == ["AK9*E*2*2*2"]  # accepted with errors still counts as accepted
    assert result.warnings == 1


def test_ak502_holds_at_most_five_codes_and_ak4_at_most_99_per_ak3(monkeypatch: pytest.MonkeyPatch) -> None:
    set_codes = [Finding(level=Level.SET, code=c, message="x") for c in ("2", "3", "4", "6", "7", "23")]
    elements = [
        Finding(level=Level.ELEMENT, code="7", message="x", segment_position=2, segment_id="BEG", element=1)
        for _ in range(120)
    ]
    _with_extra_findings(monkeypatch, [*set_codes, *elements])
    result = ack(interchange(PO_850))
    assert find(result.data, "AK5") == ["AK5*R*2*3*4*6*7"]
    assert len(find(result.data, "AK4")) == 99


# -- the TA1 -------------------------------------------------------------------------------------


def test_no_ta1_unless_one_is_due() -> None:
    assert "TA1" not in tags(ack(interchange(PO_850)).data)


def test_isa14_asks_for_a_ta1() -> None:
    result = ack(interchange(PO_850, ack="1"))
    assert find(result.data, "TA1") == ["TA1*000000001*261128*1200*A*000"]
    assert tags(result.data)[:3] == ["ISA", "TA1", "GS"]  # the TA1 sits between ISA and GS
    assert find(result.data, "AK9") == ["AK9*A*1*1*1"]


def test_an_envelope_error_rejects_the_interchange_and_sends_no_functional_acknowledgement() -> None:
    text = interchange(PO_850).replace("IEA*1*000000001", "IEA*1*000000009")
    result = ack(text)
    assert tags(result.data) == ["ISA", "TA1", "IEA"]
    assert find(result.data, "TA1") == ["TA1*000000001*261128*1200*R*001"]
    assert find(result.data, "IEA")[0].split("*")[1] == "0"
    [summary] = result.interchanges
    assert summary.rejected and summary.groups == ()


def test_envelope_warnings_get_a_ta1_e_and_the_groups_are_still_acknowledged() -> None:
    text = interchange(PO_850) + interchange(PO_850)  # the same ISA13 twice: 025, a warning
    result = ack(text)
    first, second = result.interchanges
    assert (first.ta104, second.ta104, second.ta105) == (None, "E", "025")
    assert len(find(result.data, "AK9")) == 2
    assert find(result.data, "TA1") == ["TA1*000000001*261128*1200*E*025"]


# -- versions ------------------------------------------------------------------------------------


def test_a_004010_group_gets_a_004010_997() -> None:
    result = ack(interchange(PO_850))
    assert find(result.data, "ST") == ["ST*997*0001"]
    assert find(result.data, "GS")[0].endswith("*X*004010")
    assert find(result.data, "ISA")[0].split("*")[12] == "00401"


def test_a_005010_group_gets_a_005010_997_with_its_version_in_ak103() -> None:
    result = ack(interchange(BAD_DATE_850, **V5))
    assert find(result.data, "GS")[0].endswith("*X*005010")
    assert find(result.data, "AK1") == ["AK1*PO*1*005010"]
    assert find(result.data, "ISA")[0].split("*")[11:13] == ["^", "00501"]


def test_an_industry_version_is_kept_and_an_implementation_guide_is_not() -> None:
    vics = ack(interchange(PO_850, gs08="004010VICS"))
    assert find(vics.data, "GS")[0].endswith("*X*004010VICS")


def test_a_999_when_asked_for_005010_groups_only() -> None:
    result = ack(interchange(BAD_DATE_850, PO_850, **V5), kind="999")
    assert find(result.data, "GS")[0].endswith("*X*005010X231A1")
    assert find(result.data, "ST") == ["ST*999*0001*005010X231A1"]
    assert find(result.data, "IK3") == ["IK3*BEG*2**8"]
    assert find(result.data, "CTX") == ["CTX*BEG03>PO123"]  # the purchase order the error is in
    assert find(result.data, "IK4") == ["IK4*5*373*8*20261301"]
    assert find(result.data, "IK5") == ["IK5*R*5", "IK5*A"]
    assert tags(ack(interchange(PO_850), kind="999").data).count("ST") == 1
    assert find(ack(interchange(PO_850), kind="999").data, "ST") == ["ST*997*0001"]


def test_999_only_codes_are_said_in_the_997_of_004010_through_the_code_table() -> None:
    # A component separator inside a simple element: 13 (too many components) in 005010 terms.
    body = ["BEG*00*SA*PO>123**20261128", "PO1*1*10*EA*9.99**UP*012345678905", "CTT*1"]
    old = ack(interchange(body))
    assert find(old.data, "AK4") == ["AK4*3*324*6"]  # the copy holds a delimiter, so it is left out
    assert ack_codes().for_997("004010", "AK403", "13") == "6"
    new = ack(interchange(body, **V5))
    assert find(new.data, "AK4") == ["AK4*3*324*13"]


def test_an_unknown_version_is_rejected_without_ak2_loops() -> None:
    result = ack(interchange(PO_850, PO_850, gs08="003099"))
    assert find(result.data, "AK2") == []
    assert find(result.data, "AK9") == ["AK9*R*2*2*0*2"]
    assert find(result.data, "GS")[0].endswith("*X*004010")  # answered in a version we hold


def test_a_wrong_ge01_rejects_the_group_but_says_what_each_set_was() -> None:
    result = ack(interchange(PO_850, PO_850).replace("GE*2*1", "GE*3*1"))
    assert find(result.data, "AK5") == ["AK5*A", "AK5*A"]
    assert find(result.data, "AK9") == ["AK9*R*3*2*2*5"]  # AK902 the declared GE01, AK903 received


# -- acknowledgements are not acknowledged -------------------------------------------------------


def test_no_997_for_a_997() -> None:
    inbound = interchange(["997", "AK1*PO*1", "AK9*A*1*1*1"], functional_id="FA")
    result = ack(inbound)
    assert result.data == b""
    assert [g.kind for g in result.interchanges[0].groups] == [None]
    assert ack(inbound.replace("*0*P*>", "*1*P*>")).data == b""  # not even a TA1 on request


def test_no_reply_to_a_ta1() -> None:
    text = interchange(PO_850)
    start, end = text.index("GS*"), text.index("IEA*")
    ta1_only = text[:start] + "TA1*000000777*240301*1015*A*000~\n" + text[end:].replace("IEA*1", "IEA*0")
    assert ack(ta1_only).data == b""
    [result] = read_acknowledgements(ta1_only.encode())
    assert (result.kind, result.interchange_control_number, result.status) == ("TA1", "000000777", AckStatus.ACCEPTED)


def test_a_ta1_ahead_of_the_groups_is_no_envelope_fault() -> None:
    text = interchange(PO_850)
    gs = text.index("GS*")
    result = ack(text[:gs] + "TA1*000000777*240301*1015*A*000~\n" + text[gs:])
    [summary] = result.interchanges
    assert (summary.ta104, summary.ta105) == (None, None)
    assert tags(result.data)[:2] == ["ISA", "GS"] and find(result.data, "AK9") == ["AK9*A*1*1*1"]


def test_a_ta1_after_a_gs_is_content_out_of_order_and_rejects_the_interchange() -> None:
    text = interchange(PO_850).replace("ST*850", "TA1*000000777*240301*1015*A*000~\nST*850", 1)
    result = ack(text)
    assert find(result.data, "TA1") == ["TA1*000000001*261128*1200*R*024"]
    assert read_acknowledgements(text.encode()) == []  # not where X12.5 puts a TA1, so not read as one


def test_acknowledgements_are_read_from_a_stream_a_chunk_at_a_time() -> None:
    class Chunked(io.RawIOBase):
        """A pipe-like stream: it hands out bounded chunks and refuses to be read whole."""

        def __init__(self, data: bytes) -> None:
            self.data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, size: int | None = -1) -> bytes:
            assert size is not None and size > 0, "read whole"
            return self.data.read(size)

    text = interchange(PO_850).replace("IEA*1*000000001", "IEA*1*000000009")
    [result] = read_acknowledgements(Chunked(ack(text).data))  # type: ignore[arg-type]
    assert (result.kind, result.code) == ("TA1", "R")


def test_only_the_non_acknowledgement_groups_of_a_mixed_interchange_are_answered() -> None:
    text = interchange(PO_850)
    fa = interchange(["997", "AK1*PO*1", "AK9*A*1*1*1"], functional_id="FA", group="2")
    fa_group = fa[fa.index("GS*") : fa.index("IEA*")]
    mixed = text.replace("IEA*1*", "IEA*2*").replace("IEA*", fa_group + "IEA*")
    result = ack(mixed)
    assert find(result.data, "AK1") == ["AK1*PO*1"]


# -- envelopes and control numbers ---------------------------------------------------------------


def test_control_numbers_come_from_the_provider_per_partner() -> None:
    numbers = CountingControlNumbers(interchange_start=500, group_start=70, set_start=9)
    text = interchange(PO_850) + interchange(PO_850, control="000000002")
    result = ack(text, numbers=numbers)
    assert [s.split("*")[13] for s in find(result.data, "ISA")] == ["000000500", "000000501"]
    assert [s.split("*")[6] for s in find(result.data, "GS")] == ["70", "71"]
    assert find(result.data, "ST") == ["ST*997*0009", "ST*997*0010"]
    assert [i.reply_control_number for i in result.interchanges] == ["000000500", "000000501"]


def test_groups_from_different_applications_share_one_reply_interchange() -> None:
    text = interchange(PO_850)
    other = text[text.index("GS*") : text.index("IEA*")].replace("*NORTHWIND*ACMESUPPLY*", "*NWSTORES*ACMEDC*")
    other = other.replace("*1*X*", "*2*X*").replace("GE*1*1", "GE*1*2")
    both = text.replace("IEA*1*", "IEA*2*").replace("IEA*", other + "IEA*")
    result = ack(both)
    assert tags(result.data).count("ISA") == 1
    assert [s.split("*")[2:4] for s in find(result.data, "GS")] == [["ACMESUPPLY", "NORTHWIND"], ["ACMEDC", "NWSTORES"]]
    assert [s.split("*")[6] for s in find(result.data, "GS")] == ["1", "2"]  # GS06 unique in the interchange
    assert find(result.data, "IEA")[0].split("*")[1] == "2"
    [reply], file_findings = read_interchanges(result.data)
    assert file_findings == [] and reply.findings == [] and all(not g.findings for g in reply.groups)


def test_the_reply_uses_the_inbound_delimiters() -> None:
    result = ack(interchange(PO_850, element="|", terminator="'", component=":", sep=""))
    text = result.data.decode()
    assert text.startswith("ISA|00|") and "AK9|A|1|1|1'\n" in text and text.split("|")[16] == ":'\nGS"


def test_sets_stream_through_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[weakref.ref[TransactionSet]] = []
    most_alive = 0

    def watched(events: Iterable[Event], *args: object, **kwargs: object) -> Iterator[Event]:
        nonlocal most_alive
        for event in validated_events(events, *args, **kwargs):  # type: ignore[arg-type]
            if isinstance(event, TransactionSet):
                seen.append(weakref.ref(event))
                if len(seen) % 500 == 0:
                    gc.collect()
                    most_alive = max(most_alive, sum(1 for ref in seen if ref() is not None))
            yield event

    monkeypatch.setattr(acks_module, "validated_events", watched)
    sets = 3000
    text = interchange(*([PO_850] * sets))
    result = acknowledge(io.BytesIO(text.encode()), control_numbers=CountingControlNumbers(), now=NOW, name="big.x12")
    assert find(result.data, "AK9") == [f"AK9*A*{sets}*{sets}*{sets}"]
    assert len(seen) == sets and most_alive <= 3  # only the set in hand (and the one before) is alive


def test_nothing_is_owed_for_an_empty_file() -> None:
    result = acknowledge(io.BytesIO(b""), control_numbers=CountingControlNumbers(), now=NOW)
    assert (result.data, result.interchanges) == (b"", ())


def test_the_kind_is_checked() -> None:
    with pytest.raises(ValueError, match="kind"):
        acknowledge(b"", kind="998", control_numbers=CountingControlNumbers())  # type: ignore[arg-type]


# -- reading acknowledgements back ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["997", "999"])
def test_what_we_send_reads_back_with_the_same_codes_and_meanings(kind: AckKind) -> None:
    result = ack(interchange(BAD_DATE_850, PO_850, **V5), kind=kind)
    [read] = read_acknowledgements(result.data)
    assert (read.kind, read.group_control_number, read.code, read.status) == (
        kind, "1", "P", AckStatus.PARTIALLY_ACCEPTED,
    )  # fmt: skip
    assert (read.declared, read.received, read.accepted) == (2, 2, 1)
    first, second = read.sets
    assert (first.control_number, first.status, [c.code for c in first.reasons]) == ("0001", AckStatus.REJECTED, ["5"])
    [note] = first.segments
    assert (note.segment_id, note.position, note.code and note.code.code) == ("BEG", 2, "8")
    [element] = note.elements
    assert (element.position, element.element_ref, element.code.code, element.value) == (5, "373", "8", "20261301")
    dictionary = default_schemas().dictionaries["005010"]
    table = {"997": ("720", "723"), "999": ("620", "621")}[kind]
    segment_codes, element_codes = (dictionary.elements[e].codes or {} for e in table)
    assert note.code is not None and note.code.meaning is not None
    assert note.code.meaning == segment_codes["8"]  # from the dictionary, not from our code
    assert element.code.meaning == element_codes["8"]
    assert second.status is AckStatus.ACCEPTED and read.set_status("0002") is AckStatus.ACCEPTED
    if kind == "999":
        assert note.context == (("BEG03", "PO123"),)
    assert any("BEG05" in line for line in read.describe())


def test_a_ta1_reads_back_with_its_meaning() -> None:
    result = ack(interchange(PO_850).replace("IEA*1*000000001", "IEA*1*000000009"))
    [read] = read_acknowledgements(result.data)
    assert (read.kind, read.acknowledges, read.interchange_control_number) == ("TA1", "interchange", "000000001")
    assert read.status is AckStatus.REJECTED and [c.code for c in read.reasons] == ["001"]
    dictionary = default_schemas().dictionaries["004010"]
    element = ack_codes().element("TA1", "TA105")
    assert element is not None
    assert read.reasons[0].meaning == (dictionary.elements[element].codes or {})["001"]


def test_a_partner_997_without_ak2_loops_speaks_for_every_set_through_its_group() -> None:
    inbound = interchange(["997", "AK1*PO*1234", "AK9*A*3*3*3"], functional_id="FA")
    [read] = read_acknowledgements(inbound.encode())
    assert read.group_control_number == "1234" and read.sets == ()
    assert read.set_status("0007") is AckStatus.ACCEPTED
    partial = interchange(["997", "AK1*PO*1234", "AK2*850*0002", "AK5*R*5", "AK9*P*3*3*2"], functional_id="FA")
    [read] = read_acknowledgements(partial.encode())
    assert read.set_status("0002") is AckStatus.REJECTED
    assert read.set_status("0001") is None  # a partial acceptance cannot speak for an unlisted set


def test_a_malformed_partner_acknowledgement_says_what_is_wrong_with_it() -> None:
    inbound = interchange(["997", "AK2*850*0001", "AK5*Q"], functional_id="FA")
    [read] = read_acknowledgements(inbound.encode())
    assert read.status is None
    assert len(read.problems) == 3  # no AK1, no AK9, AK501 Q
