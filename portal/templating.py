"""Jinja2 pages from ``portal/templates`` (package data, loaded through the package so an
installed engine finds them), escaped by default. Every page gets the logged-in user (or None),
which the layout's top bar and its log-out form need."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from portal.auth import CurrentUser

PRODUCT = "edi-engine"

TEMPLATES = Jinja2Templates(
    env=Environment(
        loader=PackageLoader("portal", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,  # a name a template uses but a page forgot fails loudly
    )
)
TEMPLATES.env.globals["product"] = PRODUCT


def page(
    request: Request,
    template: str,
    user: CurrentUser | None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> Response:
    """The template rendered as an HTML response, with ``user`` and the page's own values."""
    return TEMPLATES.TemplateResponse(
        request, template, {"user": user, **context}, status_code=status_code, headers=headers
    )
