"""The profile API over real HTTP (Django test client), including the seed's curl runbook."""

from __future__ import annotations

import json
from datetime import UTC

import pytest

from profiles.models import ConstraintProfile
from tests.factories import token_for

pytestmark = pytest.mark.django_db

ADMIN = "/api/rmos/ai/profile-admin"


def put(client, path, body, **extra):
    return client.put(path, data=json.dumps(body), content_type="application/json", **extra)


def post(client, path, body, **extra):
    return client.post(path, data=json.dumps(body), content_type="application/json", **extra)


@pytest.fixture
def op_client(client, operator, starter_profiles):
    client.force_login(operator)
    return client


class TestAuthentication:
    @pytest.mark.parametrize(
        "method, path",
        [
            ("get", "/api/rmos/ai/profiles"),
            ("get", "/api/rmos/ai/profiles/default"),
            ("get", "/api/rmos/ai/rules"),
            ("get", f"{ADMIN}/list"),
            ("get", f"{ADMIN}/default"),
            ("put", f"{ADMIN}/default"),
            ("get", f"{ADMIN}/default/history"),
            ("post", f"{ADMIN}/default/rollback"),
        ],
    )
    def test_anonymous_gets_401_in_the_error_shape(self, client, starter_profiles, method, path):
        response = getattr(client, method)(path)
        assert response.status_code == 401
        body = response.json()
        assert body["code"] == "not_authenticated" and body["status"] == 401
        assert response["WWW-Authenticate"] == "Token"

    def test_a_bad_token_is_401(self, client, starter_profiles):
        response = client.get("/api/rmos/ai/profiles", HTTP_AUTHORIZATION="Token nope")
        assert response.status_code == 401 and response.json()["code"] == "authentication_failed"

    def test_token_authentication_works(self, client, viewer, starter_profiles):
        response = client.get("/api/rmos/ai/profiles", HTTP_AUTHORIZATION=f"Token {token_for(viewer)}")
        assert response.status_code == 200 and response.json()["count"] == 7

    def test_viewer_can_read_but_not_write(self, client, viewer, starter_profiles):
        client.force_login(viewer)
        assert client.get(f"{ADMIN}/default").status_code == 200
        assert client.get(f"{ADMIN}/default/history").status_code == 200
        response = put(client, f"{ADMIN}/default", {"max_rings": 5, "note": "x"})
        assert response.status_code == 403 and response.json()["code"] == "permission_denied"
        response = post(client, f"{ADMIN}/default/rollback", {"id": 1, "note": "x"})
        assert response.status_code == 403
        assert ConstraintProfile.objects.get(name="default").version == 1


class TestFlag:
    @pytest.mark.parametrize(
        "method, path",
        [
            ("get", f"{ADMIN}/list"),
            ("get", f"{ADMIN}/default"),
            ("put", f"{ADMIN}/default"),
            ("get", f"{ADMIN}/default/history"),
            ("post", f"{ADMIN}/default/rollback"),
        ],
    )
    def test_every_profile_admin_path_is_404_when_the_flag_is_off(self, op_client, profile_admin_urls, method, path):
        profile_admin_urls(False)
        response = getattr(op_client, method)(path)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        # The read endpoints stay.
        assert op_client.get("/api/rmos/ai/profiles/default").status_code == 200

    def test_schema_lists_profile_admin_only_when_enabled(self, op_client, profile_admin_urls):
        profile_admin_urls(False)
        paths = op_client.get("/api/schema/?format=json").json()["paths"]
        assert not any("profile-admin" in p for p in paths) and "/api/rmos/ai/profiles" in paths
        profile_admin_urls(True)
        paths = op_client.get("/api/schema/?format=json").json()["paths"]
        assert "/api/rmos/ai/profile-admin/{name}/rollback" in paths


