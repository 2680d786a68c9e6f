"""The archive and the outbox: complete files or none, names that stay in their folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.files import archive, safe_name, write_atomically


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "/abs/path", "C:\\win\\x", "a\x00b", ".hidden", "..", ""])
def test_a_hostile_name_never_leaves_its_folder(tmp_path: Path, hostile: str) -> None:
    written = write_atomically(tmp_path, hostile, b"x")
    assert written.parent == tmp_path
    assert not written.name.startswith(".")
    assert safe_name(hostile) == written.name


def test_atomic_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    write_atomically(tmp_path, "po.997", b"ISA")
    assert [p.name for p in tmp_path.iterdir()] == ["po.997"]


def test_archiving_the_same_bytes_twice_keeps_one_copy(tmp_path: Path) -> None:
    first = archive(tmp_path, b"ISA*00~")
    second = archive(tmp_path, b"ISA*00~")
    assert first == second
    assert first[1].read_bytes() == b"ISA*00~"
    assert len(list(tmp_path.rglob("*.edi"))) == 1
