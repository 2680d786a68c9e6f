"""Alerts reach a person once per condition, by a real SMTP server and a real HTTP receiver on
loopback: each kind of condition, nothing twice, retries after a receiver was down without
holding up the other channel, signatures, opt-outs, the first run's baseline, and no secret in
the log, the database or the command's output."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from edi.x12.acks import acknowledge
from edi.x12.control_numbers import CountingControlNumbers
from engine.alerts.channels import sign, verify
from engine.alerts.detectors import Candidate, quarantined_files
from engine.alerts.run import run_alerts
from engine.alerts.store import recent
from engine.cli import main
from engine.db.leases import acquire, release
from engine.db.session import unit_of_work
from engine.db.tables import Alert, DeliveryStatus, MailboxRow
from engine.ingest import ingest_data, ingest_file
from engine.logs import MASK, configure
from engine.runtime import Runtime
from engine.scheduler import MailboxJobs
from mappings.profile_alerts import AlertKind
from tests.alert_fixtures import (
    OpenAlerting,
    SmtpServer,
    WebhookReceiver,
    alerts_config,
    make_certificates,
    open_alerting,
    signature_of,
    smtp,
    webhook,
)
from tests.pipeline_fixtures import (
    NOW,
    Clock,
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    sample,
    variant,
)

__all__ = ["clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_alerting", "smtp",
           "webhook"]  # fmt: skip

#: A retailer's change to the sample 850's order: line 3's price.
PRICE_CHANGE_860 = """\
ISA*00*          *00*          *ZZ*NORTHWIND      *ZZ*ACMESUPPLY     *240306*0945*U*00401*000041099*0*P*>~
GS*PC*NORTHWIND*ACMESUPPLY*20240306*0945*410991*X*004010~
ST*860*0001~
BCH*04*DS*NW5001234**2*20240301****20240306~
POC*3*PC*4*4*EA*7.25*PE*BP*NW-101455*VP*AC-CND-VAN*UP*081234500030~
CTT*1*4~
SE*5*0001~
GE*1*410991~
IEA*1*000041099~
"""
#: A mailbox that cannot even open: the password's environment variable is not set.
BROKEN_MAILBOX = "mailbox: {kind: sftp, host: 127.0.0.1, port: 9, username: u, password: {env: EDI_TEST_UNSET_SECRET}}"
EVERY_CONDITION = "mailbox_failing_seconds = 0"


@pytest.fixture(autouse=True)
def _own_log_handlers() -> Iterator[None]:
    before = list(logging.getLogger().handlers)
    yield
    for handler in logging.getLogger().handlers:
        if handler not in before:
            logging.getLogger().removeHandler(handler)


# -- conditions, made the way they arise -----------------------------------------------------------------
def retailer_cancel(runtime: Runtime) -> None:
    ingest_file(runtime, sample(runtime, "contoso", "850"))
    ingest_file(runtime, sample(runtime, "contoso", "860-cancel"))


def retailer_change(runtime: Runtime, folder: Path) -> None:
    """Northwind's order NW5001234 (its 855 goes at once), then its change of a price."""
    ingest_file(runtime, sample(runtime, "northwind", "850"))
    (folder / "860-price.x12").write_text(PRICE_CHANGE_860)
    ingest_file(runtime, folder / "860-price.x12")


def rejected_997(runtime: Runtime, folder: Path) -> None:
    """Northwind's 997 rejects our 855 for NW5001234 (its translator misreads BAK04)."""
    (ours,) = (runtime.workspace.outbox_dir / "northwind").glob("northwind-855-*.x12")
    data = ours.read_bytes().replace(b"BAK*00*AD*NW5001234*20240301", b"BAK*00*AD*NW5001234*20241301")
    acks = acknowledge(data, kind="997", control_numbers=CountingControlNumbers(interchange_start=500), now=NOW)
    (folder / "997-rejecting.x12").write_bytes(acks.data)
    ingest_file(runtime, folder / "997-rejecting.x12")


