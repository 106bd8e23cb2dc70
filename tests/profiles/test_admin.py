"""Django admin for profiles and rules: pages load, edits go through the services."""

from __future__ import annotations

import html
import re

import pytest

from profiles import services
from profiles.models import ChangeType, ConstraintProfile, ResolutionRule
from tests.factories import make_profile, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user, starter_profiles):
    client.force_login(admin_user)
    return client


def _form_data(profile: ConstraintProfile, **overrides) -> dict:
    data = {
        "name": profile.name,
        "description": profile.description,
        "min_rings": profile.min_rings,
        "max_rings": profile.max_rings,
        "min_ring_width_mm": profile.min_ring_width_mm,
        "max_ring_width_mm": profile.max_ring_width_mm,
        "min_total_width_mm": profile.min_total_width_mm,
        "max_total_width_mm": profile.max_total_width_mm,
        "palette_key": profile.palette_key,
        "edited_version": profile.version,
        "change_note": "admin edit",
    }
    for flag in ("allow_mosaic", "allow_segmented", "bias_simple"):
        if getattr(profile, flag):
            data[flag] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/profiles/constraintprofile/",
        "/admin/profiles/constraintprofile/add/",
        "/admin/profiles/resolutionrule/",
        "/admin/profiles/resolutionrule/add/",
    ],
)
def test_admin_pages_load(admin_client, url):
    assert admin_client.get(url).status_code == 200


def test_change_and_history_pages_load(admin_client):
    profile = ConstraintProfile.objects.get(name="thin_saw")
    rule = ResolutionRule.objects.get(name="saw-tools")
    for url in (
        f"/admin/profiles/constraintprofile/{profile.pk}/change/",
        f"/admin/profiles/constraintprofile/{profile.pk}/history/",
        f"/admin/profiles/resolutionrule/{rule.pk}/change/",
        f"/admin/profiles/resolutionrule/{rule.pk}/history/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
    record = profile.history.first()
    response = admin_client.get(f"/admin/profiles/constraintprofile/{profile.pk}/history/{record.history_id}/")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "model, object_id",
    [
        ("constraintprofile", "abc"),
        ("constraintprofile", "3/change"),  # /3/change/history/: the id is everything before /history/
        ("constraintprofile", "999999"),
        ("resolutionrule", "abc"),
        ("resolutionrule", "999999"),
    ],
)
def test_a_history_page_of_an_id_that_names_nothing_redirects_like_the_change_page(admin_client, model, object_id):
    """Seen in review: a non-numeric id was a 500 (ValueError in simple-history's history view)."""
    change = admin_client.get(f"/admin/profiles/{model}/{object_id}/change/")
    history = admin_client.get(f"/admin/profiles/{model}/{object_id}/history/", follow=True)
    assert history.redirect_chain == [(change.url, 302)]
    assert f"with ID “{object_id}” doesn’t exist. Perhaps it was deleted?" in history.content.decode()


def test_a_history_record_page_with_an_id_that_names_nothing_redirects(admin_client):
    profile = ConstraintProfile.objects.get(name="thin_saw")
    other_record = ConstraintProfile.objects.get(name="default").history.get()
    for object_id in ("abc", "999999"):
        response = admin_client.get(f"/admin/profiles/constraintprofile/{object_id}/history/1/", follow=True)
        assert response.redirect_chain == [("/admin/", 302)]
        assert f"Constraint profile with ID “{object_id}” doesn’t exist" in response.content.decode()
    history_url = f"/admin/profiles/constraintprofile/{profile.pk}/history/"
    for record_id in ("abc", "999999", other_record.history_id):  # not a record, or another profile's
        response = admin_client.get(f"{history_url}{record_id}/", follow=True)
        assert response.redirect_chain == [(history_url, 302)]
        assert f"Constraint profile “thin_saw” has no history record with ID “{record_id}”" in response.content.decode()
    rule = ResolutionRule.objects.get(name="saw-tools")
    response = admin_client.get(f"/admin/profiles/resolutionrule/{rule.pk}/history/x/", follow=True)
    assert "Resolution rule “saw-tools” has no history record with ID “x”" in response.content.decode()


