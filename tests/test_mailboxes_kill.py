"""``edi-engine poll`` killed with SIGKILL, as a separate process, at each named point of an SFTP
poll and delivery; after a normal run every document is there exactly once, counted where the
partner receives it (the outbound folder on its real sshd), not in our own database."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from engine.config import CONFIG_NAME
from tests.pipeline_fixtures import (
    OpenRuntime,
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
    sample,
    sets_in,
)
from tests.sshd_fixtures import SshServer, sshd

__all__ = ["clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_runtime", "sshd"]

#: Where the poll dies: after the fetch, after the archive, after the receipt, after the commit,
#: before the file is deleted on the server, and after a document's upload before it is marked sent.
#: The workspace's lease, short so that the killed poll's lease lapses quickly.
LEASE = 1.0
POINTS = ["fetched", "archived", "received", "committed", "before_remote_done", "uploaded"]

DRIVER = textwrap.dedent(
    """
    import os, signal, sys
    import engine.ingest, engine.mailboxes
    point, workspace = sys.argv[1], sys.argv[2]

    def die(name):
        if name == point:
            os.kill(os.getpid(), signal.SIGKILL)

    engine.ingest.crash_point = die
    engine.mailboxes.crash_point = die
    from engine.cli import main
    sys.exit(main(["poll", "northwind", "--workspace", workspace]))
    """
)


def poll_process(workspace: Path, point: str = "nowhere") -> int:
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, point, str(workspace)], capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )  # fmt: skip
    assert result.returncode in (0, -signal.SIGKILL), result.stderr
    return result.returncode


@pytest.mark.parametrize("point", POINTS)
def test_a_poll_killed_at_any_point_leaves_every_document_delivered_exactly_once(
    open_runtime: OpenRuntime, sshd: SshServer, point: str
) -> None:
    inbound, outbound = sshd.root / "in", sshd.root / "out"
    inbound.mkdir()
    outbound.mkdir()
    runtime = open_runtime(
        northwind=f"mailbox: {{kind: sftp, host: {sshd.host}, port: {sshd.port}, username: {sshd.username}, "
        f"key_file: {sshd.client_key}, known_hosts: {sshd.known_hosts}, inbound_dir: {inbound}, "
        f"outbound_dir: {outbound}, settle_seconds: 0}}"
    )
    uploaded = Path(shutil.copyfile(sample(runtime, "northwind", "850-dropship"), inbound / "PO.x12"))
    config = runtime.workspace.root / CONFIG_NAME
    config.write_text(config.read_text().replace("lease_seconds = 300", f"lease_seconds = {LEASE}"))
    assert poll_process(runtime.workspace.root, point) == -signal.SIGKILL
    time.sleep(LEASE)  # the killed process's lease lapses; until then another poll stays away
    assert poll_process(runtime.workspace.root) == 0
    assert poll_process(runtime.workspace.root) == 0  # and again: nothing more arrives
    assert not uploaded.exists()
    files = sorted(p for p in outbound.iterdir() if not p.name.startswith("."))
    sets = Counter((s.id, s.control_number) for path in files for s in sets_in(path))
    assert sorted(set_id for set_id, _ in sets) == ["855", "997"] and set(sets.values()) == {1}
    assert [p.name for p in outbound.iterdir() if p.name.startswith(".")] == []  # no upload left half-done
