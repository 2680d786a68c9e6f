"""The ``[alerts]`` section of ``edi-engine.toml``: where alerts go, and which are sent.

Secrets (the SMTP password, the webhook's signing secret) are never written here: the section
names an environment variable or a file (relative to the workspace) that holds each, read when
it is needed and masked in every log line.
"""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mappings.profile import Secret
from mappings.profile_alerts import AlertKind, EmailAddress


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _not_written_here(value: object) -> object:
    if isinstance(value, str):
        raise ValueError(
            'a secret is never written in edi-engine.toml: name an environment variable ({env = "NAME"}) '
            'or a file ({file = "path"}, relative to the workspace) that holds it'
        )
    return value


class EmailSettings(Strict):
    """An SMTP server that relays our alerts. Use STARTTLS (port 587) for anything beyond this host:
    a login is refused without it, since the password would cross the network in clear text."""

    host: str = Field(min_length=1)
    port: int = Field(default=25, ge=1, le=65535)
    sender: EmailAddress = Field(alias="from")
    to: list[EmailAddress] = []  # every alert; partners' profiles may add their own (alerts.to)
    starttls: bool = False
    ca_file: str | None = None  # a CA bundle (relative to the workspace) for the server's certificate
    username: str | None = Field(default=None, min_length=1)
    password: Secret | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    _secret = field_validator("password", mode="before")(_not_written_here)

    @model_validator(mode="after")
    def _login(self) -> EmailSettings:
        if (self.username is None) != (self.password is None):
            raise ValueError("a login needs both username and password (or neither)")
        if self.username is not None and not self.starttls:
            raise ValueError("a login needs starttls = true: the password would cross the network in clear text")
        return self


class WebhookSettings(Strict):
    """An HTTP(S) endpoint that receives each alert as a JSON POST, signed with ``secret``."""

    url: str
    secret: Secret
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    _secret = field_validator("secret", mode="before")(_not_written_here)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if re.fullmatch(r"https?://[^\s/?#]+[^\s]*", value) is None:
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value


class RetrySettings(Strict):
    """A failed send is tried again after ``base_seconds``, then twice as long each time (never
    more than ``cap_seconds``), and given up after ``attempts`` tries in all."""

    base_seconds: float = Field(default=30.0, gt=0, le=86_400)
    cap_seconds: float = Field(default=3600.0, gt=0, le=7 * 86_400)
    attempts: int = Field(default=20, ge=1, le=1000)

    def delay(self, attempts: int) -> timedelta:
        """How long to wait after the ``attempts``-th failed try."""
        return timedelta(seconds=min(self.cap_seconds, self.base_seconds * 2 ** min(attempts - 1, 60)))


class AlertsSettings(Strict):
    """Which alerts are sent (all kinds unless ``kinds`` says otherwise) and where. Without
    ``email`` or ``webhook`` nothing is sent; alerts are recorded and listed all the same."""

    kinds: list[AlertKind] = Field(default_factory=lambda: list(AlertKind))
    email: EmailSettings | None = None
    webhook: WebhookSettings | None = None
    retry: RetrySettings = RetrySettings()
    #: How far back detection looks for events (older ones were alerted, or predate alerts).
    lookback_days: float = Field(default=7.0, gt=0, le=366)
    #: A mailbox is reported once it has failed for this long (a single failed poll is often a blip).
    mailbox_failing_seconds: float = Field(default=300.0, ge=0, le=7 * 86_400)