def test_staff_who_may_not_read_histories_learn_nothing_of_which_ids_exist(client, starter_profiles):
    """Found in review: an existing id was a 403, a missing one a redirect saying it does not exist."""
    staff = make_user("stan")
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    existing = ConstraintProfile.objects.get(name="thin_saw")
    for path in (
        f"{existing.pk}/history/",
        "999999/history/",
        "abc/history/",
        f"{existing.pk}/history/1/",
        "999999/history/1/",
    ):
        assert client.get(f"/admin/profiles/constraintprofile/{path}").status_code == 403, path


def _history_table(response) -> list[dict[str, str]]:
    """The admin history page's table, newest first: one {column header: cell text} per record."""
    table = re.search(r'<table id="change-history".*?</table>', response.content.decode(), re.S).group(0)
    text = lambda cell: " ".join(html.unescape(re.sub(r"<[^>]+>", "", cell)).split())  # noqa: E731
    headers = [text(th) for th in re.findall(r"<th[^>]*>(.*?)</th>", table, re.S)]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("</thead>")[1], re.S)
    cells = r"<t[hd][^>]*>(.*?)</t[hd]>"
    return [dict(zip(headers, (text(cell) for cell in re.findall(cells, row, re.S)))) for row in rows]


def test_the_history_page_says_who_changed_each_version_with_or_without_an_account(admin_client, admin_user):
    """Seen in review: the import's record showed "Changed by: None"."""
    profile = ConstraintProfile.objects.get(name="thin_saw")
    services.profile_update(name="thin_saw", changes={"max_rings": 7}, note="from the seed script", operator="seed-bot")
    admin_client.post(
        f"/admin/profiles/constraintprofile/{profile.pk}/change/", _form_data(profile, max_rings=6, edited_version=2)
    )
    rows = _history_table(admin_client.get(f"/admin/profiles/constraintprofile/{profile.pk}/history/"))
    # Issue 18: readable headers, the operator beside the account, UTC times, no "Version 1 → 2" as a change.
    assert [(row["Version"], row["Change"], row["By"]) for row in rows] == [
        ("v3", "changed", "ada-admin"),
        ("v2", "changed", "“seed-bot” (an API client)"),
        ("v1", "import", "the system"),
    ]
    assert "None" not in {row["By"] for row in rows}
    assert rows[1]["Fields changed"] == "Max rings: 8 → 7"
    assert all("ersion" not in row["Fields changed"] for row in rows)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rows[0]["When UTC"])
    assert rows[0]["Change request"] == "—"
    page = admin_client.get(f"/admin/profiles/constraintprofile/{profile.pk}/history/").content.decode()
    assert f'<a href="/admin/auth/user/{admin_user.pk}/change/">ada-admin</a>' in page  # the account still links


def test_a_deleted_profiles_history_stays_readable_in_the_admin(admin_client):
    profile = make_profile("retired")
    record = profile.history.get()
    services.profile_delete(name="retired", note="no longer used")
    assert admin_client.get(f"/admin/profiles/constraintprofile/{profile.pk}/history/").status_code == 200
    assert (
        admin_client.get(f"/admin/profiles/constraintprofile/{profile.pk}/history/{record.history_id}/").status_code
        == 200
    )


def test_admin_edit_is_validated_next_to_the_field(admin_client):
    profile = ConstraintProfile.objects.get(name="thin_saw")
    response = admin_client.post(
        f"/admin/profiles/constraintprofile/{profile.pk}/change/", _form_data(profile, min_rings=9, max_rings=3)
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["max_rings"] == ["must be at least min_rings (9), got 3"]  # the message, not the rule's code
    assert ConstraintProfile.objects.get(pk=profile.pk).version == 1


def test_admin_edit_lists_every_problem_at_once_even_without_a_note(admin_client):
    profile = ConstraintProfile.objects.get(name="thin_saw")
    response = admin_client.post(
        f"/admin/profiles/constraintprofile/{profile.pk}/change/",
        _form_data(profile, min_rings=9, max_rings=3, change_note=""),
    )
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"change_note", "max_rings"}
    assert ConstraintProfile.objects.get(pk=profile.pk).version == 1


