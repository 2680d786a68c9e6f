"""The portal as one Starlette app: ``portal_app(runtime)``. ``engine.web.internal`` mounts it on
the internal listener (``edi-engine run``, ``edi-engine serve``); it is never served on the
partner-facing AS2 listener."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from engine.runtime import Runtime
from portal.auth import NOT_FOUND, LoginRequired, current_user
from portal.guard import LOGIN_PATH, PortalGuard, route_path
from portal.pages import login, orders
from portal.templating import page

TITLES = {403: "Refused", 404: "Not found", 405: "Not allowed"}


def portal_app(runtime: Runtime) -> Starlette:
    """The portal's pages, static files and request guard, on ``runtime``'s workspace and database."""
    app = Starlette(
        routes=[
            Route("/", home, methods=["GET"]),
            *login.ROUTES,
            *orders.ROUTES,
            Mount("/static", app=StaticFiles(packages=[("portal", "static")]), name="static"),
        ],
        middleware=[Middleware(PortalGuard, runtime=runtime)],
        exception_handlers={LoginRequired: login_required, HTTPException: http_error},
    )
    app.state.runtime = runtime
    return app


def home(_request: Request) -> Response:
    return RedirectResponse(orders.ROUTES[0].path, status_code=303)


def login_required(request: Request, _error: Exception) -> Response:
    """No session: a page sends the browser to log in; the JSON API answers 401."""
    if route_path(request.scope).startswith("/api/"):
        return JSONResponse({"error": "Log in first."}, status_code=401)
    return RedirectResponse(LOGIN_PATH, status_code=303)


def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if route_path(request.scope).startswith("/api/"):
        return JSONResponse({"error": error.detail}, status_code=error.status_code, headers=error.headers)
    message = NOT_FOUND if error.status_code == 404 else error.detail
    return page(request, "error.html", current_user(request), status_code=error.status_code, headers=error.headers,
                title=TITLES.get(error.status_code, "Error"), message=message)  # fmt: skip
