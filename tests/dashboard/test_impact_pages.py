"""Did my edit help? on the pages (issue 16 item 7): the compare view, the regression alert in the
header, the dashboard and the profile page, its acknowledgement and rollback link, and the
editor's what-if on real traffic."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime, timedelta

import pytest

from analytics.models import RegressionAlert
from profiles import selectors
from tests.factories import edit_profile, form_data, log_runs, make_profile, run_item

pytestmark = pytest.mark.django_db
EASY = {"tool_id": "laser:co2-40w", "material_id": "wood:maple-hard", "machine_id": "prod:vmc-3axis"}
HARD = {"tool_id": "saw:jeweler-0.25", "material_id": "wood:ebony", "machine_id": "prod:vmc-3axis"}


def _runs(context: dict, *, runs: int, successes: int, at: datetime, **extra) -> list[dict]:
    return [run_item(**context, at=at + timedelta(seconds=i), success=i < successes, **extra) for i in range(runs)]


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.content.decode()[:600]
    return html_lib.unescape(response.content.decode())


@pytest.fixture
def regressed(db):
    """v1 and v2 alike within contexts (v2 on harder traffic); v3 worse in both contexts."""
    make_profile("default")
    past = datetime.now(UTC) - timedelta(days=2)
    log_runs(*_runs(EASY, runs=90, successes=81, at=past, profile_version=1))
    log_runs(*_runs(HARD, runs=10, successes=3, at=past, profile_version=1))
    edit_profile("default", max_rings=7, note="v2")
    log_runs(*_runs(EASY, runs=10, successes=9, at=past + timedelta(hours=1), profile_version=2))
    log_runs(*_runs(HARD, runs=90, successes=27, at=past + timedelta(hours=1), profile_version=2))
    edit_profile("default", max_rings=8, note="v3")
    log_runs(*_runs(EASY, runs=50, successes=30, at=past + timedelta(hours=2), profile_version=3))
    log_runs(*_runs(HARD, runs=50, successes=5, at=past + timedelta(hours=2), profile_version=3))


def test_the_compare_view_shows_the_table_behind_the_pooled_number(viewer_client, regressed):
    html = page(viewer_client, "/rmos/profiles/default/compare/?a=1&b=2")
    assert '<span class="verdict verdict-no_change_detected">no change detected</span>' in html
    assert "Crude, over all runs</dt><dd>-48.0 pp" in html and "traffic moved toward harder contexts" in html
    assert re.search(r'<svg class="interval-chart is-no_change_detected"', html)
    rows = re.findall(r"<tr>\s*<th scope=\"row\" class=\"cell-context\">(.*?)</tr>", html, re.S)
    assert len(rows) == 2 and "laser:co2-40w" in rows[0]  # most runs first: 100 in each, then by context
    assert all("±0.0 pp" in row for row in rows)  # the same rate under both versions, in each context
    # With no versions given it compares the current one with the one it replaced.
    assert "v3 against v2" in page(viewer_client, "/rmos/profiles/default/compare/")


def test_versions_without_a_shared_context_say_so_rather_than_count_zero_runs(viewer_client, regressed):
    edit_profile("default", max_rings=6, note="v4, no runs yet")
    html = page(viewer_client, "/rmos/profiles/default/compare/?a=3&b=4")
    assert "no context seen by both v3 and v4" in html and "0 vs 0 runs" not in html


def test_the_compare_view_refuses_bad_versions_with_a_message(viewer_client, regressed):
    html = page(viewer_client, "/rmos/profiles/default/compare/?a=2&b=2", status=400)
    assert "b: compare two different versions" in html
    assert "a: must be a whole number" in page(viewer_client, "/rmos/profiles/default/compare/?a=x&b=2", status=400)
    page(viewer_client, "/rmos/profiles/nope/compare/", status=404)


def test_a_regression_shows_in_the_header_the_dashboard_and_the_profile_page(operator_client, regressed):
    dashboard = page(operator_client, "/rmos/ai-ops/")  # the dashboard keeps the watch current
    [alert] = RegressionAlert.objects.all()
    assert (alert.version, alert.against_version, alert.state) == (3, 2, "open")
    assert '<a class="alert-count" href="/rmos/ai-ops/#alerts"' in dashboard and "⚠ 1 alert<" in dashboard
    assert 'id="alerts"' in dashboard and "default v3 is worse than v2" in dashboard
    record = selectors.ProfileVersionLookup(["default"]).history_id_of("default", 2)
    link = re.search(r'<a class="button button-danger" href="([^"]+)">Roll back to v2…</a>', dashboard).group(1)
    assert link.startswith(f"/rmos/profiles/default/rollback/{record}/?note=")
    # The rollback page opens with the note filled in.
    rollback = page(operator_client, link)
    assert "Roll back v3 of default: judged worse than v2" in rollback
    profile = page(operator_client, "/rmos/profiles/default/")
    assert "default v3 is worse than v2" in profile and "alert open" in profile
    assert "⚠ 1 alert" in page(operator_client, "/rmos/profiles/")  # every page's header


def test_a_viewer_sees_the_alert_but_cannot_acknowledge_it(viewer_client, regressed):
    assert "default v3 is worse than v2" in page(viewer_client, "/rmos/ai-ops/")
    alert = RegressionAlert.objects.get()
    assert "Acknowledge" not in page(viewer_client, "/rmos/ai-ops/") and "Roll back to v2" not in page(
        viewer_client, "/rmos/ai-ops/"
    )
    assert viewer_client.post(f"/rmos/alerts/{alert.pk}/acknowledge/", {"note": "x"}).status_code == 403


def test_acknowledging_on_the_page_keeps_the_alert_in_the_versions_history(operator_client, regressed):
    page(operator_client, "/rmos/ai-ops/")
    alert = RegressionAlert.objects.get()
    response = operator_client.post(
        f"/rmos/alerts/{alert.pk}/acknowledge/", {"note": "rolled back", "next": "/rmos/profiles/default/"}
    )
    assert response.status_code == 302 and response["Location"] == "/rmos/profiles/default/"
    alert.refresh_from_db()
    assert (alert.state, alert.note, alert.acknowledged_by.username) == ("acknowledged", "rolled back", "olga")
    profile = page(operator_client, "/rmos/profiles/default/")
    assert "alert acknowledged" in profile and "“rolled back” (olga)" in profile
    assert "alert-count" not in profile and 'id="alerts"' not in profile  # nothing open any more
    empty = operator_client.post(f"/rmos/alerts/{alert.pk}/acknowledge/", {"note": " "}, follow=True)
    assert "The alert was not acknowledged" in html_lib.unescape(empty.content.decode())


def test_the_what_if_predicts_on_the_profiles_traffic(operator_client, default_profile):
    at = datetime.now(UTC) - timedelta(days=1)
    log_runs(*_runs({**EASY, "tool_id": "router:vbit-60"}, runs=20, successes=20, at=at))
    profile = selectors.profile_get(name="default")
    data = form_data(profile, note="", min_ring_width_mm="0.20", max_ring_width_mm="0.60")
    data["action"] = "what-if"
    html = html_lib.unescape(operator_client.post("/rmos/profiles/default/", data).content.decode())
    section = html[html.index('class="what-if-traffic"') :]
    assert "On this profile’s traffic of the last 30 days" in section
    assert "1 context holding 20 of 20 runs" in section and "router:vbit-60" in section
    assert "trend-worse" in section  # narrower than the router's minimum feature: fewer acceptable
