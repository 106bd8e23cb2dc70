"""The change-request API: the whole flow, the list's filters and pages, errors in the one shape."""

from __future__ import annotations

import pytest

from profiles.models import ConstraintProfile
from tests.factories import api_client_for, make_profile, make_user, open_request, protect, review, token_auth_queries

pytestmark = pytest.mark.django_db

URL = "/api/rmos/ai/change-requests"


@pytest.fixture
def production(db):
    make_profile("default")
    make_profile("production_machine", min_rings=3, max_rings=10)
    return protect("production_machine")


def test_propose_review_publish_over_the_api(production, operator_api, reviewer_api):
    created = operator_api.post(
        URL,
        {"profile": "production_machine", "base_version": 2, "changes": {"max_rings": 8}, "note": "fewer rings"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["state"], body["author"], body["changes"], body["approvals"]) == ("open", "olga", {"max_rings": 8}, 0)
    assert body["diff"][0]["kind"] == "tightened" and body["summary"] == "tightens 1 bound"
    assert body["proposed_values"]["max_rings"] == 8 and body["proposed_values"]["min_rings"] == 3
    request_id = body["id"]
    self_review = operator_api.post(f"{URL}/{request_id}/reviews", {"decision": "approve"}, format="json")
    assert self_review.status_code == 403
    approved = reviewer_api.post(f"{URL}/{request_id}/reviews", {"decision": "approve", "note": "ok"}, format="json")
    assert approved.status_code == 201 and approved.json()["state"] == "approved"
    assert approved.json()["approved_by"] == ["rita"]
    published = operator_api.post(f"{URL}/{request_id}/publish", {}, format="json")
    assert published.status_code == 200, published.json()
    assert published.json()["state"] == "published" and published.json()["published_version"] == 3
    assert ConstraintProfile.objects.get(name="production_machine").max_rings == 8
    history = operator_api.get("/api/rmos/ai/profile-admin/production_machine/history?limit=1").json()
    assert history["results"][0]["type"] == "request" and history["results"][0]["change_request"] == request_id


def test_revise_and_withdraw_over_the_api(production, operator_api, reviewer_api):
    request_id = open_request("production_machine", author=make_user("olga2", role="operator"), max_rings=8).pk
    other = api_client_for(make_user("olga3", role="operator"))
    assert other.post(f"{URL}/{request_id}/withdraw", {}, format="json").status_code == 403
    author = api_client_for(make_user("author", role="operator"))
    mine = author.post(
        URL,
        {"profile": "production_machine", "base_version": 2, "changes": {"bias_simple": True}, "note": "n"},
        format="json",
    ).json()["id"]
    revised = author.post(
        f"{URL}/{mine}/revise",
        {"base_version": 2, "changes": {"bias_simple": True, "max_rings": 9}, "note": "more"},
        format="json",
    )
    assert revised.status_code == 200 and revised.json()["revision"] == 2
    assert revised.json()["changes"] == {"max_rings": 9, "bias_simple": True}
    withdrawn = author.post(f"{URL}/{mine}/withdraw", {"note": "not needed"}, format="json")
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    again = author.post(f"{URL}/{mine}/withdraw", {}, format="json")
    assert again.status_code == 409 and again.json()["errors"][0]["rule"] == "state"


def test_a_stale_publish_is_409_with_what_changed(production, operator_api, reviewer_api, operator):
    request = open_request("production_machine", author=operator, max_rings=8)
    review(request, by=make_user("rev", role="reviewer"))
    other = open_request("production_machine", author=make_user("x", role="operator"), bias_simple=True)
    review(other, by=make_user("rev2", role="reviewer"))
    assert reviewer_api.post(f"{URL}/{other.pk}/publish", {}, format="json").status_code == 200
    response = operator_api.post(f"{URL}/{request.pk}/publish", {}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["errors"][0]["rule"] == "stale" and body["current_version"] == 3 and body["base_version"] == 2
    assert [(m["field"], m["kind"]) for m in body["moved"]] == [("bias_simple", "on")]
    assert operator_api.get(f"{URL}/{request.pk}").json()["state"] == "stale"


@pytest.mark.parametrize(
    "body, field, rule",
    [
        ({"base_version": 2, "changes": {"max_rings": 8}, "note": "n"}, "profile", "required"),
        ({"profile": "production_machine", "changes": {"max_rings": 8}, "note": "n"}, "base_version", "required"),
        (
            {"profile": "production_machine", "base_version": 2, "changes": {"max_rings": "8"}, "note": "n"},
            "changes.max_rings",
            "invalid",
        ),
        (
            {"profile": "production_machine", "base_version": 2, "changes": {"max_rings": 2}, "note": "n"},
            "changes.max_rings",
            "min_le_max",
        ),
        (
            {"profile": "production_machine", "base_version": 2, "changes": {"protected": False}, "note": "n"},
            "changes.protected",
            "unknown_field",
        ),
        ({"profile": "production_machine", "base_version": 2, "changes": {}, "note": "n"}, "changes", "no_change"),
        (
            {"profile": "production_machine", "base_version": 2, "changes": {"max_rings": 8}, "note": ""},
            "note",
            "blank",
        ),
        (
            {"profile": "production_machine", "base_version": 9, "changes": {"max_rings": 8}, "note": "n"},
            "base_version",
            "range",
        ),
        ({"profile": "nope", "base_version": 1, "changes": {"max_rings": 8}, "note": "n"}, "name", "not_found"),
        (
            {"profile": "production_machine", "base_version": 2, "changes": {"max_rings": 8}, "note": "n", "x": 1},
            "x",
            "unknown_field",
        ),
    ],
)
def test_bad_requests_name_the_field_and_the_rule(production, operator_api, body, field, rule):
    response = operator_api.post(URL, body, format="json")
    assert response.status_code in (400, 404)
    errors = response.json()["errors"]
    assert (errors[0]["field"], errors[0]["rule"]) == (field, rule), errors


def test_a_stale_base_is_409(production, operator_api):
    response = operator_api.post(
        URL,
        {"profile": "production_machine", "base_version": 1, "changes": {"max_rings": 8}, "note": "n"},
        format="json",
    )
    assert response.status_code == 409 and response.json()["errors"][0] == {
        "field": "base_version",
        "rule": "stale",
        "message": "current version is 2",
    }


def test_review_errors(production, reviewer_api, operator):
    request = open_request("production_machine", author=operator, max_rings=8)
    bad = reviewer_api.post(f"{URL}/{request.pk}/reviews", {"decision": "maybe"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "decision"
    no_note = reviewer_api.post(f"{URL}/{request.pk}/reviews", {"decision": "request_changes"}, format="json")
    assert no_note.status_code == 400 and no_note.json()["errors"][0] == {
        "field": "note",
        "rule": "required",
        "message": "a change note is required: say why you make this change",
    }
    assert reviewer_api.post(f"{URL}/999999/reviews", {"decision": "approve"}, format="json").status_code == 404
    assert reviewer_api.get(f"{URL}/999999").json()["errors"][0]["rule"] == "not_found"
    # The revision reviewed, when given, must still be the request's: else 409 and nothing recorded.
    stale = reviewer_api.post(f"{URL}/{request.pk}/reviews", {"decision": "approve", "revision": 2}, format="json")
    assert stale.status_code == 409 and stale.json()["errors"][0]["rule"] == "revision_changed"
    assert stale.json()["current_revision"] == 1
    bad_revision = reviewer_api.post(
        f"{URL}/{request.pk}/reviews", {"decision": "approve", "revision": 0}, format="json"
    )
    assert bad_revision.status_code == 400 and bad_revision.json()["errors"][0]["field"] == "revision"
    assert not request.reviews.exists()
    ok = reviewer_api.post(f"{URL}/{request.pk}/reviews", {"decision": "approve", "revision": 1}, format="json")
    assert ok.status_code == 201 and ok.json()["state"] == "approved"


def test_list_filters_and_pages(production, operator_api, reviewer, operator, django_assert_max_num_queries):
    other = make_user("otto", role="operator")
    mine = [open_request("production_machine", author=operator, max_rings=n) for n in (4, 5, 6)]
    theirs = open_request("default", author=other, max_rings=5)
    review(mine[0], by=reviewer)
    review(mine[1], by=reviewer, decision="request_changes", note="no")

    def ids(query: str) -> list[int]:
        response = operator_api.get(f"{URL}?{query}")
        assert response.status_code == 200, response.json()
        return [r["id"] for r in response.json()["results"]]

    assert ids("") == [theirs.pk, mine[2].pk, mine[1].pk, mine[0].pk]
    assert ids("state=approved") == [mine[0].pk]
    assert ids("state=open,rejected") == [theirs.pk, mine[2].pk, mine[1].pk]
    assert ids("profile=default") == [theirs.pk]
    assert ids("author=otto") == [theirs.pk]
    assert ids("awaiting=me") == [mine[1].pk, mine[0].pk]  # the operator publishes one and revises the other
    page = operator_api.get(f"{URL}?limit=3&page=2").json()
    assert (page["count"], page["page"], page["pages"], page["limit"]) == (4, 2, 2, 3)
    assert [r["id"] for r in page["results"]] == [mine[0].pk]
    assert page["results"][0]["approvals"] == 1 and page["results"][0]["required_approvals"] == 1
    for query, field in (
        ("state=done", "state"),
        ("awaiting=you", "awaiting"),
        ("limit=0", "limit"),
        ("page=x", "page"),
        ("profile=Bad Name", "profile"),
        ("colour=red", "colour"),
        ("state=open&state=stale", "state"),
    ):
        response = operator_api.get(f"{URL}?{query}")
        assert response.status_code == 400 and response.json()["errors"][0]["field"] == field, query
    with django_assert_max_num_queries(token_auth_queries() + 2):  # user's permissions are not needed: count + page
        operator_api.get(f"{URL}?limit=100")


def test_viewers_and_integrators_read_but_never_write(production, viewer_api, integrator_api, operator):
    request = open_request("production_machine", author=operator, max_rings=8)
    for client in (viewer_api, integrator_api):
        assert client.get(URL).status_code == 200
        assert client.get(f"{URL}/{request.pk}").status_code == 200
        for path, body in (
            (URL, {"profile": "production_machine", "base_version": 2, "changes": {"max_rings": 7}, "note": "n"}),
            (f"{URL}/{request.pk}/reviews", {"decision": "comment", "note": "n"}),
            (f"{URL}/{request.pk}/publish", {}),
            (f"{URL}/{request.pk}/withdraw", {}),
            (f"{URL}/{request.pk}/revise", {"base_version": 2, "changes": {"max_rings": 7}, "note": "n"}),
        ):
            response = client.post(path, body, format="json")
            assert response.status_code == 403 and response.json()["code"] == "permission_denied", path


def test_unprotected_profiles_keep_the_seed_runbook(production, operator_api):
    """README's runbook edits `default` directly, exactly as before change requests."""
    put = operator_api.put(
        "/api/rmos/ai/profile-admin/default",
        {"max_rings": 5, "note": "tune rings upper bound", "operator": "dev", "version": 1},
        format="json",
    )
    assert put.status_code == 200 and put.json()["changed"] is True
    first = ConstraintProfile.history.filter(name="default").order_by("history_id").first().history_id
    rollback = operator_api.post(
        "/api/rmos/ai/profile-admin/default/rollback",
        {"id": first, "note": "rollback test", "operator": "dev"},
        format="json",
    )
    assert rollback.status_code == 200 and rollback.json()["profile"]["max_rings"] == 6
    assert operator_api.get("/api/rmos/ai/profile-admin/default").json()["protected"] is False
