"""Ingestion bodies decoded by msgspec (ailog.apis.common.IngestJSONParser): every body the
general parser refuses is refused the same way, and what is stored does not depend on which
parser read it."""

from __future__ import annotations

import json

import pytest

from ailog.apis.views import EventIngestApi, RunsApi
from ailog.models import AiAttempt, AiRun
from tests.factories import attempt_event, new_run_id, run_item

pytestmark = pytest.mark.django_db

RUNS = "/api/rmos/logs/ai/runs"
EVENTS = "/api/rmos/logs/ai/events"


def post_text(client, path: str, text: str):
    return client.post(path, data=text, content_type="application/json")


def stored(run_id: str) -> tuple:
    run = AiRun.objects.filter(run_id=run_id).values().get()
    run.pop("id"), run.pop("recorded_at"), run.pop("run_key")
    attempts = list(AiAttempt.objects.filter(run_id=run_id).order_by("attempt_index").values())
    for attempt in attempts:
        attempt.pop("id"), attempt.pop("run_key")
    return repr(run), repr(attempts)


def test_both_ingestion_endpoints_read_bodies_with_the_compiled_parser():
    for view in (RunsApi, EventIngestApi):
        assert [type(parser).__name__ for parser in view().get_parsers()] == ["IngestJSONParser"]


@pytest.mark.parametrize(
    "where",
    ["run", "attempt", "candidate", "ring"],
)
def test_a_key_given_twice_anywhere_in_a_batch_is_refused_naming_it(integrator_api, default_profile, where):
    text = json.dumps({"runs": [run_item(attempts=2)]})
    marker = {
        "run": '"tool_id": ',
        "attempt": '"score": ',
        "candidate": '"ring_count": ',
        "ring": '"pattern": ',
    }[where]
    name = marker.strip(' :"')
    at = text.index(marker)
    value_end = text.index(",", at)
    text = text[:value_end] + ", " + text[at:value_end] + text[value_end:]  # the same key again
    response = post_text(integrator_api, RUNS, text)
    assert response.status_code == 400, response.content[:300]
    assert response.json()["errors"] == [
        {"field": name, "rule": "duplicate_key", "message": "given twice in one object; give each field once"}
    ]
    assert not AiRun.objects.exists()


@pytest.mark.parametrize("body", ['{"runs": [NaN]}', '{"runs": [', "", '{"runs": [1e999]}', "[" * 100_000])
def test_bodies_the_general_parser_refuses_are_refused_alike(integrator_api, body):
    response = post_text(integrator_api, RUNS, body)
    assert response.status_code == 400
    assert response.json()["errors"], response.json()


def test_numbers_and_texts_written_another_way_store_the_same_rows(integrator_api, default_profile):
    """A body msgspec would re-encode differently (1.50, 9e1, \\u escapes) goes to the general
    parser; the rows are the ones the plain form stores."""
    plain = run_item(attempts=2)
    twin = {**plain, "run_id": new_run_id()}
    assert integrator_api.post(RUNS, {"runs": [plain]}, format="json").status_code == 201
    text = json.dumps({"runs": [twin]}, ensure_ascii=True)
    text = text.replace('"score": 90.0', '"score": 9e1').replace('"width_mm": 1.5', '"width_mm": 1.50')
    text = text.replace('"wood:ebony"', '"wood:\\u0065bony"')
    assert "9e1" in text and "1.50" in text and "\\u0065" in text
    assert post_text(integrator_api, RUNS, text).status_code == 201
    plain_rows, twin_rows = stored(plain["run_id"]), stored(twin["run_id"])
    assert plain_rows[1] == twin_rows[1].replace(twin["run_id"], plain["run_id"])
    assert plain_rows[0].replace(plain["run_id"], "X") == twin_rows[0].replace(twin["run_id"], "X")


def test_an_events_body_with_a_repeated_key_in_one_event_is_refused(integrator_api, default_profile):
    event = attempt_event(new_run_id())
    text = json.dumps({"events": [event]})
    text = text.replace('"risk_bucket": "GREEN"', '"risk_bucket": "GREEN", "risk_bucket": "RED"')
    response = post_text(integrator_api, EVENTS, text)
    assert response.status_code == 400
    assert response.json()["errors"][0]["rule"] == "duplicate_key"
