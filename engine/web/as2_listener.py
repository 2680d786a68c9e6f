"""The partner-facing listener: ``POST /as2`` only (messages and asynchronous MDNs from partners).

It is a separate server from the internal one, so nothing of the admin surface (health, metrics,
portal) is ever reachable on the address partners are given. The work of a request is done on a
worker thread: decrypting, verifying and committing are blocking.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from engine.as2 import handle_post
from engine.runtime import Runtime

#: The largest message accepted (bytes): an interchange of this size is far beyond any order file.
MAX_MESSAGE_BYTES = 100 * 1024 * 1024


def as2_app(runtime: Runtime) -> Starlette:
    async def as2(request: Request) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_MESSAGE_BYTES):
            return PlainTextResponse("message too large\n", status_code=413)
        body = await request.body()
        if len(body) > MAX_MESSAGE_BYTES:
            return PlainTextResponse("message too large\n", status_code=413)
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw]
        answer = await run_in_threadpool(handle_post, runtime, headers, body)
        return Response(answer.body, status_code=answer.status_code, headers=answer.headers)

    return Starlette(routes=[Route("/as2", as2, methods=["POST"])])
