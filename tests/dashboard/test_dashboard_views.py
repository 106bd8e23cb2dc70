"""The dashboard page: access, its rows, the state in its URL, and the editor in row 3."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from profiles import selectors
from profiles.models import ConstraintProfile
from tests.factories import edit_profile, form_data, make_profile

pytestmark = pytest.mark.django_db

DASHBOARD = "/rmos/ai-ops/"


def hrefs(html: str) -> list[str]:
    return [html_lib.unescape(h) for h in re.findall(r'href="([^"]*)"', html)]


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get(DASHBOARD + "?tool_id=saw:fine")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/rmos/ai-ops/%3Ftool_id%3Dsaw%3Afine"


def test_the_login_page_is_labelled_and_protected(client):
    html = client.get("/accounts/login/?next=/rmos/ai-ops/").content.decode()
    assert '<html lang="en">' in html
    assert '<label for="id_username">User name</label>' in html and '<label for="id_password">Password</label>' in html
    assert 'name="csrfmiddlewaretoken"' in html and 'value="/rmos/ai-ops/"' in html


def test_the_seed_route_redirects_keeping_the_query(client):
    response = client.get("/dev/rmos-ai-ops/?tool_id=saw:fine&autoload=off")
    assert response.status_code == 302
    assert response["Location"] == "/rmos/ai-ops/?tool_id=saw:fine&autoload=off"
    assert client.get("/dev/rmos-ai-ops/")["Location"] == "/rmos/ai-ops/"


def test_the_root_goes_to_the_dashboard(client):
    assert client.get("/")["Location"] == DASHBOARD


def test_the_page_has_the_three_rows_and_the_navigation(viewer_client, default_profile, django_assert_max_num_queries):
    # + the log's first page, the analytics' and the hotspots' aggregates (one query each)
    # + the regression watch: its refresh (3), the open alerts and the header's count
    with django_assert_max_num_queries(19):  # + requests awaiting you + the overview 3
        response = viewer_client.get(DASHBOARD)
    html = response.content.decode()
    assert response.status_code == 200
    for panel in ("log-viewer", "snapshot-inspector", "analytics", "hotspots", "profile-editor"):
        assert f'id="{panel}"' in html
    assert html.index('id="log-viewer"') < html.index('id="snapshot-inspector"') < html.index('id="analytics"')
    assert html.index('id="hotspots"') < html.index('id="profile-editor"')
    assert "Resolution explanation" in html
    assert "Not connected yet" not in html
    assert "The log is empty" in html and "No runs yet" in html and "No hotspots" in html
    assert 'aria-current="page">Dashboard' in html and 'href="/api/docs/"' in html
    assert 'href="/admin/"' not in html  # not staff
    assert '<form method="post" action="/accounts/logout/">' in html


def test_signing_out_says_so_on_the_page_it_lands_on(client, default_profile):
    from tests.factories import make_user

    client.force_login(make_user("ines", role="viewer"))
    response = client.post("/accounts/logout/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/"
    assert "You are signed out, ines." in response.content.decode()
    assert "You are signed out" not in client.get("/accounts/login/").content.decode()  # said once


def test_staff_see_the_admin_link(client, default_profile):
    from tests.factories import make_user

    client.force_login(make_user("ada", is_staff=True))
    assert 'href="/admin/"' in client.get(DASHBOARD).content.decode()


def test_the_selection_is_read_from_the_url_and_links_keep_it(viewer_client, default_profile):
    make_profile("maple_contrast")
    html = viewer_client.get(
        DASHBOARD + "?tool_id=saw:fine&material_id=wood:maple-hard&machine_id=cnc:1&profile=maple_contrast"
    ).content.decode()
    assert "<dt>tool_id</dt><dd><code>saw:fine</code></dd>" in html
    links = hrefs(html)
    # Clearing the selection keeps the editor's profile; switching auto-load off keeps everything.
    assert "/rmos/ai-ops/?profile=maple_contrast" in links
    assert (
        "/rmos/ai-ops/?tool_id=saw%3Afine&material_id=wood%3Amaple-hard&machine_id=cnc%3A1&autoload=off"
        "&snap_tool_id=saw%3Afine&snap_material_id=wood%3Amaple-hard&snap_machine_id=cnc%3A1&profile=maple_contrast"
    ) in links
    # The profile picker and the manual context form carry the rest of the state as hidden inputs.
    assert '<input type="hidden" name="tool_id" value="saw:fine">' in html
    assert '<input type="hidden" name="profile" value="maple_contrast">' in html
    assert "Follows the selection" in html
    assert '<input type="text" name="tool_id" value="saw:fine"' in html  # the inspector shows the selection


def test_with_autoload_off_the_inspector_keeps_its_own_context(viewer_client, default_profile):
    html = viewer_client.get(DASHBOARD + "?tool_id=laser:1&autoload=off&snap_tool_id=saw:fine").content.decode()
    assert "Stays put (auto-load is off)" in html
    assert '<input type="text" name="snap_tool_id" value="saw:fine"' in html
    assert "/rmos/ai-ops/?tool_id=laser%3A1" in hrefs(html)  # "Turn on" follows the selection again


def test_invalid_parameters_are_ignored_and_explained(viewer_client, default_profile):
    response = viewer_client.get(DASHBOARD + "?autoload=maybe&profile=Bad!")
    html = html_lib.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Parts of the address were ignored" in html
    assert "autoload: ignored 'maybe', use on or off" in html
    assert "profile: ignored 'Bad!', not a profile name" in html


def test_bad_context_values_are_shown_next_to_the_inspectors_fields_not_as_notices(viewer_client, default_profile):
    response = viewer_client.get(DASHBOARD + "?tool_id=has%20space&workflow_mode=fast&material_id=m&machine_id=c")
    html = html_lib.unescape(response.content.decode())
    assert response.status_code == 400
    assert "Parts of the address were ignored" not in html
    assert (
        '<ul class="errorlist" id="inspector-tool_id_error"><li>Cannot contain spaces or control characters</li></ul>'
        in html
    )
    assert "Choose one of constraint_first, ai_assisted, design_first, not “fast”." in html  # names what was typed
    assert 'value="has space"' in html  # kept as typed


def test_the_editor_opens_the_profile_in_the_url_or_else_default(operator_client, default_profile):
    make_profile("maple_contrast", max_rings=9)
    html = operator_client.get(DASHBOARD + "?profile=maple_contrast").content.decode()
    assert '<option value="maple_contrast" selected>' in html
    assert 'action="/rmos/ai-ops/?profile=maple_contrast#profile-editor"' in html
    fallback = operator_client.get(DASHBOARD + "?profile=nope").content.decode()
    assert "there is no profile named &#x27;nope&#x27;; showing &#x27;default&#x27; instead" in fallback
    assert '<option value="default" selected>' in fallback


def test_viewers_see_values_and_history_but_no_edit_controls(viewer_client, default_profile):
    edit_profile("default", max_rings=8)
    html = viewer_client.get(DASHBOARD).content.decode()
    assert 'method="post" action="/rmos/ai-ops/' not in html
    assert "Roll back to" not in html
    assert "Editing needs the operator role" in html
    assert "Recent history" in html and "<ins>8</ins>" in html
    assert "read only" in html


def test_no_profiles_yet(viewer_client):
    html = viewer_client.get(DASHBOARD).content.decode()
    assert "No profiles yet" in html


def test_a_save_returns_to_the_same_view_with_the_new_version(operator_client, operator, default_profile):
    url = DASHBOARD + "?tool_id=saw:fine&profile=default"
    response = operator_client.post(url, form_data(default_profile, max_rings="7", note="from the dashboard"))
    assert response.status_code == 302
    assert response["Location"] == "/rmos/ai-ops/?tool_id=saw%3Afine&profile=default#profile-editor"
    page = operator_client.get(response["Location"]).content.decode()
    assert "Saved default as version 2: most rings 6 → 7." in page
    assert "from the dashboard" in page and "<del>6</del>" in page and "<ins>7</ins>" in page
    assert selectors.profile_history(name="default", limit=1)[0]["user"] == operator.username


@pytest.mark.parametrize("query", ["", "?profile=nope"])
def test_a_save_must_name_an_existing_profile(operator_client, default_profile, query):
    response = operator_client.post(DASHBOARD + query, form_data(default_profile, max_rings="7"))
    assert response.status_code == 404
    assert ConstraintProfile.objects.get(name="default").version == 1


def test_a_rejected_save_is_shown_in_the_editor_row(operator_client, default_profile):
    response = operator_client.post(DASHBOARD + "?profile=default", form_data(default_profile, max_rings="99"))
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_max_rings_error"' in html and "Must be between 1 and 24, got 99" in html
    assert 'id="log-viewer"' in html  # the whole dashboard, not a bare form


def test_a_stale_save_on_the_dashboard_is_a_409_with_the_newer_values(operator_client, default_profile):
    typed = form_data(default_profile, max_rings="9")
    edit_profile("default", max_rings=7)
    response = operator_client.post(DASHBOARD + "?profile=default", typed)
    assert response.status_code == 409
    assert "Saved in v2: <mark>7</mark>" in response.content.decode()  # changed on both sides


def test_viewers_cannot_post(viewer_client, default_profile):
    response = viewer_client.post(DASHBOARD + "?profile=default", form_data(default_profile, max_rings="7"))
    assert response.status_code == 403
    assert ConstraintProfile.objects.get(name="default").version == 1


def test_rollback_links_return_to_the_dashboard_view(operator_client, default_profile):
    edit_profile("default", max_rings=8)
    html = operator_client.get(DASHBOARD + "?tool_id=saw:fine").content.decode()
    record = selectors.profile_history(name="default", limit=5)[-1]["id"]
    expected = f"/rmos/profiles/default/rollback/{record}/?next=/rmos/ai-ops/%3Ftool_id%3Dsaw%253Afine%26profile%3Ddefault%23profile-editor"
    assert expected in hrefs(html)


def test_a_viewer_sees_the_log_the_analytics_and_the_hotspots_but_no_edit_controls(viewer_client, default_profile):
    from tests.factories import T0, log_runs, run_item

    edit_profile("default", max_rings=9)
    log_runs(*[run_item(at=T0, success=i % 2 == 0) for i in range(6)])
    html = viewer_client.get(DASHBOARD).content.decode()
    assert html.count('<tr class="log-row') == 12 and html.count('<tr class="stats-row') == 1
    assert html.count('<li class="hotspot ') == 1 and "/rmos/runs/" in html
    assert "Save changes" not in html and "Roll back to" not in html and "Preview what-if" not in html
    assert 'method="post"' not in html.replace('<form method="post" action="/accounts/logout/">', "")


def test_anonymous_visitors_sign_in_before_any_page(client, default_profile):
    for url in ("/rmos/ai-ops/?log=runs&stats_sort=context", "/rmos/profiles/default/", "/rmos/runs/not-a-run/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_the_editor_opens_the_profile_the_inspected_context_uses(client, starter_profiles):
    """Seen in review: with a maple context selected the inspector said "Profile used:
    maple_contrast" while the editor stayed on default."""
    from tests.factories import make_user

    client.force_login(make_user("otto", role="operator"))
    maple = "tool_id=saw%3Aslitting-0.5&material_id=wood%3Amaple-hard&machine_id=prod%3Avmc-3axis"
    html = client.get(f"/rmos/ai-ops/?{maple}").content.decode()
    editor = html[html.index('id="profile-editor"') :]
    assert re.search(r'<option value="maple_contrast" selected>', editor)
    assert re.search(r"<h3>maple_contrast <span", editor)
    # A profile named in the address wins; with nothing selected, the fallback.
    assert re.search(r"<h3>default <span", client.get(f"/rmos/ai-ops/?{maple}&profile=default").content.decode())
    assert re.search(r"<h3>default <span", client.get("/rmos/ai-ops/").content.decode())
