"""Did my edit help? in a real browser (issue 16): a regression raises an alert in the header and
on the dashboard; the operator follows it to the profile page, reads the verdict and its drawn
interval, opens the per-context table, rolls back from the alert's link with its note prefilled,
and acknowledges the alert. At a laptop and a phone width: no sideways scroll, no JavaScript error."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.test_layout import _geometry, _spills
from tests.factories import edit_profile, log_runs, make_profile, make_user, run_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
EASY = {"tool_id": "laser:co2-40w", "material_id": "wood:maple-hard", "machine_id": "prod:vmc-3axis"}
HARD = {"tool_id": "saw:jeweler-0.25", "material_id": "wood:ebony", "machine_id": "prod:vmc-3axis"}


def _runs(context: dict, *, runs: int, successes: int, at: datetime, version: int) -> list[dict]:
    return [
        run_item(
            **context, at=at + timedelta(seconds=i), success=i < successes, profile="thin_saw", profile_version=version
        )
        for i in range(runs)
    ]


@pytest.fixture
def regressed(transactional_db):
    make_profile("thin_saw")
    past = datetime.now(UTC) - timedelta(days=3)
    log_runs(
        *_runs(EASY, runs=60, successes=54, at=past, version=1), *_runs(HARD, runs=40, successes=12, at=past, version=1)
    )
    edit_profile("thin_saw", max_rings=7, note="one more ring")
    later = past + timedelta(days=1)
    log_runs(
        *_runs(EASY, runs=50, successes=25, at=later, version=2),
        *_runs(HARD, runs=50, successes=5, at=later, version=2),
    )


@pytest.mark.parametrize("width", [1366, 390])
def test_follow_an_alert_to_the_verdict_and_roll_back(page, shot, sign_in, regressed, width):
    sign_in(make_user("olga", role="operator"))
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/rmos/ai-ops/")
    banner = page.locator("#alerts")
    expect(banner).to_contain_text("thin_saw v2 is worse than v1")
    expect(page.locator(".alert-count")).to_have_text(re.compile(r"1 alert"))
    shot(f"dashboard-alert-{width}")
    assert _geometry(page)["width"] <= width

    banner.get_by_role("link", name="See v2").click()
    expect(page).to_have_url(re.compile(r"/rmos/profiles/thin_saw/#version-2$"))
    row = page.locator("#version-2")
    expect(row.locator(".verdict")).to_have_text("worse")
    expect(row.locator("svg.interval-chart")).to_be_visible()
    expect(row).to_contain_text("crude")
    shot(f"profile-verdict-{width}")
    assert _geometry(page)["width"] <= width and _spills(page) == []

    row.get_by_role("link", name="per context").click()
    expect(page).to_have_url(re.compile(r"/compare/\?a=1&b=2$"))
    expect(page.get_by_role("heading", name=re.compile("v2 against v1"))).to_be_visible()
    expect(page.locator("table.data tbody tr")).to_have_count(2)
    shot(f"compare-{width}")
    assert _geometry(page)["width"] <= width and _spills(page) == []

    page.goto("/rmos/profiles/thin_saw/")
    page.locator("#alerts").get_by_role("link", name="Roll back to v1…").click()
    expect(page.get_by_label("Why roll back?")).to_have_value(
        re.compile("Roll back v2 of thin_saw: judged worse than v1")
    )
    page.get_by_role("button", name=re.compile("Roll back", re.I)).last.click()
    expect(page.locator("body")).to_contain_text("now version 3")

    page.goto("/rmos/ai-ops/")
    # Rolled back: v2 is no longer current, so its open alert is superseded and the header is clear.
    expect(page.locator(".alert-count")).to_have_count(0)
