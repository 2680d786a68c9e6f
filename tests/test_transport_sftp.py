"""The SFTP mailbox against a real OpenSSH server: complete files only, unsafe names refused, atomic
uploads, host keys checked, failures named, and a dying server never hangs us or loses a file."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest

from tests.sshd_fixtures import SshServer, free_port, keygen, sshd
from transport.mailbox import RemoteFile, Settling, TransportError
from transport.names import is_temporary
from transport.retry import Backoff
from transport.sftp import (
    HostKeyRefused,
    OnRetry,
    SftpMailbox,
    SftpSettings,
    fetch_host_key,
    fingerprint,
    trust_host_key,
)

__all__ = ["sshd"]  # fixtures

TINY_BACKOFF = Backoff(attempts=3, base=0.01, cap=0.02)
PASSWORD = "pw-7f3c1d9e-never-show-me"
PASSPHRASE = "pp-5a8e2b44-never-show-me"
BIG = 24 * 1024 * 1024  # big enough that a transfer is still running when the server is killed

Open = Callable[..., SftpMailbox]


def settings_for(server: SshServer, **changes: Any) -> SftpSettings:
    settings = SftpSettings(
        host=server.host,
        port=server.port,
        username=server.username,
        known_hosts=server.known_hosts,
        key_file=server.client_key,
        inbound_dir=str(server.root / "in"),
        outbound_dir=str(server.root / "out"),
        connect_timeout=5.0,
        operation_timeout=5.0,
        backoff=TINY_BACKOFF,
    )
    return dataclasses.replace(settings, **changes)


@pytest.fixture
def folders(sshd: SshServer) -> tuple[Path, Path]:
    """The server's inbound and outbound folders, as local paths."""
    inbound, outbound = sshd.root / "in", sshd.root / "out"
    inbound.mkdir()
    outbound.mkdir()
    return inbound, outbound


@pytest.fixture
def open_mailbox(sshd: SshServer, folders: tuple[Path, Path]) -> Iterator[Open]:
    """Makes mailboxes on this test's server (settings changed by keyword) and closes them at the end."""
    made: list[SftpMailbox] = []

    def make(settling: Settling | None = None, on_retry: OnRetry | None = None, **changes: Any) -> SftpMailbox:
        box = SftpMailbox(settings_for(sshd, **changes), settling or Settling(settle_seconds=1.0), on_retry=on_retry)
        made.append(box)
        return box

    yield make
    for box in made:
        box.close()


def write_old(path: Path, data: bytes, age: float = 100.0) -> Path:
    path.write_bytes(data)
    moment = time.time() - age
    os.utime(path, (moment, moment))
    return path


def names(files: list[RemoteFile]) -> list[str]:
    return [file.name for file in files]


def retries_counted() -> tuple[list[int], OnRetry]:
    attempts: list[int] = []
    return attempts, lambda attempt, error, wait: attempts.append(attempt)


