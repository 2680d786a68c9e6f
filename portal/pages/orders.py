"""``GET /orders``: for now who is logged in, for which organisation, and the partners whose
orders they may see. The orders list itself replaces this page (same route, same module)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal.auth import require_user, runtime_of
from portal.templating import page


def orders_page(request: Request) -> Response:
    user = require_user(request)
    partners = runtime_of(request).partners
    visible = [(partner_id, partners[partner_id].name) for partner_id in user.partner_ids]
    return page(request, "orders.html", user, partners=visible)


ROUTES = [Route("/orders", orders_page, methods=["GET"])]
