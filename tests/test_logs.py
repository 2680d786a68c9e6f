"""The engine's log: one JSON object per line on request, and never a secret the engine read."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.logs import MASK, configure, masked, register_secret
from engine.mailboxes import secret_value
from mappings.profile import Secret


@pytest.fixture(autouse=True)
def _own_handlers() -> Iterator[None]:
    """The handlers ``configure`` adds to the root logger go when the test ends."""
    before = list(logging.getLogger().handlers)
    yield
    for handler in logging.getLogger().handlers:
        if handler not in before:
            logging.getLogger().removeHandler(handler)


def test_json_lines_carry_time_level_logger_and_message(tmp_path: Path) -> None:
    stream = io.StringIO()
    configure("json", stream=stream)
    logging.getLogger("edi_engine.test").warning("mailbox of %s: %s", "acme", "cannot connect")
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert entry["level"] == "warning" and entry["logger"] == "edi_engine.test"
    assert entry["message"] == "mailbox of acme: cannot connect" and entry["time"].endswith("+00:00")


def test_a_secret_the_engine_read_is_masked_in_every_log_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDI_TEST_SFTP_PASSWORD", "tr0ub4dor&3")
    password = secret_value(Secret(env="EDI_TEST_SFTP_PASSWORD"), tmp_path)
    for log_format in ("json", "text"):
        stream = io.StringIO()
        configure(log_format, stream=stream)
        logging.getLogger("edi_engine.test").error("login with %s failed", password)
        try:
            raise ValueError(f"bad password {password}")
        except ValueError:
            logging.getLogger("edi_engine.test").exception("while connecting")
        written = stream.getvalue()
        assert password not in written and MASK in written
    assert masked(f"a {register_secret('xyzzy-secret')} b") == f"a {MASK} b"


def test_edi_engine_run_logs_each_poll_as_json(tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "engine.cli"]
    subprocess.run([*cli, "init", str(tmp_path / "ws")], check=True, capture_output=True)
    inbox = tmp_path / "ws" / "var" / "inbox" / "northwind"
    inbox.mkdir(parents=True)
    shutil.copyfile(tmp_path / "ws" / "partners" / "northwind" / "samples" / "850-dropship.x12", inbox / "a.x12")
    os.utime(inbox / "a.x12", (time.time() - 60, time.time() - 60))
    run = subprocess.run(
        [*cli, "run", "--for", "3", "--listen", "127.0.0.1:0", "--log-format", "json", "--workspace", str(tmp_path / "ws")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    entries = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    assert any("mailbox of northwind: 1 fetched" in e["message"] and e["level"] == "info" for e in entries), run.stderr