def test_the_fallback_profile_has_no_delete_button_and_cannot_be_deleted(admin_client):
    default = ConstraintProfile.objects.get(name="default")
    change = admin_client.get(f"/admin/profiles/constraintprofile/{default.pk}/change/").content.decode()
    assert "/delete/" not in change
    assert (
        admin_client.post(f"/admin/profiles/constraintprofile/{default.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    other = ConstraintProfile.objects.get(name="thin_saw")
    assert (
        f"/admin/profiles/constraintprofile/{other.pk}/delete/"
        in admin_client.get(f"/admin/profiles/constraintprofile/{other.pk}/change/").content.decode()
    )
    assert ConstraintProfile.objects.filter(name="default").exists()


def _staff_client(client, role: str):
    user = make_user(f"{role}-staff", superuser=True) if role == "superuser" else make_user(f"{role}-staff", role=role)
    user.is_staff = True
    user.save()
    client.force_login(user)
    return client


def _refusal(response) -> str:
    assert response.status_code == 403
    return html.unescape(re.sub(r"<[^>]+>", "", response.content.decode()))


@pytest.mark.parametrize("role", ["superuser", "operator", "viewer"])
def test_deleting_the_fallback_profile_is_refused_with_the_real_reason_whatever_the_role(
    client, starter_profiles, role
):
    """Seen in review: a superuser was told the delete needs the operator role (which it has, and
    which would not help): the fallback profile is never deleted, by design."""
    client = _staff_client(client, role)
    url = f"/admin/profiles/constraintprofile/{ConstraintProfile.objects.get(name='default').pk}/delete/"
    for response in (client.get(url), client.post(url, {"post": "yes"})):
        page = _refusal(response)
        assert "The 'default' profile is never deleted: it is the resolver's fallback" in page
        assert "roll it back" in page
        assert "role" not in page
    assert ConstraintProfile.objects.filter(name="default").exists()


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_deleting_a_profile_or_rule_without_the_permission_names_who_may(client, starter_profiles, role):
    client = _staff_client(client, role)
    profile = ConstraintProfile.objects.get(name="thin_saw")
    rule = ResolutionRule.objects.get(name="saw-tools")
    page = _refusal(client.get(f"/admin/profiles/constraintprofile/{profile.pk}/delete/"))
    assert "Deleting constraint profiles is for administrators (superusers) only: no role includes it." in page
    assert "needs the operator role" not in page
    page = _refusal(client.post(f"/admin/profiles/resolutionrule/{rule.pk}/delete/", {"post": "yes"}))
    assert "Deleting resolution rules is for administrators (superusers) only: no role includes it." in page
    assert ResolutionRule.objects.filter(pk=rule.pk).exists()


def test_deleting_a_profile_that_rules_target_is_refused_naming_the_rules(admin_client):
    target = ResolutionRule.objects.first().profile
    response = admin_client.post(f"/admin/profiles/constraintprofile/{target.pk}/delete/", {"post": "yes"})
    assert response.status_code == 200
    assert "would require deleting the following protected related objects" in response.content.decode()
    assert ConstraintProfile.objects.filter(pk=target.pk).exists()
    assert target.history.count() == 1  # no deletion journaled either


def test_profiles_have_no_bulk_delete_action(admin_client):
    page = admin_client.get("/admin/profiles/constraintprofile/").content.decode()
    assert 'value="delete_selected"' not in page


def test_admin_edit_needs_a_note(admin_client):
    profile = ConstraintProfile.objects.get(name="thin_saw")
    response = admin_client.post(
        f"/admin/profiles/constraintprofile/{profile.pk}/change/", _form_data(profile, max_rings=7, change_note="")
    )
    assert response.status_code == 200 and "change_note" in response.context["adminform"].form.errors
    assert ConstraintProfile.objects.get(pk=profile.pk).max_rings == 8


def test_admin_edit_is_journaled_like_an_api_edit(admin_client, admin_user):
    profile = ConstraintProfile.objects.get(name="thin_saw")
    response = admin_client.post(
        f"/admin/profiles/constraintprofile/{profile.pk}/change/",
        _form_data(profile, max_rings=7, change_note="fewer rings for thin saws"),
    )
    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.max_rings, profile.version) == (7, 2)
    record = profile.history.order_by("-history_id").first()
    assert (record.history_user, record.history_change_reason, record.change_type) == (
        admin_user,
        "fewer rings for thin saws",
        ChangeType.CHANGED,
    )


def test_admin_stale_form_is_refused(admin_client):
    profile = ConstraintProfile.objects.get(name="thin_saw")
    stale = _form_data(profile, max_rings=7)
    admin_client.post(f"/admin/profiles/constraintprofile/{profile.pk}/change/", _form_data(profile, max_rings=6))
    response = admin_client.post(f"/admin/profiles/constraintprofile/{profile.pk}/change/", stale)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "Version 2 was saved while you were editing: it changed Max rings: 8 → 6. Nothing was saved." in str(
        form.non_field_errors()
    )
    assert ConstraintProfile.objects.get(pk=profile.pk).max_rings == 6
    # The form now edits version 2: saving it again applies the user's values over it.
    assert 'name="edited_version" value="2"' in response.content.decode()
    again = admin_client.post(f"/admin/profiles/constraintprofile/{profile.pk}/change/", {**stale, "edited_version": 2})
    assert again.status_code == 302
    assert ConstraintProfile.objects.get(pk=profile.pk).max_rings == 7


def test_admin_revert_is_a_journaled_rollback(admin_client):
    profile = ConstraintProfile.objects.get(name="thin_saw")
    first = profile.history.first()
    admin_client.post(f"/admin/profiles/constraintprofile/{profile.pk}/change/", _form_data(profile, max_rings=5))
    profile.refresh_from_db()
    response = admin_client.post(
        f"/admin/profiles/constraintprofile/{profile.pk}/history/{first.history_id}/",
        # Values typed on the revert page are not what a revert restores: the record's are.
        _form_data(profile, max_rings=3, change_note="back to the import", edited_version=2),
    )
    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.max_rings, profile.version) == (8, 3)
    record = profile.history.order_by("-history_id").first()
    assert record.change_type == ChangeType.ROLLBACK and record.rollback_of == first.history_id
    assert record.history_change_reason == f"rollback to version 1 (record #{first.history_id}): back to the import"


