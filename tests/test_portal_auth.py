"""The portal's logins, sessions, CSRF tokens and login limits, over HTTP against a real uvicorn
(HTTPS where it matters), on SQLite and PostgreSQL. Two app instances on one database stand for
two portal processes: what one knows, the other must know, since nothing is kept in memory."""

from __future__ import annotations

import tomllib
from pathlib import Path

import httpx
from argon2 import PasswordHasher
from sqlalchemy import select

from engine.config import DEFAULT_CONFIG, PortalSettings, Settings
from engine.db.tables import LoginAttempts, PortalSession, User
from engine.runtime import Runtime
from engine.users import disable_user, token_digest
from portal.logins import FAILED, LOCKED
from tests.pipeline_fixtures import (
    Clock,
    OpenRuntime,
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
    runtime,
)
from tests.portal_fixtures import PASSWORD, client, csrf_token_in, make_user, serving, session_ids

__all__ = ["clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_runtime", "runtime"]


def cookie_header(response: httpx.Response, name: str) -> list[str]:
    """The attributes of the Set-Cookie header for ``name``, lower-cased (their case is free)."""
    (header,) = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    return [part.strip().lower() for part in header.split(";")]


def second_instance(runtime: Runtime, clock: Clock) -> Runtime:
    """Another portal process's runtime: the same workspace and database, nothing else shared."""
    return Runtime.open(runtime.workspace.root, clock=clock)


# -- cookies and sessions --------------------------------------------------------------------------------
def test_login_sets_an_http_only_same_site_lax_session_cookie_not_marked_secure_over_plain_http(
    runtime: Runtime,
) -> None:
    make_user(runtime)
    with serving(runtime) as (base, trust), client(base, trust) as browser:
        response = browser.log_in()
        assert response.status_code == 303 and response.headers["location"] == "/orders"
        attributes = cookie_header(response, "edi_session")
        assert {"httponly", "samesite=lax", "path=/"} <= set(attributes)
        assert "secure" not in attributes
        page = browser.http.get("/orders")
    assert page.status_code == 200 and "Ann Archer" in page.text
    assert page.headers["cache-control"] == "no-store" and page.headers["x-frame-options"] == "DENY"


def test_behind_tls_the_session_and_login_form_cookies_are_secure(runtime: Runtime, tmp_path: Path) -> None:
    make_user(runtime)
    with serving(runtime, tls_folder=tmp_path / "tls") as (base, trust), client(base, trust) as browser:
        form = browser.http.get("/login")
        response = browser.log_in()
        assert base.startswith("https://") and response.status_code == 303
        assert {"secure", "httponly", "samesite=lax"} <= set(cookie_header(response, "edi_session"))
        assert {"secure", "httponly", "path=/login"} <= set(cookie_header(form, "edi_login_csrf"))
        assert browser.http.get("/orders").status_code == 200


def test_each_login_gets_a_new_session_token(runtime: Runtime) -> None:
    make_user(runtime)
    with serving(runtime) as (base, trust), client(base, trust) as browser:
        browser.log_in()
        first = browser.session_token
        browser.log_out()
        browser.log_in()
        second = browser.session_token
    assert first and second and first != second
    assert session_ids(runtime) == {token_digest(second)}


def test_a_session_cookie_planted_before_the_login_is_replaced_and_its_session_ended(runtime: Runtime) -> None:
    make_user(runtime)
    make_user(runtime, "mallory@example.com", name="Mallory")
    with serving(runtime) as (base, trust), client(base, trust) as mallory, client(base, trust) as victim:
        mallory.log_in("mallory@example.com")
        planted = mallory.session_token
        assert planted is not None
        form_token = csrf_token_in(victim.http.get("/login").text)
        victim.use_session(planted)
        response = victim.http.post("/login", data={"email": "ann@example.com", "password": PASSWORD,
                                                    "csrf_token": form_token})  # fmt: skip
        assert response.status_code == 303
        token = victim.session_token
        assert token is not None and token != planted
        assert session_ids(runtime) == {token_digest(token)}
        assert "Ann Archer" in victim.http.get("/orders").text
        assert mallory.http.get("/orders").headers["location"] == "/login"


