"""The two ways an alert reaches a person: e-mail over SMTP, and a signed HTTP POST (webhook).

A channel's ``send`` either delivers one alert or raises ``DeliveryError``, saying whether the
whole channel is down (no connection, a timeout, a 5xx: the other alerts wait too) or only this
alert was refused. Secrets are read when a channel first needs them, from the environment or a
file, and registered with ``engine.logs`` so that no log line ever shows them.

The webhook signature
---------------------
Each POST carries ``X-Edi-Engine-Timestamp: <unix seconds>`` and ``X-Edi-Engine-Signature:
sha256=<hex>``, the HMAC-SHA256, keyed with the shared secret (UTF-8), of the timestamp (ASCII
digits), a full stop, and the body's exact bytes: ``HMAC(secret, b"<timestamp>." + body)``. A
receiver recomputes it over the bytes it received (before parsing any JSON), compares in constant
time, and refuses a timestamp more than a few minutes from its own clock, so that a recorded
request cannot be replayed later; ``verify`` does all three. The body's ``key`` names the
condition, the same on every retry: a receiver that has seen it may drop the repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from engine.alerts.settings import EmailSettings, WebhookSettings
from engine.alerts.store import AlertMessage, ChannelName
from engine.config import CONFIG_NAME
from engine.mailboxes import MailboxError, secret_value
from engine.runtime import Runtime
from mappings.profile import Secret

SIGNATURE_HEADER = "X-Edi-Engine-Signature"
TIMESTAMP_HEADER = "X-Edi-Engine-Timestamp"
ALERT_HEADER = "X-Edi-Engine-Alert"  # the alert's key, in mails and posts alike
#: How far a webhook's timestamp may be from the receiver's clock (``verify``'s default).
TOLERANCE_SECONDS = 300


class DeliveryError(Exception):
    """One alert was not delivered; ``channel_down`` when the others would fail the same way."""

    def __init__(self, message: str, *, channel_down: bool) -> None:
        super().__init__(message)
        self.channel_down = channel_down


class Channel(Protocol):
    name: ChannelName

    def send(self, alert: AlertMessage) -> None: ...

    def close(self) -> None: ...


def read_secret(secret: Secret, root: Path, setting: str) -> str:
    """The secret ``[alerts] <setting>`` names, registered as one to mask; a ``DeliveryError``
    naming the variable or the file (never a value) when it is not there."""
    try:
        return secret_value(secret, root)
    except MailboxError as error:
        where = f"the environment variable {secret.env}" if secret.env else f"the file {root / (secret.file or '')}"
        cause = error.__cause__
        why = (
            f", which cannot be read: {cause.strerror or cause}" if isinstance(cause, OSError) else ", which is not set"
        )
        raise DeliveryError(f"{CONFIG_NAME} [alerts] {setting} names {where}{why}", channel_down=True) from None


# -- e-mail --------------------------------------------------------------------------------------------
class EmailChannel:
    """Alerts as plain-text mail through one SMTP connection per run (opened on the first alert)."""

    name: ChannelName = "email"

    def __init__(self, settings: EmailSettings, runtime: Runtime) -> None:
        self.settings = settings
        self.runtime = runtime
        self._smtp: smtplib.SMTP | None = None

    def recipients(self, partner_id: str | None) -> list[str]:
        """The workspace's recipients, then the partner's own, each once."""
        profile = self.runtime.partners.get(partner_id) if partner_id else None
        extra = profile.alerts.to if profile is not None else []
        return list(dict.fromkeys([*self.settings.to, *extra]))

    def message(self, alert: AlertMessage) -> EmailMessage:
        settings = self.settings
        mail = EmailMessage()
        mail["Subject"] = f"[edi-engine] {alert.subject}"
        mail["From"] = settings.sender
        mail["To"] = ", ".join(self.recipients(alert.partner_id))
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = make_msgid("alert", domain=settings.sender.rpartition("@")[2])
        mail[ALERT_HEADER] = alert.key
        partner = f"Partner: {alert.partner_id}\n" if alert.partner_id else ""
        mail.set_content(
            f"{alert.text}\n\n-- \n{partner}Alert {alert.key} ({alert.kind.value}), "
            f"recorded {alert.created_at:%Y-%m-%d %H:%M UTC}. edi-engine alerts lists every alert.\n"
        )
        return mail

    def send(self, alert: AlertMessage) -> None:
        message = self.message(alert)
        if not message["To"]:
            raise DeliveryError(
                "no recipients: neither [alerts.email] to nor the partner's alerts.to", channel_down=False
            )
        smtp = self._connection()
        try:
            smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            raise DeliveryError(
                f"the SMTP server refused every recipient: {_said(error)}", channel_down=False
            ) from None
        except smtplib.SMTPDataError as error:
            raise DeliveryError(
                f"the SMTP server refused the message: {_said(error)}", channel_down=error.smtp_code < 500
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise DeliveryError(f"sending through {self._server}: {_said(error)}", channel_down=True) from None

    @property
    def _server(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        settings = self.settings
        password = (
            read_secret(settings.password, self.runtime.workspace.root, "email.password") if settings.password else None
        )
        try:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
        except OSError as error:
            raise DeliveryError(
                f"cannot connect to the SMTP server {self._server}: {_said(error)}", channel_down=True
            ) from None
        try:
            smtp.ehlo()
            if settings.starttls:
                ca_file = self.runtime.workspace.path(settings.ca_file) if settings.ca_file else None
                smtp.starttls(context=ssl.create_default_context(cafile=ca_file))
                smtp.ehlo()
            if settings.username is not None and password is not None:
                smtp.login(settings.username, password)
        except (smtplib.SMTPException, OSError) as error:
            smtp.close()
            raise DeliveryError(f"the SMTP server {self._server}: {_said(error)}", channel_down=True) from None
        self._smtp = smtp
        return smtp

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def _said(error: BaseException) -> str:
    """An SMTP or socket error in a sentence (the server's reply as text, not bytes)."""
    if isinstance(error, smtplib.SMTPResponseException):
        reply = (
            error.smtp_error.decode("utf-8", "replace")
            if isinstance(error.smtp_error, bytes)
            else str(error.smtp_error)
        )
        return f"{error.smtp_code} {' '.join(reply.split())}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{who}: {code} {reply.decode('utf-8', 'replace')}" for who, (code, reply) in error.recipients.items()
        )
    return str(error) or type(error).__name__


