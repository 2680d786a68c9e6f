"""The workspace configuration (``edi-engine.toml``): where the database, partners, outbox and
archive are, and who we are on the wire. Every path is relative to the workspace folder."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.alerts.settings import AlertsSettings
from mappings.profile import KeyFile

CONFIG_NAME = "edi-engine.toml"


class ConfigError(ValueError):
    """The configuration file is missing or wrong; the message names the file."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OurIdentity(Strict):
    """Our own ISA and GS identity, the other end of every partner's envelope."""

    isa_qualifier: str = Field(default="ZZ", min_length=2, max_length=2)
    isa_id: str = Field(default="ACMESUPPLY", min_length=1, max_length=15)
    gs_code: str = Field(default="ACMESUPPLY", min_length=2, max_length=15)


class As2Settings(Strict):
    """Our AS2 side: our AS2 name, our keys (current first; PEM key and certificate in one file,
    relative to the workspace), the partner-facing listener, and the URL partners post
    asynchronous MDNs to. ``tls_certificate``/``tls_key`` make the listener HTTPS."""

    as2_id: str = Field(default="ACMESUPPLY", min_length=1, max_length=128)
    keys: list[KeyFile] = []
    listen: str = Field(default="127.0.0.1:4080", pattern=r"^[^:]*:\d{1,5}$")
    mdn_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    domain: str = Field(default="edi-engine", pattern=r"^[A-Za-z0-9.-]+$")  # after the "@" of our Message-IDs
    tls_certificate: str | None = None
    tls_key: str | None = None


class Organisation(Strict):
    """A supplier organisation whose people use the portal: each partner trades with one
    (``organisation`` in its profile), and its users see only those partners' orders."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1)


class PortalSettings(Strict):
    """The supplier portal's sessions and login limits (README, "Supplier portal"). A session ends
    after ``idle_minutes`` without a request, and ``session_hours`` after login whatever happens;
    ``login_failures`` failed logins within ``login_window_minutes``, for one e-mail address or
    from one client address, lock that key for ``lockout_minutes``."""

    idle_minutes: float = Field(default=30, gt=0, le=24 * 60)
    session_hours: float = Field(default=12, gt=0, le=24 * 30)
    login_failures: int = Field(default=5, ge=1, le=1000)
    login_window_minutes: float = Field(default=15, gt=0, le=24 * 60)
    lockout_minutes: float = Field(default=15, gt=0, le=24 * 60)


#: The organisation of a workspace that names none: the supplier the workspace is.
DEFAULT_ORGANISATION = "default"


class Settings(Strict):
    database: str = "sqlite:///var/engine.db"
    partners: str = "partners"
    inbox: str = "var/inbox"
    outbox: str = "var/outbox"
    archive: str = "var/archive"
    #: How long a poll holds its mailbox; a lease left by a killed process lapses after this.
    lease_seconds: float = Field(default=300.0, gt=0, le=86_400)
    us: OurIdentity = OurIdentity()
    organisations: list[Organisation] = []
    as2: As2Settings = As2Settings()
    alerts: AlertsSettings = AlertsSettings()
    portal: PortalSettings = PortalSettings()


class Workspace:
    """A loaded configuration with its paths resolved against the workspace folder."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root.resolve()
        self.settings = settings

    @property
    def database_url(self) -> str:
        url = self.settings.database
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/"):
            return prefix + str(self.root / url[len(prefix) :])
        return url

    def path(self, relative: str) -> Path:
        return (self.root / relative).resolve()

    @property
    def partners_dir(self) -> Path:
        return self.path(self.settings.partners)

    @property
    def inbox_dir(self) -> Path:
        return self.path(self.settings.inbox)

    @property
    def outbox_dir(self) -> Path:
        return self.path(self.settings.outbox)

    @property
    def archive_dir(self) -> Path:
        return self.path(self.settings.archive)

    @property
    def organisations(self) -> list[Organisation]:
        """The configured organisations, or the one the workspace is (named by our ISA id)."""
        return self.settings.organisations or [Organisation(id=DEFAULT_ORGANISATION, name=self.settings.us.isa_id)]


def load_workspace(root: Path) -> Workspace:
    """Read ``edi-engine.toml`` in ``root`` (or its parents)."""
    folder = root.resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / CONFIG_NAME
        if path.exists():
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
                return Workspace(candidate, Settings.model_validate(data))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
            except ValidationError as exc:
                problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
                raise ConfigError(f"{path}: {problems}") from exc
    raise ConfigError(f"no {CONFIG_NAME} in {folder} or above it; create one with `edi-engine init`")


DEFAULT_CONFIG = """\
# edi-engine workspace. Paths are relative to this folder.
database = "sqlite:///var/engine.db"   # or postgresql+psycopg://user@host/dbname
partners = "partners"                  # one folder per trading partner: profile.yaml, samples/
inbox = "var/inbox"                    # local mailboxes: files partners drop for us, one folder each
outbox = "var/outbox"                  # documents we send, written through a temporary name
archive = "var/archive"                # every inbound file, byte for byte, before anything else
lease_seconds = 300                    # how long a poll holds its mailbox (one poller at a time)

[us]                                   # our own identity on the wire
isa_qualifier = "ZZ"
isa_id = "ACMESUPPLY"
gs_code = "ACMESUPPLY"

# Supplier organisations whose users log in to the portal; a partner's profile names its own
# (organisation: acme). Without any, the workspace is one organisation, "default".
# [[organisations]]
# id = "acme"
# name = "Acme Supply Co."

# AS2 (README, "AS2"): our AS2 name, keys and the partner-facing listener.
# [as2]
# as2_id = "ACMESUPPLY"
# keys = [{file = "keys/acme.pem", passphrase = {env = "ACME_AS2_KEY_PASSPHRASE"}}]
# listen = "127.0.0.1:4080"

# The supplier portal (README, "Supplier portal"): sessions and login limits.
# [portal]
# idle_minutes = 30                    # a session ends after this long without a request
# session_hours = 12                   # and this long after login, whatever happens
# login_failures = 5                   # this many failed logins for one e-mail or from one address
# login_window_minutes = 15            # within this long
# lockout_minutes = 15                 # lock it for this long

# Alerts (README, "Alerts"): retailer cancels and changes, rejected or overdue 997s, quarantined
# files, failing mailboxes, certificates near expiry. Always recorded (edi-engine alerts); sent
# once a channel is set up here. Secrets are named ({env = "NAME"} or {file = "path"}), never written.
# [alerts]
# kinds = ["retailer_cancel", "retailer_change", "rejected_997", "overdue_997", "quarantine", "mailbox_failing", "certificate"]
# [alerts.email]
# host = "smtp.example.com"
# port = 587
# starttls = true
# from = "edi-engine@example.com"
# to = ["edi-team@example.com"]
# username = "edi-engine"
# password = {env = "EDI_SMTP_PASSWORD"}
# [alerts.webhook]
# url = "https://hooks.example.com/edi-engine"
# secret = {env = "EDI_WEBHOOK_SECRET"}   # signs each POST: X-Edi-Engine-Signature
"""