def sent_855_for(runtime: Runtime, folder: Path, po: str) -> None:
    """Another Northwind order, whose 855 goes out and is never acknowledged."""
    ingest_file(runtime, variant(sample(runtime, "northwind", "850"), folder, isa13=7002, po=po))


def quarantined(runtime: Runtime, partner: str = "northwind") -> None:
    """A change to an order the engine does not have: held for a person."""
    ingest_file(runtime, sample(runtime, partner, "860"))


def quarantined_again(runtime: Runtime, folder: Path, isa13: int) -> None:
    """Another file like ``quarantined``'s (Contoso's cancel of an order the engine does not have)."""
    ingest_file(runtime, variant(sample(runtime, "contoso", "860"), folder, isa13=isa13, po=f"CT{isa13}"))


def failing_mailbox(runtime: Runtime, partner: str = "fabrikam") -> None:
    report = MailboxJobs(runtime).run_once(partner)
    assert report is not None and report.error


def every_condition(runtime: Runtime, clock: Clock, folder: Path) -> None:
    retailer_cancel(runtime)
    retailer_change(runtime, folder)
    rejected_997(runtime, folder)
    sent_855_for(runtime, folder, "NW7000002")
    ingest_file(runtime, sample(runtime, "northwind", "860-line-changes"))  # no order NW5002001: quarantined
    failing_mailbox(runtime)
    clock.advance(hours=25)  # the 855 for NW7000002 is past its 997's 24 hours


def alerts(runtime: Runtime) -> dict[AlertKind, Alert]:
    found = recent(runtime, limit=100)
    assert len({a.kind for a in found}) == len(found), [a.key for a in found]
    return {a.kind: a for a in found}


def posts_of(receiver: WebhookReceiver, key: str) -> list[dict[str, object]]:
    return [post.json for post in receiver.posts if post.json["key"] == key]


# -- every kind, once ---------------------------------------------------------------------------------------
def test_each_kind_of_condition_is_mailed_and_posted_once_with_its_subject_partner_and_text(
    open_alerting: OpenAlerting, clock: Clock, smtp: SmtpServer, webhook: WebhookReceiver, tmp_path: Path
) -> None:
    runtime = open_alerting(alerts_config(smtp, webhook, extra=EVERY_CONDITION), fabrikam=BROKEN_MAILBOX)
    assert run_alerts(runtime).baseline  # alerts start on an empty workspace: nothing to send yet
    clock.advance(minutes=1)
    every_condition(runtime, clock, tmp_path)

    report = run_alerts(runtime)

    assert report.ok, report.as_dict()
    expected = {  # kind: (partner, in the subject, in the text)
        AlertKind.RETAILER_CANCEL: ("contoso", "Contoso Home cancels PO CT5001234", "line 1: cancel 2"),
        AlertKind.RETAILER_CHANGE: ("northwind", "Northwind Retail changes PO NW5001234", "line 3: price_change (price 7.25)"),
        AlertKind.REJECTED_997: ("northwind", "Northwind Retail rejected our 855", "855 for PO NW5001234 (ST 0002)"),
        AlertKind.OVERDUE_997: ("northwind", "no 997 from Northwind Retail for our 855", "855 for PO NW7000002"),
        AlertKind.QUARANTINE: ("northwind", "Quarantined: 860-line-changes.x12 from Northwind Retail",
                               "has no order 'NW5002001'"),
        AlertKind.MAILBOX_FAILING: ("fabrikam", "Mailbox failing: Fabrikam Textiles (sftp)", "EDI_TEST_UNSET_SECRET"),
    }  # fmt: skip
    found = alerts(runtime)
    assert set(found) == set(expected)
    for kind, (partner, subject, text) in expected.items():
        alert = found[kind]
        assert (alert.partner_id, alert.email_status, alert.webhook_status) == (partner, "sent", "sent"), kind
        assert subject in alert.subject and text in alert.text, (alert.subject, alert.text)
        (mail,) = smtp.with_header("X-Edi-Engine-Alert", alert.key)
        assert mail["Subject"] == f"[edi-engine] {alert.subject}" and mail["To"] == "ops@acme.example"
        assert text in mail.get_content() and f"Partner: {partner}" in mail.get_content()
        (posted,) = posts_of(webhook, alert.key)
        assert (posted["kind"], posted["partner"], posted["subject"], posted["text"]) == (
            kind.value, partner, alert.subject, alert.text)  # fmt: skip
    assert len(smtp.messages) == len(webhook.posts) == len(expected)
    assert all(post.verified for post in webhook.posts)

    # Found again, a minute and an hour later, still going on: nothing is sent twice.
    failing_mailbox(runtime)
    for minutes in (1, 60):
        clock.advance(minutes=minutes)
        again = run_alerts(runtime)
        assert again.found == len(expected) and again.recorded == []
    assert len(smtp.messages) == len(webhook.posts) == len(expected)


