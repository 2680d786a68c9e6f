"""AS2 (RFC 4130) with pyas2lib: build, sign, encrypt and post messages; receive them and answer
with the MDN the sender asked for; read MDNs. Moves bytes and knows nothing about orders.

Certificate rollover: a partner may have several certificates valid at once, and we may have
several keys. Inbound, every pairing is tried (our keys to decrypt, their certificates to verify)
before a message is refused; outbound, the first of each is used. A refusal names the partner,
the Message-ID and the AS2 disposition (``decryption-failed``, ``authentication-failed``, ...).
"""

from __future__ import annotations

import base64
import contextlib
import email.encoders
import logging
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as MimeMessage
from itertools import islice, product
from typing import Any, Literal

import httpx

from transport.mailbox import TransportError
from transport.oscrypto_fix import load_oscrypto

load_oscrypto()  # before pyas2lib imports oscrypto

import pyas2lib.as2  # noqa: E402
from pyas2lib import Mdn, Message, Organization, Partner  # noqa: E402
from pyas2lib.exceptions import (  # noqa: E402
    AS2Exception,
    DecryptionError,
    ImproperlyConfigured,
    IntegrityError,
    MDNNotFound,
)

# pyas2lib logs whole payloads at debug level and tracebacks at error level; we report refusals ourselves.
logging.getLogger("pyas2lib").setLevel(logging.CRITICAL)


class _PayloadsAsBinary:
    """pyas2lib's ``encoders``, except that an ``application/*`` payload is sent as binary.

    pyas2lib marks the payload 7bit, and the email generator then turns every LF into CRLF before
    signing: an X12 file written with ``~`` and LF would reach the partner with CRLF, consistently
    signed, so nothing would tell. Binary keeps the bytes as they are (pyas2lib already does so for
    ``application/octet-stream``). The MDN's text parts keep 7bit; signatures keep base64.
    """

    encode_base64 = staticmethod(email.encoders.encode_base64)

    @staticmethod
    def encode_7or8bit(part: MimeMessage) -> None:
        if part.get_content_maintype() == "application":
            part["Content-Transfer-Encoding"] = "binary"
        else:
            email.encoders.encode_7or8bit(part)


pyas2lib.as2.encoders = _PayloadsAsBinary

MdnMode = Literal["sync", "async", "none"]
_MODES: Mapping[str, str | None] = {"sync": "SYNC", "async": "ASYNC", "none": None}
#: The names S/MIME gives its wrappers (signed, encrypted, compressed), never an EDI file's.
_SMIME_NAMES = frozenset({"smime.p7m", "smime.p7s", "smime.p7z"})
#: Refusals worth another pairing of our keys and their certificates (a rollover in progress).
_KEY_ERRORS = (DecryptionError, IntegrityError)


class As2ConfigError(ValueError):
    """A key, certificate or setting that pyas2lib cannot use; the message says which."""


@dataclass(frozen=True)
class KeyPair:
    """One of our private keys with its certificate (PEM, both in one file)."""

    pem: bytes
    passphrase: str | None = None


@dataclass(frozen=True)
class Us:
    """Our side of an agreement: our AS2 name, our keys (current first) and our async-MDN URL."""

    as2_id: str
    keys: tuple[KeyPair, ...] = ()
    mdn_url: str | None = None  # where partners post asynchronous MDNs to us
    domain: str = "edi-engine"  # the part of our Message-IDs after the "@"


@dataclass(frozen=True)
class Them:
    """The partner's side: AS2 name, URL, certificates (current first) and what the agreement requires.

    ``sign`` and ``encrypt`` hold both ways: we sign and encrypt what we send, and refuse what
    they send unsigned or unencrypted.
    """

    as2_id: str
    url: str
    certificates: tuple[bytes, ...] = ()
    sign: bool = True
    encrypt: bool = True
    compress: bool = False
    encryption: str = "aes_256_cbc"
    digest: str = "sha256"
    mdn: MdnMode = "sync"
    signed_mdn: bool = True
    timeout: float = 60.0
    verify_tls: str | bool = True  # a CA file for their HTTPS certificate, or the system's


