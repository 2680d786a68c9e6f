"""AS2 between the engine's partner-facing listener and a partner's AS2 server, both real HTTP
servers on 127.0.0.1: messages in (decrypted, verified, ingested, answered with the MDN asked for),
refusals with their AS2 dispositions, and documents out (delivered only on a verified MDN)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

import engine.as2
from engine.as2 import deliver_as2, send_async_mdns
from engine.db.tables import As2Message, As2Status, Direction, Interchange, OutboundDocument, OutboundStatus
from engine.runtime import Runtime
from engine.scheduler import MailboxJobs
from engine.timings import REGISTRY as TIMINGS
from engine.web.as2_listener import as2_app
from engine.web.internal import Listener, internal_app
from mappings.profile import As2Server
from tests.as2_keys import write_pair
from tests.as2_partner import Partner, PartnerServer, wait_for
from tests.pipeline_fixtures import (
    Clock,
    OpenRuntime,
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
    received,
    sample,
)
from tests.sshd_fixtures import free_port

__all__ = ["clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_runtime"]


@dataclass
class As2Setup:
    runtime: Runtime
    partner: PartnerServer
    engine: Listener
    clock: Clock
    root: Path

    def outbound(self) -> list[As2Message]:
        with self.runtime.sessions() as session:
            return list(session.scalars(select(As2Message).where(As2Message.direction == Direction.OUTBOUND)))

    def inbound(self) -> list[As2Message]:
        with self.runtime.sessions() as session:
            return list(session.scalars(select(As2Message).where(As2Message.direction == Direction.INBOUND)))

    def documents(self) -> list[OutboundDocument]:
        with self.runtime.sessions() as session:
            return list(session.scalars(select(OutboundDocument).where(OutboundDocument.bundle_id.is_(None))))

    def send_850(self, **agreement: object) -> tuple[str, object]:
        data = sample(self.runtime, "northwind", "850-dropship").read_bytes()
        return self.partner.send(data, file_name="PO-850.x12", **agreement)


AS2_CONFIG = """[as2]
as2_id = "ACMESUPPLY"
keys = [{{file = "keys/ACMESUPPLY.key.pem"}}]
mdn_url = "http://127.0.0.1:{port}/as2"
"""


@pytest.fixture
def as2(open_runtime: OpenRuntime, tmp_path: Path, clock: Clock) -> Iterator[As2Setup]:
    yield from _setup(open_runtime, tmp_path, clock)


def _setup(
    open_runtime: OpenRuntime,
    tmp_path: Path,
    clock: Clock,
    agreement: str = "",
    certificates: str = "",
    *,
    tls: bool = False,
    **other_partners: str,
) -> Iterator[As2Setup]:
    our_key, our_certificate = write_pair(tmp_path / "keys", "ACMESUPPLY")
    partner = PartnerServer(Partner(tmp_path / "northwind-side"), (our_certificate.read_bytes(),), tls=tls).start()
    port = free_port()
    certificates = certificates or str(partner.partner.certificate)
    if tls:  # both listeners on HTTPS, each trusting the other's self-signed certificate
        agreement += f", tls_ca: {partner.partner.certificate}"
        partner.engine_ca = str(our_certificate)
    runtime = open_runtime(
        config=AS2_CONFIG.format(port=port),
        northwind=f"mailbox: {{kind: as2, url: '{partner.url}/as2', as2_id: NORTHWIND, "
        f"certificates: [{certificates}], timeout_seconds: 10, poll: {{every_seconds: 1}}{agreement}}}",
        **other_partners,
    )
    https = {"tls_certificate": str(our_certificate), "tls_key": str(our_key)} if tls else {}
    engine = Listener(as2_app(runtime), "127.0.0.1", port, **https)
    engine.start()
    partner.engine_url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/as2"
    try:
        yield As2Setup(runtime, partner, engine, clock, tmp_path)
    finally:
        engine.stop()
        partner.stop()


def test_a_signed_encrypted_compressed_850_is_ingested_and_answered_with_a_signed_mdn(as2: As2Setup) -> None:
    message_id, mdn = as2.send_850(compress=True)
    assert mdn is not None and mdn.delivered, mdn  # signature, Original-Message-ID and MIC verified
    (row,) = as2.inbound()
    assert (row.message_id, row.status, row.file_name) == (message_id, As2Status.RECEIVED, "PO-850.x12")
    assert row.mdn is not None and b"multipart/signed" in row.mdn  # the signed MDN we answered, kept
    kinds = sorted(d.kind for d in as2.documents())
    assert kinds == ["855", "997"]  # the 850 went through the pipeline: its 997 and 855 are pending


def test_a_resent_message_id_is_answered_processed_and_not_ingested_twice(as2: As2Setup) -> None:
    message_id, first = as2.send_850()
    again_id, again = as2.send_850(message_id=message_id)
    assert again_id == message_id and first is not None and again is not None
    assert first.delivered and again.delivered
    assert len(as2.inbound()) == 1 and len(as2.documents()) == 2  # one 997 and one 855, not two of each


def test_an_asynchronous_mdn_is_posted_to_the_url_the_sender_gave(as2: As2Setup) -> None:
    message_id, nothing_yet = as2.send_850(mdn="async")
    assert nothing_yet is None
    assert as2.partner.wait_for_mdn(message_id).delivered
    (row,) = as2.inbound()
    assert row.mdn_sent_at is not None and row.mdn_url == f"{as2.partner.url}/as2"


@pytest.mark.parametrize(
    ("agreement", "disposition"),
    [
        ({"sign": False}, "insufficient-message-security"),
        ({"encrypt": False}, "insufficient-message-security"),
    ],
)
def test_a_message_below_the_agreements_security_is_refused(
    as2: As2Setup, agreement: dict[str, object], disposition: str
) -> None:
    _message_id, mdn = as2.send_850(**agreement)
    assert mdn is not None and not mdn.delivered and mdn.detail == disposition
    assert as2.documents() == [] and [r.status for r in as2.inbound()] == [As2Status.REFUSED]


def test_a_message_signed_by_another_key_is_refused(as2: As2Setup, tmp_path: Path) -> None:
    impostor_key, _ = write_pair(tmp_path / "impostor", "NORTHWIND")
    as2.partner.partner.key = impostor_key  # signs (and would decrypt) with a key the engine does not know
    _message_id, _mdn = as2.send_850()
    assert as2.documents() == []
    (row,) = as2.inbound()
    assert row.status is As2Status.REFUSED and "signature" in (row.last_error or "")


def test_an_as2_from_whose_certificate_did_not_sign_the_message_is_refused(
    open_runtime: OpenRuntime, tmp_path: Path, clock: Clock
) -> None:
    _key, contoso_certificate = write_pair(tmp_path / "contoso-keys", "CONTOSO")
    contoso = (
        f"mailbox: {{kind: as2, url: 'http://127.0.0.1:9/as2', as2_id: CONTOSO, certificates: [{contoso_certificate}]}}"
    )
    for setup in _setup(open_runtime, tmp_path, clock, contoso=contoso):
        setup.partner.partner.as2_id = "CONTOSO"  # Northwind's key and certificate, in Contoso's name
        _message_id, mdn = setup.send_850()
        assert mdn is not None and not mdn.delivered
        assert setup.documents() == []
        (row,) = setup.inbound()
        assert (row.partner_id, row.status) == ("contoso", As2Status.REFUSED)


def test_an_as2_from_no_profile_names_is_refused_as_an_unknown_partner(as2: As2Setup) -> None:
    as2.partner.partner.as2_id = "STRANGER"
    _message_id, mdn = as2.send_850(sign=False, encrypt=False, signed_mdn=False)
    assert mdn is not None and mdn.detail == "unknown-trading-partner"
    assert as2.documents() == [] and as2.inbound() == []


def test_an_interchange_in_another_partners_name_is_refused(as2: As2Setup) -> None:
    contoso = sample(as2.runtime, "contoso", "850").read_bytes()  # Contoso's ISA sender, sent by Northwind
    _message_id, mdn = as2.partner.send(contoso, file_name="contoso.x12")
    assert mdn is not None and mdn.detail == "authentication-failed"
    (row,) = as2.inbound()
    assert row.status is As2Status.REFUSED and "is partner contoso, not northwind" in (row.last_error or "")
    assert as2.documents() == []


def test_during_a_rollover_either_certificate_verifies_the_partners_messages(
    open_runtime: OpenRuntime, tmp_path: Path, clock: Clock
) -> None:
    new_key, new_certificate = write_pair(tmp_path / "next", "NORTHWIND-2027")
    old_certificate = tmp_path / "northwind-side" / "keys" / "NORTHWIND.cert.pem"
    for setup in _setup(open_runtime, tmp_path, clock, certificates=f"{old_certificate}, {new_certificate}"):
        _first, with_old = setup.send_850()
        setup.partner.partner.key = new_key  # the partner moves to its new key
        data = sample(setup.runtime, "northwind", "850-dropship").read_bytes().replace(b"000000001", b"000000002", 1)
        _second, with_new = setup.partner.send(data, file_name="PO-2.x12")
        assert with_old is not None and with_old.delivered and with_new is not None and with_new.delivered
        assert [r.status for r in setup.inbound()] == [As2Status.RECEIVED, As2Status.RECEIVED]


def pending_for_partner(as2: As2Setup) -> None:
    """The partner's 850 ingested, so its 997 and 855 wait to go out."""
    _message_id, mdn = as2.send_850()
    assert mdn is not None and mdn.delivered


