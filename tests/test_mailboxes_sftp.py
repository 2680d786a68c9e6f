"""A partner's SFTP mailbox driven by the engine, against a real OpenSSH sshd on 127.0.0.1: an 850
uploaded to the partner's server is answered with its 997 and 855 on the same server, and the
inbound file is removed only after its interchange is committed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import engine.mailboxes
from engine.cli import main
from engine.runtime import Runtime
from engine.scheduler import MailboxJobs
from tests.pipeline_fixtures import (
    OpenRuntime,
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
    received,
    sample,
)
from tests.sshd_fixtures import SshServer, sshd

__all__ = ["clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_runtime", "sshd"]


class Crash(Exception):
    pass


def sftp_runtime(open_runtime: OpenRuntime, sshd: SshServer, known_hosts: Path | None = None) -> Runtime:
    mailbox = (
        f"mailbox: {{kind: sftp, host: {sshd.host}, port: {sshd.port}, username: {sshd.username}, "
        f"key_file: {sshd.client_key}, known_hosts: {known_hosts or sshd.known_hosts}, "
        f"inbound_dir: {sshd.root / 'in'}, outbound_dir: {sshd.root / 'out'}, settle_seconds: 0, "
        "connect_timeout: 5, operation_timeout: 5, retries: {attempts: 2, base_seconds: 0.05}}"
    )
    for folder in ("in", "out"):
        (sshd.root / folder).mkdir(exist_ok=True)
    return open_runtime(northwind=mailbox)


def upload(runtime: Runtime, sshd: SshServer) -> Path:
    return Path(shutil.copyfile(sample(runtime, "northwind", "850-dropship"), sshd.root / "in" / "PO-850.x12"))


def delivered(sshd: SshServer) -> list[Path]:
    return sorted(p for p in (sshd.root / "out").iterdir() if not p.name.startswith("."))


def test_an_850_on_the_partners_server_is_answered_on_that_server(open_runtime: OpenRuntime, sshd: SshServer) -> None:
    runtime = sftp_runtime(open_runtime, sshd)
    uploaded = upload(runtime, sshd)
    report = MailboxJobs(runtime).run_once("northwind")
    assert report is not None and report.error is None and [f.status for f in report.files] == ["processed"]
    assert not uploaded.exists()
    got = received(delivered(sshd))
    assert got.of("997") == 1 and got.of("855") == 1


def test_the_inbound_file_stays_on_the_server_until_its_interchange_is_committed(
    open_runtime: OpenRuntime, sshd: SshServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = sftp_runtime(open_runtime, sshd)
    uploaded = upload(runtime, sshd)

    def crash(name: str) -> None:
        if name == "before_remote_done":
            raise Crash(name)

    monkeypatch.setattr(engine.mailboxes, "crash_point", crash)
    stopped = MailboxJobs(runtime).run_once("northwind")  # the job logs what stopped it and goes on
    assert stopped is not None and "Crash: before_remote_done" in (stopped.error or "")
    assert uploaded.exists()
    monkeypatch.undo()
    again = MailboxJobs(runtime).run_once("northwind")
    assert again is not None and [f.status for f in again.files] == ["duplicate"] and not uploaded.exists()
    got = received(delivered(sshd))
    assert got.of("997") == 1 and got.of("855") == 1


def test_an_unknown_host_key_stops_the_poll_until_a_person_trusts_it(
    open_runtime: OpenRuntime, sshd: SshServer, capsys: pytest.CaptureFixture[str]
) -> None:
    known_hosts = sshd.workdir / "empty_known_hosts"
    runtime = sftp_runtime(open_runtime, sshd, known_hosts=known_hosts)
    uploaded = upload(runtime, sshd)
    refused = MailboxJobs(runtime).run_once("northwind")
    assert refused is not None and "edi-engine partners trust-host-key" in (refused.error or "")
    assert uploaded.exists()

    trust = ["partners", "trust-host-key", "northwind", "--workspace", str(runtime.workspace.root)]
    assert main(trust) == 1  # shows the key and asks for its fingerprint
    fingerprint = capsys.readouterr().out.split(", ")[1].split()[0]
    assert fingerprint.startswith("SHA256:") and not known_hosts.exists()
    assert main([*trust, "--fingerprint", "SHA256:not-the-key"]) == 1
    assert "not SHA256:not-the-key: not trusted" in capsys.readouterr().err
    assert main([*trust, "--fingerprint", fingerprint]) == 0 and known_hosts.exists()
    done = MailboxJobs(runtime).run_once("northwind")
    assert done is not None and done.error is None and not uploaded.exists()