@dataclass(frozen=True)
class Outgoing:
    """A message ready to post: its Message-ID, HTTP headers and body, and its MIC."""

    message_id: str
    headers: dict[str, str]
    body: bytes
    mic: str | None  # base64 digest of what was signed, to compare with the MDN's Received-Content-MIC


@dataclass(frozen=True)
class MdnResult:
    """What a partner's MDN says about one of our messages, once verified."""

    original_message_id: str | None
    status: str  # "processed", or "processed/Error", "failed/Failure", "processed/warning", ...
    detail: str | None

    @property
    def delivered(self) -> bool:
        return self.status == "processed"

    def describe(self) -> str:
        return f"{self.status}: {self.detail}" if self.detail else self.status


@dataclass
class Received:
    """An inbound message after decrypting and verifying, with the MDN to answer it with."""

    message_id: str | None
    their_id: str | None  # AS2-From
    our_id: str | None  # AS2-To
    status: str  # "processed", or the disposition type of the refusal
    detail: str | None  # the disposition modifier (decryption-failed, authentication-failed, ...)
    error: str | None
    payload: bytes | None
    file_name: str | None
    mdn_mode: MdnMode  # what the sender asked for
    mdn_url: str | None  # where an asynchronous MDN goes
    _message: Message | None = field(default=None, repr=False)
    _mdn: Mdn | None = field(default=None, repr=False)

    @property
    def accepted(self) -> bool:
        return self.status == "processed"

    def answer(self, status: str | None = None, detail: str | None = None) -> tuple[dict[str, str], bytes] | None:
        """The MDN's headers and body (None when no MDN was asked for); with ``status``, an MDN
        rebuilt with that disposition (when storing the payload failed after it was verified)."""
        if self._mdn is None or self._message is None:
            return None
        mdn = self._mdn
        if status is not None:
            mdn = Mdn(mdn_mode=mdn.mdn_mode, digest_alg=mdn.digest_alg, mdn_url=mdn.mdn_url)
            mdn.build(message=self._message, status=status, detailed_status=detail)
        return http_headers(mdn.headers), _body(mdn.content)


def organization(us: Us, key: KeyPair | None = None) -> Organization:
    key = key or (us.keys[0] if us.keys else None)
    try:
        return Organization(
            as2_name=us.as2_id,
            sign_key=key.pem if key else None,
            sign_key_pass=key.passphrase if key else None,
            decrypt_key=key.pem if key else None,
            decrypt_key_pass=key.passphrase if key else None,
            mdn_url=us.mdn_url,
            domain=us.domain,
        )
    except (AS2Exception, ValueError, OSError) as error:
        raise As2ConfigError(f"our AS2 key for {us.as2_id}: {error}") from error


def partner(them: Them, certificate: bytes | None = None) -> Partner:
    certificate = certificate or (them.certificates[0] if them.certificates else None)
    try:
        return Partner(
            as2_name=them.as2_id,
            verify_cert=certificate,
            encrypt_cert=certificate,
            compress=them.compress,
            encrypt=them.encrypt,
            enc_alg=them.encryption,
            sign=them.sign,
            digest_alg=them.digest,
            mdn_mode=_MODES[them.mdn],
            mdn_digest_alg=them.digest if them.signed_mdn and them.mdn != "none" else None,
        )
    except ImproperlyConfigured as error:
        raise As2ConfigError(f"AS2 settings for {them.as2_id}: {error}") from error


