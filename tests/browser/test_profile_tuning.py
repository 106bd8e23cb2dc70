"""The seed's UI runbook (§9.2), as far as the profile editor goes: sign in, open the dashboard,
pick a context and a profile, save a change, see it in the history, roll it back, and see on the
profile's page what each version did."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from profiles import selectors
from tests.factories import PASSWORD, edit_profile, log_runs, make_profile, make_user, run_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def profiles(transactional_db):
    make_profile("default", description="Balanced bounds; the fallback.")
    make_profile(
        "maple_contrast",
        description="Maple takes fine detail.",
        min_rings=3,
        max_rings=9,
        min_ring_width_mm="0.40",
        max_ring_width_mm="2.00",
        min_total_width_mm="4.00",
        max_total_width_mm="10.00",
        palette_key="maple_contrast",
    )


MAPLE = {"tool_id": "saw:slitting-0.5", "material_id": "wood:maple-hard", "machine_id": "prod:vmc-3axis"}


def load_in_inspector(page, context: dict[str, str]) -> None:
    """Type a context into the snapshot inspector and load it, as a person would."""
    inspector = page.locator("#snapshot-inspector")
    for label, key in (("Tool", "tool_id"), ("Material", "material_id"), ("Machine", "machine_id")):
        inspector.get_by_label(label).fill(context[key])
    inspector.get_by_role("button", name="Load snapshot").click()


def test_tune_a_profile_then_roll_it_back(page, shot, profiles):
    make_user("olga", role="operator")
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    log_runs(
        *[
            run_item(at=hour_ago - timedelta(minutes=i), profile="maple_contrast", profile_version=1, **MAPLE)
            for i in range(3)
        ]
    )

    # Sign in: the dashboard sends us to the login page and back.
    page.goto("/rmos/ai-ops/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/rmos/ai-ops/"))
    shot("sign-in")
    page.get_by_label("User name").fill("olga")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/rmos/ai-ops/$"))
    expect(page.get_by_role("heading", name="AI Ops dashboard")).to_be_visible()
    for panel in ("Log viewer", "Snapshot inspector", "Performance analytics", "Hotspots", "Profile editor"):
        expect(page.get_by_role("heading", name=panel, exact=True)).to_be_visible()
    shot("dashboard")

    # Load a context in the snapshot inspector: with auto-load on, that selects it, in the address.
    load_in_inspector(page, MAPLE)
    expect(page).to_have_url(
        re.compile(
            r"\?tool_id=saw%3Aslitting-0.5&material_id=wood%3Amaple-hard&machine_id=prod%3Avmc-3axis#snapshot-inspector$"
        )
    )
    expect(page.locator(".context-list")).to_contain_text("saw:slitting-0.5")

    # Select a profile in the editor; the selection is kept.
    page.locator("#profile-editor").get_by_label("Profile", exact=True).select_option("maple_contrast")
    page.get_by_role("button", name="Open", exact=True).click()
    expect(page).to_have_url(re.compile(r"tool_id=saw%3Aslitting-0.5.*profile=maple_contrast#profile-editor"))
    editor = page.locator("#profile-editor")
    expect(editor.get_by_role("heading", name=re.compile(r"^maple_contrast"))).to_be_visible()
    expect(editor.get_by_label("Most rings")).to_have_value("9")
    shot("profile-selected")

    # Change a field with a note and save.
    editor.get_by_label("Most rings").fill("11")
    editor.get_by_label(re.compile("^Change note")).fill("Maple holds up to 11 rings on the fine saw")
    editor.get_by_role("button", name="Save changes").click()
    # The confirmation is in the editor, where the page lands (it was 4,800 px above, at the top).
    expect(editor.get_by_role("status").filter(has_text="Saved maple_contrast as version 2")).to_be_in_viewport()
    expect(page).to_have_url(re.compile(r"tool_id=saw%3Aslitting-0.5.*profile=maple_contrast#profile-editor"))
    expect(editor.get_by_label("Most rings")).to_have_value("11")

    # The history gained an entry with its diff.
    newest = editor.locator(".history-entry").first
    expect(newest.locator(".version-badge")).to_have_text("v2")
    expect(newest).to_contain_text("by olga")
    expect(newest).to_contain_text("Maple holds up to 11 rings on the fine saw")
    expect(newest.get_by_role("row", name=re.compile("Most rings"))).to_contain_text("9")
    expect(newest.locator("ins")).to_have_text("11")
    shot("saved-with-history")

    # Roll back to version 1, with a confirmation that shows what will change.
    editor.get_by_role("link", name="Roll back to v1…").click()
    expect(page.get_by_role("heading", name="Roll maple_contrast back to version 1?")).to_be_visible()
    change = page.get_by_role("table", name="What will change")
    expect(change.get_by_role("row")).to_have_count(2)  # header + max rings
    expect(change).to_contain_text("Most rings")
    expect(change.locator("del")).to_have_text("11")
    expect(change.locator("ins")).to_have_text("9")
    shot("rollback-confirmation")
    page.get_by_label(re.compile("^Why roll back")).fill("11 rings chipped in the first batch")
    page.get_by_role("button", name="Roll back to version 1").click()

    # Back on the same dashboard view, with the value restored and the rollback journaled.
    expect(page).to_have_url(
        re.compile(r"/rmos/ai-ops/\?tool_id=saw%3Aslitting-0.5.*profile=maple_contrast#profile-editor")
    )
    expect(
        editor.get_by_role("status").filter(has_text="Rolled maple_contrast back to the values of version 1")
    ).to_be_in_viewport()
    expect(editor.get_by_label("Most rings")).to_have_value("9")
    newest = editor.locator(".history-entry").first
    expect(newest.locator(".version-badge")).to_have_text("v3")
    expect(newest.locator(".type-tag")).to_have_text("rollback")
    expect(newest).to_contain_text("11 rings chipped in the first batch")
    shot("rolled-back")

    history = selectors.profile_history(name="maple_contrast", limit=5)
    assert [(e["version"], e["type"], e["user"]) for e in history] == [
        (3, "rollback", "olga"),
        (2, "changed", "olga"),
        (1, "created", None),
    ]

    # Did my edit help? The profile's page lists every version, what it changed, and its runs; the
    # chart marks each change and a marker leads to its version.
    editor.get_by_role("link", name="Open the profile page").click()
    versions = page.get_by_role("table", name=re.compile("Outcomes of each version of maple_contrast"))
    expect(versions.locator("tbody tr")).to_have_count(3)
    expect(versions.locator("#version-3")).to_contain_text("restores the values of v1")
    expect(versions.locator("#version-3")).to_contain_text("11 rings chipped in the first batch")
    expect(versions.locator("#version-2")).to_contain_text("Most rings: 9 → 11")
    expect(versions.locator("#version-2")).to_contain_text("no runs yet")
    expect(versions.locator("#version-1")).to_contain_text("100%")
    markers = page.locator("#success-over-time .marker a")
    expect(markers).to_have_count(3)
    for n in range(3):
        expect(markers.nth(n)).to_have_attribute("href", f"#version-{n + 1}")
    # The three changes were made within a minute: two labels, the second counting the third.
    expect(markers.nth(1).locator("text")).to_have_text("v2 changed +1")
    markers.nth(1).locator("text").click()
    expect(page).to_have_url(re.compile(r"/rmos/profiles/maple_contrast/#version-2$"))
    shot("did-my-edit-help")


def test_a_validation_error_is_shown_next_to_its_field(page, shot, sign_in, profiles):
    sign_in(make_user("olga", role="operator"))
    page.goto("/rmos/profiles/default/")
    shot("editor")
    page.get_by_label("Fewest rings").fill("5")
    page.get_by_label("Most rings").fill("3")
    page.get_by_label(re.compile("^Change note")).fill("try fewer rings")
    page.get_by_role("button", name="Save changes").click()

    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()  # keyboard and screen-reader users land on the problems
    expect(summary).to_contain_text("Not saved: 1 problem to fix")
    most = page.get_by_label("Most rings")
    expect(most).to_have_attribute("aria-invalid", "true")
    expect(most).to_have_accessible_description(re.compile("Must be at least fewest rings \\(5\\), got 3"))
    expect(page.locator("#id_max_rings_error")).to_have_text("Must be at least fewest rings (5), got 3")
    expect(most).to_have_value("3")
    expect(page.get_by_label("Fewest rings")).to_have_value("5")
    expect(page.get_by_label(re.compile("^Change note"))).to_have_value("try fewer rings")
    shot("validation-error")

    # The summary's link takes the keyboard to the field.
    summary.get_by_role("link", name="Most rings").click()
    expect(most).to_be_focused()
    assert selectors.profile_get(name="default").version == 1


def test_a_viewer_sees_no_edit_controls(page, shot, sign_in, profiles):
    sign_in(make_user("victor", role="viewer"))
    page.goto("/rmos/ai-ops/")
    editor = page.locator("#profile-editor")
    expect(editor.get_by_role("table", name=re.compile("^default, version 1"))).to_be_visible()
    expect(editor.get_by_role("button", name="Save changes")).to_have_count(0)
    expect(page.locator(".role-tag")).to_have_text("read only")
    shot("viewer-dashboard")


def test_a_stale_edit_keeps_what_was_typed(page, shot, sign_in, profiles):
    sign_in(make_user("olga", role="operator"))
    page.goto("/rmos/ai-ops/?profile=default")
    editor = page.locator("#profile-editor")
    editor.get_by_label("Most rings").fill("9")
    editor.get_by_label(re.compile("^Change note")).fill("allow up to 9 rings")
    # Meanwhile someone else saves a newer version.
    edit_profile(
        "default",
        max_rings=7,
        bias_simple=True,
        note="simpler designs for the new saw",
        user=make_user("sam", role="operator"),
    )
    editor.get_by_role("button", name="Save changes").click()

    notice = page.locator("#stale-notice")
    expect(notice).to_be_focused()
    expect(notice).to_contain_text("Someone saved a newer version while you were editing")
    expect(notice).to_contain_text("simpler designs for the new saw")
    expect(editor.get_by_label("Most rings")).to_have_value("9")
    expect(editor.get_by_label(re.compile("^Change note"))).to_have_value("allow up to 9 rings")
    expect(editor.locator(".is-conflict").filter(has=page.get_by_label("Most rings"))).to_contain_text("Saved in v2: 7")
    # Untouched by us, changed by Sam: the form now has Sam's value, so saving keeps it.
    expect(editor.get_by_label("Prefer simple designs")).to_be_checked()
    expect(editor.locator(".is-adopted")).to_contain_text("Updated to v2: yes")
    shot("stale-edit")

    editor.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").filter(has_text="Saved default as version 3")).to_be_visible()
    current = selectors.profile_get(name="default")
    assert (current.version, current.max_rings, current.bias_simple) == (3, 9, True)


def test_unsaved_edits_survive_loading_a_context_in_the_inspector(page, sign_in, profiles):
    """Seen in review: the what-if preview's advice ("load a context in the snapshot inspector")
    reloaded the page and threw the editor's unsaved values away (after a leave-page dialog)."""
    sign_in(make_user("olga", role="operator"))
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    page.goto("/rmos/ai-ops/?profile=maple_contrast#profile-editor")
    editor = page.locator("#profile-editor")
    editor.get_by_label("Most rings").fill("7")
    editor.get_by_label("Allow mosaic").uncheck()
    load_in_inspector(page, MAPLE)
    expect(page).to_have_url(re.compile(r"tool_id=saw%3Aslitting-0.5.*#snapshot-inspector$"))
    assert dialogs == []  # no "leave page?" question: nothing is lost
    expect(editor.get_by_label("Most rings")).to_have_value("7")
    expect(editor.get_by_label("Allow mosaic")).not_to_be_checked()
    expect(editor.get_by_role("status").filter(has_text="Your unsaved edits were kept")).to_be_visible()
    # Still unsaved: saving them makes version 2 with both changes.
    editor.get_by_label(re.compile("^Change note")).fill("fewer rings, no mosaic")
    editor.get_by_role("button", name="Save changes").click()
    expect(editor.get_by_role("status").filter(has_text="Saved maple_contrast as version 2")).to_be_visible()
    profile = selectors.profile_get(name="maple_contrast")
    assert (profile.max_rings, profile.allow_mosaic) == (7, False)
    # A reload of the saved page does not bring the old edits back.
    page.reload()
    expect(editor.get_by_role("status").filter(has_text="Your unsaved edits were kept")).to_have_count(0)