class TestRunbook:
    def test_seed_runbook_end_to_end(self, client, operator, starter_profiles):
        """The seed's §9.1 curl sequence, with an operator's token."""
        auth = {"HTTP_AUTHORIZATION": f"Token {token_for(operator)}"}
        listing = client.get(f"{ADMIN}/list", **auth).json()
        assert {p["name"] for p in listing["results"]} >= {"default", "thin_saw"}
        default = client.get(f"{ADMIN}/default", **auth).json()
        assert default["max_rings"] == 6 and default["version"] == 1

        response = put(
            client, f"{ADMIN}/default", {"max_rings": 5, "note": "tune rings upper bound", "operator": "dev"}, **auth
        )
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["changed"] and body["profile"]["max_rings"] == 5 and body["profile"]["version"] == 2
        assert body["changes"] == [{"field": "max_rings", "before": 6, "after": 5}]

        history = client.get(f"{ADMIN}/default/history?limit=10", **auth).json()
        newest = history["results"][0]
        assert (newest["type"], newest["note"], newest["operator"], newest["user"]) == (
            "changed",
            "tune rings upper bound",
            "dev",
            operator.username,
        )
        first_id = history["results"][-1]["id"]

        response = post(client, f"{ADMIN}/default/rollback", {"id": first_id, "note": "rollback test"}, **auth)
        assert response.status_code == 200, response.json()
        assert response.json()["profile"]["max_rings"] == 6 and response.json()["profile"]["version"] == 3
        newest = client.get(f"{ADMIN}/default/history?limit=1", **auth).json()["results"][0]
        assert (
            newest["type"] == "rollback"
            and newest["note"] == f"rollback to version 1 (record #{first_id}): rollback test"
        )
        assert newest["rollback_of"] == first_id