def test_the_session_row_holds_the_cookies_digest_never_the_cookie(runtime: Runtime) -> None:
    make_user(runtime)
    with serving(runtime) as (base, trust), client(base, trust) as browser:
        browser.log_in()
        token = browser.session_token
        assert token is not None
        assert session_ids(runtime) == {token_digest(token)} and token not in session_ids(runtime)


def test_logout_deletes_the_session_so_its_cookie_opens_nothing_any_more(runtime: Runtime) -> None:
    make_user(runtime)
    with serving(runtime) as (base, trust), client(base, trust) as browser:
        browser.log_in()
        token = browser.session_token
        response = browser.log_out()
        assert response.status_code == 303 and response.headers["location"] == "/login"
        assert session_ids(runtime) == set()
        assert token is not None
        browser.use_session(token)  # a copy of the cookie kept from before
        assert browser.http.get("/orders").headers["location"] == "/login"


def test_a_session_started_on_one_instance_works_on_another_and_logout_on_it_ends_it_on_both(
    runtime: Runtime, clock: Clock
) -> None:
    make_user(runtime)
    other = second_instance(runtime, clock)
    try:
        with serving(runtime) as (one, trust), serving(other) as (two, _), client(one, trust) as browser:
            browser.log_in()
            token = browser.session_token
            assert token is not None
            with client(two) as elsewhere:
                elsewhere.use_session(token)
                assert elsewhere.http.get("/orders").status_code == 200
                assert elsewhere.log_out().status_code == 303
            assert browser.http.get("/orders").headers["location"] == "/login"
    finally:
        other.close()


def test_a_session_ends_after_idle_minutes_without_a_request(open_runtime: OpenRuntime, clock: Clock) -> None:
    runtime = open_runtime(config="[portal]\nidle_minutes = 10\nsession_hours = 1")
    make_user(runtime)
    with serving(runtime) as (base, trust), client(base, trust) as browser:
        browser.log_in()
        clock.advance(minutes=9)
        assert browser.http.get("/orders").status_code == 200  # a request: idle from here again
        clock.advance(minutes=9)
        assert browser.http.get("/orders").status_code == 200
        clock.advance(minutes=10)
        assert browser.http.get("/orders").headers["location"] == "/login"
        assert session_ids(runtime) == set()  # deleted when presented


def test_a_session_ends_after_session_hours_however_busy(open_runtime: OpenRuntime, clock: Clock) -> None:
    runtime = open_runtime(config="[portal]\nidle_minutes = 10\nsession_hours = 1")
    make_user(runtime)
    with serving(runtime) as (base, trust), client(base, trust) as browser:
        browser.log_in()
        for _ in range(5):
            clock.advance(minutes=9)
            assert browser.http.get("/orders").status_code == 200
        clock.advance(minutes=15)  # 60 minutes after the login
        assert browser.http.get("/orders").headers["location"] == "/login"


def test_ended_sessions_of_everyone_are_deleted_at_the_next_login(runtime: Runtime, clock: Clock) -> None:
    make_user(runtime)
    make_user(runtime, "bob@example.com", name="Bob Baker")
    with serving(runtime) as (base, trust), client(base, trust) as ann, client(base, trust) as bob:
        ann.log_in()
        clock.advance(hours=13)  # past the default 12-hour lifetime, never presented again
        bob.log_in("bob@example.com")
        bob_token = bob.session_token
        assert bob_token is not None
        assert session_ids(runtime) == {token_digest(bob_token)}


# -- CSRF --------------------------------------------------------------------------------------------------
def test_every_state_changing_request_without_the_right_csrf_token_is_refused_with_403(runtime: Runtime) -> None:
    make_user(runtime)
    with serving(runtime) as (base, trust), client(base, trust) as browser:
        login_token = csrf_token_in(browser.http.get("/login").text)
        credentials = {"email": "ann@example.com", "password": PASSWORD}
        for sent in ({}, {"csrf_token": ""}, {"csrf_token": "forged"}):
            refused = browser.http.post("/login", data={**credentials, **sent})
            assert refused.status_code == 403 and "security token" in refused.text
            assert browser.session_token is None
        elsewhere = httpx.post(f"{base}/login", data={**credentials, "csrf_token": login_token})  # no cookie
        assert elsewhere.status_code == 403
        browser.log_in()
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            for path in ("/logout", "/orders", "/"):
                for sent in ({}, {"csrf_token": "forged"}):
                    response = browser.http.request(method, path, data=sent)
                    assert response.status_code == 403, (method, path, sent)
        assert browser.http.post("/logout", headers={"X-CSRF-Token": login_token}).status_code == 403
        assert browser.http.get("/orders").status_code == 200  # nothing acted: still logged in


