"""A protected profile refuses direct edits through every door (409, rule ``protected``, a way to a
change request); the git channel (import) still changes it and is journaled as an import; only
administrators change protection; the canonical file carries it."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from profiles import canonical, selectors, services
from profiles.models import ChangeType, ConstraintProfile
from rmos_site.errors import Conflict, Forbidden
from tests.factories import api_client_for, form_data, make_user

pytestmark = pytest.mark.django_db

NAME = "production_machine"  # protected in the starter set


@pytest.fixture
def protected(starter_profiles):
    profile = ConstraintProfile.objects.get(name=NAME)
    assert profile.protected and profile.required_approvals == 1
    return profile


def first_record(profile) -> int:
    return profile.history.order_by("history_id").first().history_id


def assert_untouched(version: int = 1) -> None:
    profile = ConstraintProfile.objects.get(name=NAME)
    assert (profile.version, profile.max_rings) == (version, 10)


def assert_protected_body(body: dict) -> None:
    assert body["status"] == 409 and body["code"] == "conflict"
    assert body["errors"][0]["rule"] == "protected" and body["protected"] is True
    assert "change request" in body["detail"]
    assert body["change_request_page"] == f"/rmos/change-requests/new/?profile={NAME}"
    assert body["change_requests_api"] == "/api/rmos/ai/change-requests"


def test_api_put_is_refused(protected, operator_api):
    response = operator_api.put(
        f"/api/rmos/ai/profile-admin/{NAME}", {"max_rings": 8, "note": "tighter", "version": 1}, format="json"
    )
    assert response.status_code == 409
    assert_protected_body(response.json())
    assert_untouched()


def test_api_rollback_is_refused(protected, admin_user):
    services.profile_update(name=NAME, changes={"max_rings": 9}, note="by import", change_type=ChangeType.IMPORT)
    response = api_client_for(admin_user).post(
        f"/api/rmos/ai/profile-admin/{NAME}/rollback", {"id": first_record(protected), "note": "back"}, format="json"
    )
    assert response.status_code == 409
    assert_protected_body(response.json())
    assert ConstraintProfile.objects.get(name=NAME).max_rings == 9


def test_dashboard_and_profile_page_editors_are_refused_with_a_link(protected, operator_client):
    for url in (f"/rmos/profiles/{NAME}/", f"/rmos/ai-ops/?profile={NAME}"):
        response = operator_client.post(url, form_data(protected, max_rings="8"))
        assert response.status_code == 409, url
        html = response.content.decode()
        assert "is protected: its values change only through an approved change request" in html
        assert f'href="/rmos/change-requests/new/?profile={NAME}"' in html
    assert_untouched()


def test_the_editor_of_a_protected_profile_proposes_instead_of_saving(protected, operator_client, viewer):
    for url in (f"/rmos/profiles/{NAME}/", f"/rmos/ai-ops/?profile={NAME}"):
        html = operator_client.get(url).content.decode()
        assert f'action="/rmos/change-requests/new/?profile={NAME}"' in html, url
        assert 'value="propose">Propose change</button>' in html and "Save changes" not in html
    operator_client.force_login(viewer)
    html = operator_client.get(f"/rmos/profiles/{NAME}/").content.decode()
    assert "Propose change" not in html and "protected · 1 approval" in html


def test_rollback_page_is_refused_and_offers_a_proposal(protected, operator_client):
    services.profile_update(name=NAME, changes={"max_rings": 9}, note="by import", change_type=ChangeType.IMPORT)
    url = f"/rmos/profiles/{NAME}/rollback/{first_record(protected)}/"
    for response in (operator_client.get(url), operator_client.post(url, {"note": "back", "version": "2"})):
        assert response.status_code == 409
        html = response.content.decode()
        assert "never rolled back directly" in html
        assert f"/rmos/change-requests/new/?profile={NAME}&amp;restore={first_record(protected)}" in html
    assert ConstraintProfile.objects.get(name=NAME).max_rings == 9
    history = operator_client.get(f"/rmos/profiles/{NAME}/").content.decode()
    assert "Propose rollback to v1" in history and "Roll back to v1" not in history


def _admin_form(profile, **overrides) -> dict:
    data = {
        "name": profile.name,
        **{f: getattr(profile, f) for f in ("description", "min_rings", "max_rings", "palette_key")},
        **{
            f: getattr(profile, f)
            for f in ("min_ring_width_mm", "max_ring_width_mm", "min_total_width_mm", "max_total_width_mm")
        },
        "required_approvals": profile.required_approvals,
        "edited_version": profile.version,
        "change_note": "admin edit",
    }
    for flag in ("allow_mosaic", "allow_segmented", "bias_simple", "protected"):
        if getattr(profile, flag):
            data[flag] = "on"
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_admin_edit_and_revert_are_refused_with_409_and_a_link(protected, client, admin_user):
    client.force_login(admin_user)
    url = f"/admin/profiles/constraintprofile/{protected.pk}/change/"
    response = client.post(url, _admin_form(protected, max_rings=8))
    assert response.status_code == 409
    html = response.content.decode()
    assert "is protected: its values change only through an approved change request" in html
    assert f'<a href="/rmos/change-requests/new/?profile={NAME}">Open a change request</a>' in html
    services.profile_update(name=NAME, changes={"max_rings": 9}, note="by import", change_type=ChangeType.IMPORT)
    protected.refresh_from_db()
    revert = f"/admin/profiles/constraintprofile/{protected.pk}/history/{first_record(protected)}/"
    response = client.post(revert, _admin_form(protected, change_note="back"))
    assert response.status_code == 409
    assert "Open a change request" in response.content.decode()
    assert ConstraintProfile.objects.get(name=NAME).max_rings == 9


def test_admins_unprotect_then_edit_and_protection_is_journaled(protected, client, admin_user):
    client.force_login(admin_user)
    url = f"/admin/profiles/constraintprofile/{protected.pk}/change/"
    response = client.post(url, _admin_form(protected, protected=None, change_note="maintenance window"))
    assert response.status_code == 302
    profile = ConstraintProfile.objects.get(name=NAME)
    assert (profile.protected, profile.version) == (False, 2)
    (entry,) = selectors.profile_history(name=NAME, limit=1)
    assert entry["changes"] == [{"field": "protected", "before": True, "after": False}]
    assert entry["user"] == admin_user.username and entry["note"] == "maintenance window"
    assert client.post(url, _admin_form(profile, max_rings=8)).status_code == 302
    assert ConstraintProfile.objects.get(name=NAME).max_rings == 8


def test_only_administrators_change_protection(protected, operator):
    with pytest.raises(Forbidden):
        services.profile_update(name=NAME, changes={"protected": False}, note="let me", user=operator)
    with pytest.raises(Forbidden):
        services.profile_update(name="thin_saw", changes={"required_approvals": 2}, note="more", user=operator)
    admin = make_user("ada", superuser=True)
    services.profile_update(
        name="thin_saw", changes={"protected": True, "required_approvals": 2}, note="ok", user=admin
    )
    assert ConstraintProfile.objects.get(name="thin_saw").required_approvals == 2


def test_a_put_cannot_name_protection(protected, admin_user):
    response = api_client_for(admin_user).put(
        f"/api/rmos/ai/profile-admin/{NAME}", {"protected": False, "note": "sneaky"}, format="json"
    )
    assert response.status_code == 400 and response.json()["errors"][0]["rule"] == "unknown_field"


def test_delete_is_refused_but_prune_by_import_is_not(protected):
    with pytest.raises(Conflict) as refused:
        services.profile_delete(name=NAME, note="gone")
    assert refused.value.errors[0].rule == "protected"


def test_import_changes_a_protected_profile_and_is_journaled_as_an_import(protected, tmp_path):
    text = canonical.render(*selectors.canonical_state()).replace("    max_rings: 10\n", "    max_rings: 9\n", 1)
    path = tmp_path / "edited.yaml"
    path.write_text(text)
    call_command("import_profiles", str(path))
    profile = ConstraintProfile.objects.get(name=NAME)
    assert (profile.max_rings, profile.protected) == (9, True)
    record = profile.history.order_by("-history_id").first()
    assert record.change_type == ChangeType.IMPORT and record.history_change_reason == "import from edited.yaml"


def test_protection_round_trips_through_the_canonical_file_one_line_per_change(protected, tmp_path):
    before = canonical.render(*selectors.canonical_state())
    assert f"  {NAME}:\n" in before and "    protected: true\n    required_approvals: 1\n" in before
    services.profile_update(name="thin_saw", changes={"required_approvals": 3}, note="three")
    after = canonical.render(*selectors.canonical_state())
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert changed == [("    required_approvals: 1", "    required_approvals: 3")]
    # Export, import into an empty database, export again: byte-identical.
    path = tmp_path / "out.yaml"
    call_command("export_profiles", str(path))
    ConstraintProfile.objects.all().update(protected=False)  # no history needed: the import puts it back
    call_command("import_profiles", str(path), "--force")
    assert canonical.render(*selectors.canonical_state()) == path.read_text()


def test_a_file_without_protection_keeps_the_databases(protected):
    text = canonical.render(*selectors.canonical_state())
    old = "".join(line for line in text.splitlines(keepends=True) if "protected:" not in line)
    plan = services.profiles_import(text=old, source="old.yaml")
    assert plan.is_empty
    assert ConstraintProfile.objects.get(name=NAME).protected


def test_import_refuses_bad_protection_with_its_line(protected):
    text = canonical.render(*selectors.canonical_state()).replace(
        "    required_approvals: 1\n", "    required_approvals: 9\n", 1
    )
    with pytest.raises(services.ImportFailed) as failed:
        services.profiles_import(text=text, source="bad.yaml")
    (error,) = failed.value.errors
    assert error.field == "profiles.default.required_approvals" and error.rule == "range"
    assert error.message.startswith("line 19: must be between 1 and 5")


def test_the_admin_does_not_delete_a_protected_profile(protected, client, admin_user):
    client.force_login(admin_user)
    response = client.post(f"/admin/profiles/constraintprofile/{protected.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403 and "is protected: unprotect it first" in response.content.decode()
    assert ConstraintProfile.objects.filter(name=NAME).exists()