def test_two_workers_detecting_and_sending_at_once_send_each_alert_once(
    open_alerting: OpenAlerting, clock: Clock, smtp: SmtpServer, webhook: WebhookReceiver, tmp_path: Path
) -> None:
    runtime = open_alerting(alerts_config(smtp, webhook, extra=EVERY_CONDITION), fabrikam=BROKEN_MAILBOX)
    run_alerts(runtime)
    every_condition(runtime, clock, tmp_path)
    start = threading.Barrier(2)

    def work() -> None:
        start.wait()
        run_alerts(runtime)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    keys = [a.key for a in recent(runtime)]
    assert len(keys) == 6
    assert sorted(m["X-Edi-Engine-Alert"] for m in smtp.messages) == sorted(keys)
    assert sorted(str(p.json["key"]) for p in webhook.posts) == sorted(keys)


def test_a_mailbox_that_recovers_and_fails_again_is_alerted_again(
    open_alerting: OpenAlerting, clock: Clock, webhook: WebhookReceiver
) -> None:
    runtime = open_alerting(alerts_config(None, webhook, extra="mailbox_failing_seconds = 600"))
    run_alerts(runtime)

    def poll(error: str | None, *, after_minutes: float = 0) -> None:
        clock.advance(minutes=after_minutes)
        lease = acquire(runtime.sessions, "contoso", "test", ttl=timedelta(seconds=30), now=runtime.now())
        assert lease is not None
        release(runtime.sessions, lease, now=runtime.now(), error=error)

    poll("connection refused")
    first_failure = runtime.now()
    poll("connection refused", after_minutes=5)
    assert run_alerts(runtime).recorded == []  # failing for 5 minutes: not yet (a blip, perhaps)
    poll("timed out", after_minutes=5)
    assert len(run_alerts(runtime).recorded) == 1 and len(webhook.posts) == 1
    with unit_of_work(runtime.sessions) as uow:
        assert uow.session.get_one(MailboxRow, "contoso").failing_since == first_failure
    poll("timed out", after_minutes=5)
    assert run_alerts(runtime).recorded == []  # the same run of failures
    poll(None, after_minutes=1)  # it works again
    with unit_of_work(runtime.sessions) as uow:
        assert uow.session.get_one(MailboxRow, "contoso").failing_since is None
    poll("authentication failed", after_minutes=1)
    poll("authentication failed", after_minutes=10)
    assert len(run_alerts(runtime).recorded) == 1 and len(webhook.posts) == 2
    assert "authentication failed" in str(webhook.posts[-1].json["text"])


