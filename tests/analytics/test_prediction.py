"""The prediction on a profile's real traffic (issue 16 item 4): the API, the 95%-of-runs rule,
and the prediction stored when a version is saved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics.models import VersionPrediction
from analytics.services import predictions_wait, version_prediction_make
from tests.factories import edit_profile, log_runs, make_profile, run_item

URL = "/api/rmos/ai/profiles/tuning/predict"
ROUTER = {"tool_id": "router:vbit-60", "material_id": "wood:maple-hard", "machine_id": "prod:vmc-3axis"}  # 0.4 mm
SLITTING = {"tool_id": "saw:slitting-0.5", "material_id": "wood:maple-hard", "machine_id": "prod:laser-cell"}  # 0.6 mm
RARE = {"tool_id": "laser:co2-40w", "material_id": "wood:maple-hard", "machine_id": "prod:vmc-3axis"}
NARROW = {"min_ring_width_mm": "0.20", "max_ring_width_mm": "0.60"}


def _traffic(days_ago: float = 1) -> None:
    at = datetime.now(UTC) - timedelta(days=days_ago)
    log_runs(
        *[run_item(**ROUTER, profile="tuning", at=at + timedelta(seconds=i)) for i in range(30)],
        *[run_item(**SLITTING, profile="tuning", at=at + timedelta(seconds=i)) for i in range(15)],
        run_item(**RARE, profile="tuning", at=at),
    )


@pytest.fixture
def tuning(db):
    return make_profile("tuning", min_ring_width_mm="1.00", max_ring_width_mm="2.50", allow_segmented=False)


@pytest.mark.django_db
def test_rings_below_the_tools_minimum_feature_predict_a_lower_acceptable_share_per_context(viewer_api, tuning):
    _traffic()
    response = viewer_api.post(URL, {"changes": NARROW, "samples_per_context": 200, "seed": 8}, format="json")
    assert response.status_code == 200, response.json()
    answer = response.json()
    # 30 + 15 of 46 runs (97.8%) reach 95%: the one-run context is left out.
    assert answer["traffic"]["runs"] == 46 and answer["traffic"]["contexts_seen"] == 3
    assert answer["traffic"]["contexts_used"] == 2 and answer["traffic"]["covered_runs"] == 45
    assert [(row["context"]["tool_id"], row["weight"]) for row in answer["contexts"]] == [
        ("router:vbit-60", 30),
        ("saw:slitting-0.5", 15),
    ]
    for row in answer["contexts"]:
        assert row["proposed"]["acceptable_share"] < row["saved"]["acceptable_share"], row["context"]
    overall = answer["overall"]
    expected = (
        30 * answer["contexts"][0]["saved"]["acceptable_share"]
        + 15 * answer["contexts"][1]["saved"]["acceptable_share"]
    ) / 45
    assert overall["saved"]["acceptable_share"] == pytest.approx(expected, abs=1e-4)
    assert overall["difference"]["acceptable_share"] < 0
    assert (answer["profile"], answer["version"], answer["seed"]) == ("tuning", 1, 8)
    # The same request answers the same (common random numbers, a seed).
    again = viewer_api.post(URL, {"changes": NARROW, "samples_per_context": 200, "seed": 8}, format="json").json()
    assert again["contexts"] == answer["contexts"]


@pytest.mark.django_db
def test_traffic_older_than_30_days_is_not_weighed(viewer_api, tuning):
    _traffic(days_ago=31)
    answer = viewer_api.post(URL, {"changes": NARROW}, format="json").json()
    assert answer["contexts"] == [] and answer["overall"] is None and "last 30 days" in answer["note"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, field, rule",
    [
        ({}, "changes", "required"),
        ({"changes": []}, "changes", "not_a_dict"),
        ({"changes": {"colour": "red"}}, "changes.colour", "unknown_field"),
        ({"changes": {"min_rings": 30}}, "changes.min_rings", "range"),
        ({"changes": {}, "samples_per_context": 2}, "samples_per_context", "range"),
        ({"changes": {}, "seed": "x"}, "seed", "type"),
        ({"changes": {}, "surprise": 1}, "surprise", "unknown_field"),
    ],
)
def test_bad_requests_name_the_field(viewer_api, tuning, body, field, rule):
    response = viewer_api.post(URL, body, format="json")
    assert response.status_code == 400, response.json()
    errors = {(e["field"], e["rule"]) for e in response.json()["errors"]}
    assert (field, rule) in errors, errors


@pytest.mark.django_db
def test_an_unknown_profile_is_a_404(viewer_api):
    assert viewer_api.post("/api/rmos/ai/profiles/nope/predict", {"changes": {}}, format="json").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_saving_a_version_stores_the_prediction_made_for_it(viewer_api, tuning):
    _traffic()
    predictions_wait()
    edit_profile("tuning", note="narrower rings", **NARROW)
    predictions_wait()
    stored = VersionPrediction.objects.get(profile_name="tuning", version=2)
    assert (stored.state, stored.against_version) == ("done", 1)
    # Recomputing it (manage.py predict_versions --all) gives the same answer: its seed is the version's.
    assert version_prediction_make(pk=stored.pk).result["contexts"] == stored.result["contexts"]
    before, after = stored.result["overall"]["saved"], stored.result["overall"]["proposed"]
    assert after["acceptable_share"] < before["acceptable_share"]
    [v2, v1] = viewer_api.get("/api/rmos/ai/analytics/profile-versions?profile=tuning").json()["results"]
    assert v2["prediction"]["state"] == "done" and v2["prediction"]["predicted"] == after
    assert v2["prediction"]["before"] == before and v2["observed"]["attempts"] == 0
    assert v1["prediction"]["state"] == "no_traffic"  # created before any run: nothing to weigh
