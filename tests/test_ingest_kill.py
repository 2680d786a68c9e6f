"""Processes killed with SIGKILL at random moments while they ingest, then the same files again:
zero lost, zero duplicated, on SQLite and on PostgreSQL.

Each round adds new files to the inbox, starts two ``edi-engine ingest`` processes over all of
it (one in reverse order, so they also race each other for the same files) and kills each at a
random moment of its run; the partners take what is in the outbox after every round. A last run that nobody kills must
then leave one order per PO, one 997/999 per inbound file and one 855 per PO at the partner,
control numbers 1, 2, 3, ... without gaps, and nothing pending. The seed of the random moments
is in every failure message.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from engine.db.repository import OrderFilter
from engine.db.session import unit_of_work
from engine.db.tables import OutboundStatus
from engine.runtime import Runtime
from engine.services import list_outbox
from mappings.profiles import EXAMPLES_DIR
from tests.pipeline_fixtures import (
    Mailbox,
    contiguous,
    database_url,
    make_workspace,
    migrated_postgres,
    migrated_sqlite_template,
    variant,
)

__all__ = ["database_url", "migrated_postgres", "migrated_sqlite_template"]  # fixtures

ROUNDS = 4
ENGINE = str(Path(sys.executable).with_name("edi-engine"))
#: Each round brings new files: an 850 from northwind (997 and 855 owed) and one from contoso (999).
NORTHWIND_POS = [f"NW80000{n:02d}" for n in range(1, ROUNDS + 1)]
CONTOSO_POS = [f"CT-900{n}" for n in range(1, ROUNDS + 1)]


def batch(folder: Path, round_: int) -> list[Path]:
    northwind = EXAMPLES_DIR / "northwind" / "samples" / "850-dropship.x12"
    contoso = EXAMPLES_DIR / "contoso" / "samples" / "850-dropship.x12"
    return [
        variant(northwind, folder, isa13=8001 + round_, po=NORTHWIND_POS[round_]),
        variant(contoso, folder, isa13=9001 + round_, po=CONTOSO_POS[round_]),
    ]


def start(workspace: Path, files: list[Path]) -> subprocess.Popen[bytes]:
    command = [ENGINE, "ingest", "--json", "--workspace", str(workspace), *map(str, files)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_processes_killed_at_random_moments_lose_and_duplicate_nothing(tmp_path: Path, database_url: str) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    workspace = make_workspace(tmp_path / "workspace", database_url)
    folder = tmp_path / "inbox"
    folder.mkdir()
    runtime = Runtime.open(workspace)
    mailboxes = {p: Mailbox(runtime, p, tmp_path / p) for p in ("northwind", "contoso")}
    # How long a process takes to start and ingest nothing new: the kills aim past that.
    began = time.monotonic()
    assert start(workspace, []).wait(timeout=60) == 2  # no FILE: a usage error, after the imports
    ready = time.monotonic() - began
    files: list[Path] = []
    kills = 0
    failures: list[str] = []
    for round_ in range(ROUNDS):
        files += batch(folder, round_)
        # Each round's processes run over every file so far (the new ones and the reruns of the
        # old), one in reverse order so that both race for the same files, and each is killed at
        # a random moment between the end of its start-up and a little after its last file.
        workers = [start(workspace, files), start(workspace, files[::-1])]
        moments = [rng.uniform(ready * 0.8, ready * 1.3 + 0.15 * len(files)) for _ in workers]
        began = time.monotonic()
        for process, moment in sorted(zip(workers, moments), key=lambda w: w[1]):
            time.sleep(max(0.0, moment - (time.monotonic() - began)))
            if process.poll() is None:
                process.kill()
                kills += 1
            _, err = process.communicate(timeout=60)
            if process.returncode not in (0, -signal.SIGKILL):  # one that lived must have succeeded
                failures.append(f"exit {process.returncode}: {err.decode()}")
        for mailbox in mailboxes.values():
            mailbox.pick_up()
    assert failures == [], (seed, failures)
    final = start(workspace, files)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, (seed, err.decode())
    statuses = Counter(report["status"] for report in json.loads(out))
    assert set(statuses) <= {"processed", "duplicate"}, (seed, statuses)

    try:
        with unit_of_work(runtime.sessions) as uow:
            orders = Counter(o.po_number for o in uow.orders.list(OrderFilter(test=None), limit=100).items)
        assert orders == Counter(NORTHWIND_POS + CONTOSO_POS), (seed, orders)
        assert [d for d in list_outbox(runtime) if d["status"] == OutboundStatus.PENDING] == [], seed
    finally:
        runtime.close()
    for partner, first, acknowledgement, pos, owed in (
        ("northwind", 8001, "997", NORTHWIND_POS, {"855": 1}),  # northwind wants the 855 on receipt
        ("contoso", 9001, "999", CONTOSO_POS, {}),  # contoso's 855 waits for a person
    ):
        seen = mailboxes[partner].received()
        context = (seed, partner, f"{kills} processes killed", seen)
        assert seen.conflicts == [], context
        assert len(seen.resent) <= kills, context
        assert contiguous(seen.interchanges) and contiguous(seen.groups), context
        assert contiguous([st02 for _, st02 in seen.sets]), context
        assert sorted(seen.answered) == [str(first + n) for n in range(len(pos))], context
        assert seen.of(acknowledgement) == len(pos), context
        assert {po: dict(Counter(kinds)) for po, kinds in seen.documents.items()} == (
            {po: owed for po in pos} if owed else {}
        ), context
