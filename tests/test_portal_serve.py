"""``edi-engine serve``: the internal listener (the portal, health, metrics) in a process of its
own, without the scheduler, stopped by SIGTERM. A user added by ``edi-engine users add`` logs in."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.portal_fixtures import PASSWORD, client


def test_edi_engine_serve_serves_the_portal_and_health_without_polling_until_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "EDI_ENGINE_NEW_PASSWORD": PASSWORD}
    cli = [sys.executable, "-m", "engine.cli"]
    workspace = tmp_path / "ws"
    subprocess.run([*cli, "init", str(workspace)], check=True, capture_output=True, env=env)
    subprocess.run([*cli, "users", "add", "ann@example.com", "--name", "Ann Archer", "--organisation", "default",
                    "--workspace", str(workspace)], check=True, capture_output=True, env=env)  # fmt: skip
    inbox = workspace / "var" / "inbox" / "northwind"
    inbox.mkdir(parents=True)
    (inbox / "a.x12").write_bytes((workspace / "partners/northwind/samples/850-dropship.x12").read_bytes())
    server = subprocess.Popen(
        [*cli, "serve", "--workspace", str(workspace), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        started = server.stdout.readline()
        base = "http://" + started.split("http://")[1].split("/")[0]
        health = httpx.get(f"{base}/healthz", timeout=10)
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "database": "ok", "scheduler": "not run here"}
        with client(base) as browser:
            assert browser.log_in().headers["location"] == "/orders"
            assert "Ann Archer" in browser.http.get("/orders").text
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, stderr
    assert "serving the portal" in started and "no mailbox is polled" in started and "edi-engine stopped" in stdout
    assert (inbox / "a.x12").exists()  # nothing polled the mailbox
