"""Browser tests: Playwright (sync API) driving Debian's headless Chromium against ``live_server``.

The browser is ``/usr/bin/chromium`` or ``$RMOS_CHROMIUM``; Playwright's own browser downloads are
never used. A missing or broken browser fails the run instead of skipping it: CI installs it
(``./dev test`` does), and a silently skipped browser suite proves nothing.

Screenshots of every step go to ``test-artifacts/screenshots/<test>/<nn>-<step>.png``.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1366, "height": 900}  # a common laptop screen


def chromium_path() -> str:
    return os.environ.get("RMOS_CHROMIUM") or "/usr/bin/chromium"


# Package scope: the browser (and Playwright's event loop in this thread) ends with the last
# browser test, so the rest of the suite runs without either.
@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {path}: install it (apt-get install chromium) or set RMOS_CHROMIUM "
            "to its path. Browser tests fail rather than skip without it.",
            pytrace=False,
        )
    # Playwright's sync API keeps an asyncio loop running in this thread, which trips Django's
    # guard against database calls from async code, although every call here is synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            try:
                instance = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            except Exception as exc:  # noqa: BLE001 - any launch failure must fail the run
                pytest.fail(f"Chromium at {path} did not start: {exc}", pytrace=False)
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context on the live server; JavaScript errors and Content-Security-Policy
    violations on any page fail the test."""
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    errors: list[str] = []
    new_page.on("pageerror", lambda exc: errors.append(str(exc)))
    new_page.on("console", lambda message: _keep_policy_violation(message, errors))
    yield new_page
    context.close()
    assert errors == [], f"JavaScript errors or Content-Security-Policy violations: {errors}"


def _keep_policy_violation(message, errors: list[str]) -> None:
    """A script, style or image the Content-Security-Policy refused: the page lost part of itself."""
    if message.type == "error" and "Content Security Policy" in message.text:
        errors.append(message.text)


@pytest.fixture
def blank_page(browser):
    """A page with no server behind it, for components rendered with ``set_content``."""
    context = browser.new_context(viewport=VIEWPORT)
    new_page = context.new_page()
    yield new_page
    context.close()


@pytest.fixture
def shot(request):
    """``shot("step")`` saves a full-page screenshot of the test's page as <nn>-<step>.png."""
    directory = SCREENSHOTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    taken = []

    def take(step: str, target=None) -> Path:
        target = target or request.getfixturevalue("page")
        taken.append(step)
        path = directory / f"{len(taken):02d}-{step}.png"
        target.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def sign_in(page, live_server):
    """Sign ``user`` in without the login form (a session cookie), for tests about other pages."""

    def do(user) -> None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])

    return do
