"""The dashboard's layout at a laptop, a tablet and a phone width: the page is as tall as its
content (hidden labels in a full log once stretched it by 800 px), nothing forces a sideways
scroll nor sticks out of its panel, the selected-context bar does not draw its parts on top of each other, and the keyboard reaches
every panel without tabbing through the whole log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.factories import log_runs, make_user, run_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTEXT = {
    "tool_id": "saw:slitting-0.5",
    "material_id": "wood:maple-hard",
    "machine_id": "prod:vmc-3axis",
    "geometry_engine": "",
}
SELECTED = "/rmos/ai-ops/?tool_id=saw%3Aslitting-0.5&material_id=wood%3Amaple-hard&machine_id=prod%3Avmc-3axis"


@pytest.fixture
def full_log(starter_profiles):
    """More than a page of attempts, so the log box scrolls and its hidden labels are many."""
    now = datetime.now(UTC)
    scores = [(40.0 + i, "RED") for i in range(9)] + [(90.0, "GREEN")]
    log_runs(
        *[
            run_item(at=now - timedelta(minutes=10 * i), profile="maple_contrast", scores=scores, **CONTEXT)
            for i in range(12)
        ]
    )


def _geometry(page) -> dict:
    return page.evaluate(
        """() => ({
            width: document.documentElement.scrollWidth,
            height: document.documentElement.scrollHeight,
            contentBottom: Math.max(...[...document.body.children].map(e => e.getBoundingClientRect().bottom + window.scrollY)),
        })"""
    )


def _spills(page) -> list[str]:
    """What sticks out past the right edge of its panel without a scrolling box to hold it (a
    table 40 px wider than its panel once moved the page only 1 px, but cut off its last column)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.panel')].flatMap(panel => {
            const right = panel.getBoundingClientRect().right - parseFloat(getComputedStyle(panel).borderRightWidth);
            const held = el => {
                for (let box = el.parentElement; box && box !== panel; box = box.parentElement) {
                    if (getComputedStyle(box).overflowX !== 'visible') return true;
                }
                return false;
            };
            return [...panel.querySelectorAll('*')]
                .filter(el => el.getBoundingClientRect().right > right + 0.5 && !held(el))
                .map(el => `#${panel.id} ${el.tagName.toLowerCase()}.${el.getAttribute('class') || ''}: right ${el.getBoundingClientRect().right} > ${right}`);
        })"""
    )


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.parametrize("width", [1366, 900, 390])
def test_the_dashboard_fits_its_content_and_the_screen(page, shot, sign_in, full_log, width):
    sign_in(make_user("lena", role="viewer"))
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(SELECTED)
    assert page.locator("#log-viewer tbody tr").count() == 100
    expect(page.get_by_role("table", name="Distribution")).to_be_visible()  # the inspector shows the selection
    shot(f"dashboard-{width}")

    geometry = _geometry(page)
    assert geometry["width"] <= width, geometry  # no sideways scroll of the whole page
    assert _spills(page) == []
    assert geometry["height"] <= geometry["contentBottom"] + 2, geometry  # no blank space below the footer

    chips = page.locator(".context-list").bounding_box()
    autoload = page.locator(".context-autoload").bounding_box()
    assert not _overlap(chips, autoload), (chips, autoload)


def test_a_keyboard_user_reaches_any_panel_in_a_few_tabs(page, sign_in, full_log):
    sign_in(make_user("kai", role="operator"))
    page.goto(SELECTED)
    nav = page.get_by_role("navigation", name="Panels of this page")
    # From the top of the page: past the skip link and the header's links to the panel list.
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.closest('nav.panel-nav') !== null"):
            break
    else:
        pytest.fail("the panel links are not within 15 tab stops of the top")
    while page.evaluate("() => document.activeElement.textContent.trim()") != "Profile editor":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # the next stop is inside the profile editor (it took 400 before)
    assert page.evaluate("() => document.activeElement.closest('#profile-editor') !== null")
    assert nav.get_by_role("link").count() == 5


@pytest.mark.parametrize("chart, path", [("Score per attempt", "run"), ("Success rate per day", "profile")])
def test_wide_charts_stay_readable_on_a_phone(page, shot, sign_in, full_log, chart, path):
    """Seen in review: at 390 px the run page's and the profile page's charts shrank their labels
    to about 4 px. Below 600 px they keep a readable size and scroll sideways inside their box."""
    from ailog.models import AiRun

    sign_in(make_user("pia", role="viewer"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/rmos/runs/{AiRun.objects.first().run_id}/" if path == "run" else "/rmos/profiles/maple_contrast/")
    figure = page.locator("figure.chart").filter(has=page.locator("figcaption", has_text=chart)).first
    label = figure.locator("svg .axis-y text").first
    shot(f"{path}-chart-390")
    assert label.bounding_box()["height"] >= 9, label.bounding_box()
    assert _geometry(page)["width"] <= 391  # the page itself does not scroll sideways


@pytest.mark.parametrize("width", [1366, 390])
def test_the_risk_bar_fills_its_column_with_readable_labels(page, shot, sign_in, full_log, width):
    """Seen in review: at 1366 px the inspector's 480 px bar, labelled 100%, stopped at 80% of its
    column as if a segment were missing; at 390 px it shrank its labels to about 6 px."""
    sign_in(make_user("ola", role="viewer"))
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(SELECTED)
    figure = page.locator("#snapshot-inspector figure.chart-risk")
    shot(f"risk-bar-{width}")
    column = figure.bounding_box()
    bar = figure.locator("svg.risk-bar").bounding_box()
    assert abs(bar["x"] - column["x"]) <= 1 and abs(bar["width"] - column["width"]) <= 1, (bar, column)
    labels = figure.locator("svg text").all()
    assert labels
    for label in labels:
        assert label.bounding_box()["height"] >= 12, (label.text_content(), label.bounding_box())


@pytest.mark.parametrize("tab", ["attempts", "runs"])
def test_a_phone_shows_each_log_rows_score_and_risk_without_scrolling(page, shot, sign_in, full_log, tab):
    """At 390 px the score and risk columns sit past the screen's edge; each row repeats them
    under its time (for sight only: screen readers read the columns)."""
    sign_in(make_user("lena", role="viewer"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/rmos/ai-ops/?log={tab}#log-viewer")
    row = page.locator("#log-viewer tbody tr").first
    glance = row.locator(".cell-glance")
    expect(glance).to_be_visible()
    score = row.locator("td.num").first.inner_text().strip()
    assert glance.inner_text().startswith(score)
    box = glance.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box  # inside the screen, no sideways scroll
    shot(f"log-{tab}-390")
    page.set_viewport_size({"width": 1366, "height": 900})
    expect(glance).to_be_hidden()  # the columns are on screen there


@pytest.fixture
def long_values(starter_profiles):
    """Values at the limits the API accepts, written without a space: a profile description and
    note, 128-character ids, a 500-character warning and a 128-character material key."""
    from profiles import services

    services.profile_update(name="maple_contrast", changes={"description": "d" * 900}, note="n" * 400)
    ids = {"tool_id": "t" * 128, "material_id": "m" * 128, "machine_id": "c" * 128}
    run = run_item(at=datetime.now(UTC) - timedelta(minutes=5), profile="maple_contrast", warnings=["w" * 500], **ids)
    run["attempt_records"][0]["candidate"] = {
        "rings": [{"width_mm": 1.0, "pattern": "solid", "material_key": "k" * 128}]
    }
    run["attempt_records"][0]["warnings"] = ["a" * 500]
    log_runs(run)
    return run, ids


@pytest.mark.parametrize("width", [1366, 390])
def test_long_unbroken_values_wrap_inside_their_panels(page, shot, sign_in, long_values, width):
    """Found in review: such values made the profile page 18,600 px wide, ran the run page's
    warnings out of their box and drew the selected-context chips over the auto-load text."""
    run, ids = long_values
    sign_in(make_user("lena", role="viewer"))
    page.set_viewport_size({"width": width, "height": 900})
    query = "&".join(f"{k}={v}" for k, v in ids.items())
    for name, url in (
        ("profile", "/rmos/profiles/maple_contrast/"),
        ("dashboard", f"/rmos/ai-ops/?{query}&profile=maple_contrast&log_tool_id={'x' * 300}"),
        ("run", f"/rmos/runs/{run['run_id']}/"),
    ):
        page.goto(url)
        shot(f"{name}-{width}")
        geometry = _geometry(page)
        assert geometry["width"] <= width, (name, geometry)
        assert _spills(page) == [], name
    page.goto(f"/rmos/ai-ops/?{query}")
    chips = page.locator(".context-list").bounding_box()
    autoload = page.locator(".context-autoload").bounding_box()
    assert not _overlap(chips, autoload), (chips, autoload)


def test_a_proposals_values_stay_whole_on_a_phone(page, shot, sign_in, starter_profiles):
    """Found in review: at 390 px the change request's diff split "10.00 mm" as "10.0|0 mm", and
    the tuning page's effect column shrank to a syllable per line."""
    from tests.factories import open_request

    author = make_user("olga", role="operator")
    request = open_request("maple_contrast", author=author, max_total_width_mm="9.50")
    sign_in(author)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/rmos/change-requests/{request.pk}/")
    shot("request-390")
    row = page.locator("table.diff-semantic tbody tr").first
    for cell in (".diff-before del", ".diff-after ins"):
        number = row.locator(cell).evaluate(
            "el => { const r = document.createRange(); r.setStart(el.firstChild, 0); r.setEnd(el.firstChild, el.textContent.indexOf(' ')); return r.getClientRects().length; }"
        )
        assert number == 1, cell  # the digits of a value are on one line
    effect = row.locator("td").last.bounding_box()
    assert effect["width"] >= 8 * 16 - 1, effect
    assert _geometry(page)["width"] <= 390