def test_documents_go_out_signed_and_encrypted_and_are_sent_only_on_a_verified_mdn(as2: As2Setup) -> None:
    pending_for_partner(as2)
    done = deliver_as2(as2.runtime, as2.runtime.partners["northwind"])
    assert done.error is None and len(done.delivered) == 2
    got = received(as2.partner.files())
    assert got.of("997") == 1 and got.of("855") == 1
    assert {d.status for d in as2.documents()} == {OutboundStatus.SENT}
    rows = as2.outbound()
    assert {r.status for r in rows} == {As2Status.DELIVERED}
    assert all(r.mdn and b"Received-content-MIC" in r.mdn for r in rows)  # the MDN kept as proof
    assert deliver_as2(as2.runtime, as2.runtime.partners["northwind"]).delivered == []  # nothing twice


@pytest.mark.parametrize("misbehaviour", ["tampered_mdn", "negative_mdn", "http_500"])
def test_an_mdn_that_does_not_verify_leaves_the_document_undelivered_until_a_resend_with_the_same_message_id(
    as2: As2Setup, misbehaviour: str
) -> None:
    pending_for_partner(as2)
    as2.partner.misbehave = misbehaviour  # type: ignore[assignment]
    failed = deliver_as2(as2.runtime, as2.runtime.partners["northwind"])
    assert failed.delivered == []
    assert {d.status for d in as2.documents()} == {OutboundStatus.PENDING}
    rows = as2.outbound()
    assert rows and all(r.status is As2Status.FAILED and r.last_error for r in rows)
    first_ids = {r.message_id for r in rows}
    as2.partner.misbehave = "none"
    deliver_as2(as2.runtime, as2.runtime.partners["northwind"])  # (an HTTP 500 stopped the round: the rest go now)
    assert all(r.status is As2Status.FAILED for r in as2.outbound() if r.message_id in first_ids)  # backoff
    as2.clock.advance(hours=2)
    deliver_as2(as2.runtime, as2.runtime.partners["northwind"])
    assert {d.status for d in as2.documents()} == {OutboundStatus.SENT}
    assert {r.message_id for r in as2.outbound()} >= first_ids  # resent under the same Message-ID
    got = received(as2.partner.files())
    assert got.of("997") == 1 and got.of("855") == 1 and got.resent == []  # the partner kept each once


