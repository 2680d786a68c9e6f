"""The internal listener: ``GET /healthz``, ``GET /metrics`` and the supplier portal (every other
path, ``portal.app``). It is never the partner-facing listener: ``edi-engine run`` and
``edi-engine serve`` serve it on its own address, by default 127.0.0.1 only."""

from __future__ import annotations

import threading
from collections.abc import Callable

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from engine.runtime import Runtime
from engine.timings import REGISTRY as TIMINGS
from engine.web.metrics import EngineCollector
from portal.app import portal_app


def internal_app(runtime: Runtime, scheduler_alive: Callable[[], bool] | None) -> Starlette:
    """Health, metrics and the portal. ``scheduler_alive`` is None where no scheduler runs in
    this process (``edi-engine serve``): health then depends on the database alone."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EngineCollector(runtime))

    def healthz(_request: Request) -> Response:
        scheduler = "not run here" if scheduler_alive is None else "running" if scheduler_alive() else "stopped"
        checks = {"database": "ok", "scheduler": scheduler}
        try:
            with runtime.sessions() as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            checks["database"] = f"unreachable: {type(error).__name__}"
        healthy = checks["database"] == "ok" and checks["scheduler"] != "stopped"
        return JSONResponse({"status": "ok" if healthy else "failing", **checks}, status_code=200 if healthy else 503)

    def metrics(_request: Request) -> Response:
        return Response(generate_latest(registry) + generate_latest(TIMINGS), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/metrics", metrics), Mount("", app=portal_app(runtime))]
    )


class Listener:
    """A uvicorn server on its own thread; ``port`` is the one bound (ask for 0 to get a free one)."""

    def __init__(
        self, app: Starlette, host: str, port: int, *, tls_certificate: str | None = None, tls_key: str | None = None
    ) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                                ssl_certfile=tls_certificate, ssl_keyfile=tls_key)  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"listener {host}:{port}", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        self.thread.start()
        waited = threading.Event()
        while not self.server.started and self.thread.is_alive() and not waited.wait(0.05):
            timeout -= 0.05
            if timeout <= 0:
                raise RuntimeError(f"the listener {self.thread.name} did not start")
        if not self.server.started:
            raise RuntimeError(f"the listener {self.thread.name} could not start (is its address in use?)")

    @property
    def address(self) -> tuple[str, int]:
        (server,) = self.server.servers
        host, port = server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