def build_message(us: Us, them: Them, data: bytes, *, file_name: str, message_id: str) -> Outgoing:
    """The message carrying ``data``, signed, compressed and encrypted as the agreement says.

    ``message_id`` ("left@right") is kept as given, so a resend carries the same Message-ID.
    """
    left, _, right = message_id.partition("@")
    sender = organization(Us(us.as2_id, us.keys, us.mdn_url, right or us.domain))
    message = Message(sender=sender, receiver=partner(them))
    try:
        message.build(data, filename=file_name, content_type="application/edi-x12", message_id=left,
                      disposition_notification_to=f"{us.as2_id}@{right or us.domain}")  # fmt: skip
    except (AS2Exception, ImproperlyConfigured, ValueError) as error:
        raise As2ConfigError(f"cannot build an AS2 message for {them.as2_id}: {error}") from error
    mic = message.mic.decode() if message.mic else None
    return Outgoing(message.message_id, http_headers(message.headers), _body(message.content), mic)


def post(
    url: str, headers: Mapping[str, str], body: bytes, *, timeout: float, verify: str | bool = True
) -> httpx.Response:
    """POST a message or an MDN; a connection failure or an HTTP error is a ``TransportError``."""
    trust: ssl.SSLContext | bool = ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
    try:
        response = httpx.post(url, content=body, headers=dict(headers), timeout=timeout, verify=trust)
    except httpx.HTTPError as error:
        raise TransportError(f"AS2 POST to {url} failed: {type(error).__name__}: {error}") from error
    if response.status_code >= 300:
        raise TransportError(f"AS2 POST to {url} answered HTTP {response.status_code}: {response.text[:200]!r}")
    return response


def send(them: Them, outgoing: Outgoing) -> tuple[list[tuple[str, str]], bytes] | None:
    """Post the message; the synchronous MDN that came back as received (headers and body, not yet
    verified: see ``read_mdn``), or None when none was asked for."""
    response = post(them.url, outgoing.headers, outgoing.body, timeout=them.timeout, verify=them.verify_tls)
    if them.mdn != "sync":
        return None
    if not response.content:
        raise TransportError(f"{them.url} answered without the synchronous MDN that was asked for")
    return list(response.headers.multi_items()), response.content


def as_mime(headers: Iterable[tuple[str, str]], body: bytes) -> MimeMessage:
    """An HTTP message as the MIME entity AS2 defines it to be (headers, blank line, body)."""
    return message_from_bytes(raw(headers, body))


def raw(headers: Iterable[tuple[str, str]], body: bytes) -> bytes:
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return lines.encode("utf-8", "surrogateescape") + b"\r\n" + body


def original_message_id(headers: Iterable[tuple[str, str]], body: bytes) -> str | None:
    """The Original-Message-ID of an MDN, or None when the body is not an MDN (but a message)."""
    mdn = Mdn()
    mdn.payload = as_mime(headers, body)
    try:
        message_id, _recipient = mdn.detect_mdn()
    except MDNNotFound:
        return None
    return str(message_id) if message_id else None


def read_mdn(
    us: Us, them: Them, headers: Iterable[tuple[str, str]], body: bytes, *, message_id: str, mic: str | None
) -> MdnResult:
    """Verify a partner's MDN for our message ``message_id``: its Original-Message-ID, its
    signature (each of their certificates in turn) when the agreement asks for a signed MDN, and
    the Received-Content-MIC against ``mic``. Anything else than all of that is not delivered."""
    content = raw(list(headers), body)
    result = MdnResult(None, "failed/Failure", "no certificate to verify the MDN with")
    for certificate in them.certificates or (None,):
        original = Message(sender=organization(us), receiver=partner(them, certificate))
        original.message_id, original.mic = message_id, mic.encode() if mic else None
        mdn = Mdn()
        status, detail = mdn.parse(
            content, lambda found, _recipient, original=original: original if found == message_id else None
        )
        if mdn.orig_message_id and mdn.orig_message_id != message_id:
            return MdnResult(mdn.orig_message_id, "failed/Failure", f"the MDN is for {mdn.orig_message_id}")
        result = MdnResult(mdn.orig_message_id, str(status), str(detail) if detail else None)
        if not (detail and "Failed to parse received MDN" in str(detail)):  # a signature that did not verify
            return result
    return result