# -- retries, and one channel never waiting for the other ----------------------------------------------------
def test_a_slow_mail_server_does_not_hold_up_the_webhook(
    open_alerting: OpenAlerting, smtp: SmtpServer, webhook: WebhookReceiver
) -> None:
    runtime = open_alerting(alerts_config(smtp, webhook, email="timeout_seconds = 30"))
    run_alerts(runtime)
    quarantined(runtime)
    seen_while_mailing: list[bool] = []
    # The mail server answers only once the webhook's post has arrived (or after 10 s): had the
    # channels gone one after the other, e-mail first, the post would come too late.
    smtp.before_accepting = lambda: seen_while_mailing.append(webhook.arrived.wait(10))

    report = run_alerts(runtime)

    assert seen_while_mailing == [True] and report.ok
    assert len(smtp.messages) == 1 and len(webhook.posts) == 1


def test_a_receiver_that_is_down_gets_the_alert_later_and_mail_goes_at_once(
    open_alerting: OpenAlerting, clock: Clock, smtp: SmtpServer, webhook: WebhookReceiver
) -> None:
    runtime = open_alerting(alerts_config(smtp, webhook, extra="[alerts.retry]\nbase_seconds = 60"))
    run_alerts(runtime)
    quarantined(runtime)
    webhook.status, webhook.reply = 503, b"Service Unavailable"

    report = run_alerts(runtime)

    (alert,) = recent(runtime)
    assert alert.email_status == "sent" and len(smtp.messages) == 1
    assert alert.webhook_status == "pending" and alert.webhook_attempts == 1
    assert (
        alert.webhook_last_error
        == f"http://127.0.0.1:{webhook.server.server_address[1]} answered HTTP 503: Service Unavailable"
    )
    assert alert.webhook_next_attempt_at == runtime.now() + timedelta(seconds=60)
    assert list(report.channels[1].failed) == [alert.key] and not report.ok
    clock.advance(seconds=59)
    run_alerts(runtime)
    assert len(webhook.posts) == 1  # not before the backoff
    webhook.status, webhook.reply = None, b""
    clock.advance(seconds=1)
    run_alerts(runtime)
    (alert,) = recent(runtime)
    assert alert.webhook_status == "sent" and alert.webhook_last_error is None and alert.webhook_attempts == 2
    assert [p.json["key"] for p in webhook.posts] == [alert.key, alert.key] and webhook.posts[-1].verified
    assert len(smtp.messages) == 1  # the mail went once, at once


def test_a_mail_server_that_is_down_gets_the_alert_later_and_the_webhook_goes_at_once(
    open_alerting: OpenAlerting, clock: Clock, smtp: SmtpServer, webhook: WebhookReceiver
) -> None:
    runtime = open_alerting(alerts_config(smtp, webhook, extra="[alerts.retry]\nbase_seconds = 30"))
    run_alerts(runtime)
    quarantined(runtime)
    smtp.stop()

    run_alerts(runtime)

    (alert,) = recent(runtime)
    assert alert.webhook_status == "sent" and len(webhook.posts) == 1
    assert alert.email_status == "pending" and f"cannot connect to the SMTP server 127.0.0.1:{smtp.port}" in (
        alert.email_last_error or "")  # fmt: skip
    smtp.start()
    clock.advance(seconds=30)
    run_alerts(runtime)
    (alert,) = recent(runtime)
    assert alert.email_status == "sent" and len(smtp.messages) == 1 and len(webhook.posts) == 1


def test_a_channel_that_is_down_is_asked_once_per_backoff_not_once_per_alert(
    open_alerting: OpenAlerting, clock: Clock, webhook: WebhookReceiver
) -> None:
    runtime = open_alerting(alerts_config(None, webhook, extra="[alerts.retry]\nbase_seconds = 10"))
    run_alerts(runtime)
    quarantined(runtime, "northwind")
    quarantined(runtime, "contoso")
    webhook.status = 502

    run_alerts(runtime)
    assert len(webhook.posts) == 1  # the second alert waits with the first: the receiver is down
    first, second = sorted(recent(runtime), key=lambda a: a.webhook_attempts)
    assert (first.webhook_attempts, second.webhook_attempts) == (0, 1)
    assert first.webhook_next_attempt_at == second.webhook_next_attempt_at == runtime.now() + timedelta(seconds=10)
    clock.advance(seconds=10)
    run_alerts(runtime)
    assert len(webhook.posts) == 2  # one more try; the backoff doubles
    webhook.status = None
    clock.advance(seconds=20)
    run_alerts(runtime)
    assert sorted(a.webhook_status for a in recent(runtime)) == ["sent", "sent"]
    assert len({str(p.json["key"]) for p in webhook.posts[2:]}) == 2