def test_the_sessions_csrf_token_is_accepted_as_the_form_field_or_the_x_csrf_token_header(runtime: Runtime) -> None:
    make_user(runtime)
    with serving(runtime) as (base, trust), client(base, trust) as browser:
        browser.log_in()
        response = browser.http.post("/logout", headers={"X-CSRF-Token": browser.page_token()})
        assert response.status_code == 303 and session_ids(runtime) == set()
        browser.log_in()
        assert browser.log_out().status_code == 303 and session_ids(runtime) == set()


def test_a_csrf_token_of_another_session_is_refused(runtime: Runtime) -> None:
    make_user(runtime)
    with serving(runtime) as (base, trust), client(base, trust) as ann, client(base, trust) as mallory:
        ann.log_in()
        mallory.log_in()
        assert ann.http.post("/logout", data={"csrf_token": mallory.page_token()}).status_code == 403


# -- passwords and accounts -------------------------------------------------------------------------------
def test_passwords_are_stored_as_argon2id_and_rehashed_at_login_when_the_parameters_changed(runtime: Runtime) -> None:
    make_user(runtime)
    with runtime.sessions() as session:
        assert session.scalars(select(User.password_hash)).one().startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with runtime.sessions() as session, session.begin():
        session.scalars(select(User)).one().password_hash = weak
    with serving(runtime) as (base, trust), client(base, trust) as browser:
        assert browser.log_in().status_code == 303
    with runtime.sessions() as session:
        stored = session.scalars(select(User.password_hash)).one()
    assert stored != weak and stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    PasswordHasher().verify(stored, PASSWORD)


def test_a_disabled_user_cannot_log_in_and_their_open_sessions_end(runtime: Runtime) -> None:
    make_user(runtime)
    with serving(runtime) as (base, trust), client(base, trust) as browser, client(base, trust) as later:
        browser.log_in()
        disable_user(runtime, "ann@example.com")
        assert browser.http.get("/orders").headers["location"] == "/login"
        refused = later.log_in()
        assert refused.status_code == 401 and FAILED in refused.text and later.session_token is None


