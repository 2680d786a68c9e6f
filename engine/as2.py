"""AS2 partners in the engine: what arrives on ``POST /as2`` (messages and asynchronous MDNs),
and the delivery of pending documents to a partner's AS2 endpoint.

Inbound, in this order: the raw HTTP message is archived; it is decrypted and verified; its
payload goes through the same ``ingest_data`` as a mailbox file (archived, then committed); only
then is the MDN answered. A Message-ID already received is answered ``processed`` again without a
second ingest, and a crash before the MDN leads the sender to resend, which ingest recognises.

Outbound, each document gets one Message-ID, recorded before the first send and reused by every
resend, so the partner's duplicate check recognises a resend. A document is marked sent only when
an MDN that verifies (Original-Message-ID, MIC, signature) says ``processed``; anything else leaves
it pending, with the MDN and the error kept on its ``as2_messages`` row, and it is sent again with
backoff. No transaction is held open while a message is on the wire.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine.db.session import unit_of_work
from engine.db.tables import As2Message, As2Status, Direction, OutboundDocument
from engine.files import archive
from engine.ingest import IngestReport, ingest_data, read_envelope
from engine.mailboxes import MailboxError, secret_value
from engine.runtime import Runtime
from mappings.profile import As2Server, KeyFile, PartnerProfile
from transport.as2 import (
    As2ConfigError,
    KeyPair,
    MdnResult,
    Received,
    Them,
    Us,
    build_message,
    original_message_id,
    post,
    raw,
    read_mdn,
    receive,
    send,
)
from transport.mailbox import TransportError
from transport.names import safe_name

log = logging.getLogger("edi_engine.as2")

#: Where AS2 may stop (tests replace ``crash_point`` to stop there): an inbound message stored and
#: not yet answered; an outbound document claimed for a send; posted, its MDN not yet recorded.
CRASH_POINTS = ("as2_stored", "as2_claimed", "as2_posted")


def crash_point(name: str) -> None:
    """Does nothing; tests replace it to stop a delivery at ``name``."""


def as2_partners(runtime: Runtime) -> list[PartnerProfile]:
    return [p for _, p in sorted(runtime.partners.items()) if isinstance(p.mailbox, As2Server)]


def agreement(runtime: Runtime, profile: PartnerProfile) -> tuple[Us, Them]:
    """Our side and theirs for an AS2 partner, with keys and certificates read from their files."""
    settings = profile.mailbox
    assert isinstance(settings, As2Server)
    ours = runtime.workspace.settings.as2
    folder = runtime.partners.folder(profile.id)
    keys = (
        [_key(folder, key) for key in settings.our_keys]
        if settings.our_keys
        else [_key(runtime.workspace.root, key) for key in ours.keys]
    )
    us = Us(settings.our_as2_id or ours.as2_id, tuple(keys), mdn_url=ours.mdn_url, domain=ours.domain)
    them = Them(
        as2_id=settings.as2_id,
        url=settings.url,
        certificates=tuple(_read(folder / name, "certificate") for name in settings.certificates),
        sign=settings.sign,
        encrypt=settings.encrypt,
        compress=settings.compress,
        encryption=settings.encryption,
        digest=settings.digest,
        mdn=settings.mdn,
        signed_mdn=settings.signed_mdn,
        timeout=settings.timeout_seconds,
        verify_tls=_trust(runtime, profile),
    )
    return us, them


def _key(folder: Path, key: KeyFile) -> KeyPair:
    passphrase = secret_value(key.passphrase, folder) if key.passphrase else None
    return KeyPair(_read(folder / key.file, "key"), passphrase)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise MailboxError(f"cannot read the AS2 {what} file {path}: {error.strerror}") from error


def _find(runtime: Runtime) -> Callable[[str, str], tuple[Us, Them] | None]:
    """The agreement for (AS2-To, AS2-From), or None for a pair no profile names."""

    def find(our_id: str, their_id: str) -> tuple[Us, Them] | None:
        profile = _partner_by_as2_id(runtime, their_id)
        if profile is None:
            return None
        us, them = agreement(runtime, profile)
        return (us, them) if us.as2_id == our_id else None

    return find


def _partner_by_as2_id(runtime: Runtime, their_id: str | None) -> PartnerProfile | None:
    for profile in as2_partners(runtime):
        assert isinstance(profile.mailbox, As2Server)
        if profile.mailbox.as2_id == their_id:
            return profile
    return None


@dataclass
class Answer:
    """What the partner-facing listener answers: HTTP status, headers and body."""

    status_code: int
    headers: dict[str, str]
    body: bytes
    ingest: IngestReport | None = None
    note: str = ""


def handle_post(runtime: Runtime, headers: Iterable[tuple[str, str]], body: bytes) -> Answer:
    """One ``POST /as2``: an asynchronous MDN for one of our messages, or a message for us."""
    headers = list(headers)
    archive(runtime.workspace.archive_dir / "as2", raw(headers, body))  # the raw bytes, before anything else
    original = original_message_id(headers, body)
    if original is not None:
        return _async_mdn(runtime, headers, body, original)
    return _message(runtime, headers, body)


def _message(runtime: Runtime, headers: list[tuple[str, str]], body: bytes) -> Answer:
    received = receive(headers, body, _find(runtime))
    profile = _partner_by_as2_id(runtime, received.their_id)
    if profile is not None and received.accepted and received.payload is not None:
        refusal = _isa_belongs_elsewhere(runtime, profile, received.payload)
        if refusal:
            received.status, received.detail, received.error = "processed/Error", "authentication-failed", refusal
    if not received.accepted:
        log.warning(
            "AS2 message %s from %s refused: %s (%s)",
            received.message_id, received.their_id, received.error, received.detail,
        )  # fmt: skip
        _record_inbound(runtime, profile, received, As2Status.REFUSED)
        return _answer(runtime, profile, received, note=received.error or "refused")
    assert profile is not None and received.payload is not None and received.message_id is not None
    if _received_before(runtime, profile.id, received.message_id):
        return _answer(runtime, profile, received, note="a resend of a message already received; not ingested again")
    name = safe_name(received.file_name or f"as2-{received.message_id}")
    try:
        report = ingest_data(runtime, received.payload, source=f"as2 {profile.id} <{received.message_id}>", name=name)
    except Exception as error:  # storing failed: the sender is told, and resends
        log.exception("AS2 message %s from %s could not be stored", received.message_id, profile.id)
        failed = received.answer("processed/Error", "unexpected-processing-error")
        return _respond(runtime, profile, received, failed, note=f"{type(error).__name__}: {error}")
    _record_inbound(runtime, profile, received, As2Status.RECEIVED)
    crash_point("as2_stored")
    answer = _answer(runtime, profile, received, note=report.status)
    answer.ingest = report
    return answer


def _isa_belongs_elsewhere(runtime: Runtime, profile: PartnerProfile, payload: bytes) -> str | None:
    """Why a verified payload is refused: its ISA sender is another partner's (one partner may not
    send in another's name). An unreadable payload is not refused here: ingest quarantines it."""
    envelope = read_envelope(payload)
    if envelope is None:
        return None
    owner = runtime.partners.by_isa(*envelope.sender)
    if owner is not None and owner.id != profile.id:
        return f"the interchange's ISA sender {':'.join(envelope.sender)} is partner {owner.id}, not {profile.id}"
    return None


