"""Engine code never names a partner: what is particular to one lives in its folder of data.

The words looked for are every example partner's id, name, ISA id and GS code, in any case.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings.profiles import EXAMPLES_DIR, example_partners
from tests.conftest import ROOT

#: Where engine code lives; partner folders (mappings/partners) are data and may name themselves.
SCANNED = ("edi", "engine", "mappings", "transport", "portal")
TEXT_SUFFIXES = {".py", ".yaml", ".yml", ".json", ".toml", ".md", ".txt", ".sql", ".html", ".js", ".css", ".ini"}


def partner_words() -> dict[str, str]:
    """Each word that names an example partner (lower case), and the partner it names."""
    words: dict[str, str] = {}
    for profile in example_partners().values():
        names = [profile.id, profile.name]
        if profile.x12 is not None:
            names += [profile.x12.isa_id, profile.x12.gs_code]
        for name in names:
            words[name.lower()] = profile.id
    return words


def code_files(root: Path) -> list[Path]:
    files = []
    for top in SCANNED:
        for path in sorted((root / top).rglob("*")):
            if not path.is_file() or path.suffix not in TEXT_SUFFIXES or "__pycache__" in path.parts:
                continue
            if path.is_relative_to(EXAMPLES_DIR) or path.is_relative_to(root / "mappings" / "partners"):
                continue
            files.append(path)
    return files


def partner_mentions(files: list[Path], words: dict[str, str]) -> list[str]:
    found = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            lowered = line.lower()
            found += [f"{path}:{number}: names partner {words[w]!r} ({w!r})" for w in words if w in lowered]
    return found


def test_the_scan_has_words_and_files_to_look_at() -> None:
    words = partner_words()
    assert len(set(words.values())) >= 3
    files = code_files(ROOT)
    assert any(path.name == "profiles.py" for path in files)
    assert any(path.is_relative_to(ROOT / "engine") for path in files)
    assert any(path.is_relative_to(ROOT / "edi") for path in files)


def test_no_engine_code_names_a_partner() -> None:
    assert partner_mentions(code_files(ROOT), partner_words()) == []


@pytest.mark.parametrize("case", [str.lower, str.upper, str.title])
def test_the_scan_would_catch_a_partner_named_in_code(tmp_path: Path, case: object) -> None:
    assert callable(case)
    words = partner_words()
    for word, partner_id in words.items():
        planted = tmp_path / "engine" / "rules" / "special.py"
        planted.parent.mkdir(parents=True, exist_ok=True)
        planted.write_text(f"if partner == {case(word)!r}:\n    pass\n")
        assert partner_mentions(code_files(tmp_path), {word: partner_id}) == [
            f"{planted}:1: names partner {partner_id!r} ({word!r})"
        ]