def in_thread(operation: Callable[[], object]) -> tuple[threading.Thread, dict[str, object]]:
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = operation()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def wait_for_temporary(folder: Path, timeout: float = 10.0) -> str:
    """The temporary file an upload into ``folder`` is writing, once it holds some bytes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in os.scandir(folder):
            if is_temporary(entry.name) and entry.stat().st_size > 0:
                return entry.name
        time.sleep(0.001)
    raise AssertionError(f"no upload began in {folder} within {timeout} s")


def wait_for_transfer(server: SshServer, path: Path) -> None:
    """Until the server is sending ``path`` and paramiko's prefetch thread has sent all its read requests
    (killed mid-way, it dies with a traceback: harmless, but a warning in the output); data still flows."""
    server.wait_until_read(path, at_least=1)
    deadline = time.monotonic() + 10
    while any("_prefetch_thread" in thread.name for thread in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.001)


def test_a_poll_lists_only_complete_files_and_never_temporary_names(
    open_mailbox: Open, folders: tuple[Path, Path]
) -> None:
    inbound, _ = folders
    for name in ("order.edi", ".hidden.edi", "order2.edi.part", "order3.tmp", ".order4.edi.123-abcd.part"):
        write_old(inbound / name, b"ISA*00~")
    (inbound / "a-folder").mkdir()
    box = open_mailbox()
    assert names(box.ready()) == ["order.edi"]
    assert names(box.ready()) == ["order.edi"]


def test_a_file_still_growing_waits_until_two_polls_see_it_unchanged(
    open_mailbox: Open, folders: tuple[Path, Path]
) -> None:
    inbound, _ = folders
    box = open_mailbox(settling=Settling(settle_seconds=3600))
    growing = inbound / "order.edi"
    growing.write_bytes(b"ISA*00*")
    assert box.ready() == []
    with open(growing, "ab") as handle:
        handle.write(b"GS*PO~")
    assert box.ready() == []
    [file] = box.ready()
    assert (file.name, file.size) == ("order.edi", 13)


def test_fetch_returns_exactly_the_bytes(open_mailbox: Open, folders: tuple[Path, Path]) -> None:
    inbound, _ = folders
    data = os.urandom(700_000) + b"\x00\r\n\xff"
    write_old(inbound / "order.edi", data)
    box = open_mailbox()
    [file] = box.ready()
    assert box.fetch(file) == data


def test_done_deletes_the_file(open_mailbox: Open, folders: tuple[Path, Path]) -> None:
    inbound, _ = folders
    write_old(inbound / "order.edi", b"ISA~")
    box = open_mailbox()
    [file] = box.ready()
    box.done(file)
    assert not (inbound / "order.edi").exists()
    assert box.ready() == []
    box.done(file)  # again, as after a crash between done and commit: nothing to do


def test_done_moves_the_file_into_the_archive_folder_made_on_first_use(
    open_mailbox: Open, sshd: SshServer, folders: tuple[Path, Path]
) -> None:
    inbound, _ = folders
    archive = sshd.root / "archive" / "2024"
    write_old(inbound / "order.edi", b"new")
    box = open_mailbox(done_action="move", archive_dir=str(archive))
    [file] = box.ready()
    box.done(file)
    assert not (inbound / "order.edi").exists()
    assert (archive / "order.edi").read_bytes() == b"new"
    write_old(inbound / "order.edi", b"newer")  # the same name again replaces the archived one
    [file] = box.ready()
    box.done(file)
    assert (archive / "order.edi").read_bytes() == b"newer"


def test_move_without_an_archive_folder_is_refused_before_connecting(sshd: SshServer) -> None:
    with pytest.raises(ValueError, match="archive"):
        SftpMailbox(settings_for(sshd, done_action="move"))


def test_a_file_not_matching_the_pattern_is_ignored(open_mailbox: Open, folders: tuple[Path, Path]) -> None:
    inbound, _ = folders
    write_old(inbound / "order.edi", b"ISA~")
    write_old(inbound / "notes.txt", b"hello")
    write_old(inbound / "ORDER.EDI", b"ISA~")
    box = open_mailbox(pattern="*.edi")
    assert names(box.ready()) == ["order.edi"]
    assert (inbound / "notes.txt").exists()


def test_an_unsafe_remote_name_is_refused_and_left_in_place(open_mailbox: Open, folders: tuple[Path, Path]) -> None:
    inbound, _ = folders
    unsafe = ["bad\x01name.edi", "back\\slash.edi", "C:evil.edi"]
    for name in [*unsafe, "order.edi"]:
        write_old(inbound / name, b"ISA~")
    box = open_mailbox()
    assert names(box.ready()) == ["order.edi"]
    assert sorted(box.refused) == sorted(unsafe)
    assert "control character" in box.refused["bad\x01name.edi"]
    assert all((inbound / name).exists() for name in unsafe)


def test_an_upload_appears_only_under_its_final_name_with_exactly_the_bytes(
    open_mailbox: Open, folders: tuple[Path, Path]
) -> None:
    _, outbound = folders
    uploads = {f"855-{n}.x12": os.urandom(3 * 1024 * 1024 + n) for n in range(3)}
    sender = open_mailbox()
    # A partner polling the folder we write to, as eagerly as it can.
    poller = open_mailbox(settling=Settling(settle_seconds=0), inbound_dir=str(outbound))
    seen_ready: set[str] = set()
    seen_on_disk: set[str] = set()
    finished = threading.Event()

    def poll() -> None:
        while not finished.is_set():
            seen_ready.update(names(poller.ready()))

    def watch() -> None:
        while not finished.is_set():
            with contextlib.suppress(FileNotFoundError):
                seen_on_disk.update(os.listdir(outbound))

    watchers = [threading.Thread(target=poll, daemon=True), threading.Thread(target=watch, daemon=True)]
    for thread in watchers:
        thread.start()
    try:
        for name, data in uploads.items():
            assert sender.put(name, data) == name
    finally:
        finished.set()
        for thread in watchers:
            thread.join(timeout=10)
    assert seen_ready <= set(uploads)
    assert any(is_temporary(name) and name.endswith(".part") for name in seen_on_disk), seen_on_disk
    assert sorted(os.listdir(outbound)) == sorted(uploads)
    for name, data in uploads.items():
        assert (outbound / name).read_bytes() == data
    assert sorted(names(poller.ready())) == sorted(uploads)


def test_an_upload_replaces_an_earlier_file_of_the_same_name(open_mailbox: Open, folders: tuple[Path, Path]) -> None:
    _, outbound = folders
    (outbound / "855.x12").write_bytes(b"old and longer")
    assert open_mailbox().put("855.x12", b"new") == "855.x12"
    assert (outbound / "855.x12").read_bytes() == b"new"


def test_an_upload_under_an_unsafe_name_is_refused(open_mailbox: Open) -> None:
    with pytest.raises(ValueError, match="folder"):
        open_mailbox().put("../855.x12", b"ISA~")


def test_an_upload_cut_off_by_the_server_dying_leaves_no_final_file_and_can_be_sent_again(
    open_mailbox: Open, sshd: SshServer, folders: tuple[Path, Path]
) -> None:
    _, outbound = folders
    data = os.urandom(BIG)
    box = open_mailbox(operation_timeout=2.0)
    thread, outcome = in_thread(lambda: box.put("855.x12", data))
    wait_for_temporary(outbound)
    sshd.kill()
    thread.join(timeout=20)
    assert not thread.is_alive(), "put hung after the server died"
    assert isinstance(outcome.get("error"), TransportError), outcome
    left = os.listdir(outbound)
    assert "855.x12" not in left
    assert left and all(is_temporary(name) and name.endswith(".part") for name in left), left

    sshd.start()
    assert box.put("855.x12", data) == "855.x12"
    assert (outbound / "855.x12").read_bytes() == data


def test_a_server_killed_mid_fetch_raises_transport_error_without_hanging_and_keeps_the_file(
    open_mailbox: Open, sshd: SshServer, folders: tuple[Path, Path]
) -> None:
    inbound, _ = folders
    big = write_old(inbound / "order.edi", os.urandom(BIG))
    box = open_mailbox(operation_timeout=2.0)
    [file] = box.ready()
    thread, outcome = in_thread(lambda: box.fetch(file))
    wait_for_transfer(sshd, big)
    sshd.kill()
    thread.join(timeout=20)
    assert not thread.is_alive(), "fetch hung after the server died"
    error = outcome.get("error")
    assert isinstance(error, TransportError), outcome
    assert f"{sshd.host}:{sshd.port}" in str(error)
    assert big.stat().st_size == BIG


def test_an_upload_whose_connection_drops_is_sent_again_under_a_fresh_temporary_name(
    open_mailbox: Open, sshd: SshServer, folders: tuple[Path, Path]
) -> None:
    _, outbound = folders
    data = os.urandom(BIG)
    box = open_mailbox()
    thread, outcome = in_thread(lambda: box.put("855.x12", data))
    first = wait_for_temporary(outbound)
    sshd.kill_sessions()  # sshd still listens, so the mailbox reconnects and uploads again
    thread.join(timeout=30)
    assert outcome == {"result": "855.x12"}
    assert os.listdir(outbound) == ["855.x12"], f"{first} should have been cleaned up"
    assert (outbound / "855.x12").read_bytes() == data


def test_a_fetch_whose_connection_drops_is_made_again_once(
    open_mailbox: Open, sshd: SshServer, folders: tuple[Path, Path]
) -> None:
    inbound, _ = folders
    data = os.urandom(BIG)
    big = write_old(inbound / "order.edi", data)
    box = open_mailbox()
    [file] = box.ready()
    thread, outcome = in_thread(lambda: box.fetch(file))
    wait_for_transfer(sshd, big)
    sshd.kill_sessions()
    thread.join(timeout=30)
    assert outcome.get("result") == data, outcome.get("error")


def test_a_frozen_server_times_out_instead_of_hanging(open_mailbox: Open, sshd: SshServer) -> None:
    box = open_mailbox(operation_timeout=1.0, connect_timeout=1.0, backoff=Backoff(attempts=2, base=0.01, cap=0.01))
    assert box.ready() == []
    sshd.freeze()
    started = time.monotonic()
    with pytest.raises(TransportError, match=f"{sshd.host}:{sshd.port}"):
        box.ready()
    assert time.monotonic() - started < 10


def test_a_dropped_connection_is_made_again_on_the_next_call(
    open_mailbox: Open, sshd: SshServer, folders: tuple[Path, Path]
) -> None:
    inbound, _ = folders
    box = open_mailbox()
    assert box.ready() == []
    sshd.restart()
    write_old(inbound / "order.edi", b"ISA~")
    [file] = box.ready()
    assert box.fetch(file) == b"ISA~"


def test_an_unknown_host_key_is_refused_with_its_fingerprint_and_the_trust_command(
    open_mailbox: Open, sshd: SshServer, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "nowhere" / "known_hosts"
    attempts, on_retry = retries_counted()
    box = open_mailbox(known_hosts=known_hosts, on_retry=on_retry)
    with pytest.raises(HostKeyRefused) as refused:
        box.ready()
    message = str(refused.value)
    assert f"{sshd.host}:{sshd.port}" in message
    assert "ssh-ed25519" in message
    assert fingerprint(sshd.host_key) in message
    assert f"not in {known_hosts}" in message
    assert "edi-engine partners trust-host-key PARTNER" in message
    assert refused.value.offered == sshd.host_key
    assert attempts == []


def test_a_changed_host_key_is_refused_naming_both_fingerprints(
    open_mailbox: Open, sshd: SshServer, tmp_path: Path
) -> None:
    other = keygen(tmp_path / "impostor")
    key_type, blob = Path(f"{other}.pub").read_text().split()[:2]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[{sshd.host}]:{sshd.port} {key_type} {blob}\n")
    [keys] = paramiko.HostKeys(str(known_hosts)).values()
    expected = keys[key_type]
    attempts, on_retry = retries_counted()
    box = open_mailbox(known_hosts=known_hosts, on_retry=on_retry)
    with pytest.raises(HostKeyRefused) as refused:
        box.fetch(RemoteFile("order.edi", 1, 0.0))
    message = str(refused.value)
    assert "CHANGED" in message
    assert fingerprint(expected) in message
    assert fingerprint(sshd.host_key) in message
    assert "edi-engine partners trust-host-key PARTNER" in message
    assert attempts == []


def test_the_fingerprint_is_the_one_ssh_keygen_prints(sshd: SshServer) -> None:
    printed = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(sshd.workdir / "host_ed25519.pub")],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert printed.split()[1] == fingerprint(sshd.host_key)


def test_a_host_key_fetched_and_trusted_lets_the_connection_through(
    open_mailbox: Open, sshd: SshServer, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "new" / "folder" / "known_hosts"
    key = fetch_host_key(sshd.host, sshd.port, timeout=5.0)
    assert fingerprint(key) == fingerprint(sshd.host_key)
    trust_host_key(known_hosts, sshd.host, sshd.port, key)
    assert known_hosts.read_text().startswith(f"[{sshd.host}]:{sshd.port} ssh-ed25519 ")
    assert open_mailbox(known_hosts=known_hosts).ready() == []


def test_trusting_a_new_host_key_replaces_the_old_key_of_that_type_and_keeps_other_hosts(
    open_mailbox: Open, sshd: SshServer, tmp_path: Path
) -> None:
    old = Path(f"{keygen(tmp_path / 'old')}.pub").read_text().split()[:2]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[{sshd.host}]:{sshd.port} {old[0]} {old[1]}\npartner.example {old[0]} {old[1]}\n")
    trust_host_key(known_hosts, sshd.host, sshd.port, fetch_host_key(sshd.host, sshd.port))
    lines = known_hosts.read_text().splitlines()
    assert len(lines) == 2
    assert any(line.startswith("partner.example ") for line in lines)
    assert open_mailbox(known_hosts=known_hosts).ready() == []


def test_the_host_entry_for_port_22_is_the_bare_host_name(tmp_path: Path, sshd: SshServer) -> None:
    known_hosts = tmp_path / "known_hosts"
    trust_host_key(known_hosts, "sftp.partner.example", 22, sshd.host_key)
    assert known_hosts.read_text().split()[:2] == ["sftp.partner.example", "ssh-ed25519"]


def test_fetching_the_host_key_of_a_closed_port_is_a_transport_error() -> None:
    port = free_port()
    with pytest.raises(TransportError, match=f"127.0.0.1:{port}"):
        fetch_host_key("127.0.0.1", port, timeout=2.0)


def test_an_unreachable_server_is_retried_per_backoff_then_named(sshd: SshServer) -> None:
    port = free_port()
    attempts, on_retry = retries_counted()
    box = SftpMailbox(settings_for(sshd, port=port), on_retry=on_retry)
    started = time.monotonic()
    with pytest.raises(TransportError) as failed:
        box.ready()
    assert attempts == [1, 2]
    assert f"127.0.0.1:{port}" in str(failed.value)
    assert "3 tries" in str(failed.value)
    assert time.monotonic() - started < 5


def test_a_wrong_client_key_fails_authentication_without_retrying(
    open_mailbox: Open, sshd: SshServer, tmp_path: Path
) -> None:
    attempts, on_retry = retries_counted()
    box = open_mailbox(key_file=keygen(tmp_path / "stranger"), on_retry=on_retry)
    with pytest.raises(TransportError, match="authentication failed") as failed:
        box.ready()
    assert f"{sshd.username}@{sshd.host}:{sshd.port}" in str(failed.value)
    assert attempts == []


def test_a_passphrase_protected_client_key_opens_with_its_passphrase(
    open_mailbox: Open, sshd: SshServer, tmp_path: Path
) -> None:
    key = keygen(tmp_path / "locked", passphrase=PASSPHRASE)
    authorized = sshd.workdir / "authorized_keys"
    authorized.write_text(authorized.read_text() + Path(f"{key}.pub").read_text())
    assert open_mailbox(key_file=key, key_passphrase=PASSPHRASE).ready() == []
    with pytest.raises(TransportError, match="cannot use the client key") as failed:
        open_mailbox(key_file=key, key_passphrase="wrong").ready()
    assert "wrong" not in str(failed.value)


def test_secrets_never_appear_in_settings_or_errors(open_mailbox: Open, sshd: SshServer, tmp_path: Path) -> None:
    secrets = {"password": PASSWORD, "key_passphrase": PASSPHRASE}
    settings = settings_for(sshd, **secrets)
    shown = [repr(settings), str(settings)]
    failures: list[Callable[[], object]] = [
        open_mailbox(key_file=keygen(tmp_path / "stranger"), **secrets).ready,
        open_mailbox(known_hosts=tmp_path / "empty", **secrets).ready,
        open_mailbox(port=free_port(), **secrets).ready,
        SftpMailbox(settings_for(sshd, key_file=tmp_path / "missing", **secrets)).ready,
    ]
    for failure in failures:
        with pytest.raises(TransportError) as failed:
            failure()
        shown += [str(failed.value), repr(failed.value)]
    for text in shown:
        assert PASSWORD not in text and PASSPHRASE not in text, text