def test_the_profile_pages_actions_are_one_row_of_buttons(page, sign_in, starter_profiles):
    """Found in review: "Open in the dashboard" stretched to the height of the Tune form beside it,
    a tall empty box, and "Tune" sat under its trials field."""
    sign_in(make_user("olga", role="operator"))
    page.goto("/rmos/profiles/maple_contrast/")
    link = page.get_by_role("link", name="Open in the dashboard").bounding_box()
    tune = page.get_by_role("button", name="Tune").bounding_box()
    trials = page.get_by_label("Trials").bounding_box()
    assert link["height"] < 48, link
    assert abs((tune["y"] + tune["height"] / 2) - (trials["y"] + trials["height"] / 2)) < 4, (tune, trials)


@pytest.mark.parametrize("width", [1366, 390])
def test_a_runs_long_seed_is_shown_whole(page, sign_in, starter_profiles, width):
    """Found in review: a 19-digit seed was cut off at the edge of the budget's value column."""
    run = run_item(at=datetime.now(UTC) - timedelta(minutes=5), profile="maple_contrast", seed=5781887404773108526)
    log_runs(run)
    sign_in(make_user("lena", role="viewer"))
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"/rmos/runs/{run['run_id']}/")
    seed = page.locator(".fact-nowrap", has_text="5781887404773108526")
    assert seed.evaluate("el => el.parentElement.scrollWidth <= el.parentElement.clientWidth")
