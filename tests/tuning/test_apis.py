"""``/api/rmos/ai/tuning-jobs``: start, read, list, cancel; bad input names its field; roles."""

from __future__ import annotations

import json

import pytest

from tests.factories import token_auth_queries
from tests.tuning.conftest import ROUTER
from tuning import services

URL = "/api/rmos/ai/tuning-jobs"
pytestmark = pytest.mark.django_db


def errors_of(response) -> set[tuple[str, str]]:
    return {(e["field"], e["rule"]) for e in response.json()["errors"]}


def test_an_operator_starts_a_job_and_a_viewer_reads_it(tuned_profile, operator, operator_api, viewer_api):
    response = operator_api.post(URL, {"profile": "tuned", "trials": 10, "seed": 5}, format="json")
    assert response.status_code == 201, response.json()
    job = response.json()
    assert (job["state"], job["progress"], job["seed"]) == ("queued", {"done": 0, "total": 10}, 5)
    assert job["started_by"] == operator.username and job["proposals"] == []
    assert [c["runs"] for c in job["traffic"]] == [20, 10]
    services.tuning_job_run(job_id=job["id"])
    read = viewer_api.get(f"{URL}/{job['id']}")
    assert read.status_code == 200
    body = read.json()
    assert body["state"] == "done" and body["progress"] == {"done": 10, "total": 10}
    assert body["proposals"] and len(body["history"]) == 10
    assert {"values", "changes", "diff", "prediction", "distinct_designs"} <= set(body["proposals"][0])


def test_a_viewer_may_not_start_or_cancel(tuned_profile, viewer_api):
    assert viewer_api.post(URL, {"profile": "tuned", "trials": 10}, format="json").status_code == 403
    job = services.tuning_job_create(profile="tuned", trials=10, seed=1)
    assert viewer_api.post(f"{URL}/{job.pk}/cancel").status_code == 403


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"profile": "nobody", "trials": 10}, ("profile", "unknown")),
        ({"profile": "tuned", "trials": 9}, ("trials", "min_value")),
        ({"profile": "tuned", "trials": 2001}, ("trials", "max_value")),
        ({"profile": "tuned", "trials": "50"}, ("trials", "invalid")),
        ({"profile": "tuned"}, ("trials", "required")),
        ({"profile": "tuned", "trials": 10, "seed": -1}, ("seed", "min_value")),
        (
            {"profile": "tuned", "trials": 10, "context": {**ROUTER, "machine_id": "prod:laser-cell"}},
            ("context", "not_in_traffic"),
        ),
        (
            {"profile": "tuned", "trials": 10, "context": {"tool_id": "router:vbit-60"}},
            ("context.material_id", "required"),
        ),
        (
            {"profile": "tuned", "trials": 10, "context": {**ROUTER, "colour": "red"}},
            ("context.colour", "unknown_field"),
        ),
        ({"profile": "tuned", "trials": 10, "workers": 2}, ("workers", "unknown_field")),
    ],
)
def test_bad_input_names_the_field_and_rule(tuned_profile, operator_api, body, expected):
    response = operator_api.post(URL, body, format="json")
    assert response.status_code == 400, response.json()
    assert expected in errors_of(response)
    assert viewer_count(operator_api) == 0  # nothing was queued


def viewer_count(api) -> int:
    return api.get(URL).json()["count"]


def test_a_profile_without_traffic_is_refused(default_profile, operator_api):
    response = operator_api.post(URL, {"profile": "default", "trials": 10}, format="json")
    assert response.status_code == 400
    assert errors_of(response) == {("profile", "no_traffic")}


def test_the_list_is_paginated_newest_first_in_a_few_queries(
    tuned_profile, operator, viewer_api, django_assert_max_num_queries
):
    ids = [services.tuning_job_create(profile="tuned", trials=10, seed=i, user=operator).pk for i in range(5)]
    with django_assert_max_num_queries(token_auth_queries() + 2):  # the count and the page, users joined
        response = viewer_api.get(URL, {"limit": 2, "page": 2})
    body = response.json()
    assert (body["count"], body["page"], body["pages"], body["limit"]) == (5, 2, 3, 2)
    assert [job["id"] for job in body["results"]] == ids[::-1][2:4]
    assert "proposals" not in body["results"][0]
    assert viewer_api.get(URL, {"profile": "other"}).json()["count"] == 0
    assert errors_of(viewer_api.get(URL, {"limit": 0})) == {("limit", "min_value")}


def test_cancel_and_its_refusals(tuned_profile, operator_api):
    job = operator_api.post(URL, {"profile": "tuned", "trials": 10}, format="json").json()
    response = operator_api.post(f"{URL}/{job['id']}/cancel")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    again = operator_api.post(f"{URL}/{job['id']}/cancel")
    assert again.status_code == 409 and errors_of(again) == {("state", "state")}
    missing = operator_api.post(f"{URL}/999999/cancel")
    assert missing.status_code == 404 and errors_of(missing) == {("id", "not_found")}
    assert operator_api.get(f"{URL}/999999").status_code == 404


def _json_schema(node):
    if isinstance(node, dict):
        node = {k: _json_schema(v) for k, v in node.items()}
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        return node
    return [_json_schema(v) for v in node] if isinstance(node, list) else node


def test_a_finished_jobs_answer_conforms_to_the_openapi_schema(tuned_profile, viewer_api):
    """The fuzz stage never reaches a job with results (its profiles have no traffic): check one here."""
    import jsonschema
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    raw = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    raw = _json_schema(raw)  # OpenAPI 3.0's "nullable" as JSON Schema's null type
    job = services.tuning_job_create(profile="tuned", trials=10, seed=3, enqueue=False)
    services.tuning_job_run(job_id=job.pk)
    for path, component in ((f"{URL}/{job.pk}", "TuningJobDetail"), (URL, "TuningJobList")):
        schema = {"$ref": f"#/components/schemas/{component}", "components": raw["components"]}
        jsonschema.validate(viewer_api.get(path).json(), schema)
