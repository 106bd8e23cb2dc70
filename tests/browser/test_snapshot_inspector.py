"""The seed's runbook (§9.2) for the engine-backed parts of the dashboard: the snapshot inspector
with its resolution explanation, auto-load from the selection, and the editor's what-if."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from dashboard.url_state import DashboardState, parse
from profiles import selectors
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAPLE = {"tool_id": "saw:slitting-0.5", "material_id": "wood:maple-hard", "machine_id": "prod:vmc-3axis"}
SHELL = {"tool_id": "laser:fiber-20w", "material_id": "shell:abalone-paua", "machine_id": "prod:laser-cell"}


def test_choosing_a_context_samples_it(page, shot, sign_in, starter_profiles):
    sign_in(make_user("victor", role="viewer"))
    page.goto("/rmos/ai-ops/")
    inspector = page.locator("#snapshot-inspector")
    expect(inspector.get_by_text("No context chosen")).to_be_visible()
    shot("empty-inspector")

    # The catalog's ids are offered as suggestions; the fields take any id.
    expect(page.locator("datalist#catalog-tools option")).to_have_count(8)
    inspector.get_by_label("Tool").fill("saw:slitting-0.5")
    inspector.get_by_label("Material").fill("wood:maple-hard")
    inspector.get_by_label("Machine").fill("prod:vmc-3axis")
    inspector.get_by_label("Samples").fill("800")
    inspector.get_by_role("button", name="Load snapshot").click()

    expect(page).to_have_url(
        re.compile(
            r"/rmos/ai-ops/\?tool_id=saw%3Aslitting-0.5&material_id=wood%3Amaple-hard&machine_id=prod%3Avmc-3axis"
            r"&n_samples=800#snapshot-inspector$"
        )
    )
    expect(inspector.locator(".profile-used")).to_contain_text(
        "Profile used: maple_contrast v1 via rule maple-materials"
    )
    expect(inspector.get_by_role("img", name=re.compile(r"^Risk mix of 800 candidates"))).to_be_visible()
    expect(inspector.get_by_role("img", name=re.compile(r"^Ring count"))).to_be_visible()
    expect(inspector.get_by_role("img", name=re.compile(r"^Total width"))).to_be_visible()
    expect(inspector.get_by_role("img", name=re.compile(r"^Rosette: \d+ rings?"))).to_have_count(3)
    expect(inspector.locator(".candidate-title").first).to_have_text(
        re.compile(r"Candidate 1\s+(GREEN|YELLOW|RED)\s+score \d+\.\d")
    )
    shot("snapshot-loaded")

    # Per-check results on demand.
    first = inspector.locator(".candidate").first
    checks = first.get_by_role("table", name="Feasibility checks of candidate 1")
    expect(checks).to_be_hidden()
    first.get_by_text("Every check (8)").click()
    expect(checks).to_be_visible()
    expect(checks.get_by_role("row")).to_have_count(9)
    expect(checks).to_contain_text("segmented_tooling")

    # The resolution explanation beside it: the winner and every rule, field by field.
    resolution = page.locator("#resolution")
    expect(resolution).to_contain_text("maple-materials sends this context to maple_contrast.")
    rules = resolution.get_by_role("table", name="Every rule considered, field by field, against the context")
    expect(rules.locator("tbody.rule")).to_have_count(6)
    expect(rules.locator("tbody.outcome-winner")).to_contain_text(re.compile(r"#\d+ maple-materials"))
    expect(rules.locator("tbody.outcome-outranked")).to_have_count(2)
    expect(rules.locator("td.is-miss")).to_have_count(3)
    resolution.scroll_into_view_if_needed()
    shot("checks-and-resolution")

    # A bad sample size is reported next to its field, with what was typed kept.
    inspector.get_by_label("Samples").fill("3")
    inspector.get_by_role("button", name="Load snapshot").click()
    samples = inspector.get_by_label("Samples")
    expect(samples).to_have_value("3")
    expect(samples).to_have_attribute("aria-invalid", "true")
    expect(samples).to_have_accessible_description(re.compile("Must be a whole number from 5 to 10,000, got '3'"))
    expect(inspector.get_by_text("Nothing sampled yet")).to_be_visible()
    shot("bad-sample-size")


def test_with_autoload_off_the_inspector_stays_put(page, shot, sign_in, starter_profiles):
    sign_in(make_user("olga", role="operator"))
    showing = DashboardState().select(**MAPLE)
    page.goto(showing.url())
    inspector = page.locator("#snapshot-inspector")
    expect(inspector.locator(".profile-used")).to_contain_text("maple_contrast")

    page.get_by_role("link", name="Turn off").click()
    expect(page.locator(".context-autoload")).to_contain_text("Auto-load from selection: off")
    expect(inspector.locator(".panel-sub")).to_have_text("Stays put (auto-load is off)")
    shot("autoload-off")

    # Another context is selected (what a log or analytics row links to): the inspector stays.
    off, _ = parse(parse_qs(urlsplit(page.url).query))
    page.goto(off.select(**SHELL).url())
    expect(page.locator(".context-list")).to_contain_text("shell:abalone-paua")
    expect(inspector.get_by_label("Material")).to_have_value("wood:maple-hard")
    expect(inspector.locator(".profile-used")).to_contain_text("maple_contrast")
    expect(page.locator("#resolution")).to_contain_text("maple-materials sends this context to maple_contrast.")
    shot("selection-moved-inspector-stayed")

    # Loading the selection by hand is one click; auto-load stays off.
    inspector.get_by_role("link", name="Load the selection here").click()
    expect(inspector.get_by_label("Material")).to_have_value("shell:abalone-paua")
    expect(inspector.locator(".profile-used")).to_contain_text("premium_shell")
    expect(page.locator(".context-autoload")).to_contain_text("off")
    shot("selection-loaded-by-hand")

    # Switching auto-load back on follows the selection again.
    page.get_by_role("link", name="Turn on").click()
    expect(inspector.locator(".panel-sub")).to_have_text("Follows the selection")
    expect(inspector.get_by_label("Tool")).to_have_value("laser:fiber-20w")


def test_what_if_shows_both_sides_and_saves_nothing(page, shot, sign_in, starter_profiles):
    sign_in(make_user("olga", role="operator"))
    page.goto(DashboardState(profile="maple_contrast").select(**MAPLE).url(fragment="profile-editor"))
    editor = page.locator("#profile-editor")
    expect(editor.locator("#what-if-note")).to_contain_text("the snapshot inspector’s context")
    editor.get_by_label("Most rings").fill("6")
    editor.get_by_label("Allow mosaic rings").uncheck()
    editor.get_by_role("button", name="Preview what-if").click()

    expect(page).to_have_url(re.compile(r"profile=maple_contrast#what-if$"))
    preview = editor.locator("#what-if")
    expect(preview).to_be_focused()
    expect(preview.get_by_role("heading", name="What-if: your unsaved values against saved version 1")).to_be_visible()
    expect(preview).to_contain_text("Nothing was saved.")
    changes = preview.get_by_role("table", name="Your unsaved changes")
    expect(changes.get_by_role("row")).to_have_count(3)  # header, most rings, allow mosaic
    expect(preview.locator(".differences li").first).to_contain_text("Mean ring count")
    saved, yours = preview.locator(".compare-side").nth(0), preview.locator(".compare-side").nth(1)
    expect(saved.get_by_role("heading", name="Saved v1")).to_be_visible()
    expect(yours.get_by_role("heading", name="Your values unsaved")).to_be_visible()
    for side in (saved, yours):
        expect(side.get_by_role("img", name=re.compile(r"^Risk mix of 500 candidates"))).to_be_visible()
        expect(side.get_by_role("img", name=re.compile(r"^Ring count"))).to_be_visible()
        expect(side.get_by_role("img", name=re.compile(r"^Total width"))).to_be_visible()
    # Yours: no mosaic rings and at most 6 rings.
    preview.get_by_text("Every number, side by side").click()
    expect(preview.locator("tr", has_text="mosaic").last).to_contain_text("0.0%")
    shot("what-if")

    # Everything typed is still there, and nothing was saved.
    expect(editor.get_by_label("Most rings")).to_have_value("6")
    expect(editor.get_by_label("Allow mosaic rings")).not_to_be_checked()
    current = selectors.profile_get(name="maple_contrast")
    assert (current.version, current.max_rings, current.allow_mosaic) == (1, 8, True)
    assert len(selectors.profile_history(name="maple_contrast")) == 1

    # A bad value: no preview, the problem next to its field.
    editor.get_by_label("Most rings").fill("30")
    editor.get_by_role("button", name="Preview what-if").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("No preview: 1 problem to fix")
    expect(editor.get_by_label("Most rings")).to_have_accessible_description(
        re.compile("Must be between 1 and 24, got 30")
    )
    expect(editor.locator("#what-if")).to_have_count(0)
    shot("what-if-invalid")
    assert selectors.profile_get(name="maple_contrast").version == 1