def test_a_send_is_given_up_after_the_configured_attempts(
    open_alerting: OpenAlerting, clock: Clock, webhook: WebhookReceiver
) -> None:
    runtime = open_alerting(alerts_config(None, webhook, extra="[alerts.retry]\nbase_seconds = 1\nattempts = 3"))
    run_alerts(runtime)
    quarantined(runtime)
    webhook.status = 500
    for _ in range(5):
        run_alerts(runtime)
        clock.advance(seconds=10)
    (alert,) = recent(runtime)
    assert (alert.webhook_status, alert.webhook_attempts, alert.webhook_next_attempt_at) == ("failed", 3, None)
    assert len(webhook.posts) == 3


# -- signatures ------------------------------------------------------------------------------------------
def test_a_receiver_with_another_secret_refuses_the_signature(
    open_alerting: OpenAlerting, webhook: WebhookReceiver
) -> None:
    runtime = open_alerting(alerts_config(None, webhook))
    run_alerts(runtime)
    quarantined(runtime)
    webhook.secret = "not-the-shared-secret"

    run_alerts(runtime)

    (post,) = webhook.posts
    assert not post.verified
    (alert,) = recent(runtime)
    assert alert.webhook_status == "pending" and "answered HTTP 401" in (alert.webhook_last_error or "")


def test_the_signature_covers_the_timestamp_and_the_exact_body() -> None:
    secret, body, stamp = "s3cret", b'{"key":"quarantine:1"}', "1764547200"
    signed = sign(secret, stamp, body)
    assert signed == signature_of(secret, stamp, body)  # the README's scheme, written independently
    assert verify(secret, stamp, body, signed, now=1764547200 + 299)
    assert not verify("another", stamp, body, signed, now=1764547200)  # a wrong secret
    assert not verify(secret, stamp, body + b" ", signed, now=1764547200)  # one byte more
    assert not verify(secret, "1764547201", body, signed, now=1764547200)  # another time
    assert not verify(secret, stamp, body, signed, now=1764547200 + 301)  # replayed too late
    assert not verify(secret, "soon", body, signed, now=1764547200)


# -- who hears about what ----------------------------------------------------------------------------------
def test_a_partner_may_turn_kinds_off_and_add_recipients(
    open_alerting: OpenAlerting, clock: Clock, smtp: SmtpServer, webhook: WebhookReceiver, tmp_path: Path
) -> None:
    runtime = open_alerting(
        alerts_config(smtp, webhook), northwind="alerts: {off: [quarantine], to: [nw-desk@acme.example]}"
    )
    run_alerts(runtime)
    quarantined(runtime, "northwind")  # off for northwind
    quarantined(runtime, "contoso")
    retailer_change(runtime, tmp_path)  # northwind's, to its desk too

    run_alerts(runtime)

    by_partner = {(a.kind, a.partner_id): a for a in recent(runtime)}
    muted = by_partner[AlertKind.QUARANTINE, "northwind"]
    assert (muted.email_status, muted.webhook_status) == ("skipped", "skipped")
    assert by_partner[AlertKind.QUARANTINE, "contoso"].email_status == "sent"
    change = by_partner[AlertKind.RETAILER_CHANGE, "northwind"]
    (mail,) = smtp.with_header("X-Edi-Engine-Alert", change.key)
    assert mail["To"] == "ops@acme.example, nw-desk@acme.example"
    assert smtp.recipients[smtp.messages.index(mail)] == ["ops@acme.example", "nw-desk@acme.example"]
    assert sorted(str(p.json["partner"]) for p in webhook.posts) == ["contoso", "northwind"]
    assert len(smtp.messages) == 2


