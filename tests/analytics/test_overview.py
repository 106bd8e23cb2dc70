"""The overview of a time range: the API and the selector, against the profile stats they sum."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ailog import services as log_services
from tests.factories import T0, iso, run_item

pytestmark = pytest.mark.django_db
URL = "/api/rmos/ai/analytics/overview"


@pytest.fixture
def logged(default_profile):
    log_services.runs_ingest(
        runs=[run_item(at=T0 + timedelta(hours=i), tool_id=f"saw:{i % 3}", success=i % 4 != 0) for i in range(30)]
    )


def _stats_total(api, query: str) -> tuple[int, int, int]:
    results = api.get(f"/api/rmos/ai/analytics/profile-stats?limit=1000&{query}").json()["results"]
    return (
        sum(r["runs"] for r in results),
        sum(r["successes"] for r in results),
        sum(r["attempts"] for r in results),
    )


@pytest.mark.parametrize(
    "query",
    [
        "",
        f"since={iso(T0 + timedelta(hours=3, minutes=30))}",
        f"since={iso(T0 + timedelta(hours=2))}&until={iso(T0 + timedelta(hours=26, minutes=10))}",
        "since=2025-06-02",
    ],
)
def test_overview_sums_the_profile_stats_of_the_same_range(viewer_api, logged, query):
    answer = viewer_api.get(f"{URL}?{query}").json()
    runs, successes, attempts = _stats_total(viewer_api, query)
    assert (answer["runs"], answer["successes"], answer["attempts"]) == (runs, successes, attempts)
    assert answer["runs"] > 0
    low, high = answer["success_rate_ci"]
    assert low <= answer["success_rate"] <= high
    assert answer["open_alerts"] == 0 and answer["open_change_requests"] == 0


def test_overview_of_an_empty_range_has_no_rates(viewer_api, logged):
    answer = viewer_api.get(f"{URL}?since=2030-01-01").json()
    assert answer["runs"] == 0 and answer["success_rate"] is None and answer["success_rate_ci"] is None
    assert answer["since"] == "2030-01-01T00:00:00Z" and answer["until"] is None


@pytest.mark.parametrize(
    "query, field, rule",
    [
        ("since=yesterday", "since", "format"),
        ("since=2025-06-02&until=2025-06-01", "until", "order"),
        ("risk_bucket=RED", "risk_bucket", "not_an_analytics_filter"),
        ("limit=5", "limit", "unknown_field"),
    ],
)
def test_overview_refuses_bad_parameters_by_name(viewer_api, query, field, rule):
    response = viewer_api.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert {(e["field"], e["rule"]) for e in response.json()["errors"]} >= {(field, rule)}
