"""Live operations in the browser (issue 18, DESIGN §12): a run posted through the API shows up
in an open dashboard without a reload and is marked new; pausing stops it; the time range moves
every panel's numbers as the API answers them; the overview fits the first screen."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.factories import log_runs, run_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
RUNS = "/api/rmos/logs/ai/runs"


@pytest.fixture
def week(default_profile):
    """A run every 8 hours over 40 days; every fourth fails."""
    now = datetime.now(UTC).replace(microsecond=0)
    log_runs(*[run_item(at=now - timedelta(hours=8 * i, minutes=5), success=i % 4 != 0) for i in range(120)])
    return now


def _post_run(api, tool_id: str) -> None:
    item = run_item(at=datetime.now(UTC).replace(microsecond=0), tool_id=tool_id)
    response = api.post(RUNS, data=json.dumps({"runs": [item]}), content_type="application/json")
    assert response.status_code in (200, 201), response.content[:300]


def test_a_posted_run_appears_without_a_reload_and_pausing_stops_it(page, shot, sign_in, viewer, integrator_api, week):
    sign_in(viewer)
    page.goto("/rmos/ai-ops/?log=runs")
    marker = page.evaluate("() => (window.__loaded = Math.random())")
    runs_figure = page.locator('[data-figure="runs"] .figure-value')
    expect(runs_figure).to_have_text("120")

    _post_run(integrator_api, "saw:posted-live")
    new_row = page.locator("#log-viewer tr.log-row.is-new")
    expect(new_row).to_have_count(1, timeout=15_000)
    expect(new_row).to_contain_text("saw:posted-live")
    expect(new_row.locator(".new-tag")).to_have_text("new")
    expect(runs_figure).to_have_text("121", timeout=15_000)
    assert page.evaluate("() => window.__loaded") == marker  # the same document: no reload
    shot("new-run-marked")

    # Pause: the address says so, and a run posted now does not appear.
    page.get_by_role("link", name="Pause").click()
    expect(page).to_have_url(re.compile(r"live=off"))
    expect(page.locator(".live-control")).to_contain_text("Paused")
    assert page.locator("[hx-trigger]").count() == 0
    _post_run(integrator_api, "saw:posted-paused")
    page.wait_for_timeout(12_000)
    expect(page.locator("#log-viewer")).not_to_contain_text("saw:posted-paused")
    expect(runs_figure).to_have_text("121")
    shot("paused")
    page.get_by_role("link", name="Resume").click()
    expect(page.locator("#log-viewer")).to_contain_text("saw:posted-paused")
    expect(runs_figure).to_have_text("122")


@pytest.mark.parametrize("label, key", [("24 h", "24h"), ("7 d", "7d"), ("30 d", "30d"), ("All time", "")])
def test_the_time_range_moves_every_panel_as_the_api_answers(page, sign_in, viewer, viewer_api, week, label, key):
    sign_in(viewer)
    page.goto("/rmos/ai-ops/?log=runs&range=1h")
    page.locator(".range-choices").get_by_role("link", name=label, exact=True).click()
    if key:
        expect(page).to_have_url(re.compile(rf"range={key}"))
    api_url = page.locator("#overview").get_by_role("link", name="as JSON").get_attribute("href")
    answer = viewer_api.get(api_url).json()
    expect(page.locator('[data-figure="runs"] .figure-value')).to_have_text(f"{answer['runs']:,}")
    expect(page.locator('[data-figure="attempts"] .figure-value')).to_have_text(f"{answer['attempts']:,}")
    rate = f"{answer['success_rate'] * 100:.0f}%"
    expect(page.locator('[data-figure="success-rate"] .figure-value')).to_have_text(rate)
    # The log lists that range's runs (a page of 100 at most), the analytics counts them all.
    expect(page.locator("#log-viewer tr.log-row")).to_have_count(min(answer["runs"], 100))
    expect(page.locator("#analytics tbody tr").first.locator("td").first).to_have_text(str(answer["runs"]))
    since = answer["since"]
    stats = viewer_api.get("/api/rmos/ai/analytics/profile-stats" + (f"?since={since}" if since else "")).json()
    assert sum(r["runs"] for r in stats["results"]) == answer["runs"]


@pytest.mark.parametrize("width, height", [(1366, 900), (390, 844)])
def test_the_overview_and_the_selection_fit_the_first_screen(page, shot, sign_in, viewer, week, width, height):
    page.set_viewport_size({"width": width, "height": height})
    sign_in(viewer)
    page.goto("/rmos/ai-ops/?tool_id=saw%3Ajeweler-0.25&material_id=wood%3Aebony&machine_id=prod%3Avmc-3axis&open=log")
    bottom = page.evaluate("() => document.querySelector('.context-bar').getBoundingClientRect().bottom")
    if width >= 1000:
        assert bottom <= height, f"the overview and the selected context end at {bottom}px"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    # Closed sections stay closed, and opening one writes it into the address.
    expect(page.locator("#section-editor")).not_to_have_attribute("open", "")
    page.locator("#section-editor > summary").click()
    expect(page).to_have_url(re.compile(r"open=log%2Ceditor|open=log,editor"))
    shot(f"overview-{width}")