def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(runtime: Runtime) -> None:
    make_user(runtime)
    with serving(runtime) as (base, trust), client(base, trust) as browser:
        wrong = browser.log_in(password="not the password at all")
        unknown = browser.log_in("nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert FAILED in wrong.text and FAILED in unknown.text


def test_the_email_is_matched_whatever_its_case_and_surrounding_spaces(runtime: Runtime) -> None:
    make_user(runtime, "Ann@Example.COM")
    with serving(runtime) as (base, trust), client(base, trust) as browser:
        assert browser.log_in("  ANN@example.com ").status_code == 303


# -- login limits -----------------------------------------------------------------------------------------
def test_five_failures_for_an_email_across_two_instances_lock_it_on_both(runtime: Runtime, clock: Clock) -> None:
    make_user(runtime)
    other = second_instance(runtime, clock)
    try:
        with serving(runtime) as (one, trust), serving(other) as (two, _):
            with client(one, trust) as first, client(two) as second:
                answers = [first.log_in(password="wrong password one") for _ in range(3)]
                answers.append(second.log_in(password="wrong password two"))
                assert [a.status_code for a in answers] == [401] * 4 and all(FAILED in a.text for a in answers)
                fifth = second.log_in(password="wrong password two")
                assert fifth.status_code == 429 and LOCKED in fifth.text
                assert int(fifth.headers["retry-after"]) == 15 * 60
            with client(one, trust) as fresh:  # the right password, from the first instance: locked all the same
                locked = fresh.log_in()
                assert locked.status_code == 429 and LOCKED in locked.text and fresh.session_token is None
    finally:
        other.close()


def test_the_lock_ends_after_lockout_minutes(runtime: Runtime, clock: Clock) -> None:
    make_user(runtime)
    with serving(runtime) as (base, trust), client(base, trust) as browser:
        for _ in range(5):
            browser.log_in(password="wrong password")
        clock.advance(minutes=14)
        assert browser.log_in().status_code == 429
        clock.advance(minutes=1)
        assert browser.log_in().status_code == 303


def test_failures_spread_beyond_the_window_do_not_lock(runtime: Runtime, clock: Clock) -> None:
    make_user(runtime)
    with serving(runtime) as (base, trust), client(base, trust) as browser:
        for _ in range(4):
            assert browser.log_in(password="wrong password").status_code == 401
        clock.advance(minutes=16)
        for _ in range(4):
            assert browser.log_in(password="wrong password").status_code == 401
        assert browser.log_in().status_code == 303


def test_failures_from_one_address_lock_it_for_every_email(runtime: Runtime) -> None:
    make_user(runtime)
    with serving(runtime) as (base, trust), client(base, trust) as browser:
        for n in range(5):
            browser.log_in(f"guess{n}@example.com", "some password")
        locked = browser.log_in()  # the right credentials of a real user, from the same address
        assert locked.status_code == 429 and LOCKED in locked.text
    with runtime.sessions() as session:
        keys = {row.key: row.locked_until is not None for row in session.scalars(select(LoginAttempts))}
    assert keys["address:127.0.0.1"] is True and keys["email:guess4@example.com"] is False


def test_a_successful_login_clears_its_emails_failures_but_not_the_addresss(runtime: Runtime) -> None:
    make_user(runtime)
    with serving(runtime) as (base, trust), client(base, trust) as browser:
        for _ in range(4):
            browser.log_in(password="wrong password")
        assert browser.log_in().status_code == 303
        with runtime.sessions() as session:
            counts = {row.key: row.failures for row in session.scalars(select(LoginAttempts))}
        assert counts == {"address:127.0.0.1": 4}


# -- what pages ask of the request ------------------------------------------------------------------------
def test_pages_send_a_browser_without_a_session_to_login_and_api_paths_answer_in_json(runtime: Runtime) -> None:
    with serving(runtime) as (base, trust), client(base, trust) as browser:
        assert browser.http.get("/orders").headers["location"] == "/login"
        assert browser.http.get("/").headers["location"] == "/orders"
        assert browser.http.get("/login").status_code == 200
        ended = browser.http.post("/api/orders", headers={"X-CSRF-Token": "from a page shown before"})
        assert ended.status_code == 401 and ended.json() == {"error": "Log in first."}
        forged = browser.http.post("/api/orders")
        assert forged.status_code == 403 and "security token" in forged.json()["error"]
        missing = browser.http.get("/no-such-page")
        assert missing.status_code == 404 and "no such page" in missing.text


def test_health_and_metrics_stay_beside_the_portal_on_the_internal_listener(runtime: Runtime) -> None:
    with serving(runtime) as (base, _trust):
        health = httpx.get(f"{base}/healthz")
        metrics = httpx.get(f"{base}/metrics")
        css = httpx.get(f"{base}/static/portal.css")
    assert health.status_code == 200 and health.json()["scheduler"] == "not run here"
    assert metrics.status_code == 200 and "edi_quarantine_size" in metrics.text
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_session_rows_are_kept_per_browser(runtime: Runtime) -> None:
    make_user(runtime)
    with serving(runtime) as (base, trust), client(base, trust) as laptop, client(base, trust) as phone:
        laptop.log_in()
        phone.log_in()
        with runtime.sessions() as session:
            assert len(session.scalars(select(PortalSession)).all()) == 2
        laptop.log_out()
        assert phone.http.get("/orders").status_code == 200


def test_the_commented_portal_example_of_a_new_configuration_gives_the_defaults() -> None:
    section = DEFAULT_CONFIG.split("# [portal]\n")[1].split("\n\n")[0]
    uncommented = "[portal]\n" + "\n".join(line.removeprefix("# ") for line in section.splitlines())
    assert Settings.model_validate(tomllib.loads(uncommented)).portal == PortalSettings()
