"""Profile pages: list, editor (every form path), history and rollback."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from profiles import selectors
from profiles.models import ConstraintProfile
from tests.factories import edit_profile, form_data, make_profile, make_user

pytestmark = pytest.mark.django_db


def detail_url(name: str = "default") -> str:
    return reverse("profile-detail", args=[name])


def rollback_url(name: str, history_id: int) -> str:
    return reverse("profile-rollback", args=[name, history_id])


def field_error(html: str, field: str) -> str:
    """The text of the error list Django renders next to ``field`` (id="id_<field>_error")."""
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else ""


def saved_value(html: str, field: str) -> str:
    """The "Saved in vN: ..." note under ``field`` on a stale edit."""
    start = html.index(f'name="{field}"')
    end = html.find('<div class="field ', start)
    match = re.search(r'<p class="saved-value[^"]*">(.*?)</p>', html[start : end if end > 0 else None], re.S)
    return re.sub(r"\s+", " ", match.group(1)).strip() if match else ""


def input_value(html: str, field: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{field}"[^>]*>', html)
    if not match:
        return None
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


# -- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/rmos/profiles/", "/rmos/profiles/default/", "/rmos/profiles/default/rollback/1/"])
def test_anonymous_users_are_sent_to_sign_in(client, default_profile, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_unknown_profile_is_404_with_its_name(operator_client, default_profile):
    response = operator_client.get(detail_url("nope"))
    assert response.status_code == 404
    assert "No profile named &#x27;nope&#x27;" in response.content.decode()


# -- list --------------------------------------------------------------------------------------


def test_list_shows_every_profile_with_its_bounds(viewer_client, default_profile, django_assert_max_num_queries):
    make_profile("premium_shell", min_rings=2, max_rings=5, allow_mosaic=False, palette_key="shell_premium")
    # session, user, 2 x permissions, profiles, the header's alert count and change requests awaiting the user
    with django_assert_max_num_queries(7):
        response = viewer_client.get("/rmos/profiles/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<a href="/rmos/profiles/premium_shell/">premium_shell</a>' in html
    assert "2–5" in html and "solid, segmented" in html and "shell_premium" in html
    assert '<th scope="col">Profile</th>' in html and '<th scope="row">' in html


def test_list_empty_state(viewer_client):
    html = viewer_client.get("/rmos/profiles/").content.decode()
    assert "No profiles yet" in html and "import_profiles" in html


# -- the editor ----------------------------------------------------------------------------------


def test_operator_gets_the_editor_with_units_limits_note_and_version(operator_client, default_profile):
    response = operator_client.get(detail_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in html
    assert input_value(html, "version") == "1"
    assert input_value(html, "max_ring_width_mm") == "3.00"
    assert 'Widest ring <span class="label-unit">(mm)</span>' in html
    assert "0.01–20.00 mm" in html and "1–24" in html
    assert 'name="note"' in html and "required" in html
    assert 'aria-describedby="id_max_rings_helptext"' in html
    assert 'name="action" value="what-if" formaction="/rmos/profiles/default/#what-if"' in html


def test_viewer_sees_values_but_no_edit_controls(viewer_client, default_profile):
    edit_profile("default", max_rings=7)
    html = viewer_client.get(detail_url()).content.decode()
    assert '<form method="post" action="/rmos/profiles/default/"' not in html
    assert 'name="note"' not in html
    assert "Roll back to" not in html
    assert "Most rings" in html and "7" in html
    assert "Editing needs the operator role" in html


def test_viewer_cannot_post_a_change(viewer_client, default_profile):
    response = viewer_client.post(detail_url(), form_data(default_profile, max_rings="7"))
    assert response.status_code == 403
    assert ConstraintProfile.objects.get(name="default").max_rings == 6


def test_a_save_makes_a_version_with_the_signed_in_author_and_note(operator_client, operator, default_profile):
    response = operator_client.post(detail_url(), form_data(default_profile, max_rings="8", note="room for more rings"))
    assert response.status_code == 302
    assert response["Location"] == "/rmos/profiles/default/#history"
    profile = ConstraintProfile.objects.get(name="default")
    assert (profile.max_rings, profile.version) == (8, 2)
    newest = selectors.profile_history(name="default", limit=1)[0]
    assert newest["user"] == operator.username
    assert newest["note"] == "room for more rings"
    assert newest["changes"] == [{"field": "max_rings", "before": 6, "after": 8}]
    html = operator_client.get(response["Location"]).content.decode()
    assert "Saved default as version 2: most rings 6 → 8." in html


def test_widths_keep_two_decimals_and_flags_follow_the_checkboxes(operator_client, default_profile):
    data = form_data(default_profile, min_ring_width_mm="0.75", allow_mosaic=None, bias_simple="on")
    assert operator_client.post(detail_url(), data).status_code == 302
    profile = ConstraintProfile.objects.get(name="default")
    assert profile.min_ring_width_mm == Decimal("0.75")
    assert (profile.allow_mosaic, profile.bias_simple) == (False, True)


def test_min_above_max_is_reported_next_to_the_field_and_nothing_is_saved(operator_client, default_profile):
    response = operator_client.post(detail_url(), form_data(default_profile, min_rings="5", max_rings="3"))
    html = response.content.decode()
    assert response.status_code == 400
    assert field_error(html, "max_rings") == "Must be at least fewest rings (5), got 3"
    assert 'aria-invalid="true"' in html
    assert "Not saved: 1 problem to fix" in html
    assert '<a href="#id_max_rings">Most rings</a>' in html
    # Everything typed is still there.
    assert input_value(html, "min_rings") == "5" and input_value(html, "max_rings") == "3"
    assert "a reason" in html
    assert ConstraintProfile.objects.get(name="default").version == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_rings", "30", "Must be between 1 and 24, got 30"),
        ("max_ring_width_mm", "1.234", "Must have at most 2 decimal places (0.01 mm), got 1.234"),
        ("min_ring_width_mm", "abc", "Must be a number of millimetres, got &#x27;abc&#x27;"),
        ("min_rings", "", "Enter a value (1–24)."),
        ("max_total_width_mm", "0.2", "Must be at least narrowest rosette (3.00 mm), got 0.20 mm"),
    ],
)
def test_each_rule_is_reported_next_to_its_field(operator_client, default_profile, field, value, message):
    response = operator_client.post(detail_url(), form_data(default_profile, **{field: value}))
    assert response.status_code == 400
    assert field_error(response.content.decode(), field) == message


def test_a_profile_that_admits_no_design_says_why(operator_client, default_profile):
    data = form_data(default_profile, min_rings="6", min_ring_width_mm="2.50", max_total_width_mm="12.00")
    html = operator_client.post(detail_url(), data).content.decode()
    assert field_error(html, "max_total_width_mm").startswith(
        "No design fits: the narrowest allowed rosette (6 rings x 2.50 mm"
    )


def test_a_missing_note_is_reported_with_the_field_problems_at_once(operator_client, default_profile):
    response = operator_client.post(detail_url(), form_data(default_profile, max_rings="0", note=""))
    html = response.content.decode()
    assert response.status_code == 400
    assert field_error(html, "note") == "Write a change note: say why you make this change."
    assert field_error(html, "max_rings") == "Must be between 1 and 24, got 0"
    assert ConstraintProfile.objects.get(name="default").version == 1


def test_a_save_that_changes_nothing_makes_no_version(operator_client, default_profile):
    response = operator_client.post(detail_url(), form_data(default_profile), follow=True)
    assert (
        "Nothing changed: the values already match version 1 of default, so no new version was saved."
        in response.content.decode()
    )
    assert ConstraintProfile.objects.get(name="default").version == 1
    assert selectors.profile_history_page(name="default").total == 1


def test_browser_line_breaks_do_not_count_as_a_change(operator_client):
    profile = make_profile("default", description="line one\nline two")
    operator_client.post(detail_url(), form_data(profile, description="line one\r\nline two"))
    assert ConstraintProfile.objects.get(name="default").version == 1


def test_a_form_without_its_version_is_refused(operator_client, default_profile):
    response = operator_client.post(detail_url(), form_data(default_profile, max_rings="7", version=None))
    assert response.status_code == 400
    assert "This form lost the version you were editing" in response.content.decode()
    assert ConstraintProfile.objects.get(name="default").version == 1


# -- stale edits (409) ---------------------------------------------------------------------------


def test_a_stale_save_keeps_the_users_changes_and_merges_the_newer_version(operator_client, default_profile):
    typed = form_data(default_profile, max_rings="9", max_ring_width_mm="4.00", note="my reason")
    somebody = make_user("sam", role="operator")
    edit_profile("default", max_rings=7, bias_simple=True, note="their reason", user=somebody)

    response = operator_client.post(detail_url(), typed)
    html = response.content.decode()
    assert response.status_code == 409
    assert "Someone saved a newer version while you were editing" in html
    assert "default is now at <strong>version 2</strong>; you started from version 1." in html
    assert "Saved by sam" in html and "their reason" in html
    # The user's changes are kept; both sides changed max_rings, so it is highlighted.
    assert input_value(html, "max_rings") == "9"
    assert saved_value(html, "max_rings").startswith("Saved in v2: <mark>7</mark>")
    assert input_value(html, "max_ring_width_mm") == "4.00"
    assert saved_value(html, "max_ring_width_mm") == "Saved in v2: 3.00 mm"
    assert "my reason" in html
    # The user had not touched bias_simple: it now shows version 2's value, so saving keeps it.
    assert re.search(r'<input type="checkbox" name="bias_simple"[^>]* checked', html)
    assert saved_value(html, "bias_simple").startswith("<strong>Updated to v2:</strong> yes")
    assert saved_value(html, "min_ring_width_mm") == ""  # the same on both sides: no line to read past
    # The next save goes over the newer version, deliberately.
    assert input_value(html, "version") == "2"
    assert ConstraintProfile.objects.get(name="default").max_rings == 7

    again = dict(typed, version="2", bias_simple="on")  # what the re-rendered form now holds
    assert operator_client.post(detail_url(), again).status_code == 302
    profile = ConstraintProfile.objects.get(name="default")
    assert (profile.version, profile.max_rings, profile.max_ring_width_mm, profile.bias_simple) == (
        3,
        9,
        Decimal("4.00"),
        True,
    )


def test_a_stale_save_with_the_same_change_on_both_sides_flags_nothing(operator_client, default_profile):
    typed = form_data(default_profile, max_rings="8")
    edit_profile("default", max_rings=8)
    html = operator_client.post(detail_url(), typed).content.decode()
    assert saved_value(html, "max_rings") == ""  # nothing differs, so nothing to say
    assert "<mark>" not in html.split('id="stale-notice"')[1].split("</form>")[0].replace(
        "<mark>Highlighted</mark>", ""
    )


# -- history -----------------------------------------------------------------------------------


def test_history_shows_who_when_why_type_and_each_diff(viewer_client, default_profile):
    alice = make_user("alice")
    edit_profile("default", max_rings=8, min_ring_width_mm="0.60", note="wider range", user=alice)
    html = viewer_client.get(detail_url()).content.decode()
    assert "2 entries, newest first" in html
    newest = html.index("v2</span>")
    assert newest < html.index("v1</span>")
    assert "by <strong>alice</strong>" in html and "wider range" in html
    assert 'type-tag-changed">changed' in html and 'type-tag-created">created' in html
    assert re.search(
        r"Most rings</th><td class=\"diff-before\"><del>6</del></td><td class=\"diff-after\"><ins>8</ins>", html
    )
    assert re.search(
        r"Narrowest ring</th><td class=\"diff-before\"><del>0.50 mm</del></td><td class=\"diff-after\"><ins>0.60 mm</ins>",
        html,
    )
    assert "Values of version 1" in html  # the first version lists its values, not a diff


def test_history_is_paginated_newest_first(viewer_client, default_profile):
    for rings in range(7, 7 + 22):
        edit_profile("default", max_rings=rings % 24 + 1)

    def history(html: str) -> str:
        return html[html.index('id="history"') : html.index('id="outcomes"')]

    first = history(viewer_client.get(detail_url()).content.decode())
    assert "Page 1 of 2" in first and 'rel="next"' in first
    assert first.count('class="history-entry') == 20
    assert "v23</span>" in first and "v4</span>" in first and "v3</span>" not in first
    second = history(viewer_client.get(detail_url() + "?page=2").content.decode())
    assert second.count('class="history-entry') == 3
    assert "v3</span>" in second and "v1</span>" in second
    assert viewer_client.get(detail_url() + "?page=99").status_code == 200
    assert viewer_client.get(detail_url() + "?page=x").status_code == 200


def test_only_earlier_versions_offer_a_rollback(operator_client, default_profile):
    edit_profile("default", max_rings=8)
    html = operator_client.get(detail_url()).content.decode()
    first_record = selectors.profile_history(name="default", limit=5)[-1]["id"]
    assert "Roll back to v1…" in html and "Roll back to v2…" not in html
    assert f"/rmos/profiles/default/rollback/{first_record}/?next=" in html


# -- rollback ----------------------------------------------------------------------------------


def _first_record_id(name: str = "default") -> int:
    return selectors.profile_history(name=name, limit=500)[-1]["id"]


def test_rollback_confirmation_shows_exactly_what_will_change(operator_client, default_profile):
    edit_profile("default", max_rings=8, bias_simple=True)
    response = operator_client.get(rollback_url("default", _first_record_id()))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Roll default back to version 1?" in html
    assert re.search(
        r"Most rings</th><td class=\"diff-before\"><del>8</del></td><td class=\"diff-after\"><ins>6</ins>", html
    )
    assert re.search(r"Prefer simple designs</th><td class=\"diff-before\"><del>yes</del>", html)
    assert html.count('<tr><th scope="row">') == 2  # nothing else changes
    assert 'name="note"' in html and 'name="version" value="2"' in html
    assert ConstraintProfile.objects.get(name="default").version == 2  # the preview wrote nothing


def test_rollback_needs_a_note_then_restores_and_journals(operator_client, operator, default_profile):
    edit_profile("default", max_rings=8)
    record = _first_record_id()
    url = rollback_url("default", record)
    refused = operator_client.post(url, {"note": "", "version": "2"})
    assert refused.status_code == 400
    assert field_error(refused.content.decode(), "note") == "Write a note: say why you roll back."
    assert ConstraintProfile.objects.get(name="default").version == 2

    done = operator_client.post(
        url, {"note": "8 rings chipped", "version": "2", "next": "/rmos/ai-ops/?profile=default"}
    )
    assert done.status_code == 302 and done["Location"] == "/rmos/ai-ops/?profile=default"
    profile = ConstraintProfile.objects.get(name="default")
    assert (profile.version, profile.max_rings) == (3, 6)
    newest = selectors.profile_history(name="default", limit=1)[0]
    assert newest["type"] == "rollback" and newest["rollback_of"] == record and newest["user"] == operator.username
    assert newest["note"] == f"rollback to version 1 (record #{record}): 8 rings chipped"
    page = operator_client.get(detail_url()).content.decode()
    assert 'type-tag-rollback">rollback</span> <span class="restores">restores v1</span>' in page


def test_rollback_ignores_a_next_that_leaves_the_site(operator_client, default_profile):
    edit_profile("default", max_rings=8)
    response = operator_client.post(
        rollback_url("default", _first_record_id()), {"note": "n", "version": "2", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/rmos/profiles/default/#history"


def test_rollback_after_someone_else_saved_asks_again(operator_client, default_profile):
    edit_profile("default", max_rings=8)
    url = rollback_url("default", _first_record_id())
    edit_profile("default", max_rings=9)
    response = operator_client.post(url, {"note": "back", "version": "2"})
    html = response.content.decode()
    assert response.status_code == 409
    assert "Someone saved version 3 of default while you were deciding" in html
    assert re.search(r"<del>9</del></td><td class=\"diff-after\"><ins>6</ins>", html)
    assert 'name="version" value="3"' in html and ">\nback</textarea>" in html
    assert ConstraintProfile.objects.get(name="default").max_rings == 9


def test_rollback_page_names_who_saved_the_version_as_the_history_does(operator_client, operator, default_profile):
    """An API client's change read "saved by the system" here, "an API client" everywhere else."""
    from profiles import services

    services.profile_update(name="default", changes={"max_rings": 8}, note="from a script", operator="ci-bot")
    edit_profile("default", max_rings=7)
    record = selectors.profile_history(name="default")[1]["id"]
    html = operator_client.get(rollback_url("default", record)).content.decode()
    assert "Version 2 was saved by an API client (operator “ci-bot”)" in html
    html = operator_client.get(rollback_url("default", _first_record_id())).content.decode()
    assert "Version 1 was saved by the system" in html
    services.profile_update(name="default", changes={"max_rings": 5}, note="by hand", operator="dev", user=operator)
    edit_profile("default", max_rings=4)
    record = selectors.profile_history(name="default")[1]["id"]
    html = operator_client.get(rollback_url("default", record)).content.decode()
    assert f"Version 4 was saved by {operator.get_username()} (operator “dev”)" in html


