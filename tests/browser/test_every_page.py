"""Every page at a laptop (1366x900) and a phone (390x844): no sideways scroll, no console error,
a screenshot of each in test-artifacts/pages/ (issue 18); and every chart kind shows a value on
hover and on keyboard focus."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from profiles import services as profile_services
from tests.factories import log_runs, run_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PAGES_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"
SIZES = [(1366, 900), (390, 844)]
CONTEXT = {"tool_id": "saw:slitting-0.5", "material_id": "wood:maple-hard", "machine_id": "prod:vmc-3axis"}


@pytest.fixture
def traffic(starter_profiles, admin_user):
    now = datetime.now(UTC)
    items = [
        run_item(at=now - timedelta(hours=5 * i), profile="maple_contrast", success=i % 3 != 0, **CONTEXT)
        for i in range(30)
    ]
    log_runs(*items)
    # Two changes on one day: the profile page's markers, and the admin history's rows.
    profile_services.profile_update(name="maple_contrast", changes={"max_rings": 7}, note="more rings", user=admin_user)
    profile_services.profile_update(name="maple_contrast", changes={"max_rings": 6}, note="back", user=admin_user)
    return items


def _pages(traffic) -> list[tuple[str, str]]:
    from profiles.selectors import profile_get

    profile = profile_get(name="maple_contrast")
    failed = next(item for item in traffic if not item["success"])
    return [
        (
            "dashboard",
            "/rmos/ai-ops/?tool_id=saw%3Aslitting-0.5&material_id=wood%3Amaple-hard&machine_id=prod%3Avmc-3axis",
        ),
        ("dashboard-24h", "/rmos/ai-ops/?range=24h&log=runs"),
        ("profiles", "/rmos/profiles/"),
        ("profile", "/rmos/profiles/maple_contrast/"),
        ("run", f"/rmos/runs/{traffic[1]['run_id']}/"),
        ("run-failed", f"/rmos/runs/{failed['run_id']}/"),
        ("change-requests", "/rmos/change-requests/"),
        ("admin-history", f"/admin/profiles/constraintprofile/{profile.pk}/history/"),
        ("admin-index", "/admin/"),
        ("api-docs", "/api/docs/"),
    ]


@pytest.mark.parametrize("width, height", SIZES)
def test_every_page_fits_the_screen_without_console_errors(page, sign_in, admin_user, traffic, width, height):
    page.set_viewport_size({"width": width, "height": height})
    console: list[str] = []
    page.on(
        "console", lambda message: console.append(f"{page.url}: {message.text}") if message.type == "error" else None
    )
    sign_in(admin_user)
    PAGES_DIR.mkdir(parents=True, exist_ok=True)
    too_wide = {}
    for name, url in _pages(traffic):
        response = page.goto(url)
        assert response is not None and response.status == 200, (url, response and response.status)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(PAGES_DIR / f"{name}-{width}.png"), full_page=True)
        scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
        if scroll_width > width:
            too_wide[name] = scroll_width
    assert too_wide == {}, f"pages wider than {width}px: {too_wide}"
    assert console == []


def test_api_docs_link_back_to_the_app(page, sign_in, viewer, db):
    sign_in(viewer)
    page.goto("/api/docs/")
    page.get_by_role("link", name="← RMOS AI Ops").click()
    expect(page).to_have_url(re.compile(r"/rmos/ai-ops/$"))


@pytest.mark.parametrize(
    "name, url, part",
    [
        (
            "histogram",
            "/rmos/ai-ops/?tool_id=saw%3Aslitting-0.5&material_id=wood%3Amaple-hard&machine_id=prod%3Avmc-3axis",
            "#snapshot-inspector rect.bar[data-tip]",
        ),
        (
            "risk mix",
            "/rmos/ai-ops/?tool_id=saw%3Aslitting-0.5&material_id=wood%3Amaple-hard&machine_id=prod%3Avmc-3axis",
            "#snapshot-inspector .chart-risk g[data-tip]",
        ),
        ("rate per day", "/rmos/profiles/maple_contrast/", ".chart-line circle.dot[data-tip]"),
        ("change marker", "/rmos/profiles/maple_contrast/", ".chart-line g.marker[data-tip]"),
        ("scores", "RUN", ".chart-scores a[data-tip]"),
        ("tuning trials", "TUNING", ".chart-trials circle.dot[data-tip]"),
        ("tuning importances", "TUNING", ".chart-importances g.bar[data-tip]"),
    ],
)
def test_hover_and_focus_show_a_value_on_each_chart_kind(page, sign_in, viewer, traffic, name, url, part):
    if url == "TUNING":  # a finished tuning job on the profile's traffic
        from tuning import services as tuning_services

        job = tuning_services.tuning_job_create(profile="maple_contrast", trials=12, seed=3, enqueue=False)
        url = f"/rmos/tuning/{tuning_services.tuning_job_run(job_id=job.pk).pk}/"
    sign_in(viewer)
    page.goto(f"/rmos/runs/{traffic[1]['run_id']}/" if url == "RUN" else url)
    target = page.locator(part).first
    title = target.locator("title").first.text_content()
    assert title
    label = target.locator("text")  # a marker's label, not the gap beside its hairline
    (label.first if label.count() else target).hover()
    tip = page.locator(".chart-tip")
    expect(tip).to_be_visible()
    expect(tip).to_have_text(title)
    page.mouse.move(0, 0)
    expect(tip).to_be_hidden()
    link = target.locator("a")  # a marker that links to its version takes focus on its link
    (link.first if link.count() else target).focus()
    expect(tip).to_be_visible()
    expect(tip).to_have_text(title)
