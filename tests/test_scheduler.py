"""The engine running unattended: mailbox leases, scheduled polls, ``edi-engine run`` and ``status``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import engine.mailboxes
from engine.db.leases import acquire, release, still_held
from engine.db.session import unit_of_work
from engine.ingest import ingest_data
from engine.mailboxes import mailbox_statuses
from engine.runtime import Runtime
from engine.scheduler import MailboxJobs, trigger_of
from mappings.profile import PollSchedule
from tests.db_fixtures import Db, add_partner, db
from tests.pipeline_fixtures import (
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

__all__ = ["clock", "database_url", "db", "migrated_postgres", "migrated_sqlite_template", "open_runtime", "runtime"]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_lease_is_held_by_one_owner_until_it_expires_then_passes_on_with_a_new_token(db: Db) -> None:
    add_partner(db)
    first = acquire(db.sessions, "acme", "worker-a", ttl=timedelta(seconds=30), now=T0)
    assert first is not None
    assert acquire(db.sessions, "acme", "worker-b", ttl=timedelta(seconds=30), now=T0 + timedelta(seconds=29)) is None
    second = acquire(db.sessions, "acme", "worker-b", ttl=timedelta(seconds=30), now=T0 + timedelta(seconds=31))
    assert second is not None and second.token > first.token
    assert not still_held(db.sessions, first, now=T0 + timedelta(seconds=31))
    assert not release(db.sessions, first, now=T0 + timedelta(seconds=32))  # too late: b holds it
    assert still_held(db.sessions, second, now=T0 + timedelta(seconds=32))
    assert release(db.sessions, second, now=T0 + timedelta(seconds=33), error="boom", fetched=2)
    third = acquire(db.sessions, "acme", "worker-a", ttl=timedelta(seconds=30), now=T0 + timedelta(seconds=34))
    assert third is not None and third.token > second.token


def test_a_cron_schedule_keeps_its_local_time_across_daylight_saving() -> None:
    trigger = trigger_of(PollSchedule(cron="0 9 * * mon-fri", timezone="America/New_York"))
    fire = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    local_hours = []
    for _ in range(4):  # Thu 5, Fri 6, Mon 9 (after the change on Sunday 8 March), Tue 10
        fire = trigger.get_next_fire_time(None, fire + timedelta(minutes=1))
        local_hours.append((fire.day, fire.hour, fire.utcoffset()))
    assert [(d, h) for d, h, _ in local_hours] == [(5, 9), (6, 9), (9, 9), (10, 9)]
    assert local_hours[0][2] == timedelta(hours=-5) and local_hours[2][2] == timedelta(hours=-4)


def test_an_interval_is_the_default_schedule() -> None:
    assert trigger_of(PollSchedule()).interval == timedelta(seconds=60)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="not both"):
        PollSchedule(every_seconds=5, cron="* * * * *")
    with pytest.raises(ValueError, match="time zone"):
        PollSchedule(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="cron schedule"):
        PollSchedule(cron="every tuesday")


def drop(runtime: Runtime, partner: str = "northwind", name: str = "850-dropship") -> Path:
    inbox = runtime.workspace.inbox_dir / partner
    inbox.mkdir(parents=True, exist_ok=True)
    target = inbox / f"{name}.x12"
    shutil.copyfile(sample(runtime, partner, name), target)
    os.utime(target, (time.time() - 60, time.time() - 60))  # complete: not written in the last settle_seconds
    return target


def test_two_workers_polling_one_mailbox_at_once_ingest_each_file_once(runtime: Runtime) -> None:
    dropped = drop(runtime)
    workers = [MailboxJobs(runtime, owner=f"worker-{n}") for n in range(2)]
    start = threading.Barrier(2)
    results = []

    def work(jobs: MailboxJobs) -> None:
        start.wait()
        results.append(jobs.run_once("northwind"))

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    polled = [r for r in results if r is not None]
    assert sum(len(r.files) for r in polled) == 1 and not dropped.exists()
    got = received(outbox(runtime, "northwind"))
    assert got.of("997") == 1 and got.of("855") == 1


def test_a_partners_job_delivers_that_partners_documents_only(runtime: Runtime) -> None:
    for partner in ("contoso", "northwind"):  # ingested without the outbox flush: both left pending
        data = sample(runtime, partner, "850-dropship").read_bytes()
        ingest_data(runtime, data, source=partner, name="850.x12")
    report = MailboxJobs(runtime).run_once("northwind")
    assert report is not None and sorted(name.split("-")[1] for name in report.delivered) == ["855", "997"]
    with unit_of_work(runtime.sessions) as uow:
        assert uow.outbound.pending_ids(["northwind"]) == [] and len(uow.outbound.pending_ids(["contoso"])) == 1


def test_a_failing_mailbox_is_recorded_and_never_stops_the_others(open_runtime: OpenRuntime) -> None:
    runtime = open_runtime(
        contoso="mailbox: {kind: sftp, host: 127.0.0.1, port: 9, username: u, password: {env: EDI_TEST_UNSET_SECRET}}"
    )
    drop(runtime)
    jobs = MailboxJobs(runtime)
    failed = jobs.run_once("contoso")
    assert failed is not None and "EDI_TEST_UNSET_SECRET" in (failed.error or "")
    done = jobs.run_once("northwind")
    assert done is not None and done.error is None and len(done.files) == 1
    statuses = {s.partner_id: s for s in mailbox_statuses(runtime)}
    assert "EDI_TEST_UNSET_SECRET" in (statuses["contoso"].last_error or "")
    assert statuses["northwind"].files_fetched == 1 and statuses["northwind"].last_error is None


def test_the_scheduler_picks_a_dropped_file_up_within_two_poll_intervals(open_runtime: OpenRuntime) -> None:
    runtime = open_runtime(northwind="mailbox: {poll: {every_seconds: 0.5}, settle_seconds: 0.2}")
    jobs = MailboxJobs(runtime)
    jobs.start()
    try:
        time.sleep(0.3)
        inbox = runtime.workspace.inbox_dir / "northwind"
        inbox.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sample(runtime, "northwind", "850-dropship"), inbox / "new.x12")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(outbox(runtime, "northwind")) < 2:
            time.sleep(0.1)
    finally:
        jobs.stop()
    got = received(outbox(runtime, "northwind"))
    assert got.of("997") == 1 and got.of("855") == 1 and not (inbox / "new.x12").exists()


def test_edi_engine_run_polls_until_sigterm_then_stops_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cli = [sys.executable, "-m", "engine.cli"]
    subprocess.run([*cli, "init", str(tmp_path / "ws")], check=True, capture_output=True, env=env)
    workspace = tmp_path / "ws"
    inbox = workspace / "var" / "inbox" / "northwind"
    inbox.mkdir(parents=True)
    shutil.copyfile(workspace / "partners" / "northwind" / "samples" / "850-dropship.x12", inbox / "a.x12")
    engine = subprocess.Popen(
        [*cli, "run", "--workspace", str(workspace), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert engine.stdout is not None
        started = engine.stdout.readline()
        health = started.split("http://")[1].split()[0]
        with urllib.request.urlopen(f"http://{health}", timeout=10) as response:
            assert json.loads(response.read()) == {"status": "ok", "database": "ok", "scheduler": "running"}
        deadline = time.monotonic() + 30
        folder = workspace / "var" / "outbox" / "northwind"
        while time.monotonic() < deadline and len(list(folder.glob("*.x12")) if folder.exists() else []) < 2:
            time.sleep(0.2)
        engine.send_signal(signal.SIGTERM)
        stdout, stderr = engine.communicate(timeout=30)
    finally:
        if engine.poll() is None:
            engine.kill()
    assert engine.returncode == 0, stderr
    assert "edi-engine running" in started and "edi-engine stopped" in stdout
    assert sorted(p.name.split("-")[1] for p in folder.glob("*.x12")) == ["855", "997"]
    status = subprocess.run(
        [*cli, "status", "--workspace", str(workspace)], check=True, capture_output=True, text=True, env=env
    )
    assert "northwind (local): last poll" in status.stdout and "1 file(s) fetched" in status.stdout


def test_a_poll_that_outlasts_its_lease_keeps_it_until_the_poll_ends(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_time = Runtime.open(runtime.workspace.root)  # leases expire by the clock: a real one here
    try:
        dropped = drop(real_time)
        intruders: list[object] = []

        def slow(name: str) -> None:  # a large file: the poll takes longer than its lease
            if name == "fetched":
                time.sleep(1.5)
                intruders.append(acquire(real_time.sessions, "northwind", "intruder", ttl=timedelta(seconds=1),
                                         now=real_time.now()))  # fmt: skip

        monkeypatch.setattr(engine.mailboxes, "crash_point", slow)
        report = MailboxJobs(real_time, owner="poller", lease=timedelta(seconds=0.6)).run_once("northwind")
        assert report is not None and len(report.files) == 1 and not dropped.exists()
        assert intruders == [None]  # renewed during the poll: nobody else could take the mailbox
    finally:
        real_time.close()
