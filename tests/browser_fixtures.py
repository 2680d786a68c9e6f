"""Browser tests: Playwright driving Debian's Chromium (``/usr/bin/chromium``; Playwright never
downloads a browser here) against the portal served by a real uvicorn on 127.0.0.1.

``portal_url`` serves the internal listener (as ``edi-engine serve`` does) on the test's
workspace, with the user ``ann@example.com`` (``tests.portal_fixtures.PASSWORD``); ``page`` is a
new page in a new browser context (its own cookies) for each test. Without Chromium the tests are
skipped with the reason, except under CI=true, where they fail: ``.ci/run`` installs it.

Test modules import the fixtures they use and those these ask for (see ``__all__``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from engine.runtime import Runtime
from tests.conftest import IN_CI
from tests.pipeline_fixtures import (
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
    runtime,
)
from tests.portal_fixtures import make_user, serving

__all__ = [
    "browser",
    "clock",
    "database_url",
    "migrated_postgres",
    "migrated_sqlite_template",
    "open_runtime",
    "page",
    "portal_url",
    "runtime",
]

CHROMIUM = Path("/usr/bin/chromium")
#: Chromium as root in a container, with nothing reaching out to the network on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")  # closed with its module: Playwright's event loop gone before others run
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM} (Debian's package chromium; .ci/run installs it)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def portal_url(runtime: Runtime) -> Iterator[str]:
    make_user(runtime)
    with serving(runtime) as (base, _trust):
        yield base