def test_carried_edits_keep_the_editor_on_their_profile_and_never_cross_to_another(page, sign_in, starter_profiles):
    """Seen in review: with the editor following the inspected context, selecting another context
    (or picking another profile) opened another profile and dropped the edits without a word."""
    sign_in(make_user("olga", role="operator"))
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    maple = "tool_id=saw%3Aslitting-0.5&material_id=wood%3Amaple-hard&machine_id=prod%3Avmc-3axis"
    page.goto(f"/rmos/ai-ops/?{maple}#profile-editor")
    editor = page.locator("#profile-editor")
    expect(editor.get_by_role("heading", name=re.compile(r"^maple_contrast"))).to_be_visible()
    editor.get_by_label("Most rings").fill("7")
    # Another context, which the rules send to thin_saw: the editor stays on maple_contrast, edits kept.
    inspector = page.locator("#snapshot-inspector")
    inspector.get_by_label("Material").fill("wood:ebony")
    inspector.get_by_role("button", name="Load snapshot").click()
    expect(page).to_have_url(re.compile(r"material_id=wood%3Aebony.*profile=maple_contrast"))
    expect(editor.get_by_role("heading", name=re.compile(r"^maple_contrast"))).to_be_visible()
    expect(editor.get_by_label("Most rings")).to_have_value("7")
    assert dialogs == []
    # Picking another profile in the editor is leaving these edits: the browser asks (dismissed: stay).
    editor.get_by_label("Profile", exact=True).select_option("default")
    editor.get_by_role("button", name="Open").click()
    expect(editor.get_by_label("Most rings")).to_have_value("7")
    assert dialogs == ["beforeunload"]