def receive(
    headers: Iterable[tuple[str, str]], body: bytes, agreement: Callable[[str, str], tuple[Us, Them] | None]
) -> Received:
    """Decrypt and verify an inbound message for the pair ``agreement(as2_to, as2_from)`` returns,
    trying each of our keys and each of their certificates; the payload and the MDN to answer with.

    Never raises for what the sender got wrong: a refusal is a ``Received`` that is not accepted,
    whose MDN carries the AS2 disposition.
    """
    headers = list(headers)
    # HTTP has no Content-Transfer-Encoding: a sender that base64-encodes the body says so in one,
    # which pyas2lib would otherwise copy onto the decrypted payload and "decode" it again.
    encoding = next((v.strip().lower() for k, v in reversed(headers) if k.lower() == "content-transfer-encoding"), None)
    if encoding == "base64":
        with contextlib.suppress(ValueError):  # not base64 after all: pyas2lib refuses it below
            body = base64.b64decode(body)
    content = raw([(k, v) for k, v in headers if k.lower() != "content-transfer-encoding"], body)
    choice: dict[str, Any] = {"key": None, "certificate": None, "pair": None}

    def find(our_id: str, their_id: str) -> tuple[Organization | None, Partner | None]:
        choice["pair"] = pair = agreement(our_id, their_id)
        if pair is None:
            return None, None
        return organization(pair[0], choice["key"]), partner(pair[1], choice["certificate"])

    attempt = _parse(content, find)  # the first try finds the agreement, with our first key and their first certificate
    if choice["pair"] is not None and isinstance(attempt[2], _KEY_ERRORS):
        us, them = choice["pair"]
        for key, certificate in islice(product(us.keys or (None,), them.certificates or (None,)), 1, None):
            choice.update(key=key, certificate=certificate)
            attempt = _parse(content, find)
            if not isinstance(attempt[2], _KEY_ERRORS):
                break
    return _received(*attempt)


def _parse(
    content: bytes, find: Callable[[str, str], tuple[Organization | None, Partner | None]]
) -> tuple[Message, str, BaseException | None, Mdn | None]:
    message = Message()
    try:
        status, (exception, _trace), mdn = message.parse(content, find_org_partner_cb=find)
    except Exception as error:  # a message pyas2lib cannot even read (no AS2 headers, broken MIME)
        return message, "processed/Error", error, None
    return message, str(status), exception, mdn


def _received(message: Message, status: str, exception: BaseException | None, mdn: Mdn | None) -> Received:
    headers = {k.lower(): v for k, v in (message.payload.items() if message.payload is not None else [])}
    accepted = exception is None and status == "processed"
    payload = None
    file_name = None
    if accepted and message.payload is not None:
        payload = message.payload.get_payload(decode=True)
        file_name = message.payload.get_filename()
        if file_name in _SMIME_NAMES:  # pyas2lib copies the outer headers in: the wrapper's name, not the file's
            file_name = None
    detail = getattr(exception, "disposition_modifier", None) or (None if accepted else "unexpected-processing-error")
    mode: MdnMode = "none"
    if headers.get("disposition-notification-to"):
        mode = "async" if headers.get("receipt-delivery-option") else "sync"
    return Received(
        message_id=message.message_id,
        their_id=_unquote(headers.get("as2-from")),
        our_id=_unquote(headers.get("as2-to")),
        status="processed" if accepted else getattr(exception, "disposition_type", "processed/Error"),
        detail=None if accepted else detail,
        error=None if accepted else _reason(exception),
        payload=payload if isinstance(payload, bytes) else None,
        file_name=file_name,
        mdn_mode=mode,
        mdn_url=headers.get("receipt-delivery-option"),
        _message=message,
        _mdn=mdn,
    )


def _reason(exception: BaseException | None) -> str:
    if exception is None:
        return "refused"
    text = str(exception).strip() or type(exception).__name__
    return text.splitlines()[0]


def _unquote(value: str | None) -> str | None:
    return value.strip().strip('"') if value else None


def http_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    """MIME headers as HTTP headers: unfolded, one line each."""
    return {str(k): " ".join(str(v).split()) for k, v in headers.items()}


def _body(content: bytes | str) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content