def test_with_an_asynchronous_mdn_the_document_is_sent_when_the_mdn_arrives(
    open_runtime: OpenRuntime, tmp_path: Path, clock: Clock
) -> None:
    for setup in _setup(open_runtime, tmp_path, clock, agreement=", mdn: async"):
        pending_for_partner(setup)
        round_ = deliver_as2(setup.runtime, setup.runtime.partners["northwind"])
        assert round_.delivered == [] and round_.error is None
        wait_for(lambda: {d.status for d in setup.documents()} == {OutboundStatus.SENT}, what="async MDNs")  # noqa: B023
        assert {r.status for r in setup.outbound()} == {As2Status.DELIVERED}
        assert received(setup.partner.files()).of("855") == 1


def test_the_scheduled_job_of_an_as2_partner_delivers_and_records_its_round(as2: As2Setup) -> None:
    pending_for_partner(as2)
    report = MailboxJobs(as2.runtime).run_once("northwind")
    assert report is not None and report.error is None and len(report.delivered) == 2


def test_an_unreachable_partner_is_a_recorded_error_and_the_documents_wait(as2: As2Setup) -> None:
    pending_for_partner(as2)
    as2.partner.stop()
    labels = {"partner": "northwind", "kind": "as2"}
    errors_before = TIMINGS.get_sample_value("edi_mailbox_poll_errors_total", labels) or 0
    report = MailboxJobs(as2.runtime).run_once("northwind")
    assert report is not None and "AS2 POST to" in (report.error or "")
    assert TIMINGS.get_sample_value("edi_mailbox_poll_errors_total", labels) == errors_before + 1
    assert {d.status for d in as2.documents()} == {OutboundStatus.PENDING}


