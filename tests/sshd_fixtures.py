"""A real OpenSSH server for the SFTP transport tests: ``/usr/sbin/sshd`` on a random port of 127.0.0.1.

Each test gets its own server with a fresh host key and a fresh client key, so tests never meet
and one may kill its server. The server's folders are on this machine (``root``), so tests set up
and check remote files through the local filesystem. Without sshd the tests are skipped with the
reason; under CI=true ``tests/conftest.py`` turns that skip into a failure.

Test modules import the fixture they use from here (``from tests.sshd_fixtures import sshd``).
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import paramiko
import pytest

SSHD = Path("/usr/sbin/sshd")
SSH_KEYGEN = "ssh-keygen"
HOST = "127.0.0.1"
START_SECONDS = 10.0


@dataclass
class SshServer:
    """One running sshd and what a client needs to reach it."""

    host: str
    port: int
    username: str
    client_key: Path
    host_key: Any  # paramiko.PKey: the public half of the server's host key
    known_hosts: Path  # trusts ``host_key`` for host:port
    root: Path  # a folder for the server-side inbound/outbound/archive folders (absolute paths)
    workdir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log(self) -> Path:
        return self.workdir / "sshd.log"

    def start(self) -> None:
        """Start sshd on ``port`` and wait until it accepts connections."""
        config = self.workdir / "sshd_config"
        config.write_text(_config(self.workdir, self.host, self.port))
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited with {self.process.returncode}: {self.log.read_text()}")
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"sshd did not accept connections on {self.host}:{self.port}: {self.log.read_text()}")

    def processes(self) -> list[int]:
        """The sshd listener and every process it forked (sessions call setsid, so no process group)."""
        if self.process is None or self.process.poll() is not None:
            return []
        return [self.process.pid, *_descendants(self.process.pid)]

    def kill(self) -> None:
        """SIGKILL sshd and every session it started, as a crash or a pulled cable would."""
        if self.process is None:
            return
        master = self.process.pid
        if self.process.poll() is None:
            os.kill(master, signal.SIGSTOP)  # no new sessions while we collect the tree
        victims = self.processes() or [master]
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None
        _wait_gone(victims)

    def kill_sessions(self) -> None:
        """SIGKILL every session sshd has started, leaving it listening: connections drop, new ones work."""
        if self.process is None:
            return
        victims = _descendants(self.process.pid)
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _wait_gone(victims)

    def freeze(self) -> None:
        """SIGSTOP sshd and its sessions: connections stay open and nothing answers (a hung server)."""
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def restart(self) -> None:
        self.kill()
        self.start()

    def wait_until_read(self, path: Path, at_least: int = 0, timeout: float = 10.0) -> None:
        """Wait until one of the server's processes has ``path`` open and has read ``at_least`` bytes
        of it (a download is under way)."""
        target = str(path)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pid in self.processes():
                for fd in _open_files(pid, target):
                    if _position(pid, fd) >= at_least:
                        return
            time.sleep(0.001)
        raise AssertionError(f"no sshd process read {at_least} bytes of {path} within {timeout} s")


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshServer]:
    """A running sshd for this test, killed at teardown however the test ends."""
    if not SSHD.exists():
        pytest.skip(f"{SSHD} is missing: install openssh-server to run the SFTP tests against a real server")
    if shutil.which(SSH_KEYGEN) is None:
        pytest.skip(f"{SSH_KEYGEN} is missing: install openssh-client to make the SFTP tests' keys")
    Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)  # sshd's privilege separation folder
    workdir = tmp_path / "sshd"
    root = tmp_path / "server"
    workdir.mkdir()
    root.mkdir()
    host_key_file = keygen(workdir / "host_ed25519")
    client_key = keygen(workdir / "client_ed25519")
    (workdir / "authorized_keys").write_text(Path(f"{client_key}.pub").read_text())
    key_type, blob = Path(f"{host_key_file}.pub").read_text().split()[:2]
    port = _free_port()
    known_hosts = workdir / "known_hosts"
    known_hosts.write_text(f"[{HOST}]:{port} {key_type} {blob}\n")
    server = SshServer(
        host=HOST,
        port=port,
        username=getpass.getuser(),
        client_key=client_key,
        host_key=paramiko.PKey.from_type_string(key_type, base64.b64decode(blob)),
        known_hosts=known_hosts,
        root=root,
        workdir=workdir,
    )
    try:
        server.start()
        yield server
    finally:
        server.kill()


def free_port() -> int:
    """A port nothing listens on (just now): for a server that is not there."""
    return _free_port()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def keygen(path: Path, passphrase: str = "") -> Path:
    """A new ed25519 key pair at ``path`` and ``path``.pub."""
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", passphrase, "-C", path.name, "-f", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    return path


def _config(workdir: Path, host: str, port: int) -> str:
    lines = [
        f"ListenAddress {host}:{port}",
        f"HostKey {workdir / 'host_ed25519'}",
        f"PidFile {workdir / 'sshd.pid'}",
        f"AuthorizedKeysFile {workdir / 'authorized_keys'}",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "UseDNS no",
        "PrintMotd no",
        "X11Forwarding no",
        "AllowTcpForwarding no",
        "MaxStartups 100",
        "LogLevel INFO",
        "Subsystem sftp internal-sftp",
    ]
    if _has_penalties():
        # OpenSSH 9.8+ blocks addresses whose logins fail or whose sessions crash; tests do both on purpose.
        lines.append("PerSourcePenalties no")
    return "\n".join(lines) + "\n"


@cache
def _has_penalties() -> bool:
    result = subprocess.run(
        [str(SSHD), "-t", "-f", "/dev/null", "-o", "PerSourcePenalties=no", "-o", "HostKey=/dev/null"],
        capture_output=True, text=True,
    )  # fmt: skip
    return "PerSourcePenalties" not in result.stderr


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found: list[int] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _open_files(pid: int, target: str) -> list[str]:
    """The descriptors by which process ``pid`` has ``target`` open."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []
    found = []
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                found.append(fd)
    return found


def _position(pid: int, fd: str) -> int:
    try:
        lines = Path(f"/proc/{pid}/fdinfo/{fd}").read_text().splitlines()
    except OSError:
        return -1
    return next((int(line.split()[1]) for line in lines if line.startswith("pos:")), -1)


def _wait_gone(pids: list[int], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.005)


def _alive(pid: int) -> bool:
    """Running (a zombie has let go of its sockets, so it counts as gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text.rsplit(")", 1)[1].split()[0] != "Z"
