"""Polling a partner's local-folder mailbox: fetch, ingest, and only then delete; crash anywhere
and poll again, and every document is there exactly once. (The same over SFTP is in
``tests/test_mailboxes_sftp.py``.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import engine.mailboxes
from engine.db.repository import OrderFilter
from engine.db.session import unit_of_work
from engine.ingest import ingest_file
from engine.mailboxes import MailboxError, deliver, open_mailbox, poll, secret_value
from engine.runtime import Runtime
from mappings.profile import Secret
from mappings.profiles import ProfileError, load_profile
from tests.pipeline_fixtures import (
    Clock,
    OpenRuntime,
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
    outbox,
    received,
    runtime,
    sample,
)
from transport.mailbox import Settling

__all__ = ["clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_runtime", "runtime"]


class Crash(Exception):
    pass


def drop(runtime: Runtime, partner: str, name: str, as_name: str | None = None) -> Path:
    inbox = runtime.workspace.inbox_dir / partner
    inbox.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(sample(runtime, partner, name), inbox / (as_name or f"{name}.x12")))


def poll_once(runtime: Runtime, partner: str = "northwind") -> engine.mailboxes.PollReport:
    profile = runtime.partners[partner]
    box = open_mailbox(runtime, profile, settling=Settling(settle_seconds=0))
    report = poll(runtime, profile, box)
    deliver(runtime, profile, box)  # local folders: the outbox folder, as flush_outbox writes it
    return report


def po_numbers(runtime: Runtime) -> list[str]:
    with unit_of_work(runtime.sessions) as uow:
        return sorted(o.po_number for o in uow.orders.list(OrderFilter(test=None), limit=100).items)


def test_a_dropped_850_is_ingested_acknowledged_and_then_removed_from_the_inbox(runtime: Runtime) -> None:
    dropped = drop(runtime, "northwind", "850-dropship")
    report = poll_once(runtime)
    assert [f.status for f in report.files] == ["processed"] and report.error is None
    assert not dropped.exists()
    got = received(outbox(runtime, "northwind"))
    assert got.of("997") == 1 and got.of("855") == 1
    assert po_numbers(runtime) != []


@pytest.mark.parametrize("point", ["fetched", "before_remote_done"])
def test_a_crash_before_the_file_is_removed_refetches_it_and_applies_nothing_twice(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    dropped = drop(runtime, "northwind", "850-dropship")

    def crash(name: str) -> None:
        if name == point:
            raise Crash(name)

    monkeypatch.setattr(engine.mailboxes, "crash_point", crash)
    with pytest.raises(Crash):
        poll_once(runtime)
    assert dropped.exists()  # nothing is removed before its interchange is committed
    monkeypatch.undo()
    again = poll_once(runtime)
    assert [f.status for f in again.files] == ["processed" if point == "fetched" else "duplicate"]
    assert not dropped.exists()
    got = received(outbox(runtime, "northwind"))
    assert got.of("997") == 1 and got.of("855") == 1
    assert len(po_numbers(runtime)) == 1


def test_a_file_still_being_written_waits_for_a_later_poll(runtime: Runtime) -> None:
    inbox = runtime.workspace.inbox_dir / "northwind"
    inbox.mkdir(parents=True)
    (inbox / ".850.x12.part").write_bytes(sample(runtime, "northwind", "850-dropship").read_bytes())
    assert poll_once(runtime).files == []
    (inbox / ".850.x12.part").rename(inbox / "850.x12")
    assert [f.status for f in poll_once(runtime).files] == ["processed"]


def test_a_hostile_name_is_left_in_the_inbox_and_reported(runtime: Runtime) -> None:
    drop(runtime, "northwind", "850-dropship", as_name="po\x07.x12")
    report = poll_once(runtime)
    assert report.files == [] and "control character" in report.refused["po\x07.x12"]


def test_a_profile_may_name_its_own_folders_and_move_fetched_files(open_runtime: OpenRuntime) -> None:
    runtime = open_runtime(
        northwind="mailbox: {inbox: drop/nw, outbox: pickup/nw, after_fetch: move, archive: drop/nw-done}"
    )
    inbox = runtime.workspace.path("drop/nw")
    inbox.mkdir(parents=True)
    shutil.copyfile(sample(runtime, "northwind", "850-dropship"), inbox / "a.x12")
    poll_once(runtime)
    assert (runtime.workspace.path("drop/nw-done") / "a.x12").exists() and not (inbox / "a.x12").exists()
    assert len(list(runtime.workspace.path("pickup/nw").iterdir())) == 2  # the 997 and the 855


def test_a_secret_comes_from_the_environment_or_a_file_never_from_the_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NW_SFTP_PASSWORD", "s3cret-env")
    (tmp_path / "password").write_text("s3cret-file\n")
    assert secret_value(Secret(env="NW_SFTP_PASSWORD"), tmp_path) == "s3cret-env"
    assert secret_value(Secret(file="password"), tmp_path) == "s3cret-file"
    monkeypatch.delenv("NW_SFTP_PASSWORD")
    with pytest.raises(MailboxError, match=r"NW_SFTP_PASSWORD .* is not set"):
        secret_value(Secret(env="NW_SFTP_PASSWORD"), tmp_path)
    profile = tmp_path / "acme" / "profile.yaml"
    profile.parent.mkdir()
    profile.write_text("name: Acme\nmailbox: {kind: sftp, host: h, username: u, password: hunter2}\n")
    with pytest.raises(ProfileError) as refused:
        load_profile(profile)
    assert "never written in the profile" in str(refused.value) and "hunter2" not in str(refused.value)


def test_documents_for_a_remote_mailbox_wait_for_delivery_not_the_local_outbox(
    open_runtime: OpenRuntime, clock: Clock
) -> None:
    runtime = open_runtime(northwind="mailbox: {kind: sftp, host: 127.0.0.1, port: 9, username: u, key_file: k}")
    ingest_file(runtime, sample(runtime, "northwind", "850-dropship"))
    assert outbox(runtime, "northwind") == []
    with unit_of_work(runtime.sessions) as uow:
        assert len(uow.outbound.pending_ids(["northwind"])) == 2  # the 997 and the 855, for deliver()