def test_an_asynchronous_mdn_that_cannot_be_posted_is_retried(as2: As2Setup) -> None:
    as2.partner.misbehave = "none"
    message_id, _ = as2.send_850(mdn="async")
    as2.partner.wait_for_mdn(message_id)
    (row,) = as2.inbound()
    assert row.attempts == 1 and send_async_mdns(as2.runtime) == 0  # sent once, nothing owed


def test_as2_runs_over_https_both_ways(open_runtime: OpenRuntime, tmp_path: Path, clock: Clock) -> None:
    for setup in _setup(open_runtime, tmp_path, clock, tls=True):
        assert setup.partner.engine_url.startswith("https://") and setup.partner.url.startswith("https://")
        pending_for_partner(setup)  # the partner posts to the engine over HTTPS
        done = deliver_as2(setup.runtime, setup.runtime.partners["northwind"])  # and the engine to the partner
        assert done.error is None and len(done.delivered) == 2


def test_a_partner_https_certificate_we_do_not_trust_refuses_the_delivery(
    open_runtime: OpenRuntime, tmp_path: Path, clock: Clock
) -> None:
    _other_key, other_certificate = write_pair(tmp_path / "other", "SOMEONE-ELSE")
    for setup in _setup(open_runtime, tmp_path, clock, tls=True):
        pending_for_partner(setup)
        profile = setup.runtime.partners["northwind"]
        assert isinstance(profile.mailbox, As2Server)
        wrong = profile.model_copy(
            update={"mailbox": profile.mailbox.model_copy(update={"tls_ca": str(other_certificate)})}
        )
        done = deliver_as2(setup.runtime, wrong)
        assert done.delivered == [] and "CERTIFICATE_VERIFY_FAILED" in (done.error or "")


def test_metrics_count_as2_messages_mdn_failures_resends_and_time_polls_and_ingests(as2: As2Setup) -> None:
    pending_for_partner(as2)
    as2.partner.misbehave = "tampered_mdn"
    MailboxJobs(as2.runtime).run_once("northwind")
    as2.clock.advance(hours=2)
    MailboxJobs(as2.runtime).run_once("northwind")  # resent, and refused again
    internal = Listener(internal_app(as2.runtime, lambda: True), "127.0.0.1", 0)
    internal.start()
    try:
        text = httpx.get("http://{}:{}/metrics".format(*internal.address), timeout=10).text
    finally:
        internal.stop()
    assert 'edi_as2_messages{direction="inbound",partner="northwind",status="received"} 1.0' in text
    assert 'edi_as2_mdn_failures{partner="northwind"} 2.0' in text
    assert 'edi_delivery_retries_total{partner="northwind"} 2.0' in text
    assert 'edi_mailbox_poll_seconds_count{kind="as2",partner="northwind"}' in text
    assert 'edi_ingest_seconds_count{partner="northwind"}' in text


def test_an_unsigned_mdn_is_answered_when_the_sender_asks_for_no_signature(as2: As2Setup) -> None:
    _message_id, mdn = as2.send_850(signed_mdn=False)
    assert mdn is not None and mdn.delivered
    (row,) = as2.inbound()
    assert row.mdn is not None and b"multipart/report" in row.mdn and b"multipart/signed" not in row.mdn


def test_a_partners_file_name_and_message_id_never_steer_where_we_write(as2: As2Setup, tmp_path: Path) -> None:
    data = sample(as2.runtime, "northwind", "850-dropship").read_bytes()
    _id, mdn = as2.partner.send(data, file_name="../../../escaped.x12", message_id="../../../escaped@x")
    assert mdn is not None and mdn.delivered
    assert list(tmp_path.parent.rglob("*escaped*")) == []  # no file of that name, anywhere near
    with as2.runtime.sessions() as session:
        (name,) = session.scalars(select(Interchange.file_name))
    assert "/" not in name and ".." not in name


def test_a_message_that_cannot_be_stored_is_answered_with_an_error_mdn_and_taken_when_resent(
    as2: As2Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_away(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("INSERT ...", {}, Exception("the database is restarting"))

    monkeypatch.setattr(engine.as2, "ingest_data", database_away)
    message_id, refused = as2.send_850()
    assert refused is not None and not refused.delivered and refused.detail == "unexpected-processing-error"
    monkeypatch.undo()
    _same, taken = as2.send_850(message_id=message_id)
    assert taken is not None and taken.delivered and len(as2.documents()) == 2
