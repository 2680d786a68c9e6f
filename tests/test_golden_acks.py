"""Every failing fixture against its hand-written expectations, through a real acknowledgement.

For each ``fixtures/x12/<version>/<set>/fail/<name>.x12`` with a ``<name>.expected.yaml``, the
engine's 997 (and, for 005010, its 999) is read back with ``read_acknowledgements`` and must
carry exactly the hand-written codes: the TA1, each group's AK901 and AK905.., each set's AK501
and AK502.., each AK3 / IK3 (position, segment id, code) and AK4 / IK4 (position, component,
code). Then the bytes must equal the golden ``<name>.997`` / ``<name>.999`` beside it.

Fixtures that are themselves acknowledgements (997 / 999 in FA groups) get no acknowledgement
and have no golden: their hand-written codes are the validator's findings, what is wrong with the
partner's acknowledgement, and are compared with those.

Goldens are written, never hand-edited: ``EDI_REGEN_GOLDENS=1 pytest tests/test_golden_acks.py``
rewrites each one, but only after that fixture's hand-written expectations have passed.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from edi.findings import Level
from edi.x12.ack_results import AckResult, read_acknowledgements
from edi.x12.acks import AckKind, Acknowledgements, acknowledge
from edi.x12.control_numbers import CountingControlNumbers
from edi.x12.reader import X12Reader
from edi.x12.structures import GroupEnd, TransactionSet
from edi.x12.validate import validated_events

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "x12"
#: Fixed so that goldens do not change from run to run: the clock and the control numbers.
NOW = datetime(2024, 3, 4, 12, 0)
REGENERATE = os.environ.get("EDI_REGEN_GOLDENS", "") == "1"

#: Fixtures the engine gets wrong today (reader / validator bugs), with what goes wrong.
#: Each is expected to fail (strict), so a fix shows up as an XPASS to remove from here.
ENGINE_BUGS: dict[str, str] = {}


def _failing_fixtures() -> list[Path]:
    return sorted(p for p in FIXTURES.glob("*/*/fail/*.x12") if p.with_suffix(".expected.yaml").exists())


def _kinds(path: Path) -> list[AckKind]:
    return ["997", "999"] if path.relative_to(FIXTURES).parts[0] == "005010" else ["997"]


def _key(path: Path) -> str:
    return path.relative_to(FIXTURES).with_suffix("").as_posix()


def _cases() -> list[Any]:
    cases = []
    for path in _failing_fixtures():
        for kind in _kinds(path):
            bug = ENGINE_BUGS.get(_key(path))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            cases.append(pytest.param(path, kind, id=f"{_key(path)}-{kind}", marks=marks))
    return cases


def _acknowledge(path: Path, kind: AckKind) -> Acknowledgements:
    return acknowledge(path, kind=kind, control_numbers=CountingControlNumbers(), now=NOW)


def _is_acknowledgement(path: Path) -> bool:
    """Fixtures whose groups are themselves acknowledgements (GS01 FA)."""
    return any(isinstance(event, GroupEnd) and event.group.functional_id == "FA" for event in X12Reader(path))


# -- the shapes compared ------------------------------------------------------------------------


def _expected(path: Path) -> dict[str, Any]:
    """The .expected.yaml with its defaults filled in (AK304 8 when only elements are in error)."""
    data = yaml.safe_load(path.with_suffix(".expected.yaml").read_text(encoding="utf-8"))
    ta1 = data.get("ta1")
    return {
        "ta1": None if ta1 is None else {"ta104": str(ta1["ta104"]), "ta105": str(ta1["ta105"])},
        "groups": [
            {
                "gs06": str(group["gs06"]),
                "ak901": str(group["ak901"]),
                "ak905": sorted(str(c) for c in group.get("ak905") or []),
                "sets": [
                    {
                        "st02": str(ts["st02"]),
                        "ak501": str(ts["ak501"]),
                        "ak502": sorted(str(c) for c in ts.get("ak502") or []),
                        "segments": [
                            {
                                "position": int(seg["position"]),
                                "id": str(seg["id"]),
                                "ak304": str(seg.get("ak304", "8")),
                                "elements": [
                                    {
                                        "position": int(el["position"]),
                                        "component": el.get("component"),
                                        "ak403": str(el["ak403"]),
                                    }
                                    for el in seg.get("elements") or []
                                ],
                            }
                            for seg in ts.get("segments") or []
                        ],
                    }
                    for ts in group.get("sets") or []
                ],
            }
            for group in data.get("groups") or []
        ],
    }


def _reported(results: list[AckResult]) -> dict[str, Any]:
    """What the acknowledgements we sent say, read back, in the shape of an .expected.yaml."""
    ta1s = [r for r in results if r.kind == "TA1"]
    assert len(ta1s) <= 1, "one inbound interchange gets at most one TA1"
    return {
        "ta1": None if not ta1s else {"ta104": ta1s[0].code, "ta105": ta1s[0].reasons[0].code},
        "groups": [
            {
                "gs06": result.group_control_number,
                "ak901": result.code,
                "ak905": sorted(c.code for c in result.reasons),
                "sets": [
                    {
                        "st02": ts.control_number,
                        "ak501": ts.code,
                        "ak502": sorted(c.code for c in ts.reasons),
                        "segments": [
                            {
                                "position": note.position,
                                "id": note.segment_id,
                                "ak304": note.code.code if note.code else None,
                                "elements": [
                                    {"position": el.position, "component": el.component, "ak403": el.code.code}
                                    for el in note.elements
                                ],
                            }
                            for note in ts.segments
                        ],
                    }
                    for ts in result.sets
                ],
            }
            for result in results
            if result.kind != "TA1"
        ],
    }


def _found(path: Path) -> dict[str, Any]:
    """The validator's findings in the same shape, for files we acknowledge with nothing."""
    groups: list[dict[str, Any]] = []
    sets: list[dict[str, Any]] = []
    for event in validated_events(X12Reader(path)):
        if isinstance(event, TransactionSet):
            findings = [f for f in event.findings if f.level in (Level.SET, Level.SEGMENT, Level.ELEMENT)]
            segments: dict[tuple[int, str], dict[str, Any]] = {}
            for f in sorted(findings, key=lambda f: f.segment_position or 0):
                if f.level is Level.SET:
                    continue
                key = (f.segment_position or 0, f.segment_id or "")
                entry = segments.setdefault(key, {"position": key[0], "id": key[1], "ak304": "8", "elements": []})
                if f.level is Level.SEGMENT:
                    entry["ak304"] = f.code
                else:
                    entry["elements"].append({"position": f.element, "component": f.component, "ak403": f.code})
            sets.append(
                {
                    "st02": event.control_number,
                    "ak501": "R" if any(f.is_error for f in findings) else "A",
                    "ak502": sorted(f.code for f in findings if f.level is Level.SET),
                    "segments": list(segments.values()),
                }
            )
        elif isinstance(event, GroupEnd):
            statuses = {s["ak501"] for s in sets}
            faults = sorted(f.code for f in event.group.findings if f.level is Level.GROUP)
            status = "R" if faults or statuses == {"R"} else ("P" if "R" in statuses else "A")
            groups.append({"gs06": event.group.control_number, "ak901": status, "ak905": faults, "sets": sets})
            sets = []
    return {"ta1": None, "groups": groups}