def test_rollback_to_the_current_values_offers_nothing_to_do(operator_client, default_profile):
    edit_profile("default", max_rings=8)
    edit_profile("default", max_rings=6)
    html = operator_client.get(rollback_url("default", _first_record_id())).content.decode()
    assert "rolling back would change nothing" in html
    assert 'name="note"' not in html
    assert "as a new version" not in html  # it promised one, then said none would be saved
    assert "default already has the values of version 1</h1>" in html and "back to version 1?" not in html


def test_rollback_to_another_profiles_record_is_404(operator_client, default_profile):
    make_profile("other")
    assert operator_client.get(rollback_url("default", _first_record_id("other"))).status_code == 404
    assert operator_client.get(rollback_url("default", 999999)).status_code == 404


@pytest.mark.parametrize("method", ["get", "post"])
def test_viewers_cannot_roll_back(viewer_client, default_profile, method):
    edit_profile("default", max_rings=8)
    response = getattr(viewer_client, method)(
        rollback_url("default", _first_record_id()), {"note": "x", "version": "2"}
    )
    assert response.status_code == 403
    assert "You cannot do that" in response.content.decode()
    assert (
        "Rolling back a profile needs the operator role (rmos-operator) or the reviewer role (rmos-reviewer). "
        "Ask an administrator" in response.content.decode()
    )
    assert ConstraintProfile.objects.get(name="default").version == 2


def test_forms_require_the_csrf_token(operator, default_profile):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.post(detail_url(), form_data(default_profile, max_rings="8")).status_code == 403
    assert ConstraintProfile.objects.get(name="default").version == 1
