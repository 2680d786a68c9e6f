"""Real receivers for alerts on loopback: an SMTP server (aiosmtpd, optionally with STARTTLS and a
login, its certificate from a throwaway CA) and an HTTP server that checks each POST's signature
with its own HMAC code (not the engine's), so that a mistake in the engine's signing shows.

``open_alerting`` opens a workspace whose ``edi-engine.toml`` has an ``[alerts]`` section.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from engine.config import CONFIG_NAME
from engine.runtime import Runtime
from tests.pipeline_fixtures import Clock, add_to_profile, make_workspace
from tests.sshd_fixtures import free_port


# -- a certificate for 127.0.0.1 ------------------------------------------------------------------------
@dataclass(frozen=True)
class Certificates:
    ca: Path  # what the engine trusts (``ca_file``)
    chain: Path  # the server's certificate
    key: Path


def make_certificates(folder: Path) -> Certificates:
    """A CA and a server certificate for 127.0.0.1 signed by it, as PEM files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edi-engine test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])).issuer_name(ca_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = Certificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.chain.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


# -- SMTP ----------------------------------------------------------------------------------------------
class SmtpServer:
    """aiosmtpd on 127.0.0.1: every message it accepts, parsed, with its envelope recipients.

    ``before_accepting`` runs in the server for each message before it answers (a slow server);
    with ``certificates`` and ``login`` it offers STARTTLS and requires a login after it.
    """

    def __init__(self, *, port: int | None = None, certificates: Certificates | None = None,
                 login: tuple[str, str] | None = None, refusal: str = "535 5.7.8 Authentication failed") -> None:  # fmt: skip
        self.port = port or free_port()
        self.certificates = certificates
        self.login = login
        self.refusal = refusal
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.arrived = threading.Event()
        self.before_accepting: Callable[[], None] | None = None
        self.controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.before_accepting is not None:
            self.before_accepting()
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        self.arrived.set()
        return "250 OK"

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword) and self.login is not None
        given = (auth_data.login.decode(), auth_data.password.decode())
        if given == self.login:
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False, message=self.refusal.format(password=given[1]))

    def start(self) -> SmtpServer:
        options: dict[str, Any] = {}
        if self.certificates is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.certificates.chain, self.certificates.key)
            options |= {"tls_context": context, "require_starttls": True}
        if self.login is not None:
            options |= {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": True}
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def with_header(self, name: str, value: str) -> list[EmailMessage]:
        return [m for m in self.messages if m[name] == value]


# -- HTTP ----------------------------------------------------------------------------------------------
@dataclass
class Post:
    headers: dict[str, str]
    body: bytes
    verified: bool  # the signature checked out with the receiver's secret, and the time was recent

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


def signature_of(secret: str, timestamp: str, body: bytes) -> str:
    """The receiver's own check, written from the README's description of the scheme."""
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


@dataclass
class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that checks each POST's signature; it answers 204 when it checks
    out, 401 when not, or ``status`` (and ``reply``) while one is set (a receiver that is down)."""

    secret: str
    status: int | None = None
    reply: bytes = b""
    before_answering: Callable[[], None] | None = None
    posts: list[Post] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stamp = self.headers.get("X-Edi-Engine-Timestamp", "")
                signed = self.headers.get("X-Edi-Engine-Signature", "")
                recent = stamp.isdigit() and abs(time.time() - int(stamp)) <= 300
                ok = recent and hmac.compare_digest(signed, signature_of(receiver.secret, stamp, body))
                receiver.posts.append(Post(dict(self.headers.items()), body, ok))
                receiver.arrived.set()
                if receiver.before_answering is not None:
                    receiver.before_answering()
                status = receiver.status or (204 if ok else 401)
                self.send_response(status)
                self.send_header("Content-Length", str(len(receiver.reply)))
                self.end_headers()
                self.wfile.write(receiver.reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/edi"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


WEBHOOK_SECRET = "whsec-4d1f-correct-horse"


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(WEBHOOK_SECRET).start()
    yield receiver
    receiver.stop()


def alerts_config(smtp: SmtpServer | None, webhook: WebhookReceiver | None, *, extra: str = "",
                  email: str = "", hook: str = "") -> str:  # fmt: skip
    """An ``[alerts]`` section sending to these receivers; the webhook secret in $EDI_TEST_WEBHOOK_SECRET."""
    text = f"\n[alerts]\n{extra}\n"
    if smtp is not None:
        timeout = "" if "timeout_seconds" in email else "timeout_seconds = 5\n"
        text += (f'[alerts.email]\nhost = "127.0.0.1"\nport = {smtp.port}\nfrom = "edi-engine@acme.example"\n'
                 f'to = ["ops@acme.example"]\n{timeout}{email}\n')  # fmt: skip
    if webhook is not None:
        text += f'[alerts.webhook]\nurl = "{webhook.url}"\nsecret = {{env = "EDI_TEST_WEBHOOK_SECRET"}}\n{hook}\n'
    return text


OpenAlerting = Callable[..., Runtime]


@pytest.fixture
def open_alerting(
    tmp_path: Path, database_url: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OpenAlerting]:
    """``open_alerting(config, **profile_additions)``: the test's workspace with ``config`` added to
    its ``edi-engine.toml`` and each addition appended to that partner's profile; opened again
    (same database, new configuration) when called again."""
    monkeypatch.setenv("EDI_TEST_WEBHOOK_SECRET", WEBHOOK_SECRET)
    root = tmp_path / "workspace"
    opened: list[Runtime] = []

    def open_(config: str = "", **profile_additions: str) -> Runtime:
        if not root.exists():
            make_workspace(root, database_url)
            (root / "base.toml").write_text((root / CONFIG_NAME).read_text())
        (root / CONFIG_NAME).write_text((root / "base.toml").read_text() + config)
        for partner, addition in profile_additions.items():
            add_to_profile(root / "partners" / partner / "profile.yaml", addition)
        opened.append(Runtime.open(root, clock=clock))
        return opened[-1]

    yield open_
    for runtime in opened:
        runtime.close()