def _received_before(runtime: Runtime, partner_id: str, message_id: str) -> bool:
    with unit_of_work(runtime.sessions) as uow:
        row = _inbound(uow.session, partner_id, message_id)
        return row is not None and row.status is As2Status.RECEIVED


def _inbound(session: Session, partner_id: str, message_id: str) -> As2Message | None:
    return session.scalars(
        select(As2Message).where(
            As2Message.partner_id == partner_id,
            As2Message.direction == Direction.INBOUND,
            As2Message.message_id == message_id,
        )
    ).first()


def _record_inbound(runtime: Runtime, profile: PartnerProfile | None, received: Received, status: As2Status) -> None:
    """Keep the inbound Message-ID (and, later, its MDN); a refusal from no known partner is only logged."""
    if profile is None or not received.message_id:
        return
    now = runtime.now()
    with unit_of_work(runtime.sessions) as uow:
        row = _inbound(uow.session, profile.id, received.message_id)
        if row is None:
            row = As2Message(partner_id=profile.id, direction=Direction.INBOUND, message_id=received.message_id,
                             attempts=0, created_at=now)  # fmt: skip
            uow.session.add(row)
        if row.status is not As2Status.RECEIVED:  # a refused message may be resent and received
            row.status = status
        row.file_name, row.last_error, row.updated_at = received.file_name, received.error, now


