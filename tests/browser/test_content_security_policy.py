"""Every kind of page works under the Content-Security-Policy: the ``page`` fixture fails a test on
any violation the browser reports (a refused script, style or image), and each page is checked
for the part that a refused script or style would have left out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from rmos_site.middleware import CONTENT_SECURITY_POLICY
from tests.factories import PASSWORD, log_runs, make_user, run_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def some_runs(starter_profiles):
    log_runs(run_item(at=datetime.now(UTC), tool_id="saw:slitting-0.5", material_id="wood:ebony"))


def test_pages_api_docs_and_admin_work_under_the_policy(page, live_server, some_runs, shot):
    page.goto("/accounts/login/")
    assert page.evaluate("() => document.readyState") == "complete"
    response = page.request.get(f"{live_server.url}/accounts/login/")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    make_user("ada", is_superuser=True, is_staff=True)
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/rmos/ai-ops/")
    page.goto("/rmos/ai-ops/?tool_id=saw%3Aslitting-0.5&material_id=wood%3Aebony&machine_id=prod%3Avmc-3axis")
    expect(page.locator("#snapshot-inspector svg").first).to_be_visible()  # charts drawn on the server
    shot("dashboard")
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=15_000)  # its script ran
    shot("api-docs")
    page.goto("/admin/profiles/constraintprofile/")
    expect(page.locator("#result_list")).to_be_visible()
    page.locator("#result_list tbody th a").first.click()
    expect(page.locator("#content-main form")).to_be_visible()
    page.goto("/admin/rmos_site/apitoken/")
    expect(page.locator("#content h1")).to_contain_text("API token")
    shot("admin")
