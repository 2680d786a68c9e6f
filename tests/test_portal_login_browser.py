"""Logging in and out of the portal in a real browser (Chromium through Playwright): what a
person sees, with the cookies, redirects and CSRF tokens of the real pages."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from portal.logins import FAILED, LOCKED
from tests.browser_fixtures import (
    browser,
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
    page,
    portal_url,
    runtime,
)
from tests.portal_fixtures import PASSWORD

__all__ = ["browser", "clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_runtime",
           "page", "portal_url", "runtime"]  # fmt: skip


def log_in(page: Page, portal_url: str, password: str, email: str = "ann@example.com") -> None:
    page.goto(f"{portal_url}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def test_a_user_logs_in_sees_their_name_and_organisation_and_logs_out(page: Page, portal_url: str) -> None:
    page.goto(portal_url)
    expect(page).to_have_url(f"{portal_url}/login")  # no session: the login page
    log_in(page, portal_url, PASSWORD)
    expect(page).to_have_url(f"{portal_url}/orders")
    expect(page.get_by_role("heading", name="Orders", level=1)).to_be_visible()
    top_bar = page.locator("header")
    expect(top_bar.get_by_text("Ann Archer")).to_be_visible()
    expect(top_bar.get_by_text("ACMESUPPLY")).to_be_visible()  # the workspace's one organisation
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders")).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text="Northwind Retail")).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "edi_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{portal_url}/login")
    assert not [c for c in page.context.cookies() if c["name"] == "edi_session"]
    page.goto(f"{portal_url}/orders")
    expect(page).to_have_url(f"{portal_url}/login")


def test_a_wrong_password_shows_the_error_and_keeps_the_email(page: Page, portal_url: str) -> None:
    log_in(page, portal_url, "not the password at all")
    expect(page).to_have_url(f"{portal_url}/login")
    expect(page.get_by_role("alert")).to_have_text(FAILED)
    expect(page.get_by_label("E-mail address")).to_have_value("ann@example.com")
    expect(page.get_by_label("Password")).to_have_value("")


def test_after_five_failures_the_lock_message_even_for_the_right_password(page: Page, portal_url: str) -> None:
    for _ in range(4):
        log_in(page, portal_url, "a wrong password")
        expect(page.get_by_role("alert")).to_have_text(FAILED)
    log_in(page, portal_url, "a wrong password")
    expect(page.get_by_role("alert")).to_have_text(LOCKED)
    log_in(page, portal_url, PASSWORD)
    expect(page.get_by_role("alert")).to_have_text(re.compile("try again later"))
    expect(page).to_have_url(f"{portal_url}/login")