def test_admin_rule_edit_goes_through_the_service(admin_client):
    rule = ResolutionRule.objects.get(name="saw-tools")
    data = {
        "name": rule.name,
        "tool_pattern": "saw: *",
        "material_pattern": "",
        "machine_pattern": "",
        "workflow_mode": "",
        "geometry_engine": "",
        "priority": 5,
        "enabled": "on",
        "note": rule.note,
        "profile": rule.profile_id,
        "edited_version": rule.version,
        "change_note": "saws first",
    }
    response = admin_client.post(f"/admin/profiles/resolutionrule/{rule.pk}/change/", data)
    assert response.status_code == 200 and "tool_pattern" in response.context["adminform"].form.errors
    data["tool_pattern"] = "saw:*"
    response = admin_client.post(f"/admin/profiles/resolutionrule/{rule.pk}/change/", data)
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.priority, rule.version) == (5, 2)
    assert rule.history.order_by("-history_id").first().history_change_reason == "saws first"


def test_admin_rule_revert_is_a_journaled_rollback_naming_the_version(admin_client):
    rule = ResolutionRule.objects.get(name="saw-tools")
    first = rule.history.get()
    data = {
        "name": rule.name,
        "tool_pattern": rule.tool_pattern,
        "material_pattern": "",
        "machine_pattern": "",
        "workflow_mode": "",
        "geometry_engine": "",
        "priority": 5,
        "enabled": "on",
        "note": rule.note,
        "profile": rule.profile_id,
        "edited_version": rule.version,
        "change_note": "saws first",
    }
    assert admin_client.post(f"/admin/profiles/resolutionrule/{rule.pk}/change/", data).status_code == 302
    data.update(priority=first.priority, change_note="priority back", edited_version=2)
    response = admin_client.post(f"/admin/profiles/resolutionrule/{rule.pk}/history/{first.history_id}/", data)
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.priority, rule.version) == (first.priority, 3)
    record = rule.history.order_by("-history_id").first()
    assert record.change_type == ChangeType.ROLLBACK
    assert record.history_change_reason == f"rollback to version 1 (record #{first.history_id}): priority back"