def _answer(runtime: Runtime, profile: PartnerProfile | None, received: Received, *, note: str) -> Answer:
    mdn = received.answer() if received.accepted else received.answer(received.status, received.detail)
    return _respond(runtime, profile, received, mdn, note=note)


def _respond(
    runtime: Runtime,
    profile: PartnerProfile | None,
    received: Received,
    mdn: tuple[dict[str, str], bytes] | None,
    *,
    note: str,
) -> Answer:
    """The MDN in the HTTP answer (synchronous), or kept and posted to the sender (asynchronous)."""
    if mdn is None:  # no MDN asked for: the HTTP status is all the sender gets
        if received.accepted:
            return Answer(200, {"Content-Type": "text/plain"}, b"received\n", note=note)
        return Answer(400, {"Content-Type": "text/plain"}, f"refused: {note}\n".encode(), note=note)
    headers, body = mdn
    if profile is not None and received.message_id:
        try:
            _keep_mdn(runtime, profile.id, received, raw(headers.items(), body))
        except SQLAlchemyError:  # the database is away (the reason storing failed, likely): answer anyway
            log.exception("the MDN for AS2 message %s could not be kept", received.message_id)
            if received.mdn_mode == "async":  # owed, and not recorded: the sender's resend gets it
                return Answer(503, {"Content-Type": "text/plain"}, b"try again later\n", note=note)
    if received.mdn_mode != "async":
        return Answer(200, headers, body, note=note)
    if profile is None:  # an asynchronous MDN goes only to a URL a known partner gave
        return Answer(400, {"Content-Type": "text/plain"}, f"refused: {note}\n".encode(), note=note)
    send_async_mdns(runtime, partner_ids=[profile.id])
    return Answer(202, {"Content-Type": "text/plain"}, b"the MDN follows asynchronously\n", note=note)


def _keep_mdn(runtime: Runtime, partner_id: str, received: Received, mdn: bytes) -> None:
    assert received.message_id is not None
    now = runtime.now()
    with unit_of_work(runtime.sessions) as uow:
        row = _inbound(uow.session, partner_id, received.message_id)
        if row is None:  # storing failed before the row was written: the MDN is still kept as sent
            row = As2Message(partner_id=partner_id, direction=Direction.INBOUND, message_id=received.message_id,
                             status=As2Status.REFUSED, attempts=0, created_at=now)  # fmt: skip
            uow.session.add(row)
        row.mdn, row.updated_at = mdn, now
        if received.mdn_mode == "async":
            row.mdn_url, row.mdn_sent_at, row.next_attempt_at = received.mdn_url, None, now


def send_async_mdns(runtime: Runtime, *, partner_ids: Iterable[str] | None = None) -> int:
    """Post the asynchronous MDNs we owe (each retried with backoff until it goes); how many went."""
    wanted = set(partner_ids) if partner_ids is not None else None
    now = runtime.now()
    with unit_of_work(runtime.sessions) as uow:
        owed = uow.session.execute(
            select(As2Message.id, As2Message.partner_id, As2Message.mdn_url, As2Message.mdn).where(
                As2Message.direction == Direction.INBOUND,
                As2Message.mdn_url.is_not(None),
                As2Message.mdn_sent_at.is_(None),
                As2Message.next_attempt_at <= now,
            )
        ).all()
    sent = 0
    for row_id, partner_id, url, mdn in owed:
        if (wanted is not None and partner_id not in wanted) or partner_id not in runtime.partners:
            continue
        settings = runtime.partners[partner_id].mailbox
        assert isinstance(settings, As2Server) and url is not None and mdn is not None
        headers, _, body = mdn.partition(b"\r\n\r\n")
        error = None
        try:
            post(
                url,
                _header_lines(headers),
                body,
                timeout=settings.timeout_seconds,
                verify=_trust(runtime, runtime.partners[partner_id]),
            )
        except TransportError as failure:
            error = str(failure)
        with unit_of_work(runtime.sessions) as uow:
            row = uow.session.get(As2Message, row_id)
            if row is None or row.mdn_sent_at is not None:
                continue
            row.attempts += 1
            row.updated_at = runtime.now()
            if error is None:
                row.mdn_sent_at, row.last_error, row.next_attempt_at = row.updated_at, None, None
                sent += 1
            else:
                row.last_error, row.next_attempt_at = error, row.updated_at + _backoff(settings, row.attempts)
                log.warning("asynchronous MDN for %s to %s not delivered: %s", row.message_id, partner_id, error)
    return sent


