"""`edi-engine partners test`: every example partner's samples pass against their reviewed expected
files, and a difference, a missing file or a break in the chain fails with a readable report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main
from mappings.profiles import EXAMPLES_DIR, example_partners


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def report(capsys: pytest.CaptureFixture[str], *argv: str, expect: int) -> dict[str, Any]:
    code, out, err = run(capsys, "partners", "test", *argv, "--json")
    assert code == expect, f"exit {code}: {err}{out}"
    (only,) = json.loads(out)
    result: dict[str, Any] = only
    return result


@pytest.fixture
def partners(tmp_path: Path) -> Path:
    """A copy of the example partners that a test may break."""
    folder = tmp_path / "partners"
    shutil.copytree(EXAMPLES_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


@pytest.mark.parametrize("partner_id", sorted(example_partners()))
def test_every_example_partner_passes_its_partner_test(partner_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = report(capsys, partner_id, "--partners", str(EXAMPLES_DIR), expect=0)
    assert result["ok"] and result["problems"] == [] and result["updated"] == []
    samples = example_partners().samples(partner_id)
    assert [s["sample"] for s in result["samples"]] == [path.name for path in samples]
    for sample in result["samples"]:
        assert sample["mismatches"] == [] and sample["problems"] == []
        assert all(s["status"] == "applied" for s in sample["sets"]), sample["sets"]
        assert f"{Path(sample['sample']).stem}.json" in sample["files"]
        assert any(name.endswith((".997.x12", ".999.x12")) for name in sample["files"])


def test_a_changed_document_fails_with_a_diff_and_update_writes_it_back(
    partners: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = partners / "northwind" / "samples" / "expected" / "850-dropship.855.x12"
    original = expected.read_bytes()
    expected.write_bytes(original.replace(b"ACK*IA*1*EA~", b"ACK*IA*9*EA~"))
    code, out, _ = run(capsys, "partners", "test", "northwind", "--partners", str(partners))
    assert code == 1
    assert "850-dropship.x12: FAILED" in out
    assert "-ACK*IA*9*EA" in out and "+ACK*IA*1*EA" in out
    assert "860-cancel.x12: ok" in out
    written = report(capsys, "northwind", "--partners", str(partners), "--update", expect=0)
    assert written["updated"] == [str(expected)]
    assert expected.read_bytes() == original
    report(capsys, "northwind", "--partners", str(partners), expect=0)


def test_missing_and_stale_expected_files_fail(partners: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = partners / "contoso" / "samples" / "expected"
    (expected / "860-cancel.json").unlink()
    (expected / "860-cancel.855.x12").write_text("an 855 the engine no longer writes\n")
    result = report(capsys, "contoso", "--partners", str(partners), expect=1)
    (cancel,) = [s for s in result["samples"] if s["sample"] == "860-cancel.x12"]
    assert any("860-cancel.json: no expected file" in m for m in cancel["mismatches"])
    assert any("860-cancel.855.x12: expected, but this run did not produce it" in p for p in result["problems"])
    updated = report(capsys, "contoso", "--partners", str(partners), "--update", expect=0)
    assert updated["removed"] == [str(expected / "860-cancel.855.x12")]
    assert (expected / "860-cancel.json").is_file()


def test_a_break_in_the_chain_fails_and_is_never_written_away(
    partners: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = partners / "fabrikam" / "samples" / "expected" / "given" / "PO7002001.json"
    order = json.loads(given.read_text())
    order["lines"][0]["acknowledged_qty"] = "20"  # the 856 ships 24
    given.write_text(json.dumps(order))
    for update in ((), ("--update",)):
        result = report(capsys, "fabrikam", "--partners", str(partners), *update, expect=1)
        (shipped,) = [s for s in result["samples"] if s["sample"] == "856-ship-notice.x12"]
        assert "PO7002001 line 1: shipped 24, more than the 20 acknowledged" in shipped["problems"]


def test_partners_test_runs_in_a_workspace_and_names_unknown_partners(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = tmp_path / "ws"
    assert run(capsys, "init", str(workspace))[0] == 0
    code, out, _ = run(capsys, "partners", "test", "--workspace", str(workspace))
    assert code == 0, out
    assert [line.split(":")[0] for line in out.splitlines() if line.startswith("partner ")] == [
        "partner contoso",
        "partner fabrikam",
        "partner northwind",
    ]
    code, _, err = run(capsys, "partners", "test", "acme", "--workspace", str(workspace))
    assert code == 2 and "no partner acme" in err
