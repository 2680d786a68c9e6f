"""``edi-engine partners``: every AS2 certificate, theirs and ours, with its subject and expiry,
and a warning from 30 days before it expires (an expired certificate stops all traffic)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.alerts.run import run_alerts
from engine.cli import main
from engine.config import CONFIG_NAME
from tests.alert_fixtures import OpenAlerting, SmtpServer, WebhookReceiver, alerts_config, open_alerting, smtp, webhook
from tests.as2_keys import write_pair
from tests.pipeline_fixtures import (
    Clock,
    clock,
    database_url,
    make_workspace,
    migrated_postgres,
    migrated_sqlite_template,
)
from transport.certificates import CertificateInfo, read_certificates

__all__ = ["clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_alerting", "smtp", "webhook"]


def as2_workspace(tmp_path: Path, *, theirs_days: int, ours_days: int, extra: str = "") -> Path:
    root = make_workspace(tmp_path / "ws", f"sqlite:///{tmp_path / 'engine.db'}")
    _, theirs = write_pair(root / "partners" / "northwind", "NORTHWIND", days=theirs_days)
    write_pair(root / "keys", "ACMESUPPLY", days=ours_days)
    config = root / CONFIG_NAME
    config.write_text(config.read_text() + '\n[as2]\nkeys = [{file = "keys/ACMESUPPLY.key.pem"}]\n')
    profile = root / "partners" / "northwind" / "profile.yaml"
    profile.write_text(
        profile.read_text().split("\nmailbox:")[0]
        + f"\nmailbox: {{kind: as2, url: 'http://127.0.0.1:9/as2', as2_id: NORTHWIND, "
        f"certificates: [{theirs.name}{extra}]}}\n"
    )
    return root


def test_partners_lists_each_certificate_with_its_subject_and_expiry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = as2_workspace(tmp_path, theirs_days=400, ours_days=800)
    assert main(["partners", "--workspace", str(root)]) == 0
    text = capsys.readouterr().out
    assert "northwind: " in text and "AS2 NORTHWIND at http://127.0.0.1:9/as2" in text
    assert "theirs certificate O=NORTHWIND,CN=NORTHWIND, expires" in text
    assert "ours certificate O=ACMESUPPLY,CN=ACMESUPPLY, expires" in text
    assert "WARNING" not in text


def test_a_certificate_within_30_days_of_expiry_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = as2_workspace(tmp_path, theirs_days=10, ours_days=800)
    assert main(["partners", "list", "--json", "--workspace", str(root)]) == 0
    listed = json.loads(capsys.readouterr().out)
    (theirs,) = [c for c in listed["certificates"] if c["whose"] == "theirs"]
    assert theirs["warning"].startswith("expires in 9 days") or theirs["warning"].startswith("expires in 10 days")
    (ours,) = [c for c in listed["certificates"] if c["whose"] == "ours"]
    assert ours["warning"] is None


def test_a_certificate_file_that_cannot_be_read_is_a_warning_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = as2_workspace(tmp_path, theirs_days=400, ours_days=400, extra=", missing.pem")
    assert main(["partners", "--workspace", str(root)]) == 0
    assert "WARNING cannot read" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("now", "warning"),
    [
        (datetime(2027, 1, 1, tzinfo=UTC), None),
        (datetime(2027, 5, 20, tzinfo=UTC), "expires in 11 days, on 2027-05-31"),
        (datetime(2027, 5, 30, 12, tzinfo=UTC), "expires in 0 days, on 2027-05-31"),
        (datetime(2027, 6, 1, tzinfo=UTC), "EXPIRED on 2027-05-31"),
        (datetime(2026, 1, 1, tzinfo=UTC), "not valid before 2026-06-01"),
    ],
)
def test_the_warning_says_when(now: datetime, warning: str | None) -> None:
    info = CertificateInfo("x.pem", "CN=X", datetime(2026, 6, 1, tzinfo=UTC), datetime(2027, 5, 31, tzinfo=UTC), "00")
    assert info.warning(now) == warning


def test_a_file_without_a_certificate_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "key-only.pem"
    path.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ValueError, match=r"key-only\.pem holds no PEM certificate"):
        read_certificates(path)


def test_a_certificate_entering_its_last_30_days_is_alerted_once_and_again_when_it_expires(
    open_alerting: OpenAlerting, clock: Clock, smtp: SmtpServer, webhook: WebhookReceiver, tmp_path: Path
) -> None:
    clock.now = datetime.now(UTC)  # certificates are dated by the real clock
    _, certificate = write_pair(tmp_path / "certs", "NORTHWIND", days=400)
    mailbox = f"mailbox: {{kind: as2, url: 'http://127.0.0.1:9/as2', as2_id: NORTHWIND, certificates: [{certificate}]}}"
    runtime = open_alerting(alerts_config(smtp, webhook), northwind=mailbox)
    assert run_alerts(runtime).baseline and smtp.messages == []

    _, soon = write_pair(tmp_path / "renewed", "NORTHWIND", days=10)  # a short-lived replacement
    certificate.write_bytes(soon.read_bytes())
    clock.advance(minutes=1)
    report = run_alerts(runtime)
    assert report.ok and len(report.recorded) == 1
    (mail,) = smtp.messages
    assert "AS2 certificate (Northwind Retail's) for Northwind Retail: expires in" in mail["Subject"]
    assert [p.json["kind"] for p in webhook.posts] == ["certificate"]

    clock.advance(hours=1)
    assert run_alerts(runtime).recorded == []  # still within its 30 days: not alerted again
    clock.advance(days=11)
    expired = run_alerts(runtime)
    assert len(expired.recorded) == 1 and "EXPIRED" in smtp.messages[-1]["Subject"]