def test_edits_carried_across_a_newer_save_meet_the_stale_edit_check(page, sign_in, profiles):
    sign_in(make_user("olga", role="operator"))
    page.goto("/rmos/ai-ops/?profile=maple_contrast#profile-editor")
    editor = page.locator("#profile-editor")
    editor.get_by_label("Most rings").fill("7")
    edit_profile("maple_contrast", min_rings=4, note="someone else, meanwhile")  # version 2
    page.locator("#snapshot-inspector").get_by_label("Tool").fill("saw:slitting-0.5")
    page.locator("#snapshot-inspector").get_by_role("button", name="Load snapshot").click()
    expect(editor.get_by_role("status").filter(has_text="someone saved version 2 meanwhile")).to_be_visible()
    expect(editor.get_by_label("Most rings")).to_have_value("7")
    editor.get_by_label(re.compile("^Change note")).fill("fewer rings")
    editor.get_by_role("button", name="Save changes").click()
    # Not a silent overwrite of version 2: the stale-edit screen, with the other change adopted.
    expect(editor.get_by_role("heading", name="Someone saved a newer version while you were editing")).to_be_visible()
    expect(editor.get_by_label("Fewest rings")).to_have_value("4")
    assert selectors.profile_get(name="maple_contrast").version == 2


def test_a_long_unbroken_value_wraps_in_the_what_if_table(page, shot, sign_in, profiles):
    """A description typed without spaces squeezed the 'Saved' column to a word per line and ran
    into the next column."""
    sign_in(make_user("olga", role="operator"))
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/rmos/profiles/default/")
    page.get_by_label("Description").fill("x" * 300)
    page.get_by_role("button", name="Preview what-if").click()
    table = page.locator("#what-if table.diff").first
    expect(table).to_be_visible()
    shot("what-if-long-value")
    cells = table.locator("tbody td")
    for i in range(cells.count()):
        box = cells.nth(i).evaluate(
            "c => ({scroll: c.scrollWidth, client: c.clientWidth, width: c.getBoundingClientRect().width})"
        )
        assert box["scroll"] <= box["client"] + 1, box  # nothing runs out of its cell
        assert box["width"] >= 60, box  # and no column is squeezed to a sliver
    table_box = table.bounding_box()
    assert table_box["width"] <= page.locator("#what-if").bounding_box()["width"] + 1
