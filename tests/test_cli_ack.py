"""`edi-engine ack`: the 997, 999 and TA1 the engine would send for a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from edi.x12.ack_results import AckStatus, read_acknowledgements
from engine.cli import main
from tests.conftest import FIXTURES

BAD_DATE_5010 = FIXTURES / "x12/005010/850/fail/bad-date.x12"


def test_ack_writes_a_997_to_the_named_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reply.997"
    assert main(["ack", str(BAD_DATE_5010), "-o", str(out)]) == 0
    [result] = read_acknowledgements(out)
    assert (result.kind, result.status) == ("997", AckStatus.PARTIALLY_ACCEPTED)
    assert [s.status for s in result.sets] == [AckStatus.REJECTED, AckStatus.ACCEPTED]
    assert "997 for group" in capsys.readouterr().err


def test_ack_999_answers_a_005010_group_with_a_999(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ack", str(BAD_DATE_5010), "--999"]) == 0
    out = capsys.readouterr().out
    assert "ST*999*" in out and "IK4*5*373*8*" in out


def test_ack_writes_a_ta1_when_the_sender_asks_for_one(tmp_path: Path) -> None:
    out = tmp_path / "reply"
    assert main(["ack", str(FIXTURES / "x12/004010/850/fail/isa14-ta1-requested.x12"), "-o", str(out)]) == 0
    kinds = [r.kind for r in read_acknowledgements(out)]
    assert kinds[0] == "TA1" and "997" in kinds


@pytest.mark.parametrize("content", [None, b"", b"no interchange here"])
def test_ack_of_unreadable_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None
) -> None:
    path = tmp_path / "in.x12"
    if content is not None:
        path.write_bytes(content)
    assert main(["ack", str(path)]) == 2
    assert str(path) in capsys.readouterr().err