def _header_lines(block: bytes) -> dict[str, str]:
    lines = block.decode("utf-8", "surrogateescape").split("\r\n")
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def _trust(runtime: Runtime, profile: PartnerProfile) -> str | bool:
    """What the partner's HTTPS certificate is checked against: the profile's CA file, or the system's."""
    settings = profile.mailbox
    assert isinstance(settings, As2Server)
    return str(runtime.partners.folder(profile.id) / settings.tls_ca) if settings.tls_ca else True


def _backoff(settings: As2Server, attempts: int) -> timedelta:
    """Exponential backoff with jitter (half to all of the step), capped."""
    retries = settings.retries
    step = min(retries.cap_seconds, retries.base_seconds * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=step * random.uniform(0.5, 1.0))


def _async_mdn(runtime: Runtime, headers: list[tuple[str, str]], body: bytes, message_id: str) -> Answer:
    """An asynchronous MDN for one of our messages: verified, then the document is delivered (or not)."""
    their_id = next((v.strip().strip('"') for k, v in headers if k.lower() == "as2-from"), None)
    profile = _partner_by_as2_id(runtime, their_id)
    with unit_of_work(runtime.sessions) as uow:
        row = (
            uow.session.scalars(
                select(As2Message).where(
                    As2Message.partner_id == profile.id,
                    As2Message.direction == Direction.OUTBOUND,
                    As2Message.message_id == message_id,
                )
            ).first()
            if profile is not None
            else None
        )
        found = (row.id, row.mic) if row is not None else None
    if profile is None or found is None:
        note = f"an MDN for {message_id}, which we did not send to {their_id}"
        log.warning("AS2: %s", note)
        return Answer(400, {"Content-Type": "text/plain"}, f"refused: {note}\n".encode(), note=note)
    us, them = agreement(runtime, profile)
    result = read_mdn(us, them, headers, body, message_id=message_id, mic=found[1])
    _settle(runtime, profile, found[0], result, raw(headers, body))
    return Answer(200, {"Content-Type": "text/plain"}, b"MDN received\n", note=result.describe())


@dataclass
class As2Round:
    """What one round of AS2 deliveries to a partner did."""

    delivered: list[str] = field(default_factory=list)  # names whose MDN confirmed delivery
    error: str | None = None  # the failure that stopped the round


def deliver_as2(runtime: Runtime, profile: PartnerProfile) -> As2Round:
    """Send the partner's pending documents over AS2 (each once due: new, or its resend's time has
    come). A connection failure stops the round: the rest wait for the next one."""
    us, them = agreement(runtime, profile)
    with unit_of_work(runtime.sessions) as uow:
        waiting = uow.outbound.pending_ids([profile.id])
    done = As2Round()
    delivered = done.delivered
    for document_id in waiting:
        claim = _claim(runtime, profile, us, document_id)
        if claim is None:
            continue
        row_id, message_id, name, content = claim
        crash_point("as2_claimed")
        try:
            outgoing = build_message(us, them, content, file_name=name, message_id=message_id)
            _remember_mic(runtime, row_id, outgoing.mic)
            mdn = send(them, outgoing)
        except (TransportError, As2ConfigError) as error:
            _failed(runtime, profile, row_id, str(error))
            log.warning("AS2 delivery of %s to %s failed: %s", name, profile.id, error)
            done.error = str(error)
            break
        crash_point("as2_posted")
        if mdn is None:  # asynchronous (wait for it) or none asked for (delivered on the HTTP 2xx)
            if them.mdn == "none":
                _settle(runtime, profile, row_id, MdnResult(message_id, "processed", None), None)
                delivered.append(name)
            else:
                _await_mdn(runtime, profile, row_id)
            continue
        headers, body = mdn
        result = read_mdn(us, them, headers, body, message_id=message_id, mic=outgoing.mic)
        if _settle(runtime, profile, row_id, result, raw(headers, body)):
            delivered.append(name)
    return done