def test_kinds_left_out_of_the_configuration_are_recorded_but_not_sent(
    open_alerting: OpenAlerting, smtp: SmtpServer, webhook: WebhookReceiver
) -> None:
    runtime = open_alerting(alerts_config(smtp, webhook, extra='kinds = ["retailer_cancel"]'))
    run_alerts(runtime)
    quarantined(runtime)
    retailer_cancel(runtime)
    run_alerts(runtime)
    statuses = {a.kind: (a.email_status, a.webhook_status) for a in recent(runtime)}
    assert statuses == {AlertKind.QUARANTINE: ("skipped", "skipped"), AlertKind.RETAILER_CANCEL: ("sent", "sent")}
    assert len(smtp.messages) == len(webhook.posts) == 1


def test_turning_alerts_on_sends_nothing_that_existed_before_and_everything_after(
    open_alerting: OpenAlerting, clock: Clock, smtp: SmtpServer, webhook: WebhookReceiver, tmp_path: Path
) -> None:
    runtime = open_alerting(alerts_config(smtp, webhook, extra=EVERY_CONDITION), fabrikam=BROKEN_MAILBOX)
    every_condition(runtime, clock, tmp_path)  # a workspace with a history, before its first alerts run

    first = run_alerts(runtime)

    assert first.baseline and len(first.recorded) == 6
    assert smtp.messages == [] and webhook.posts == []
    assert all(a.baseline and a.email_status == a.webhook_status == "skipped" for a in recent(runtime))
    clock.advance(minutes=1)
    quarantined_again(runtime, tmp_path, 9001)
    after = run_alerts(runtime)
    assert not after.baseline and len(after.recorded) == 1
    assert len(smtp.messages) == len(webhook.posts) == 1


def test_alerts_recorded_before_a_channel_was_configured_are_not_sent_when_it_is(
    open_alerting: OpenAlerting, smtp: SmtpServer, webhook: WebhookReceiver
) -> None:
    runtime = open_alerting()  # no [alerts]: recorded and listed, sent nowhere
    run_alerts(runtime)
    quarantined(runtime)
    assert len(run_alerts(runtime).recorded) == 1
    runtime = open_alerting(alerts_config(smtp, webhook))
    quarantined(runtime, "contoso")
    assert len(run_alerts(runtime).recorded) == 1
    assert len(smtp.messages) == len(webhook.posts) == 1
    assert sorted((a.partner_id, a.email_status) for a in recent(runtime)) == [
        ("contoso", DeliveryStatus.SENT), ("northwind", DeliveryStatus.SKIPPED)]  # fmt: skip