# -- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "kind"), _cases())
def test_acknowledgement_carries_the_hand_written_codes(path: Path, kind: AckKind) -> None:
    expected = _expected(path)
    acks = _acknowledge(path, kind)
    golden = path.with_suffix(f".{kind}")
    if _is_acknowledgement(path):
        # An acknowledgement is never acknowledged: nothing goes back. The hand-written codes
        # still describe what the validator must find, so they are checked against the findings.
        assert acks.data == b""
        assert all(group.kind is None for ich in acks.interchanges for group in ich.groups)
        assert not golden.exists(), f"{golden.name}: no acknowledgement is owed for an acknowledgement"
        assert _found(path) == expected
        return
    assert _reported(read_acknowledgements(acks.data)) == expected
    if REGENERATE:
        golden.write_bytes(acks.data)
    assert golden.exists(), f"{golden.name} is missing: run EDI_REGEN_GOLDENS=1 pytest {Path(__file__).name}"
    assert acks.data.decode("latin-1") == golden.read_bytes().decode("latin-1")


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*/*/*/*.x12")), ids=_key)
@pytest.mark.parametrize("kind", ["997", "999"])
def test_what_we_send_reads_back_with_the_same_codes(path: Path, kind: AckKind) -> None:
    acks = _acknowledge(path, kind)
    results = read_acknowledgements(acks.data)
    sent = [ich for ich in acks.interchanges if ich.reply_control_number is not None]
    ta1s = [r for r in results if r.kind == "TA1"]
    assert [(r.interchange_control_number, r.code, r.reasons[0].code) for r in ta1s] == [
        (ich.control_number, ich.ta104, ich.ta105) for ich in sent if ich.ta104 is not None
    ]
    groups = [r for r in results if r.kind != "TA1"]
    answered = [g for ich in sent for g in ich.groups if g.kind is not None]
    assert [(r.kind, r.group_control_number, r.code, tuple(c.code for c in r.reasons)) for r in groups] == [
        (g.kind, g.control_number, g.status, g.codes) for g in answered
    ]
    assert [[(s.control_number, s.code, tuple(c.code for c in s.reasons)) for s in r.sets] for r in groups] == [
        [(s.control_number, s.status, s.codes) for s in g.sets] for g in answered
    ]
    assert all(not r.problems for r in results), [p for r in results for p in r.problems]


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*/*/pass/*.x12")), ids=_key)
def test_valid_documents_are_accepted(path: Path) -> None:
    acks = _acknowledge(path, "997")
    for ich in acks.interchanges:
        assert ich.ta104 in (None, "A"), ich
        for group in ich.groups:
            if group.kind is not None:
                assert group.status == "A", group
    assert acks.errors == 0


def test_there_are_fixtures() -> None:
    assert _failing_fixtures(), f"no failing fixtures with expectations under {FIXTURES}"
