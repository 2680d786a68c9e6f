"""``edi-engine run`` as its own process, talking AS2 over loopback with a partner's AS2 server:
an 850 comes in and is answered with its MDN, then its 997 and 855 arrive at the partner.

The engine is killed with SIGKILL at each named point of the inbound message and of the outbound
delivery, and restarted; the partner resends what was not confirmed, as AS2 senders do (same
Message-ID). Every document is then at the partner exactly once, counted there (distinct
ST01/ST02 in the files it kept), not in our own database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from engine.config import CONFIG_NAME
from engine.db.tables import As2Message, As2Status
from engine.runtime import Runtime
from tests.as2_keys import write_pair
from tests.as2_partner import Partner, PartnerServer, wait_for
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
from tests.test_as2 import AS2_CONFIG, free_port

__all__ = ["clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_runtime"]

LEASE = 1.0  # short, so that the lease of a killed delivery lapses quickly
#: Inbound: archived, received, committed, stored and not yet answered (before the MDN).
#: Outbound: claimed for a send (rendered, not yet on the wire), mid-upload (the partner holds the
#: answer while the engine is killed), posted with its MDN not yet recorded.
INBOUND = ["archived", "received", "committed", "as2_stored"]
OUTBOUND = ["as2_claimed", "mid_upload", "as2_posted"]

DRIVER = textwrap.dedent(
    """
    import os, signal, sys
    import engine.as2, engine.ingest
    point, workspace, listen = sys.argv[1], sys.argv[2], sys.argv[3]

    def die(name):
        if name == point:
            os.kill(os.getpid(), signal.SIGKILL)

    engine.ingest.crash_point = die
    engine.as2.crash_point = die
    from engine.cli import main
    sys.exit(main(["run", "--workspace", workspace, "--as2-listen", listen, "--listen", "127.0.0.1:0"]))
    """
)


class Engine:
    """``edi-engine run`` in its own process, stopping itself at ``point``."""

    def __init__(self, workspace: Path, port: int) -> None:
        self.workspace, self.port = workspace, port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, point: str = "nowhere") -> Engine:
        log = (self.workspace / "engine.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-c", DRIVER, point, str(self.workspace), f"127.0.0.1:{self.port}"],
            stdout=log, stderr=log, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )  # fmt: skip
        wait_for(self._listening, timeout=30, what="the engine's AS2 listener")
        return self

    def _listening(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the engine exited: {(self.workspace / 'engine.log').read_text()[-2000:]}")
        try:
            httpx.get(f"http://127.0.0.1:{self.port}/as2", timeout=1)
        except httpx.HTTPError:
            return False
        return True

    def killed(self, timeout: float = 30) -> bool:
        """Whether the engine died by SIGKILL (waiting up to ``timeout`` for it)."""
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout) == -signal.SIGKILL
        except subprocess.TimeoutExpired:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            assert self.process.wait(timeout=30) == 0, (self.workspace / "engine.log").read_text()[-2000:]


@pytest.fixture
def pair(open_runtime: OpenRuntime, tmp_path: Path) -> Iterator[tuple[Engine, PartnerServer, bytes]]:
    yield from make_pair(open_runtime, tmp_path)


def make_pair(
    open_runtime: OpenRuntime, tmp_path: Path, agreement: str = ""
) -> Iterator[tuple[Engine, PartnerServer, bytes]]:
    _key, our_certificate = write_pair(tmp_path / "keys", "ACMESUPPLY")
    partner = PartnerServer(Partner(tmp_path / "northwind-side"), (our_certificate.read_bytes(),)).start()
    port = free_port()
    runtime = open_runtime(
        config=AS2_CONFIG.format(port=port),
        northwind=f"mailbox: {{kind: as2, url: '{partner.url}/as2', as2_id: NORTHWIND, timeout_seconds: 3, "
        f"certificates: [{partner.partner.certificate}], poll: {{every_seconds: 0.5}}, "
        f"retries: {{base_seconds: 0.2, cap_seconds: 1}}{agreement}}}",
    )
    config = runtime.workspace.root / CONFIG_NAME
    config.write_text(config.read_text().replace("lease_seconds = 300", f"lease_seconds = {LEASE}"))
    partner.engine_url = f"http://127.0.0.1:{port}/as2"
    engine = Engine(runtime.workspace.root, port)
    data = sample(runtime, "northwind", "850-dropship").read_bytes()
    try:
        yield engine, partner, data
    finally:
        engine.kill()
        partner.release.set()
        partner.stop()


def at_the_partner(partner: PartnerServer) -> Counter[tuple[str, str]]:
    return Counter((s.id, s.control_number) for path in partner.files() for s in sets_in(path))


def send_until_confirmed(partner: PartnerServer, data: bytes, message_id: str) -> None:
    """What an AS2 sender does: send again, same Message-ID, until a processed MDN comes back."""
    for _ in range(3):
        try:
            _id, mdn = partner.send(data, file_name="PO-850.x12", message_id=message_id)
        except httpx.HTTPError:
            continue
        if mdn is not None and mdn.delivered:
            return
    raise AssertionError(f"{message_id} was never confirmed")


def settle(partner: PartnerServer) -> Counter[tuple[str, str]]:
    """The partner's count once the 997 and 855 are there and nothing more arrives for a while."""
    wait_for(lambda: sorted(k for k, _ in at_the_partner(partner)) == ["855", "997"], timeout=30,
             what="the 997 and the 855 at the partner")  # fmt: skip
    time.sleep(2 * LEASE + 1)  # resends that would duplicate would arrive in this time
    return at_the_partner(partner)


