"""One reading of whole numbers in query strings, whichever endpoint takes them."""

from __future__ import annotations

import pytest

from rmos_site.numbers import whole_number

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("text, value", [("5", 5), ("-5", -5), ("0", 0), ("9223372036854775807", 2**63 - 1)])
def test_plain_whole_numbers_are_read(text, value):
    assert whole_number(text) == value


@pytest.mark.parametrize("text", ["", " 5", "5 ", "+5", "5.0", "5e2", "5_000", "٣", "²", "0x10", "-", "1" * 4001])
def test_anything_else_is_not_a_whole_number(text):
    """Python's int() took " 5", "+5", "5_000" and "٣"; str.isdigit() took "²"."""
    assert whole_number(text) is None


@pytest.mark.parametrize(
    "url",
    [
        "/api/rmos/logs/ai/runs?limit={}",
        "/api/rmos/ai/analytics/profile-stats?limit={}",
        "/api/rmos/ai/profile-admin/default/history?limit={}",
        "/api/rmos/ai/snapshots?tool_id=saw:slitting-0.5&material_id=wood:ebony&machine_id=prod:vmc-3axis&n_samples={}",
    ],
)
@pytest.mark.parametrize("bad", ["1.0", "٣", "%2B5", "5_0"])  # %2B: a real "+" (a bare + is a space in a URL)
def test_every_endpoint_refuses_the_same_non_numbers(api_client, operator, starter_profiles, url, bad):
    api_client.force_authenticate(operator)
    response = api_client.get(url.format(bad))
    assert response.status_code == 400, (url, bad, response.content[:200])
    field = url.split("?")[1].split("&")[-1].split("=")[0]
    assert [(e["field"], e["rule"], e["message"]) for e in response.json()["errors"]] == [
        (field, "type", "must be a whole number")
    ]


@pytest.mark.parametrize(
    "url",
    [
        "/api/rmos/logs/ai/runs?limit={}",
        "/api/rmos/ai/analytics/profile-stats?limit={}",
        "/api/rmos/ai/analytics/hotspots?min_runs={}",
        "/api/rmos/ai/profile-admin/default/history?limit={}",
        "/api/rmos/ai/snapshots?tool_id=saw:slitting-0.5&material_id=wood:ebony&machine_id=prod:vmc-3axis&seed={}",
    ],
)
def test_a_huge_number_is_out_of_range_not_a_non_number(api_client, operator, starter_profiles, url):
    """Seen in review: 20 digits or more were called "not a whole number"."""
    api_client.force_authenticate(operator)
    response = api_client.get(url.format("9" * 40))
    assert response.status_code == 400, response.content[:300]
    [error] = response.json()["errors"]
    assert error["rule"] != "type" and "whole number" not in error["message"], error


@pytest.mark.parametrize(
    "body, field",
    [
        ('{"max_rings": 5, "note": "a", "max_rings": 6}', "max_rings"),
        ('{"note": "a", "changes": {"min_rings": 1, "min_rings": 2}}', "min_rings"),
    ],
)
def test_a_key_given_twice_is_refused_naming_it(api_client, operator, starter_profiles, body, field):
    """JSON keeps the last of two equal keys silently: which value did the sender mean?"""
    api_client.force_authenticate(operator)
    response = api_client.put("/api/rmos/ai/profile-admin/default", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": field, "rule": "duplicate_key", "message": "given twice in one object; give each field once"}
    ]


def test_a_duplicate_key_in_an_ingested_batch_is_refused(api_client, starter_profiles):
    from tests.factories import make_user

    api_client.force_authenticate(make_user("bot", role="integrator"))
    body = '{"runs": [], "runs": [{"run_id": "x"}]}'
    response = api_client.post("/api/rmos/logs/ai/runs", data=body, content_type="application/json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "runs"
