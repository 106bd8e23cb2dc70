"""Analytics over real HTTP: shapes, parameters, clear 400s, permissions, query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ailog import services as log_services
from tests.factories import T0, iso, run_item, token_auth_queries

pytestmark = pytest.mark.django_db
BASE = "/api/rmos/ai/analytics"


@pytest.fixture
def logged(default_profile):
    log_services.runs_ingest(
        runs=[run_item(at=T0 + timedelta(hours=i), tool_id=f"saw:{i % 3}", success=i % 4 != 0) for i in range(24)]
    )


def test_every_endpoint_answers(viewer_api, logged):
    stats = viewer_api.get(f"{BASE}/profile-stats?limit=2").json()
    assert stats["count"] == 3 and len(stats["results"]) == 2 and stats["results"][0]["runs"] == 8
    spots = viewer_api.get(f"{BASE}/hotspots?min_runs=1").json()
    assert [r["tool_id"] for r in spots["results"]][:1] and all(r["reasons"] for r in spots["results"])
    versions = viewer_api.get(f"{BASE}/profile-versions?profile=default").json()
    assert versions["results"][0]["version"] == 1 and versions["results"][0]["runs"] == 24
    series = viewer_api.get(f"{BASE}/timeseries?since=2025-06-01&until=2025-06-02&tool_id=saw:1").json()
    assert [(d["day"], d["runs"]) for d in series["days"]] == [("2025-06-01", 4), ("2025-06-02", 4)]


def test_windows_over_http(viewer_api, logged):
    stats = viewer_api.get(f"{BASE}/profile-stats?max_runs=5&max_attempts=4").json()
    # The newest runs (of at most 5) whose attempts add up to at most 4: two runs of 2 attempts.
    assert sum(r["runs"] for r in stats["results"]) == 2 and sum(r["attempts"] for r in stats["results"]) == 4
    assert stats["window"] == {"max_runs": 5, "max_attempts": 4}


def test_timeseries_defaults_to_the_last_90_days(viewer_api, logged):
    series = viewer_api.get(f"{BASE}/timeseries").json()
    assert (
        len(series["days"]) == 90 and series["days"][-1]["runs"] == 0
    )  # today and the 89 days before; the log is older


@pytest.mark.parametrize(
    "path, field, rule",
    [
        ("profile-stats?limit=-1", "limit", "range"),
        ("profile-stats?limit=0", "limit", "range"),
        ("profile-stats?limit=abc", "limit", "type"),
        ("profile-stats?max_runs=-5", "max_runs", "range"),
        ("profile-stats?max_attempts=100001", "max_attempts", "range"),
        ("profile-stats?max_runs=1.5", "max_runs", "type"),
        ("profile-stats?colour=red", "colour", "unknown_field"),
        ("profile-stats?since=2025-06-02&until=2025-06-01", "until", "order"),
        ("profile-stats?since=2025-06-01T10:00:00", "since", "timezone"),
        ("profile-stats?risk_bucket=RED", "risk_bucket", "not_an_analytics_filter"),
        ("profile-stats?success=true", "success", "not_an_analytics_filter"),
        ("hotspots?reason=timeout", "reason", "not_an_analytics_filter"),
        ("hotspots?min_runs=0", "min_runs", "range"),
        ("hotspots?limit=101", "limit", "range"),
        ("hotspots?limit=-3", "limit", "range"),
        ("profile-versions", "profile", "required"),
        ("profile-versions?profile=default&max_runs=3", "max_runs", "unknown_field"),
        ("profile-versions?profile=%00", "profile", "printable"),  # a 500 on PostgreSQL before
        ("profile-stats?tool_id=saw%00", "tool_id", "printable"),
        ("timeseries?since=2020-01-01&until=2035-01-01", "until", "range"),
        ("timeseries?since=2000-01-01", "since", "range"),  # until is today: since is the one to change
        ("timeseries?workflow_mode=sideways", "workflow_mode", "choice"),
        ("profile-stats?until=9999-12-31", "until", "range"),  # a 500 (OverflowError) before
        ("hotspots?since=9999-12-31T23:59:59-12:00", "since", "range"),
        ("timeseries?since=0001-01-01T00:00:00%2B14:00", "since", "range"),
    ],
)
def test_bad_parameters_are_clear_400s(viewer_api, path, field, rule):
    response = viewer_api.get(f"{BASE}/{path}")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    assert (field, rule) in {(e["field"], e["rule"]) for e in body["errors"]}, body


def test_unknown_profile_versions_is_404(viewer_api, logged):
    response = viewer_api.get(f"{BASE}/profile-versions?profile=nothing-here")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_reads_need_a_signed_in_user(api_client):
    for name in ("profile-stats", "hotspots", "profile-versions?profile=default", "timeseries"):
        assert api_client.get(f"{BASE}/{name}").status_code == 401


def test_query_count_does_not_grow_with_history(viewer_api, default_profile, django_assert_max_num_queries):
    for day in range(3):
        log_services.runs_ingest(runs=[run_item(at=T0 + timedelta(days=day, minutes=i)) for i in range(5)])
        with django_assert_max_num_queries(
            token_auth_queries() + 2
        ):  # the sums per context, the profile versions shown
            assert viewer_api.get(f"{BASE}/profile-stats").status_code == 200
        with django_assert_max_num_queries(token_auth_queries() + 1):
            assert viewer_api.get(f"{BASE}/hotspots?min_runs=1").status_code == 200
    since = iso(T0.replace(hour=6))
    with django_assert_max_num_queries(
        token_auth_queries() + 5
    ):  # whole days; the partial first day (most of it): its day row minus the log's runs, RED shares, attempts before
        assert viewer_api.get(f"{BASE}/profile-stats?since={since}").status_code == 200


def test_timeseries_reads_every_profiles_journal_in_one_query(
    viewer_api, default_profile, django_assert_max_num_queries
):
    """Seen in review: two queries per profile in the window (and at most 500 entries each)."""
    from tests.factories import make_profile

    window = f"since={(T0 - timedelta(days=1)).date()}&until={(T0 + timedelta(days=2)).date()}"  # whole days
    for count in (1, 4):
        for n in range(count):
            name = f"p{count}-{n}"
            make_profile(name)
            log_services.runs_ingest(runs=[run_item(at=T0 + timedelta(minutes=n), profile=name)])
        # the day sums, the profiles' journals (a lookup of their ids, then the records)
        with django_assert_max_num_queries(token_auth_queries() + 3):
            body = viewer_api.get(f"{BASE}/timeseries?{window}").json()
        assert sum(day["runs"] for day in body["days"]) == (1 if count == 1 else 5)


def test_profile_versions_know_every_version_of_a_long_journal(viewer_api, default_profile):
    """Seen in review: only the newest 500 journal entries were read, so runs of older versions
    of a much-edited profile counted as of an unknown version."""
    from profiles import services as profile_services
    from profiles.models import ConstraintProfile

    log_services.runs_ingest(runs=[run_item(at=T0, profile_version=1)])
    for n in range(505):
        profile_services.profile_update(name="default", changes={"max_rings": 6 + n % 2}, note=f"edit {n}")
    body = viewer_api.get(f"{BASE}/profile-versions?profile=default").json()
    assert body["unknown_version"] is None
    assert [(v["version"], v["runs"]) for v in body["results"]][-1] == (1, 1)
    assert len(body["results"]) == ConstraintProfile.objects.get(name="default").version > 500


def test_a_profile_without_journal_records_still_exists(viewer_api, default_profile):
    """A profile loaded without its history (loaddata skips simple-history) is not "no profile"."""
    from profiles.models import ConstraintProfile

    ConstraintProfile.history.filter(name="default").delete()
    response = viewer_api.get(f"{BASE}/profile-versions?profile=default")
    assert response.status_code == 200 and response.json()["exists"] is True and response.json()["results"] == []


def test_profile_stats_results_match_their_documented_schema(viewer_api, logged):
    """The schema nested the numbers under "stats" (required) while every result has them inline:
    each non-empty answer broke its own schema, and fuzzing on an empty log never saw it."""
    import json

    import jsonschema
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    schema = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    context_stats = schema["components"]["schemas"]["ContextStats"]
    results = viewer_api.get(f"{BASE}/profile-stats").json()["results"]
    assert results
    for result in results:
        jsonschema.validate(result, {**context_stats, "additionalProperties": False})