def test_an_850_over_as2_gets_its_mdn_and_then_its_997_and_855_at_the_partners_endpoint(
    pair: tuple[Engine, PartnerServer, bytes],
) -> None:
    engine, partner, data = pair
    engine.start()
    _id, mdn = partner.send(data, file_name="PO-850.x12", compress=True)
    assert mdn is not None and mdn.delivered
    counted = settle(partner)
    assert set(counted.values()) == {1}
    engine.stop()  # SIGTERM: a clean exit


def test_asynchronous_mdns_go_both_ways_between_the_two_processes(open_runtime: OpenRuntime, tmp_path: Path) -> None:
    for engine, partner, data in make_pair(open_runtime, tmp_path, agreement=", mdn: async, mdn_wait_seconds: 60"):
        engine.start()
        message_id, nothing_yet = partner.send(data, file_name="PO-850.x12", mdn="async")
        assert nothing_yet is None and partner.wait_for_mdn(message_id).delivered  # the engine's MDN, posted
        counted = settle(partner)  # the 997 and the 855, each confirmed by the partner's posted MDN
        assert set(counted.values()) == {1}
        wait_for(lambda: delivered_by_mdn(engine.workspace) == 2, what="the partner's MDNs at the engine")  # noqa: B023
        engine.stop()


def delivered_by_mdn(workspace: Path) -> int:
    """Outbound AS2 messages the engine has marked delivered (each on an MDN that verified)."""
    runtime = Runtime.open(workspace)
    try:
        with runtime.sessions() as session:
            return len(session.scalars(select(As2Message).where(As2Message.status == As2Status.DELIVERED)).all())
    finally:
        runtime.close()


@pytest.mark.parametrize("point", INBOUND)
def test_an_engine_killed_while_receiving_loses_and_duplicates_nothing(
    pair: tuple[Engine, PartnerServer, bytes], point: str
) -> None:
    engine, partner, data = pair
    engine.start(point)
    message_id = f"{point}-850@northwind.test"
    with pytest.raises(httpx.HTTPError):  # the engine dies before it answers
        partner.send(data, file_name="PO-850.x12", message_id=message_id)
    assert engine.killed()
    engine.start()
    send_until_confirmed(partner, data, message_id)
    counted = settle(partner)
    assert set(counted.values()) == {1}, counted


@pytest.mark.parametrize("point", OUTBOUND)
def test_an_engine_killed_while_delivering_loses_and_duplicates_nothing(
    pair: tuple[Engine, PartnerServer, bytes], point: str
) -> None:
    engine, partner, data = pair
    if point == "mid_upload":
        partner.misbehave = "stall"  # keeps the first document, and holds its answer
        engine.start()
    else:
        engine.start(point)
    _id, mdn = partner.send(data, file_name="PO-850.x12")
    assert mdn is not None and mdn.delivered
    if point == "mid_upload":
        assert partner.stalled.wait(timeout=30)
        engine.kill()
        partner.misbehave = "none"
        partner.release.set()
    else:
        assert engine.killed()
    engine.start()
    counted = settle(partner)
    assert set(counted.values()) == {1}, counted
