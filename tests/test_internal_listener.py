"""The internal listener served by a real uvicorn on 127.0.0.1: health and Prometheus metrics,
read from the database so that every process reports the same figures."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from engine.ingest import ingest_file
from engine.runtime import Runtime
from engine.web.internal import Listener, internal_app
from tests.pipeline_fixtures import (
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
    runtime,
    sample,
)

__all__ = ["clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_runtime", "runtime"]


@contextmanager
def serving(runtime: Runtime, *, scheduler_alive: bool = True) -> Iterator[str]:
    listener = Listener(internal_app(runtime, lambda: scheduler_alive), "127.0.0.1", 0)
    listener.start()
    try:
        yield "http://{}:{}".format(*listener.address)
    finally:
        listener.stop()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_health_says_ok_while_the_database_answers_and_the_scheduler_runs(runtime: Runtime) -> None:
    with serving(runtime) as base:
        status, body = get(f"{base}/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok", "database": "ok", "scheduler": "running"}


def test_health_fails_with_503_when_the_scheduler_has_stopped(runtime: Runtime) -> None:
    with serving(runtime, scheduler_alive=False) as base:
        status, body = get(f"{base}/healthz")
    assert status == 503 and json.loads(body)["scheduler"] == "stopped"


def test_metrics_count_documents_in_and_out_per_partner_and_type(runtime: Runtime) -> None:
    ingest_file(runtime, sample(runtime, "northwind", "850-dropship"))
    with serving(runtime) as base:
        status, body = get(f"{base}/metrics")
    assert status == 200
    lines = set(body.splitlines())
    assert any(line.startswith('edi_documents_in_total{partner="northwind",set="850",status="') for line in lines)
    assert 'edi_documents_out_total{kind="997",partner="northwind",status="sent"} 1.0' in lines
    assert 'edi_documents_out_total{kind="855",partner="northwind",status="sent"} 1.0' in lines
    assert "edi_quarantine_size 0.0" in lines
    assert 'edi_outbound_awaiting_997{partner="northwind"} 1.0' in lines  # the 855: northwind sends 997s