def _claim(runtime: Runtime, profile: PartnerProfile, us: Us, document_id: int) -> tuple[int, str, str, bytes] | None:
    """Take the document for one send: its row (created with a new Message-ID the first time), kept
    from other senders until the partner's timeout has passed; None when it is not due."""
    settings = profile.mailbox
    assert isinstance(settings, As2Server)
    now = runtime.now()
    with unit_of_work(runtime.sessions) as uow:
        held = uow.outbound.hold_pending([document_id])
        if not held:
            return None
        document: OutboundDocument = held[0]
        row = uow.session.scalars(select(As2Message).where(As2Message.outbound_document_id == document_id)).first()
        if row is None:
            row = As2Message(
                partner_id=profile.id, direction=Direction.OUTBOUND, status=As2Status.SENDING,
                message_id=f"{uuid.uuid4().hex}@{us.domain}", outbound_document_id=document_id,
                file_name=document.file_name, attempts=0, created_at=now,
            )  # fmt: skip
            uow.session.add(row)
        elif row.status is As2Status.DELIVERED or (row.next_attempt_at is not None and row.next_attempt_at > now):
            return None
        row.attempts += 1
        row.status, row.updated_at = As2Status.SENDING, now
        # Kept from other senders for twice the partner's timeout: a send in flight has ended by then.
        row.next_attempt_at = now + timedelta(seconds=2 * settings.timeout_seconds)
        uow.session.flush()
        name = document.file_name or f"document-{document.id}.x12"
        return row.id, row.message_id, name, document.content


def _remember_mic(runtime: Runtime, row_id: int, mic: str | None) -> None:
    with unit_of_work(runtime.sessions) as uow:
        row = uow.session.get(As2Message, row_id)
        if row is not None:
            row.mic = mic


def _failed(runtime: Runtime, profile: PartnerProfile, row_id: int, error: str) -> None:
    settings = profile.mailbox
    assert isinstance(settings, As2Server)
    with unit_of_work(runtime.sessions) as uow:
        row = uow.session.get(As2Message, row_id)
        if row is not None and row.status is not As2Status.DELIVERED:
            now = runtime.now()
            row.status, row.last_error, row.updated_at = As2Status.FAILED, error, now
            row.next_attempt_at = now + _backoff(settings, row.attempts)


def _await_mdn(runtime: Runtime, profile: PartnerProfile, row_id: int) -> None:
    """Sent, asynchronous MDN asked for: resend only if it has not come within ``mdn_wait_seconds``."""
    settings = profile.mailbox
    assert isinstance(settings, As2Server)
    with unit_of_work(runtime.sessions) as uow:
        row = uow.session.get(As2Message, row_id)
        if row is not None and row.status is As2Status.SENDING:
            now = runtime.now()
            row.updated_at, row.next_attempt_at = now, now + timedelta(seconds=settings.mdn_wait_seconds)


def _settle(runtime: Runtime, profile: PartnerProfile, row_id: int, result: MdnResult, mdn: bytes | None) -> bool:
    """Record what the MDN said: the document is marked sent only when it verified as processed."""
    with unit_of_work(runtime.sessions) as uow:
        row = uow.session.get(As2Message, row_id)
        if row is None:
            return False
        now = runtime.now()
        row.updated_at = now
        if mdn is not None:
            row.mdn = mdn
        if row.status is As2Status.DELIVERED:
            return False
        if result.delivered:
            row.status, row.last_error, row.next_attempt_at = As2Status.DELIVERED, None, None
            if row.outbound_document_id is not None:
                uow.outbound.mark_sent_many([row.outbound_document_id], at=now)
            return True
    _failed(runtime, profile, row_id, f"the MDN did not confirm delivery: {result.describe()}")
    log.warning("AS2 message %s to %s not delivered: %s", row_id, profile.id, result.describe())
    return False
