"""Alerts where people and machines see them: ``edi-engine alerts [--send]``, the scheduler's job,
and the metrics the internal listener serves."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from engine.alerts.run import run_alerts
from engine.cli import main
from engine.ingest import ingest_file
from engine.runtime import Runtime
from engine.scheduler import MailboxJobs
from engine.web.internal import Listener, internal_app
from tests.alert_fixtures import (
    OpenAlerting,
    SmtpServer,
    WebhookReceiver,
    alerts_config,
    open_alerting,
    smtp,
    webhook,
)
from tests.pipeline_fixtures import (
    Clock,
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    sample,
)

__all__ = ["clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_alerting", "smtp",
           "webhook"]  # fmt: skip


def quarantine(runtime: Runtime, partner: str = "northwind") -> None:
    ingest_file(runtime, sample(runtime, partner, "860"))


def alerts_command(runtime: Runtime, *args: str) -> list[str]:
    return ["alerts", *args, "--workspace", str(runtime.workspace.root)]


def test_alerts_send_detects_sends_and_lists_with_each_channels_state(
    open_alerting: OpenAlerting, clock: Clock, smtp: SmtpServer, webhook: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    clock.now = datetime.now(UTC)  # the command runs on the wall clock: the conditions are made now
    runtime = open_alerting(alerts_config(smtp, webhook))
    assert main(alerts_command(runtime, "--send")) == 0  # the first run: the baseline
    quarantine(runtime)
    webhook.status = 503
    capsys.readouterr()

    assert main(alerts_command(runtime, "--send")) == 1  # the webhook could not be sent: said, exit 1

    out = capsys.readouterr().out
    assert "this run: 1 new alert(s)" in out and "email: 1 sent, 0 failed" in out and "webhook: 0 sent, 1 failed" in out
    assert "quarantine       northwind    Quarantined: 860-cancel.x12 from Northwind Retail" in out
    assert "      email sent " in out and "UTC; webhook pending after 1 attempt(s), next" in out and "HTTP 503" in out
    assert len(smtp.messages) == 1

    assert main(alerts_command(runtime, "--json")) == 0  # listing only: nothing is sent
    listed = json.loads(capsys.readouterr().out)
    assert listed["run"] is None and listed["baseline"] == 0
    (alert,) = listed["alerts"]
    assert alert["kind"] == "quarantine" and alert["email"]["status"] == "sent"
    assert alert["webhook"]["status"] == "pending" and alert["webhook"]["attempts"] == 1
    assert len(webhook.posts) == 1


def test_alerts_lists_the_latest_first_and_only_a_partners_when_asked(
    open_alerting: OpenAlerting, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = open_alerting()
    run_alerts(runtime)
    quarantine(runtime, "northwind")
    clock.advance(minutes=1)
    run_alerts(runtime)
    quarantine(runtime, "contoso")
    run_alerts(runtime)
    capsys.readouterr()
    assert main(alerts_command(runtime, "--json", "--limit", "1")) == 0
    assert [a["partner"] for a in json.loads(capsys.readouterr().out)["alerts"]] == ["contoso"]
    assert main(alerts_command(runtime, "--json", "--partner", "northwind")) == 0
    assert [a["partner"] for a in json.loads(capsys.readouterr().out)["alerts"]] == ["northwind"]
    assert main(alerts_command(runtime)) == 0
    assert "not sent (not configured or off)" in capsys.readouterr().out
    assert main(alerts_command(runtime, "--limit", "0")) == 2


def test_alerts_with_a_broken_configuration_says_which_setting_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path / "ws")]) == 0
    config = tmp_path / "ws" / "edi-engine.toml"
    config.write_text(config.read_text() + '\n[alerts.webhook]\nurl = "https://x.example/h"\nsecret = "plain"\n')
    capsys.readouterr()
    assert main(["alerts", "--workspace", str(tmp_path / "ws")]) == 2
    err = capsys.readouterr().err
    assert "alerts.webhook.secret" in err and "never written in edi-engine.toml" in err and "plain" not in err


def test_the_scheduler_runs_alerts_every_minute(
    open_alerting: OpenAlerting, smtp: SmtpServer, webhook: WebhookReceiver
) -> None:
    runtime = open_alerting(alerts_config(smtp, webhook))
    job = MailboxJobs(runtime).scheduler.get_job("alerts")
    assert job is not None and isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == timedelta(seconds=60)
    job.func(*job.args)  # what the scheduler calls
    quarantine(runtime)
    job.func(*job.args)
    assert len(smtp.messages) == len(webhook.posts) == 1


def test_metrics_count_alerts_by_kind_and_deliveries_by_channel_and_status(
    open_alerting: OpenAlerting, smtp: SmtpServer, webhook: WebhookReceiver
) -> None:
    runtime = open_alerting(alerts_config(smtp, webhook))
    run_alerts(runtime)
    quarantine(runtime)
    webhook.status = 500
    run_alerts(runtime)
    listener = Listener(internal_app(runtime, lambda: True), "127.0.0.1", 0)
    listener.start()
    try:
        with urllib.request.urlopen("http://{}:{}/metrics".format(*listener.address), timeout=10) as response:
            lines = set(response.read().decode().splitlines())
    finally:
        listener.stop()
    assert 'edi_alerts_total{kind="quarantine"} 1.0' in lines
    assert 'edi_alert_deliveries{channel="email",status="sent"} 1.0' in lines
    assert 'edi_alert_deliveries{channel="webhook",status="pending"} 1.0' in lines
