"""Publish races against a live server (real HTTP requests at once, each on its own database
connection): exactly one writer wins and nothing is half applied, on SQLite and PostgreSQL alike.

The server locks the profile, then the request (every profile edit locks the profile and marks
its requests stale in the same transaction), so the loser sees the winner's whole change.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from profiles.models import ChangeRequest, ConstraintProfile
from tests.factories import make_profile, make_user, open_request, protect, review, together, token_for

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 3


def call(base: str, token: str, method: str, path: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def team(db):
    return {
        "author": make_user("olga", role="operator"),
        "author2": make_user("otto", role="operator"),
        "reviewer": make_user("rita", role="reviewer"),
    }


def approved(profile: str, author, reviewer, **changes) -> ChangeRequest:
    request = open_request(profile, author=author, **changes)
    review(request, by=reviewer)
    return request


def records_of(name: str) -> list:
    return list(ConstraintProfile.history.filter(name=name).order_by("history_id"))


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_publishes_of_one_request(live_server, team, round_):
    make_profile("default")
    make_profile("production_machine", max_rings=10)
    protect("production_machine")
    request = approved("production_machine", team["author"], team["reviewer"], max_rings=8)
    path = f"/api/rmos/ai/change-requests/{request.pk}/publish"
    results, errors = together(
        lambda: call(live_server.url, token_for(team["author"]), "POST", path, {}),
        lambda: call(live_server.url, token_for(team["reviewer"]), "POST", path, {}),
    )
    assert errors == []
    assert sorted(status for status, _ in results) == [200, 409]
    loser = next(body for status, body in results if status == 409)
    assert loser["errors"][0]["rule"] == "state" and "published as version 3" in loser["detail"]
    profile = ConstraintProfile.objects.get(name="production_machine")
    assert (profile.version, profile.max_rings) == (3, 8)
    assert [r.change_type for r in records_of("production_machine")] == ["created", "changed", "request"]
    request.refresh_from_db()
    assert request.state == "published" and request.published_version == 3


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_publish_racing_a_direct_edit_of_an_unprotected_profile(live_server, team, round_):
    make_profile("default", max_rings=6, min_rings=1)
    request = approved("default", team["author"], team["reviewer"], max_rings=5)
    results, errors = together(
        lambda: call(
            live_server.url, token_for(team["author"]), "POST", f"/api/rmos/ai/change-requests/{request.pk}/publish", {}
        ),
        lambda: call(
            live_server.url,
            token_for(team["author2"]),
            "PUT",
            "/api/rmos/ai/profile-admin/default",
            {"min_rings": 2, "note": "direct", "version": 1},
        ),
    )
    assert errors == []
    (publish, _), (edit, _) = results
    assert sorted([publish, edit]) == [200, 409], results
    profile = ConstraintProfile.objects.get(name="default")
    request.refresh_from_db()
    assert profile.version == 2
    if publish == 200:  # the request won: the edit was refused whole
        assert (profile.min_rings, profile.max_rings, request.state) == (1, 5, "published")
        assert results[1][1]["errors"][0]["rule"] == "stale"
    else:  # the edit won: the request went stale, none of it applied
        assert (profile.min_rings, profile.max_rings, request.state) == (2, 6, "stale")
        assert results[0][1]["errors"][0]["rule"] == "stale"
    assert len(records_of("default")) == 2


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_publish_racing_a_second_request(live_server, team, round_):
    make_profile("default")
    make_profile("production_machine", max_rings=10, allow_mosaic=True)
    protect("production_machine")
    first = approved("production_machine", team["author"], team["reviewer"], max_rings=8)
    second = approved("production_machine", team["author2"], team["reviewer"], allow_mosaic=False)
    results, errors = together(
        lambda: call(
            live_server.url, token_for(team["author"]), "POST", f"/api/rmos/ai/change-requests/{first.pk}/publish", {}
        ),
        lambda: call(
            live_server.url, token_for(team["author2"]), "POST", f"/api/rmos/ai/change-requests/{second.pk}/publish", {}
        ),
    )
    assert errors == []
    assert sorted(status for status, _ in results) == [200, 409], results
    profile = ConstraintProfile.objects.get(name="production_machine")
    first.refresh_from_db()
    second.refresh_from_db()
    assert profile.version == 3
    if first.state == "published":
        assert (second.state, profile.max_rings, profile.allow_mosaic) == ("stale", 8, True)
    else:
        assert (first.state, second.state, profile.max_rings, profile.allow_mosaic) == (
            "stale",
            "published",
            10,
            False,
        )
    loser = next(body for status, body in results if status == 409)
    assert loser["errors"][0]["rule"] == "stale" and loser["moved"]