# -- webhook -------------------------------------------------------------------------------------------
def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Edi-Engine-Signature`` value for ``body`` posted at ``timestamp``."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None,
    tolerance: float = TOLERANCE_SECONDS,
) -> bool:  # fmt: skip
    """What a receiver checks: the signature is ours for these exact bytes, and the timestamp is recent."""
    if not timestamp.isdigit() or abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL: what errors name (a webhook's path often holds a token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


class WebhookChannel:
    """Alerts as signed JSON POSTs, through one HTTP client per run."""

    name: ChannelName = "webhook"

    def __init__(self, settings: WebhookSettings, runtime: Runtime, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.runtime = runtime
        self.clock = clock  # the wall clock: receivers compare the timestamp with theirs
        self._secret: str | None = None
        self._client: httpx.Client | None = None

    def body(self, alert: AlertMessage) -> bytes:
        profile = self.runtime.partners.get(alert.partner_id) if alert.partner_id else None
        payload = {**alert.as_json(), "partner_name": profile.name if profile is not None else None}
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def send(self, alert: AlertMessage) -> None:
        if self._secret is None:
            self._secret = read_secret(self.settings.secret, self.runtime.workspace.root, "webhook.secret")
        if self._client is None:
            self._client = httpx.Client(timeout=self.settings.timeout_seconds, follow_redirects=False)
        body = self.body(alert)
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "edi-engine",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
            ALERT_HEADER: alert.key,
        }
        where = origin(self.settings.url)
        try:
            response = self._client.post(self.settings.url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise DeliveryError(
                f"{where} did not answer within {self.settings.timeout_seconds:g}s", channel_down=True
            ) from None
        except httpx.HTTPError as error:
            raise DeliveryError(f"cannot post to {where}: {error or type(error).__name__}", channel_down=True) from None
        if not response.is_success:
            said = " ".join(response.text[:200].split())
            down = response.status_code >= 500 or response.status_code in (408, 429)
            raise DeliveryError(
                f"{where} answered HTTP {response.status_code}{f': {said}' if said else ''}", channel_down=down
            )

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
