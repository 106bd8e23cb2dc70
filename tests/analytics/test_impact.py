"""Did my edit help? (issue 16) through the real ingestion path and the API: a data set built to
contain Simpson's paradox, a real regression that raises an alert, and the prediction on traffic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.proportion import proportions_ztest

from analytics.models import RegressionAlert
from analytics.services import alerts_refresh
from profiles.selectors import ProfileVersionLookup
from tests.factories import edit_profile, make_profile, run_item

pytestmark = pytest.mark.django_db
BASE = "/api/rmos/ai/analytics"
EASY = {"tool_id": "laser:co2-40w", "material_id": "wood:maple-hard", "machine_id": "prod:vmc-3axis"}
HARD = {"tool_id": "saw:jeweler-0.25", "material_id": "wood:ebony", "machine_id": "prod:vmc-3axis"}


def _runs(context: dict, *, version: int | None, runs: int, successes: int, at: datetime) -> list[dict]:
    extra = {"profile_version": version} if version is not None else {}
    return [
        run_item(**context, profile="thin_saw", at=at + timedelta(seconds=i), success=i < successes, **extra)
        for i in range(runs)
    ]


def _post(api, runs: list[dict]) -> None:
    for start in range(0, len(runs), 500):
        response = api.post("/api/rmos/logs/ai/runs", {"runs": runs[start : start + 500]}, format="json")
        assert response.status_code in (200, 201), response.json()


@pytest.fixture
def paradox(integrator_api):
    """v1 saw mostly easy traffic, v2 (no real change) mostly hard: within each context both
    succeed alike (90% easy, 30% hard)."""
    make_profile("thin_saw")
    past = datetime.now(UTC) - timedelta(days=2)
    _post(
        integrator_api,
        _runs(EASY, version=1, runs=90, successes=81, at=past) + _runs(HARD, version=1, runs=10, successes=3, at=past),
    )
    edit_profile("thin_saw", max_rings=7, note="v2: one more ring allowed")
    now = datetime.now(UTC)
    # No version named: attributed by timestamp to v2, in force since the edit.
    _post(
        integrator_api,
        _runs(EASY, version=None, runs=10, successes=9, at=now)
        + _runs(HARD, version=None, runs=90, successes=27, at=now),
    )


def test_the_paradox_reads_as_no_change_within_contexts(viewer_api, paradox):
    answer = viewer_api.get(f"{BASE}/compare?profile=thin_saw&a=1&b=2").json()
    # Crude: 84/100 against 36/100, a large and "significant" drop (statsmodels' own z-test).
    assert answer["crude_difference"] == pytest.approx(-0.48)
    assert proportions_ztest([36, 84], [100, 100])[1] < 1e-10
    # Stratified: the same rate in each context, so the Mantel–Haenszel difference is 0 (by hand:
    # each context's difference is 0, whatever its weight), and the interval contains 0.
    assert answer["difference"] == 0.0 and answer["ci95"][0] < 0 < answer["ci95"][1]
    assert answer["verdict"] == "no_change_detected"
    assert (answer["against"], answer["kind"], answer["strata"], answer["runs"]) == (1, "requested", 2, [100, 100])
    tables = [[[9, 1], [81, 9]], [[27, 63], [3, 7]]]  # per context: [[B ok, B failed], [A ok, A failed]]
    assert answer["p_value"] == pytest.approx(StratifiedTable(tables).test_null_odds(correction=False).pvalue, abs=1e-4)
    assert "traffic moved toward harder contexts" in answer["note"]
    by_tool = {row["tool_id"]: row for row in answer["contexts"]}
    assert by_tool[HARD["tool_id"]]["a"] == {"runs": 10, "successes": 3, "success_rate": 0.3}
    assert by_tool[HARD["tool_id"]]["difference"] == 0.0 and by_tool[HARD["tool_id"]]["shared"]

    versions = viewer_api.get(f"{BASE}/profile-versions?profile=thin_saw").json()["results"]
    [v2_against_v1] = versions[0]["comparisons"]
    assert v2_against_v1["kind"] == "previous" and v2_against_v1["verdict"] == "no_change_detected"
    assert {key: v2_against_v1[key] for key in ("difference", "ci95", "crude_difference", "p_value")} == {
        key: answer[key] for key in ("difference", "ci95", "crude_difference", "p_value")
    }
    assert set(v2_against_v1) == {
        "against", "kind", "method", "strata", "runs", "difference", "ci95", "p_value",
        "crude_difference", "verdict", "runs_needed", "note",
    }  # fmt: skip


def test_a_real_regression_is_worse_and_raises_an_alert(viewer_api, operator_api, paradox, integrator_api):
    edit_profile("thin_saw", max_rings=8, note="v3: a real regression")
    now = datetime.now(UTC)
    _post(
        integrator_api,
        _runs(EASY, version=None, runs=50, successes=30, at=now)
        + _runs(HARD, version=None, runs=50, successes=5, at=now),
    )
    answer = viewer_api.get(f"{BASE}/compare?profile=thin_saw&a=2&b=3").json()
    assert answer["verdict"] == "worse" and answer["ci95"][1] < 0
    # Mantel–Haenszel by hand: weights nA·nB/N, differences per context (easy -0.3, hard -0.2).
    weights = [10 * 50 / 60, 90 * 50 / 140]
    expected = (weights[0] * (30 / 50 - 9 / 10) + weights[1] * (5 / 50 - 27 / 90)) / sum(weights)
    assert answer["difference"] == pytest.approx(expected, abs=1e-4)

    alerts = viewer_api.get(f"{BASE}/alerts").json()
    [alert] = alerts["results"]
    assert (alert["profile"], alert["version"], alert["against_version"], alert["state"]) == ("thin_saw", 3, 2, "open")
    assert alert["comparison"]["verdict"] == "worse"
    v2_record = ProfileVersionLookup(["thin_saw"]).history_id_of("thin_saw", 2)
    assert alert["rollback_url"].startswith(f"/rmos/profiles/thin_saw/rollback/{v2_record}/?note=Roll+back+v3")
    assert viewer_api.get(f"{BASE}/alerts").json()["count"] == 1  # refreshing again raises nothing new

    url = f"{BASE}/alerts/{alert['id']}/acknowledge"
    assert viewer_api.post(url, {"note": "looking"}, format="json").status_code == 403
    missing = operator_api.post(url, {}, format="json")
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "note"
    done = operator_api.post(url, {"note": "rolling back to v2"}, format="json")
    assert done.status_code == 200 and done.json()["state"] == "acknowledged"
    assert done.json()["acknowledged_by"] and done.json()["note"] == "rolling back to v2"
    again = operator_api.post(url, {"note": "me too"}, format="json")
    assert again.status_code == 409
    assert operator_api.post(f"{BASE}/alerts/99999/acknowledge", {"note": "x"}, format="json").status_code == 404
    journal = RegressionAlert.history.filter(id=alert["id"]).order_by("history_id")
    assert [(h.state, h.history_change_reason) for h in journal] == [
        ("open", "v3 is worse than v2"),
        ("acknowledged", "rolling back to v2"),
    ]
    assert journal.last().history_user.username == done.json()["acknowledged_by"]
    # Acknowledged, it stays in the version's history and leaves the open list.
    assert viewer_api.get(f"{BASE}/alerts?state=open").json()["results"] == []
    assert viewer_api.get(f"{BASE}/alerts?state=acknowledged").json()["count"] == 1


def test_an_open_alert_is_superseded_by_a_newer_version(viewer_api, paradox, integrator_api):
    edit_profile("thin_saw", max_rings=8, note="v3: a real regression")
    now = datetime.now(UTC)
    _post(
        integrator_api,
        _runs(EASY, version=None, runs=50, successes=30, at=now)
        + _runs(HARD, version=None, runs=50, successes=5, at=now),
    )
    assert viewer_api.get(f"{BASE}/alerts").json()["results"][0]["state"] == "open"
    edit_profile("thin_saw", max_rings=7, note="back to v2's values")
    [alert] = viewer_api.get(f"{BASE}/alerts").json()["results"]
    assert alert["state"] == "superseded"
    assert viewer_api.get(f"{BASE}/alerts?state=bogus").json()["errors"][0]["field"] == "state"


def test_no_alert_without_enough_runs_or_for_no_change(viewer_api, paradox):
    alerts_refresh()
    assert not RegressionAlert.objects.exists()  # v2 against v1 is no_change_detected


@pytest.mark.parametrize(
    "query, field, rule",
    [
        ("profile=thin_saw&a=1", "b", "required"),
        ("a=1&b=2", "profile", "required"),
        ("profile=thin_saw&a=2&b=2", "b", "different"),
        ("profile=thin_saw&a=x&b=2", "a", "type"),
        ("profile=thin_saw&a=0&b=2", "a", "range"),
    ],
)
def test_compare_refuses_bad_parameters(viewer_api, query, field, rule):
    response = viewer_api.get(f"{BASE}/compare?{query}")
    assert response.status_code == 400
    assert (response.json()["errors"][0]["field"], response.json()["errors"][0]["rule"]) == (field, rule)


def test_versions_without_runs_are_skipped_and_said_so(viewer_api, integrator_api):
    make_profile("thin_saw")
    past = datetime.now(UTC) - timedelta(days=2)
    _post(integrator_api, _runs(EASY, version=1, runs=20, successes=10, at=past))
    edit_profile("thin_saw", max_rings=7)
    edit_profile("thin_saw", max_rings=8)
    _post(integrator_api, _runs(EASY, version=None, runs=20, successes=12, at=datetime.now(UTC)))
    v3, v2, v1 = viewer_api.get(f"{BASE}/profile-versions?profile=thin_saw").json()["results"]
    [comparison] = v3["comparisons"]
    assert comparison["against"] == 1 and comparison["note"].startswith(
        "Compared with v1, the last version before it with runs (v2 has none)."
    )
    assert v2["comparisons"][0]["verdict"] == "not_comparable" and v2["runs"] == 0
    assert alerts_refresh() is None and not RegressionAlert.objects.exists()  # 20 runs: too few to raise
    del v1


def test_an_open_dashboard_sees_a_new_alert_on_its_live_refresh(viewer_client, paradox, integrator_api):
    """The live overview refreshes the regression watch at most once a minute, across processes."""
    edit_profile("thin_saw", max_rings=8, note="v3: a real regression")
    now = datetime.now(UTC)
    _post(
        integrator_api,
        _runs(EASY, version=None, runs=50, successes=30, at=now)
        + _runs(HARD, version=None, runs=50, successes=5, at=now),
    )
    assert not RegressionAlert.objects.exists()  # nothing has read the alerts yet
    from tests.dashboard.test_live import figures

    htmx = {"HTTP_HX_REQUEST": "true"}
    body = viewer_client.get("/rmos/ai-ops/live/overview/?range=7d", **htmx).content.decode()
    [alert] = RegressionAlert.objects.all()
    assert (alert.profile_name, alert.version, alert.state) == ("thin_saw", 3, "open")
    assert figures(body)["open-alerts"] == "1"
    alert.delete()
    viewer_client.get("/rmos/ai-ops/live/overview/?range=7d", **htmx)
    assert not RegressionAlert.objects.exists()  # within the minute: not refreshed again