class TestUpdateErrors:
    def test_stale_version_is_409_with_current_values_and_nothing_written(self, op_client):
        assert put(op_client, f"{ADMIN}/default", {"max_rings": 5, "note": "a", "version": 1}).status_code == 200
        response = put(op_client, f"{ADMIN}/default", {"max_rings": 4, "note": "b", "version": 1})
        assert response.status_code == 409
        body = response.json()
        assert body["code"] == "conflict" and body["current_version"] == 2 and body["current"]["max_rings"] == 5
        assert body["errors"] == [{"field": "version", "rule": "stale", "message": "current version is 2"}]
        assert ConstraintProfile.objects.get(name="default").max_rings == 5

    def test_a_version_from_the_future_is_a_400_not_a_conflict(self, op_client):
        response = put(op_client, f"{ADMIN}/default", {"max_rings": 4, "note": "b", "version": 999})
        assert response.status_code == 400
        assert response.json()["errors"] == [
            {
                "field": "version",
                "rule": "range",
                "message": "profile 'default' is at version 1; there is no version 999 yet",
            }
        ]
        assert ConstraintProfile.objects.get(name="default").version == 1

    @pytest.mark.parametrize(
        "body, field, rule",
        [
            ({"max_rings": "7"}, "max_rings", "invalid"),
            ({"max_rings": 7.5}, "max_rings", "invalid"),
            ({"max_rings": True}, "max_rings", "invalid"),
            ({"max_rings": 99}, "max_rings", "max_value"),
            ({"min_ring_width_mm": "0.5"}, "min_ring_width_mm", "invalid"),
            ({"min_ring_width_mm": 0.555}, "min_ring_width_mm", "max_decimal_places"),
            ({"min_ring_width_mm": 0}, "min_ring_width_mm", "range"),
            ({"allow_mosaic": "true"}, "allow_mosaic", "invalid"),
            ({"palette_key": "nope"}, "palette_key", "unknown_palette"),
            ({"min_rings": 5, "max_rings": 3}, "max_rings", "min_le_max"),
            ({"colour": "red"}, "colour", "unknown_field"),
            ({"version": "1"}, "version", "invalid"),
        ],
    )
    def test_bad_fields_are_400_naming_field_and_rule(self, op_client, body, field, rule):
        response = put(op_client, f"{ADMIN}/default", {**body, "note": "bad"})
        assert response.status_code == 400
        errors = {(e["field"], e["rule"]) for e in response.json()["errors"]}
        assert (field, rule) in errors, response.json()
        assert ConstraintProfile.objects.get(name="default").version == 1

    def test_note_is_required(self, op_client):
        response = put(op_client, f"{ADMIN}/default", {"max_rings": 5})
        assert response.status_code == 400
        assert response.json()["errors"] == [
            {"field": "note", "rule": "required", "message": "This field is required."}
        ]

    @pytest.mark.parametrize("raw", ["{not json", '{"max_rings": NaN, "note": "x"}', "[1, 2]", '"just a string"'])
    def test_malformed_bodies_are_400(self, op_client, raw):
        response = op_client.put(f"{ADMIN}/default", data=raw, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["status"] == 400

    def test_unknown_profile_is_404(self, op_client):
        response = put(op_client, f"{ADMIN}/ghost", {"max_rings": 5, "note": "x"})
        assert response.status_code == 404 and response.json()["field"] == "name"
        # The same shape as every other 4xx: the parameter and the rule in "errors".
        assert response.json()["errors"] == [
            {"field": "name", "rule": "not_found", "message": "No profile named 'ghost'."}
        ]

    def test_no_op_put_reports_unchanged(self, op_client):
        response = put(op_client, f"{ADMIN}/default", {"max_rings": 6, "note": "same"})
        assert response.status_code == 200 and response.json()["changed"] is False
        assert response.json()["profile"]["version"] == 1


class TestHistoryAndRollbackErrors:
    @pytest.mark.parametrize("query", ["limit=0", "limit=-1", "limit=abc", "limit=501", "bogus=1"])
    def test_bad_history_parameters_are_400(self, op_client, query):
        response = op_client.get(f"{ADMIN}/default/history?{query}")
        assert response.status_code == 400 and response.json()["errors"][0]["field"] in {"limit", "bogus"}

    def test_rollback_to_another_profiles_record_is_404(self, op_client):
        other_record = ConstraintProfile.history.filter(name="thin_saw").first()
        response = post(op_client, f"{ADMIN}/default/rollback", {"id": other_record.history_id, "note": "x"})
        assert response.status_code == 404 and "belongs to profile 'thin_saw'" in response.json()["detail"]

    @pytest.mark.parametrize("body", [{"note": "x"}, {"id": "1", "note": "x"}, {"id": 0, "note": "x"}, {"id": 1}])
    def test_bad_rollback_bodies_are_400(self, op_client, body):
        response = post(op_client, f"{ADMIN}/default/rollback", body)
        assert response.status_code == 400


def test_openapi_schema_and_docs_are_served_without_a_cdn(op_client):
    schema = op_client.get("/api/schema/?format=json")
    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")
    docs = op_client.get("/api/docs/")
    html = docs.content.decode()
    assert docs.status_code == 200
    assert "cdn" not in html.lower() and "unpkg" not in html and "jsdelivr" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html


def test_the_schema_documents_the_bodies_the_api_takes(op_client, profile_admin_urls):
    profile_admin_urls(True)
    components = op_client.get("/api/schema/?format=json").json()["components"]["schemas"]
    # Ingestion takes lists (an object was documented before, so generated clients sent one).
    for name, key in (("RunIngestApiInputRequest", "runs"), ("EventIngestApiInputRequest", "events")):
        assert components[name]["properties"][key]["type"] == "array"
    # Widths must be greater than 0, as the service checks (the schema said above -1000 before).
    width = components["ProfileAdminDetailApiInputRequest"]["properties"]["min_ring_width_mm"]
    assert (width["minimum"], width["exclusiveMinimum"], width["maximum"]) == (0, True, 20)
    response = put(op_client, f"{ADMIN}/default", {"min_ring_width_mm": 0, "note": "zero", "version": 1})
    assert response.status_code == 400 and response.json()["errors"][0]["rule"] == "range"


def test_a_put_nested_deeper_than_the_stack_is_a_400_and_changes_nothing(op_client):
    response = op_client.put(f"{ADMIN}/default", data='{"max_rings": ' + "[" * 5000, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"
    assert ConstraintProfile.objects.get(name="default").history.count() == 1


def test_unknown_api_path_is_a_json_404(op_client):
    response = op_client.get("/api/rmos/nothing-here")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/rmos/ai/profiles/a%00b"),
        ("get", "/api/rmos/ai/profiles/Default"),
        ("get", f"{ADMIN}/a%00b"),
        ("get", f"{ADMIN}/a%00b/history"),
        ("get", f"{ADMIN}/Not-A-Name"),
        ("put", f"{ADMIN}/Default"),
        ("put", f"{ADMIN}/{'x' * 65}"),
        ("post", f"{ADMIN}/Default/rollback"),
    ],
)
def test_a_name_that_cannot_exist_is_a_404_with_the_naming_rule(op_client, method, path):
    """The endpoint exists, the profile cannot: a 404 that says why, not "no endpoint here", and
    no query (PostgreSQL refuses a NUL in one)."""
    if method == "get":
        response = op_client.get(path)
    else:
        body = {"id": 1, "note": "x"} if method == "post" else {"max_rings": 5, "note": "x"}
        response = getattr(op_client, method)(path, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 404
    [error] = response.json()["errors"]
    assert error["field"] == "name" and error["rule"] == "not_found"
    assert "profile names are 1-64 lower-case letters, digits" in error["message"]
    assert ConstraintProfile.objects.get(name="default").version == 1  # nothing written


def test_a_write_to_an_unknown_api_path_is_a_json_404_even_with_a_session(operator):
    """Found by schemathesis: the catch-all answered a session PUT with Django's HTML CSRF page."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    response = client.put("/api/rmos/ai/nowhere/%C2%84", data="{}", content_type="application/json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_history_refuses_a_limit_given_twice(op_client):
    response = op_client.get(f"{ADMIN}/default/history?limit=1&limit=2")
    assert response.status_code == 400 and response.json()["errors"][0]["rule"] == "single_value"


@pytest.mark.parametrize(
    "path",
    [
        "/api/rmos/ai/catalog",
        "/api/rmos/ai/profiles",
        "/api/rmos/ai/profiles/default",
        "/api/rmos/ai/rules",
        f"{ADMIN}/list",
        f"{ADMIN}/default",
    ],
)
def test_endpoints_without_parameters_refuse_unknown_ones_by_name(op_client, path):
    response = op_client.get(f"{path}?colour=red&limt=5")  # ignored silently before
    assert response.status_code == 400
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [
        ("colour", "unknown_field"),
        ("limt", "unknown_field"),
    ]
    assert op_client.get(f"{path}?format=json").status_code == 200


@pytest.mark.parametrize(
    "method, path",
    [
        ("put", f"{ADMIN}/default"),
        ("post", "/api/rmos/ai/snapshots/preview"),
        ("post", "/api/rmos/ai/constraint-search"),
    ],
)
def test_a_body_over_the_upload_limit_is_a_json_413_on_every_endpoint(op_client, settings, method, path):
    """Found by an integrator: only ingestion answered 413; the others gave Django's HTML 400."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"note": "x" * 2000, "max_rings": 5})
    response = getattr(op_client, method)(path, data=body, content_type="application/json")
    assert response.status_code == 413 and response["Content-Type"] == "application/json"
    assert response.json()["errors"] == [
        {"field": "", "rule": "max_body_size", "message": "at most 1,000 bytes per request"}
    ]
    assert response.json()["detail"] == f"The request body is {len(body):,} bytes; the limit is 1,000 bytes."
    assert ConstraintProfile.objects.get(name="default").version == 1


@pytest.mark.parametrize(
    "path",
    [
        f"{ADMIN}/default/history",
        "/api/rmos/ai/analytics/profile-stats",
        "/api/rmos/ai/analytics/hotspots",
        "/api/rmos/ai/analytics/profile-versions?profile=default",
        "/api/rmos/ai/analytics/timeseries",
    ],
)
def test_format_json_is_taken_wherever_json_is_answered(op_client, path):
    """These refused ?format=json as an unknown parameter, while ?format=csv was told 'must be json'."""
    joiner = "&" if "?" in path else "?"
    assert op_client.get(f"{path}{joiner}format=json").status_code == 200
    response = op_client.get(f"{path}{joiner}format=csv")
    assert response.status_code == 400
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [("format", "choice")]


def test_profile_times_are_written_in_utc_with_z_like_the_log(op_client):
    """updated_at and the history's times ended in +00:00 while every log time ends in Z."""
    profile = op_client.get(f"{ADMIN}/default").json()
    history = op_client.get(f"{ADMIN}/default/history").json()["results"]
    assert profile["updated_at"].endswith("Z") and "+00:00" not in profile["updated_at"]
    assert history and all(entry["time"].endswith("Z") for entry in history)


def test_journal_times_sort_as_text_in_time_order(starter_profiles):
    """With Z, a time on a whole second ("…:00Z") sorted after a later one ("…:00.5Z"): the export
    and the chart markers sort these texts."""
    from datetime import datetime

    from profiles import journal

    record = ConstraintProfile.history.first()
    on_the_second, later = datetime(2026, 1, 1, 8, 0, 0, tzinfo=UTC), datetime(2026, 1, 1, 8, 0, 0, 500, tzinfo=UTC)
    times = []
    for moment in (later, on_the_second):
        record.history_date = moment
        times.append(journal.entry(record, None, ["max_rings"], subject="default")["time"])
    assert times == ["2026-01-01T08:00:00.000500Z", "2026-01-01T08:00:00.000000Z"]
    assert sorted(times) == times[::-1]


class TestRollbackByVersion:
    """Rollback takes the history record's ``id`` or the profile version ``to_version`` (issue 18)."""

    def test_to_version_restores_that_version(self, op_client):
        assert put(op_client, f"{ADMIN}/default", {"max_rings": 5, "note": "a"}).status_code == 200
        response = post(op_client, f"{ADMIN}/default/rollback", {"to_version": 1, "note": "back", "version": 2})
        assert response.status_code == 200, response.json()
        assert response.json()["profile"]["max_rings"] == 6 and response.json()["profile"]["version"] == 3
        newest = op_client.get(f"{ADMIN}/default/history?limit=1").json()["results"][0]
        assert newest["type"] == "rollback" and newest["note"].startswith("rollback to version 1 (record #")

    @pytest.mark.parametrize(
        "body, field, rule",
        [
            ({"note": "x"}, "id", "invalid"),
            ({"id": 1, "to_version": 1, "note": "x"}, "id", "invalid"),
            ({"to_version": 99, "note": "x"}, "to_version", "unknown_version"),
            ({"to_version": 0, "note": "x"}, "to_version", "min_value"),
        ],
    )
    def test_id_or_to_version_exactly_one_and_known(self, op_client, body, field, rule):
        response = post(op_client, f"{ADMIN}/default/rollback", body)
        assert response.status_code == 400
        assert (field, rule) in {(e["field"], e["rule"]) for e in response.json()["errors"]}
        assert ConstraintProfile.objects.get(name="default").version == 1

    def test_to_version_of_an_unknown_profile_is_a_404(self, op_client):
        response = post(op_client, f"{ADMIN}/nosuch/rollback", {"to_version": 1, "note": "x"})
        assert response.status_code == 404
