"""`edi-engine inspect`: exit codes, the text report and the documented JSON shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from tests.conftest import FIXTURES
from tests.x12text import PO_850, interchange


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    path = tmp_path / "clean.x12"
    path.write_text(interchange(PO_850, PO_850))
    return path


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    path = tmp_path / "damaged.x12"
    path.write_text(interchange(["BEG*00*SA*PO1**20261301", *PO_850[1:]], PO_850))
    return path


def test_a_valid_file_exits_0_and_counts_what_it_read(capsys: pytest.CaptureFixture[str], clean: Path) -> None:
    code, out, _ = run(capsys, "inspect", str(clean))
    assert code == 0
    assert "interchange 000000001  ZZ:NORTHWIND -> ZZ:ACMESUPPLY" in out
    assert out.rstrip().endswith(
        "1 files, 1 interchanges, 1 groups, 2 sets (850: 2), 10 segments; 0 errors, 0 warnings"
    )


def test_findings_exit_1_and_are_printed_with_their_position(capsys: pytest.CaptureFixture[str], damaged: Path) -> None:
    code, out, _ = run(capsys, "inspect", str(damaged))
    assert code == 1
    assert "AK403 8: BEG05 (Date) '20261301' is not a date" in out
    assert "ISA 000000001 / GS 1 / ST 0001 / segment 2 / byte " in out


@pytest.mark.parametrize("content", [None, b"", b"\x00\x01garbage" * 10])
def test_unreadable_input_exits_2_with_a_reason(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "input.x12"
    if content is not None:
        path.write_bytes(content)
    code, out, err = run(capsys, "inspect", str(path))
    assert code == 2
    assert str(path) in out + err
    assert "Traceback" not in out + err


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "inspect")[0] == 2
    assert run(capsys, "frobnicate")[0] == 2


def test_json_has_the_documented_shape(capsys: pytest.CaptureFixture[str], clean: Path, damaged: Path) -> None:
    code, out, _ = run(capsys, "inspect", "--json", str(clean), str(damaged))
    report = json.loads(out)
    assert code == 1 and report["exit_code"] == 1 and report["report_version"] == 1
    assert [f["file"] for f in report["files"]] == [str(clean), str(damaged)]
    ich = report["files"][1]["interchanges"][0]
    assert set(ich) >= {"control_number", "sender", "receiver", "version", "groups", "findings", "declared_groups"}
    group = ich["groups"][0]
    assert [s["control_number"] for s in group["sets"]] == ["0001", "0002"]
    finding = group["sets"][0]["findings"][0]
    assert finding["table"] == "AK403" and finding["code"] == "8"
    assert finding["segment_position"] == 2 and finding["element"] == 5 and finding["segment_id"] == "BEG"
    assert finding["byte_offset"] + finding["offset_in_segment"] == damaged.read_text().index("20261301")
    assert report["summary"]["sets"] == 4 and report["summary"]["errors"] == 2


def test_json_reports_an_unreadable_file_beside_the_others(
    capsys: pytest.CaptureFixture[str], clean: Path, tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "inspect", "--json", str(clean), str(tmp_path / "missing.x12"))
    report = json.loads(out)
    assert code == 2
    assert "no such file" in report["files"][1]["error"]


def test_every_pass_fixture_inspects_clean(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in (FIXTURES / "x12").glob("*/*/pass/*.x12"))
    code, out, _ = run(capsys, "inspect", *files)
    assert code == 0, out


def test_the_console_script_is_installed() -> None:
    result = subprocess.run(
        [Path(sys.executable).parent / "edi-engine", "inspect", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "--json" in result.stdout
