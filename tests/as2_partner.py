"""A trading partner's AS2 server for tests: a real HTTP server on 127.0.0.1 (uvicorn on a thread
of the test process, while the engine runs in its own), built on ``transport.as2``.

It accepts our messages and answers with the MDN asked for (synchronous, or posted to our
``receipt-delivery-option``), keeps every payload it accepts in its folder, once per Message-ID
(a resend is answered again and not kept twice), and sends messages to the engine. ``misbehave``
makes it answer badly, to test that such answers leave our documents undelivered.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.web.internal import Listener
from tests.as2_keys import write_pair
from transport.as2 import (
    KeyPair,
    MdnResult,
    Them,
    Us,
    build_message,
    original_message_id,
    post,
    read_mdn,
    receive,
)

#: "stall": keep the payload, then hold the answer until ``release`` is set (the sender is killed meanwhile).
Misbehaviour = Literal["none", "http_500", "tampered_mdn", "negative_mdn", "stall"]


@dataclass
class Partner:
    """The partner's AS2 identity and keys, and ours as it knows them."""

    folder: Path
    as2_id: str = "NORTHWIND"
    our_as2_id: str = "ACMESUPPLY"

    def __post_init__(self) -> None:
        self.key, self.certificate = write_pair(self.folder / "keys", self.as2_id)


@dataclass
class PartnerServer:
    partner: Partner
    engine_certificates: tuple[bytes, ...]  # the engine's certificates, as the partner trusts them
    engine_url: str = ""  # where the partner sends to (the engine's POST /as2)
    engine_ca: str | bool = True  # what the partner trusts for the engine's HTTPS certificate
    tls: bool = False  # serve HTTPS with the partner's own key and certificate
    misbehave: Misbehaviour = "none"
    received_ids: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    posts: int = 0
    mdns: dict[str, MdnResult] = field(default_factory=dict)  # asynchronous MDNs for what it sent
    _sent: dict[str, str | None] = field(default_factory=dict)  # Message-ID -> MIC
    _lock: threading.Lock = field(default_factory=threading.Lock)
    listener: Listener | None = None
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def inbox(self) -> Path:
        return self.partner.folder / "received"

    def us(self) -> Us:
        return Us(self.partner.as2_id, (KeyPair(self.partner.key.read_bytes()),), mdn_url=f"{self.url}/as2",
                  domain="northwind.test")  # fmt: skip

    def them(self, **agreement: object) -> Them:
        return Them(self.partner.our_as2_id, self.engine_url, self.engine_certificates, timeout=10, **agreement)  # type: ignore[arg-type]

    def start(self) -> PartnerServer:
        self.inbox.mkdir(parents=True, exist_ok=True)
        app = Starlette(routes=[Route("/as2", self._post, methods=["POST"])])
        tls = {"tls_certificate": str(self.partner.certificate), "tls_key": str(self.partner.key)} if self.tls else {}
        self.listener = Listener(app, "127.0.0.1", 0, **tls)
        self.listener.start()
        return self

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.stop()

    @property
    def url(self) -> str:
        assert self.listener is not None
        return "{}://{}:{}".format("https" if self.tls else "http", *self.listener.address)

    def files(self) -> list[Path]:
        return sorted(self.inbox.iterdir())

    async def _post(self, request: Request) -> Response:
        body = await request.body()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        status, answer_headers, answer = await run_in_threadpool(self._handle, headers, body)
        return Response(answer, status_code=status, headers=answer_headers)

    def _handle(self, headers: list[tuple[str, str]], body: bytes) -> tuple[int, dict[str, str], bytes]:
        self.posts += 1
        original = original_message_id(headers, body)
        if original is not None:  # an asynchronous MDN for a message the partner sent
            mic = self._sent.get(original)
            self.mdns[original] = read_mdn(self.us(), self.them(), headers, body, message_id=original, mic=mic)
            return 200, {}, b""
        if self.misbehave == "http_500":
            return 500, {}, b"out of order"
        received = receive(
            headers, body, lambda to, frm: (self.us(), self.them()) if frm == self.partner.our_as2_id else None
        )
        if not received.accepted:
            self.refused.append(f"{received.detail}: {received.error}")
        else:
            with self._lock:
                assert received.message_id is not None and received.payload is not None
                if received.message_id not in self.received_ids:
                    self.received_ids.append(received.message_id)
                    name = f"{len(self.received_ids):05d}.x12"
                    (self.inbox / name).write_bytes(received.payload)
        if self.misbehave == "stall":
            self.stalled.set()
            self.release.wait(timeout=60)
        status = None if received.accepted and self.misbehave != "negative_mdn" else "processed/Error"
        detail = None if status is None else "unexpected-processing-error"
        mdn = received.answer(status, detail) if status else received.answer()
        if mdn is None:
            return 200, {}, b""
        mdn_headers, mdn_body = mdn
        if self.misbehave == "tampered_mdn":
            mdn_body = mdn_body.replace(b"successfully", b"successfuLLy", 1)
        if received.mdn_mode == "async" and received.mdn_url:
            url = received.mdn_url
            threading.Thread(
                target=post, args=(url, mdn_headers, mdn_body), kwargs={"timeout": 10}, daemon=True
            ).start()
            return 200, {}, b""
        return 200, mdn_headers, mdn_body

    def send(
        self, data: bytes, *, file_name: str, message_id: str | None = None, **agreement: object
    ) -> tuple[str, MdnResult | None]:
        """Send ``data`` to the engine; the Message-ID and, for a synchronous MDN, what it said."""
        them = self.them(**agreement)
        outgoing = build_message(self.us(), them, data, file_name=file_name,
                                 message_id=message_id or f"{time.monotonic_ns()}@northwind.test")  # fmt: skip
        self._sent[outgoing.message_id] = outgoing.mic
        trust = ssl.create_default_context(cafile=self.engine_ca) if isinstance(self.engine_ca, str) else self.engine_ca
        response = httpx.post(them.url, content=outgoing.body, headers=outgoing.headers, timeout=30, verify=trust)
        if them.mdn != "sync":
            return outgoing.message_id, None
        result = read_mdn(self.us(), them, response.headers.multi_items(), response.content,
                          message_id=outgoing.message_id, mic=outgoing.mic)  # fmt: skip
        return outgoing.message_id, result

    def wait_for_mdn(self, message_id: str, timeout: float = 20.0) -> MdnResult:
        deadline = time.monotonic() + timeout
        while message_id not in self.mdns:
            if time.monotonic() > deadline:
                raise AssertionError(f"no asynchronous MDN for {message_id} within {timeout} s")
            time.sleep(0.05)
        return self.mdns[message_id]


def wait_for(condition: object, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.05)


def as_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return dict(items)
