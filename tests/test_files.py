"""The archive and the outbox: complete files or none, names that stay in their folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.files import archive, safe_name, write_atomically, write_many_atomically


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


def test_files_written_together_are_whole_in_their_folders_and_named_in_order(tmp_path: Path) -> None:
    north, south = tmp_path / "north", tmp_path / "south"
    seen: list[str] = []
    files = [(north, "a.x12", b"ISA*1"), (south, "../b.x12", b"ISA*2" * 1000), (north, "c.x12", b"")]
    written = write_many_atomically(files, placed=lambda path: seen.append(path.name))
    assert [p.name for p in written] == seen == ["a.x12", "b.x12", "c.x12"]
    assert [p.read_bytes() for p in written] == [b"ISA*1", b"ISA*2" * 1000, b""]
    assert sorted(p.name for p in north.iterdir()) == ["a.x12", "c.x12"]
    assert [p.name for p in south.iterdir()] == ["b.x12"]  # the name from outside stays in its folder


def test_files_written_together_leave_nothing_when_one_cannot_be_written(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where a folder should be")
    files = [(tmp_path / "out", "a.x12", b"ISA*1"), (tmp_path / "taken", "b.x12", b"ISA*2")]
    with pytest.raises(OSError):
        write_many_atomically(files)
    assert list((tmp_path / "out").iterdir()) == []  # neither the first file nor its temporary


def test_a_crash_while_files_take_their_names_leaves_the_others_unseen(tmp_path: Path) -> None:
    """What the outbox flush relies on: a file renamed is whole; one not yet renamed is not seen."""

    class Crash(Exception):
        pass

    def crash(path: Path) -> None:
        raise Crash(path.name)

    files = [(tmp_path, f"{n}.x12", b"ISA*%d" % n) for n in range(3)]
    with pytest.raises(Crash):
        write_many_atomically(files, placed=crash)
    assert [(p.name, p.read_bytes()) for p in tmp_path.iterdir()] == [("0.x12", b"ISA*0")]  # no temporaries left