# -- secrets ------------------------------------------------------------------------------------------------
def test_secrets_never_reach_the_log_the_database_or_the_command_output(
    open_alerting: OpenAlerting, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    password, secret = "pw-7Qx-correct-staple", "whsec-9Zr-battery-horse"
    monkeypatch.setenv("EDI_TEST_SMTP_PASSWORD", password)
    (tmp_path / "webhook-secret").write_text(secret + "\n")
    certificates = make_certificates(tmp_path / "tls")
    # A careless mail server that repeats the password it refused, and a receiver that repeats its secret.
    server = SmtpServer(certificates=certificates, login=("edi", "another password"),
                        refusal="535 5.7.8 bad password {password}").start()  # fmt: skip
    receiver = WebhookReceiver(secret, status=500, reply=f"cannot use secret {secret}".encode()).start()
    log = io.StringIO()
    configure("json", stream=log, level=logging.DEBUG)
    try:
        config = alerts_config(
            server, receiver,
            email=f'starttls = true\nca_file = "{certificates.ca}"\nusername = "edi"\n'
                  'password = {env = "EDI_TEST_SMTP_PASSWORD"}',
        ).replace('secret = {env = "EDI_TEST_WEBHOOK_SECRET"}', f'secret = {{file = "{tmp_path / "webhook-secret"}"}}')  # fmt: skip
        runtime = open_alerting(config)
        run_alerts(runtime)
        quarantined(runtime)
        run_alerts(runtime)
        assert main(["alerts", "--workspace", str(runtime.workspace.root)]) == 0
        assert main(["alerts", "--json", "--workspace", str(runtime.workspace.root)]) == 0
        output = capsys.readouterr().out
        (alert,) = recent(runtime)
        stored = f"{alert.email_last_error} {alert.webhook_last_error}"
        for place in (log.getvalue(), stored, output):
            assert password not in place and secret not in place
        assert MASK in stored and MASK in log.getvalue() and "535" in stored and "HTTP 500" in stored
        assert receiver.posts[0].verified  # the secret came from the file, newline and all left out

        server.login = ("edi", password)  # the mail server now takes the password: STARTTLS, then the login
        clock.advance(minutes=5)
        run_alerts(runtime)
        (alert,) = recent(runtime)
        assert alert.email_status == "sent" and len(server.messages) == 1
        assert password not in log.getvalue()
    finally:
        server.stop()
        receiver.stop()


def test_a_missing_secret_is_named_and_keeps_only_its_own_channel_waiting(
    open_alerting: OpenAlerting, smtp: SmtpServer, webhook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = open_alerting(alerts_config(smtp, webhook))
    monkeypatch.delenv("EDI_TEST_WEBHOOK_SECRET")
    run_alerts(runtime)
    quarantined(runtime)
    run_alerts(runtime)
    (alert,) = recent(runtime)
    assert alert.email_status == "sent" and alert.webhook_status == "pending"
    assert alert.webhook_last_error == (
        "edi-engine.toml [alerts] webhook.secret names the environment variable EDI_TEST_WEBHOOK_SECRET, "
        "which is not set"
    )
    assert webhook.posts == []


def test_no_alert_is_recorded_twice_even_when_a_key_is_found_twice_in_one_run(open_alerting: OpenAlerting) -> None:
    runtime = open_alerting()
    quarantined(runtime)

    def twice(runtime: Runtime) -> list[Candidate]:
        return [*quarantined_files(runtime), *quarantined_files(runtime)]

    report = run_alerts(runtime, detectors=[twice])
    assert report.found == 2 and len(report.recorded) == 1
    with unit_of_work(runtime.sessions) as uow:
        assert len(uow.session.scalars(select(Alert)).all()) == 1


def test_a_partners_file_name_cannot_add_mail_headers_or_lines_to_the_subject(
    open_alerting: OpenAlerting, smtp: SmtpServer, webhook: WebhookReceiver
) -> None:
    runtime = open_alerting(alerts_config(smtp, webhook))
    run_alerts(runtime)
    data = sample(runtime, "contoso", "860").read_bytes()
    ingest_data(runtime, data, source="a drop folder", name="po.x12\r\nBcc: thief@example.com\r\n\r\nhello")

    assert run_alerts(runtime).ok

    (mail,) = smtp.messages
    assert mail["Bcc"] is None and smtp.recipients == [["ops@acme.example"]]
    assert mail["Subject"] == "[edi-engine] Quarantined: po.x12 Bcc: thief@example.com hello from Contoso Home"
    (post,) = webhook.posts
    assert "\n" not in str(post.json["subject"])


def test_a_detector_that_fails_is_reported_and_the_others_still_alert(
    open_alerting: OpenAlerting, webhook: WebhookReceiver
) -> None:
    runtime = open_alerting(alerts_config(None, webhook))
    run_alerts(runtime)
    quarantined(runtime)

    def broken(runtime: Runtime) -> list[Candidate]:
        raise RuntimeError("a bug")

    report = run_alerts(runtime, detectors=[broken, quarantined_files])

    assert report.errors == ["detector broken: RuntimeError: a bug"] and not report.ok
    assert len(report.recorded) == 1 and len(webhook.posts) == 1
