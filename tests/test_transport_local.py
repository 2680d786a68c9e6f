"""Local-folder mailboxes, partner names, settling and retries: the transport layer without a server."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transport.local import LocalMailbox
from transport.mailbox import RemoteFile, Settling
from transport.names import UnsafeName, checked_name, inside, is_temporary
from transport.retry import Backoff, retried

HOSTILE = ["../etc/passwd", "..", ".", "", "/etc/passwd", "a/b", "a\\b", "C:evil", "c:\\x", "a\x00b", "a\x1bb", "a\x7f"]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_name_that_would_leave_its_folder_is_refused(name: str) -> None:
    with pytest.raises(UnsafeName):
        checked_name(name)


@given(st.text(min_size=1, max_size=40))
def test_every_accepted_name_stays_inside_its_folder(name: str) -> None:
    folder = Path("/srv/mailboxes/acme")
    try:
        target = inside(folder, name)
    except UnsafeName:
        return
    assert target.parent == folder and target.name == name


@pytest.mark.parametrize("name", [".hidden", "PO1.edi.part", "PO1.TMP", "x.filepart"])
def test_dot_files_and_temporary_suffixes_are_still_being_written(name: str) -> None:
    assert is_temporary(name)
    assert not is_temporary("PO1.edi")


def test_a_file_is_ready_when_two_polls_see_it_unchanged_or_it_is_old() -> None:
    clock = [1000.0]
    settling = Settling(settle_seconds=30, now=lambda: clock[0])
    growing = RemoteFile("a.edi", 10, 995.0)
    old = RemoteFile("b.edi", 5, 900.0)
    assert settling.ready([growing, old, RemoteFile(".c.edi", 1, 1.0)]) == [old]
    assert settling.ready([RemoteFile("a.edi", 20, 999.0), old]) == [old]  # still growing
    assert settling.ready([RemoteFile("a.edi", 20, 999.0), old]) == [old, RemoteFile("a.edi", 20, 999.0)]


def _mailbox(tmp_path: Path, **kwargs: object) -> LocalMailbox:
    return LocalMailbox(tmp_path / "in", tmp_path / "out", settling=Settling(settle_seconds=0), **kwargs)  # type: ignore[arg-type]


def test_a_local_mailbox_lists_fetches_and_deletes_complete_files_only(tmp_path: Path) -> None:
    box = _mailbox(tmp_path)
    box.inbox.mkdir()
    (box.inbox / "PO1.edi").write_bytes(b"ISA*one")
    (box.inbox / ".PO2.edi.part").write_bytes(b"ISA*half")
    (box.inbox / "PO3.tmp").write_bytes(b"ISA*half")
    (box.inbox / "folder").mkdir()
    ready = box.ready()
    assert [f.name for f in ready] == ["PO1.edi"]
    assert box.fetch(ready[0]) == b"ISA*one"
    box.done(ready[0])
    assert sorted(p.name for p in box.inbox.iterdir()) == [".PO2.edi.part", "PO3.tmp", "folder"]


def test_a_local_mailbox_moves_fetched_files_to_its_archive(tmp_path: Path) -> None:
    box = _mailbox(tmp_path, done_action="move", archive=tmp_path / "done")
    box.inbox.mkdir()
    (box.inbox / "PO1.edi").write_bytes(b"ISA*one")
    (file,) = box.ready()
    box.done(file)
    box.done(file)  # again, after a crash before it was recorded: harmless
    assert (tmp_path / "done" / "PO1.edi").read_bytes() == b"ISA*one" and not list(box.inbox.iterdir())


def test_a_local_mailbox_that_moves_needs_an_archive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="archive"):
        LocalMailbox(tmp_path / "in", tmp_path / "out", done_action="move")


def test_an_unsafe_name_in_the_inbox_is_refused_and_left_where_it_is(tmp_path: Path) -> None:
    box = _mailbox(tmp_path)
    box.inbox.mkdir()
    (box.inbox / "bad\x01name.edi").write_bytes(b"ISA")
    assert box.ready() == []
    assert "control character" in box.refused["bad\x01name.edi"]
    assert (box.inbox / "bad\x01name.edi").exists()


def test_put_writes_through_a_temporary_name_and_refuses_names_that_leave_the_outbox(tmp_path: Path) -> None:
    box = _mailbox(tmp_path)
    assert box.put("855-1.x12", b"ISA*855") == "855-1.x12"
    assert box.put("855-1.x12", b"ISA*855 again") == "855-1.x12"  # replaced whole
    assert {p.name: p.read_bytes() for p in box.outbox.iterdir()} == {"855-1.x12": b"ISA*855 again"}
    for name in ("../escape.x12", "/tmp/x.x12"):
        with pytest.raises(UnsafeName):
            box.put(name, b"x")
    assert not (tmp_path / "escape.x12").exists()


def test_a_poller_never_takes_a_file_that_put_is_still_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = _mailbox(tmp_path)
    partner = LocalMailbox(box.outbox, tmp_path / "theirs", settling=Settling(settle_seconds=0))
    box.outbox.mkdir()
    seen: list[str] = []
    real_replace = os.replace

    def look_first(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        seen.extend(f.name for f in partner.ready())  # the partner polls while the write is in flight
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", look_first)
    box.put("855-1.x12", b"ISA*855")
    monkeypatch.undo()
    assert seen == [] and [f.name for f in partner.ready()] == ["855-1.x12"]


def test_an_operation_is_retried_with_growing_jittered_waits_then_fails() -> None:
    waits: list[float] = []
    calls = []

    def failing() -> None:
        calls.append(1)
        raise ConnectionRefusedError("refused")

    with pytest.raises(ConnectionRefusedError):
        retried(failing, Backoff(attempts=4, base=1.0, cap=3.0), retry_on=(OSError,), sleep=waits.append)
    assert len(calls) == 4 and len(waits) == 3
    assert all(0 <= w <= cap for w, cap in zip(waits, (1.0, 2.0, 3.0), strict=True))
    delays = Backoff(attempts=6, base=1.0, cap=5.0).delays(random.Random(7))
    assert all(d <= 5.0 for d in delays) and len(set(delays)) == 5


def test_an_operation_that_recovers_returns_its_result() -> None:
    outcomes = iter([TimeoutError("slow"), "ok"])

    def flaky() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    assert retried(flaky, Backoff(attempts=2, base=0.01), retry_on=(OSError,), sleep=lambda _: None) == "ok"
