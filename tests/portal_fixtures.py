"""The portal served by a real uvicorn on 127.0.0.1 (HTTP, or HTTPS with a self-signed
certificate), users made through ``engine.users`` as ``edi-engine users add`` makes them, and an
HTTP client that logs in with the forms' own CSRF tokens, as a browser would."""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import select

from engine.db.tables import PortalSession
from engine.runtime import Runtime
from engine.users import UserInfo, add_user
from engine.web.internal import Listener, internal_app
from tests.as2_keys import write_pair

PASSWORD = "correct horse battery staple"
TWO_ORGANISATIONS = (
    '[[organisations]]\nid = "acme"\nname = "Acme Supply"\n\n[[organisations]]\nid = "globex"\nname = "Globex"\n'
)


def make_user(
    runtime: Runtime,
    email: str = "ann@example.com",
    *,
    name: str = "Ann Archer",
    organisation: str | None = None,
    admin: bool = False,
    password: str = PASSWORD,
) -> UserInfo:
    """A user of ``organisation`` (default: the workspace's first), or an administrator."""
    organisation_id = None if admin else organisation or runtime.workspace.organisations[0].id
    return add_user(runtime, email, name=name, password=password, organisation_id=organisation_id, is_admin=admin)


@contextmanager
def serving(runtime: Runtime, *, tls_folder: Path | None = None) -> Iterator[tuple[str, ssl.SSLContext | bool]]:
    """The internal listener (portal, health, metrics) on a free port: its base URL, and what a
    client must trust (the self-signed certificate when ``tls_folder`` asks for HTTPS)."""
    key = certificate = None
    trust: ssl.SSLContext | bool = True
    if tls_folder is not None:
        key, certificate = write_pair(tls_folder, "portal")
        trust = ssl.create_default_context(cafile=str(certificate))
    listener = Listener(internal_app(runtime, None), "127.0.0.1", 0,
                        tls_certificate=str(certificate) if certificate else None, tls_key=str(key) if key else None)  # fmt: skip
    listener.start()
    try:
        yield "{}://{}:{}".format("https" if tls_folder else "http", *listener.address), trust
    finally:
        listener.stop()


def csrf_token_in(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, f"no csrf_token field in the page:\n{html}"
    return found.group(1)


class PortalClient:
    """One browser: its own cookie jar, redirects not followed (tests look at them)."""

    def __init__(self, base_url: str, trust: ssl.SSLContext | bool = True) -> None:
        self.http = httpx.Client(base_url=base_url, follow_redirects=False, verify=trust, timeout=30)

    def close(self) -> None:
        self.http.close()

    def log_in(self, email: str = "ann@example.com", password: str = PASSWORD) -> httpx.Response:
        """Show the login form, then post it with its token, as a person would."""
        token = csrf_token_in(self.http.get("/login").text)
        return self.http.post("/login", data={"email": email, "password": password, "csrf_token": token})

    def page_token(self) -> str:
        """The CSRF token of the logged-in session, from the log-out form of a page."""
        response = self.http.get("/orders")
        assert response.status_code == 200, response.status_code
        return csrf_token_in(response.text)

    def log_out(self) -> httpx.Response:
        return self.http.post("/logout", data={"csrf_token": self.page_token()})

    def use_session(self, token: str) -> None:
        """Present this session cookie from now on (one copied from elsewhere, or kept from before)."""
        self.http.cookies.set("edi_session", token, domain="127.0.0.1", path="/")

    @property
    def session_token(self) -> str | None:
        return self.http.cookies.get("edi_session")


@contextmanager
def client(base_url: str, trust: ssl.SSLContext | bool = True) -> Iterator[PortalClient]:
    browser = PortalClient(base_url, trust)
    try:
        yield browser
    finally:
        browser.close()


def session_ids(runtime: Runtime) -> set[str]:
    with runtime.sessions() as session:
        return set(session.scalars(select(PortalSession.id)))