def test_an_admin_revert_from_a_stale_page_is_refused(admin_client):
    profile = ConstraintProfile.objects.get(name="thin_saw")
    first = profile.history.first()
    revert_url = f"/admin/profiles/constraintprofile/{profile.pk}/history/{first.history_id}/"
    admin_client.post(f"/admin/profiles/constraintprofile/{profile.pk}/change/", _form_data(profile, max_rings=5))
    # The revert page edits the live version (2), not the record's (1), and shows the record's
    # values read-only: only the note is typed there.
    page = admin_client.get(revert_url).content.decode()
    assert 'name="edited_version" value="2"' in page
    assert re.search(r'<input type="number" name="max_rings" value="8"[^>]* disabled', page)
    assert '<textarea name="change_note"' in page and 'disabled id="id_change_note"' not in page
    assert "rmos/admin.css" in page and 'rel="icon"' in page  # read-only fields look read-only (admin.css)
    # Someone saves version 3 while that page is open: the revert must not overwrite it.
    profile.refresh_from_db()
    admin_client.post(
        f"/admin/profiles/constraintprofile/{profile.pk}/change/", _form_data(profile, max_rings=6, edited_version=2)
    )
    response = admin_client.post(revert_url, _form_data(profile, max_rings=8, change_note="back", edited_version=2))
    assert response.status_code == 200
    message = str(response.context["adminform"].form.non_field_errors())
    assert (
        "Version 3 was saved since this page was opened: it changed Max rings: 5 → 6. Nothing was reverted" in message
    )
    profile.refresh_from_db()
    assert (profile.max_rings, profile.version) == (6, 3)


def test_an_admin_rule_revert_from_a_stale_page_is_refused(admin_client):
    rule = ResolutionRule.objects.get(name="saw-tools")
    first = rule.history.get()
    data = {
        "name": rule.name,
        "tool_pattern": rule.tool_pattern,
        "material_pattern": "",
        "machine_pattern": "",
        "workflow_mode": "",
        "geometry_engine": "",
        "priority": 5,
        "enabled": "on",
        "note": rule.note,
        "profile": rule.profile_id,
        "edited_version": 1,
        "change_note": "saws first",
    }
    assert admin_client.post(f"/admin/profiles/resolutionrule/{rule.pk}/change/", data).status_code == 302
    revert_url = f"/admin/profiles/resolutionrule/{rule.pk}/history/{first.history_id}/"
    assert 'name="edited_version" value="2"' in admin_client.get(revert_url).content.decode()
    assert (
        admin_client.post(
            f"/admin/profiles/resolutionrule/{rule.pk}/change/", {**data, "priority": 7, "edited_version": 2}
        ).status_code
        == 302
    )
    response = admin_client.post(
        revert_url, {**data, "priority": first.priority, "change_note": "back", "edited_version": 2}
    )
    assert response.status_code == 200
    assert "Version 3 was saved since this page was opened: it changed Priority: 5 → 7. Nothing was reverted" in str(
        response.context["adminform"].form.non_field_errors()
    )
    assert 'name="edited_version" value="3"' in response.content.decode()
    rule.refresh_from_db()
    assert (rule.priority, rule.version) == (7, 3)


def test_after_a_conflict_the_admin_keeps_the_other_editors_changes_to_fields_left_alone(admin_client):
    """Seen in review: after a conflict, saving again put back the older values of fields this
    user never touched, undoing the other editor's change (max rings 7 → 8 in the history)."""
    profile = ConstraintProfile.objects.get(name="thin_saw")
    url = f"/admin/profiles/constraintprofile/{profile.pk}/change/"
    mine = _form_data(
        profile, min_ring_width_mm="0.30", description="mine", change_note="narrower rings"
    )  # from version 1
    assert (
        admin_client.post(url, _form_data(profile, max_rings=7, change_note="theirs")).status_code == 302
    )  # version 2
    response = admin_client.post(url, mine)
    form = response.context["adminform"].form
    message = " ".join(form.non_field_errors())
    assert "it changed Max rings: 8 → 7" in message and "now show version 2's values (Max rings)" in message
    page = response.content.decode()
    assert re.search(r'name="max_rings" value="7"', page) and re.search(r'name="min_ring_width_mm" value="0.30"', page)
    again = dict(mine, max_rings="7", edited_version="2")  # what the re-rendered form now holds
    assert admin_client.post(url, again).status_code == 302
    profile.refresh_from_db()
    assert (profile.version, profile.max_rings, str(profile.min_ring_width_mm), profile.description) == (
        3,
        7,
        "0.30",
        "mine",
    )


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_adding_a_profile_or_rule_without_the_permission_says_why(client, starter_profiles, role):
    """Seen in review: an operator on the add page got only the generic sentence."""
    client = _staff_client(client, role)
    for model, plural in (("constraintprofile", "constraint profiles"), ("resolutionrule", "resolution rules")):
        response = client.get(f"/admin/profiles/{model}/add/")
        assert response.status_code == 403
        assert f"Adding {plural} " in _refusal(response)
