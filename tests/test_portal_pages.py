"""What a logged-in user sees: the Orders page with their name, organisation and only the
partners their organisation trades with (every partner for an administrator), the layout's log-out
form, and the organisation boundary for pages that take an id (``visible_or_404``)."""

from __future__ import annotations

import pytest
from starlette.exceptions import HTTPException

from engine.runtime import Runtime
from portal.auth import NOT_FOUND, CurrentUser, visible_or_404
from tests.pipeline_fixtures import (
    OpenRuntime,
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
)
from tests.portal_fixtures import TWO_ORGANISATIONS, client, csrf_token_in, make_user, serving

__all__ = ["clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_runtime"]


@pytest.fixture
def two_organisations(open_runtime: OpenRuntime) -> Runtime:
    """Acme trades with fabrikam and northwind, Globex with contoso."""
    return open_runtime(config=TWO_ORGANISATIONS, contoso="organisation: globex")


def test_the_orders_page_shows_the_users_name_organisation_and_only_its_partners(two_organisations: Runtime) -> None:
    make_user(two_organisations, "gina@globex.example", name="Gina Globex", organisation="globex")
    with serving(two_organisations) as (base, trust), client(base, trust) as browser:
        browser.log_in("gina@globex.example")
        page = browser.http.get("/orders").text
    assert "Gina Globex" in page and "Globex" in page
    assert "Contoso Home" in page
    assert "Northwind Retail" not in page and "Fabrikam Textiles" not in page


def test_an_administrator_sees_every_partner(two_organisations: Runtime) -> None:
    make_user(two_organisations, "root@example.com", name="Ada Admin", admin=True)
    with serving(two_organisations) as (base, trust), client(base, trust) as browser:
        browser.log_in("root@example.com")
        page = browser.http.get("/orders").text
    assert "Ada Admin" in page and "Administrator" in page
    assert all(name in page for name in ("Contoso Home", "Northwind Retail", "Fabrikam Textiles"))


def test_the_layout_has_the_top_bar_and_a_log_out_form_with_the_sessions_token(two_organisations: Runtime) -> None:
    make_user(two_organisations, organisation="acme")
    with serving(two_organisations) as (base, trust), client(base, trust) as browser:
        browser.log_in()
        page = browser.http.get("/orders").text
        token = csrf_token_in(page)
        assert browser.http.post("/logout", data={"csrf_token": token}).status_code == 303
    assert '<nav aria-label="Main">' in page and 'href="/orders" aria-current="page"' in page
    assert '<form method="post" action="/logout">' in page and '<button type="submit">Log out</button>' in page
    assert 'href="/static/portal.css"' in page and "://" not in page  # nothing loaded from elsewhere


def test_the_login_form_labels_every_field(two_organisations: Runtime) -> None:
    with serving(two_organisations) as (base, trust), client(base, trust) as browser:
        page = browser.http.get("/login").text
    assert '<label for="email">' in page and 'id="email"' in page and 'autocomplete="username"' in page
    assert '<label for="password">' in page and 'id="password"' in page and 'type="password"' in page


def test_names_are_escaped_in_pages(two_organisations: Runtime) -> None:
    make_user(two_organisations, name="<script>alert(1)</script>", organisation="acme")
    with serving(two_organisations) as (base, trust), client(base, trust) as browser:
        browser.log_in()
        page = browser.http.get("/orders").text
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- the organisation boundary ----------------------------------------------------------------------------
def user_of(partner_ids: tuple[str, ...]) -> CurrentUser:
    return CurrentUser(1, "gina@globex.example", "Gina", "globex", "Globex", False, partner_ids, "token")


def test_an_object_of_a_visible_partner_is_handed_back() -> None:
    order = {"po": "CT5001234", "partner_id": "contoso"}
    assert visible_or_404(user_of(("contoso",)), order, lambda o: o["partner_id"]) is order


@pytest.mark.parametrize("found", [None, {"po": "NW5001234", "partner_id": "northwind"}])
def test_an_object_of_another_organisation_is_answered_as_one_that_does_not_exist(found: dict[str, str] | None) -> None:
    with pytest.raises(HTTPException) as raised:
        visible_or_404(user_of(("contoso",)), found, lambda o: o["partner_id"])
    assert raised.value.status_code == 404 and raised.value.detail == NOT_FOUND
