"""The AI log over real HTTP (Django test client): ingestion, reads, CSV, errors, permissions."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from ailog import services
from ailog.models import AiAttempt, AiRun
from ailog.services import ingest
from tests.factories import T0, attempt_event, iso, new_run_id, run_event, run_item, token_auth_queries

pytestmark = pytest.mark.django_db

RUNS = "/api/rmos/logs/ai/runs"
ATTEMPTS = "/api/rmos/logs/ai/attempts"
EVENTS = "/api/rmos/logs/ai/events"


def _post(client, path, body):
    return client.post(path, data=json.dumps(body), content_type="application/json")


# -- ingestion -----------------------------------------------------------------------------------


def test_post_runs_creates_then_a_retry_answers_unchanged(integrator_api, default_profile):
    batch = {"runs": [run_item(attempts=3, profile_version=1), run_item(attempts=1, profile_version=1)]}
    first = _post(integrator_api, RUNS, batch)
    assert first.status_code == 201, first.json()
    assert first.json() == {
        "status": "created",
        "runs": {"created": 2, "unchanged": 0},
        "attempts": {"created": 4, "unchanged": 0},
        "unchanged_run_ids": [],
        "warnings": [],
    }
    again = _post(integrator_api, RUNS, batch)
    assert again.status_code == 200
    assert again.json()["status"] == "unchanged" and again.json()["runs"] == {"created": 0, "unchanged": 2}
    assert (AiRun.objects.count(), AiAttempt.objects.count()) == (2, 4)


def test_post_runs_conflict_is_409_naming_the_run(integrator_api):
    item = run_item()
    _post(integrator_api, RUNS, {"runs": [item]})
    response = _post(
        integrator_api, RUNS, {"runs": [{**item, "reason": "acceptable_found", "selected_risk_bucket": "YELLOW"}]}
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict" and body["run_ids"] == [item["run_id"]]
    assert body["errors"][0]["index"] == 0 and item["run_id"] in body["errors"][0]["message"]


def test_post_runs_validation_error_shape(integrator_api):
    response = _post(integrator_api, RUNS, {"runs": [run_item(), {**run_item(), "workflow_mode": "x", "score": 3}]})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and body["code"] == "validation_error" and body["error_count"] == 2
    assert {(e["index"], e["field"], e["rule"]) for e in body["errors"]} == {
        (1, "workflow_mode", "choice"),
        (1, "score", "unknown_field"),
    }
    assert all(e["message"] for e in body["errors"])
    assert not AiRun.objects.exists()


def test_unknown_profile_is_reported_in_the_answer(integrator_api):
    response = _post(integrator_api, RUNS, {"runs": [run_item(profile="mystery")]})
    assert response.status_code == 201
    assert response.json()["warnings"] == [
        {
            "field": "profile",
            "rule": "unknown_profile",
            "message": "no profile named 'mystery' here; the run is kept under that name",
            "index": 0,
        }
    ]


def test_post_events_out_of_order(integrator_api, default_profile):
    run_id = new_run_id()
    first = _post(integrator_api, EVENTS, {"events": [attempt_event(run_id, 1, at=T0 - timedelta(seconds=1))]})
    assert first.status_code == 201 and first.json()["attempts"]["created"] == 1
    second = _post(integrator_api, EVENTS, {"events": [run_event(run_id, attempts=2), attempt_event(run_id, 2)]})
    assert second.status_code == 201 and second.json()["runs"]["created"] == 1
    detail = integrator_api.get(f"{RUNS}/{run_id}").json()
    assert [a["attempt_index"] for a in detail["attempt_records"]] == [1, 2]
    assert {a["profile"] for a in detail["attempt_records"]} == {"default"}


@pytest.mark.parametrize(
    "body, field, rule",
    [
        ({}, "runs", "required"),
        ({"runs": [], "extra": 1}, "extra", "unknown_field"),
        ([1, 2], "", "invalid"),
        ({"runs": "nope"}, "runs", "type"),
        ({"runs": []}, "runs", "min_items"),
    ],
)
def test_post_runs_bad_envelopes(integrator_api, body, field, rule):
    response = _post(integrator_api, RUNS, body)
    assert response.status_code == 400, response.json()
    assert (field, rule) in {(e["field"], e["rule"]) for e in response.json()["errors"]}


def test_malformed_json_and_nan_are_400(integrator_api):
    response = integrator_api.post(RUNS, data='{"runs": [', content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"
    response = integrator_api.post(RUNS, data='{"runs": [{"selected_score": NaN}]}', content_type="application/json")
    assert response.status_code == 400


def test_text_no_page_could_show_is_refused_and_the_log_stays_readable(integrator_api, viewer_api):
    """Found by an integrator_api: a lone surrogate in warnings was stored, and every JSON read of the
    runs list answered 500 from then on (PostgreSQL refused a NUL with a 500 instead)."""
    run = run_item(attempts=1)
    run["warnings"] = ["PLACEHOLDER"]
    run["attempt_records"][0]["candidate"] = {
        "rings": [{"width_mm": 1.0, "pattern": "solid", "material_key": "MATERIAL"}]
    }
    raw = json.dumps({"runs": [run]}).replace("PLACEHOLDER", "\\ud800").replace("MATERIAL", "a\\u0000b")
    response = integrator_api.post(RUNS, data=raw, content_type="application/json")
    assert response.status_code == 400
    assert {(e["field"], e["rule"]) for e in response.json()["errors"]} == {
        ("warnings[0]", "characters"),
        ("attempt_records[0].candidate.rings[0].material_key", "printable"),
    }
    assert not AiRun.objects.exists() and not AiAttempt.objects.exists()
    assert viewer_api.get(RUNS).status_code == 200


@pytest.mark.parametrize("path", [RUNS, EVENTS])
def test_json_nested_deeper_than_the_stack_is_a_400_not_a_500(integrator_api, path):
    response = integrator_api.post(path, data='{"runs": ' + "[" * 5000, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error" and "nested too deeply" in response.json()["detail"]
    assert not AiRun.objects.exists()


def test_oversized_body_is_413_before_reading_it(integrator_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = _post(integrator_api, RUNS, {"runs": [run_item(attempts=20)]})
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "payload_too_large" and "1,000" in body["detail"]
    assert not AiRun.objects.exists()


def test_too_many_runs_is_413(integrator_api, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_RUNS_PER_REQUEST", 1)
    response = _post(integrator_api, RUNS, {"runs": [run_item(), run_item()]})
    assert response.status_code == 413 and response.json()["errors"][0]["rule"] == "max_items"


# -- permissions -----------------------------------------------------------------------------------


def test_permissions(api_client, viewer_api, integrator_api):
    body = {"runs": [run_item()]}
    assert api_client.get(ATTEMPTS).status_code == 401
    assert _post(api_client, RUNS, body).status_code == 401
    assert _post(api_client, EVENTS, {"events": [attempt_event(new_run_id())]}).status_code == 401
    assert viewer_api.get(ATTEMPTS).status_code == 200
    assert viewer_api.get(RUNS).status_code == 200
    denied = _post(viewer_api, RUNS, body)
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    assert _post(viewer_api, EVENTS, {"events": [attempt_event(new_run_id())]}).status_code == 403
    assert not AiRun.objects.exists()
    assert _post(integrator_api, RUNS, body).status_code == 201


# -- reads -----------------------------------------------------------------------------------------


def _seed(count: int = 5) -> list[dict]:
    items = [run_item(at=T0 + timedelta(minutes=i), attempts=2) for i in range(count)]
    services.runs_ingest(runs=items)
    return items


def test_attempts_newest_first_with_cursor_pages(viewer_api):
    _seed(5)
    seen, url = [], f"{ATTEMPTS}?limit=3"
    while url:
        body = viewer_api.get(url).json()
        assert body["count"] == len(body["results"]) <= 3
        seen += [(a["timestamp"], a["id"]) for a in body["results"]]
        url = body["next"]
    assert len(seen) == 10 and seen == sorted(seen, reverse=True) and len(set(seen)) == 10


def test_runs_filters_over_http(viewer_api):
    items = _seed(3)
    services.runs_ingest(runs=[run_item(at=T0, success=False, tool_id="laser:co2-40w")])
    body = viewer_api.get(f"{RUNS}?success=false").json()
    assert [r["tool_id"] for r in body["results"]] == ["laser:co2-40w"]
    body = viewer_api.get(f"{RUNS}?run_id={items[1]['run_id']}").json()
    assert [r["run_id"] for r in body["results"]] == [items[1]["run_id"]]
    body = viewer_api.get(f"{ATTEMPTS}?tool_id=laser:co2-40w&risk_bucket=RED").json()
    assert len(body["results"]) == 2 and body["next"] is None
    body = viewer_api.get(
        f"{RUNS}?since={iso(T0 + timedelta(minutes=1))}&until={iso(T0 + timedelta(minutes=2))}"
    ).json()
    assert [r["run_id"] for r in body["results"]] == [items[1]["run_id"]]


def test_geometry_engine_dash_selects_what_has_no_engine_everywhere(viewer_api, integrator_api):
    services.runs_ingest(runs=[run_item(at=T0, attempts=2), run_item(at=T0, attempts=3, geometry_engine="")])
    runs = viewer_api.get(f"{RUNS}?geometry_engine=-").json()["results"]
    assert [r["geometry_engine"] for r in runs] == [""]
    assert {a["geometry_engine"] for a in viewer_api.get(f"{ATTEMPTS}?geometry_engine=-").json()["results"]} == {""}
    assert len(viewer_api.get(f"{ATTEMPTS}?geometry_engine=-").json()["results"]) == 3
    stats = viewer_api.get("/api/rmos/ai/analytics/profile-stats?geometry_engine=-").json()["results"]
    assert [(s["geometry_engine"], s["runs"]) for s in stats] == [("", 1)]
    # The CSV and the next page keep the filter.
    assert "geometry_engine=-" in viewer_api.get(f"{ATTEMPTS}?geometry_engine=-&limit=1").json()["next"]
    # No engine may be called "-": it would be unreachable by that filter.
    refused = _post(integrator_api, RUNS, {"runs": [run_item(geometry_engine="-")]})
    assert refused.status_code == 400
    assert [(e["index"], e["field"], e["rule"]) for e in refused.json()["errors"]] == [
        (0, "geometry_engine", "reserved")
    ]


def test_run_id_takes_the_short_id_the_pages_show(viewer_api):
    """Seen in review: the dashboard shows runs as 01ba9aac, and that was refused as 'not a UUID'."""
    items = _seed(3)
    wanted = items[1]["run_id"]
    for prefix in (wanted[:8], wanted[:8].upper(), wanted[:13], wanted.replace("-", "")[:20]):
        runs = viewer_api.get(f"{RUNS}?run_id={prefix}").json()["results"]
        assert [r["run_id"] for r in runs] == [wanted], prefix
        attempts = viewer_api.get(f"{ATTEMPTS}?run_id={prefix}").json()["results"]
        assert {a["run_id"] for a in attempts} == {wanted} and len(attempts) == 2
    unused = next(
        prefix for prefix in ("00000000", "ffffffff") if not any(i["run_id"].startswith(prefix) for i in items)
    )
    assert viewer_api.get(f"{RUNS}?run_id={unused}").json()["results"] == []  # a prefix no run has finds nothing
    refused = viewer_api.get(f"{RUNS}?run_id={wanted[:7]}")
    assert refused.status_code == 400 and "first 8 or more hex digits" in refused.json()["errors"][0]["message"]


def test_empty_filter_values_are_ignored(viewer_api):
    _seed(2)
    assert len(viewer_api.get(f"{RUNS}?tool_id=&profile=&since=").json()["results"]) == 2


@pytest.mark.parametrize(
    "query, field, rule",
    [
        ("colour=red", "colour", "unknown_field"),
        ("limit=0", "limit", "range"),
        ("limit=1001", "limit", "range"),
        ("limit=-5", "limit", "range"),
        ("limit=ten", "limit", "type"),
        ("cursor=garbage", "cursor", "invalid"),
        ("since=2025-06-02&until=2025-06-01", "until", "order"),
        ("since=2025-06-01T10:00:00", "since", "timezone"),
        ("until=9999-12-31", "until", "range"),  # a 500 (OverflowError) before
        ("since=2025-06-01T10:00:00+01:00", "since", "format"),  # the + arrives as a space
        ("since=0001-01-01T00:00:00%2B14:00", "since", "range"),
        ("since=June", "since", "format"),
        ("risk_bucket=PINK", "risk_bucket", "choice"),
        ("run_id=abc", "run_id", "format"),
        ("success=maybe", "success", "type"),
        ("tool_id=a&tool_id=b", "tool_id", "single_value"),
        ("format=xml", "format", "choice"),
    ],
)
def test_bad_read_parameters_are_400_naming_the_field(viewer_api, query, field, rule):
    response = viewer_api.get(f"{RUNS}?{query}")
    assert response.status_code == 400, response.content
    assert (field, rule) in {(e["field"], e["rule"]) for e in response.json()["errors"]}


def test_a_cursor_only_fits_its_own_list(viewer_api):
    _seed(3)
    cursor = viewer_api.get(f"{RUNS}?limit=1").json()["next_cursor"]
    response = viewer_api.get(f"{ATTEMPTS}?cursor={cursor}")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "cursor"


def test_run_detail(viewer_api):
    items = _seed(1)
    body = viewer_api.get(f"{RUNS}/{items[0]['run_id']}").json()
    assert body["run_id"] == items[0]["run_id"] and body["profile"] == "default"
    assert [a["attempt_index"] for a in body["attempt_records"]] == [1, 2]
    assert viewer_api.get(f"{RUNS}/{new_run_id()}").status_code == 404
    assert viewer_api.get(f"{RUNS}/not-a-uuid").status_code == 404


def test_run_detail_of_a_run_without_summary_says_so(viewer_api):
    run_id = new_run_id()
    services.events_ingest(events=[attempt_event(run_id)])
    response = viewer_api.get(f"{RUNS}/{run_id}")
    assert response.status_code == 404
    assert response.json()["attempts_recorded"] == 1 and "summary" in response.json()["detail"]


def test_csv_streams_the_same_rows(viewer_api):
    _seed(4)
    json_rows = viewer_api.get(f"{ATTEMPTS}?limit=1000&risk_bucket=RED").json()["results"]
    response = viewer_api.get(f"{ATTEMPTS}?format=csv&risk_bucket=RED")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["id"]) for r in rows] == [a["id"] for a in json_rows]
    assert json.loads(rows[0]["candidate"]) == json_rows[0]["candidate"]
    assert rows[0]["is_acceptable"] == "false"


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_quoted(viewer_api):
    tool = '=HYPERLINK("http://example.invalid","x")'
    services.runs_ingest(
        runs=[run_item(tool_id=tool, geometry_engine="+cmd|calc", material_id="@sum", machine_id="-1+1")]
    )
    for path in (ATTEMPTS, RUNS):
        [row, *_] = csv.DictReader(
            io.StringIO(b"".join(viewer_api.get(f"{path}?format=csv").streaming_content).decode())
        )
        assert (row["tool_id"], row["geometry_engine"], row["material_id"], row["machine_id"]) == (
            "'" + tool,
            "'+cmd|calc",
            "'@sum",
            "'-1+1",
        )
    assert viewer_api.get(ATTEMPTS).json()["results"][0]["tool_id"] == tool  # JSON keeps the value as stored


def test_csv_of_runs_honours_limit_and_cursor(viewer_api):
    _seed(5)
    page = viewer_api.get(f"{RUNS}?limit=2").json()
    response = viewer_api.get(f"{RUNS}?format=csv&limit=2&cursor={page['next_cursor']}")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    expected = viewer_api.get(page["next"]).json()["results"]
    assert [r["run_id"] for r in rows] == [r["run_id"] for r in expected]


@pytest.mark.parametrize("path, key", [(ATTEMPTS, "id"), (RUNS, "run_id")])
def test_a_csv_of_one_page_links_the_next_page(viewer_api, path, key):
    """A CSV has no room for next_cursor: with a limit, the next page's URL is in a Link header,
    and following it pages through exactly the rows of the whole CSV."""
    _seed(5)
    everything = list(
        csv.DictReader(io.StringIO(b"".join(viewer_api.get(f"{path}?format=csv").streaming_content).decode()))
    )
    seen, url, pages = [], f"{path}?format=csv&limit=3", 0
    while url:
        response = viewer_api.get(url)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert len(rows) <= 3
        seen += [r[key] for r in rows]
        link = response.get("Link")
        url = link[1 : link.index(">")] if link else None
        assert link is None or link.endswith('>; rel="next"')
        pages += 1
    assert seen == [r[key] for r in everything] and pages == -(-len(everything) // 3)
    assert viewer_api.get(f"{path}?format=csv").get("Link") is None  # the whole CSV has no next page


def test_csv_errors_are_json(viewer_api):
    response = viewer_api.get(f"{ATTEMPTS}?format=csv&limit=0")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"


def test_query_count_per_page_is_constant(viewer_api, django_assert_max_num_queries):
    _seed(30)
    # Token authentication (failed-token counter, token) + the page (1): the same for 10 rows as for 60.
    auth = token_auth_queries()
    for limit in (10, 60):
        with django_assert_max_num_queries(auth + 1):
            assert len(viewer_api.get(f"{ATTEMPTS}?limit={limit}&tool_id=saw:jeweler-0.25").json()["results"]) == limit
        with django_assert_max_num_queries(auth + 1):
            assert viewer_api.get(f"{RUNS}?limit={limit}").status_code == 200
    run_id = AiRun.objects.first().run_id
    with django_assert_max_num_queries(auth + 2):  # the run, its attempts
        assert viewer_api.get(f"{RUNS}/{run_id}").status_code == 200


def test_fast_shapes_equal_the_documented_serializers(default_profile):
    from ailog.apis import AttemptOutputSerializer, RunOutputSerializer, attempt_json, run_json

    services.runs_ingest(runs=[run_item(started_at=iso(T0 - timedelta(seconds=9)), seed=3, warnings=["w"])])
    services.events_ingest(events=[attempt_event(new_run_id())])
    from ailog.selectors import ATTEMPT_ROW_FIELDS, RUN_ROW_FIELDS

    for attempt in AiAttempt.objects.all():
        row = AiAttempt.objects.filter(pk=attempt.pk).values(*ATTEMPT_ROW_FIELDS).get()
        assert json.loads(json.dumps(attempt_json(row))) == json.loads(
            json.dumps(AttemptOutputSerializer(attempt).data)
        )
    run = AiRun.objects.get()
    row = AiRun.objects.values(*RUN_ROW_FIELDS).get()
    assert json.loads(json.dumps(run_json(row))) == json.loads(json.dumps(RunOutputSerializer(run).data))


def test_options_with_format_csv_answers_json(viewer_api):
    """Found by the schemathesis run: OPTIONS ?format=csv tried to render DRF's metadata as CSV."""
    for path in (ATTEMPTS, RUNS):
        response = viewer_api.options(f"{path}?format=csv")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/json") and response.json()["name"]


def test_a_format_an_endpoint_lacks_is_a_400_listing_what_it_has(viewer_api):
    _seed(1)
    run_id = AiRun.objects.get().run_id
    response = viewer_api.get(f"{RUNS}/{run_id}?format=csv")  # a bare 404 "Not found." before
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "format", "rule": "choice", "message": "must be one of: json (on this endpoint)"}
    ]
    response = viewer_api.get(f"{ATTEMPTS}?format=xml")
    assert response.json()["errors"][0]["message"] == "must be one of: json, csv (on this endpoint)"


def test_an_accept_header_nothing_satisfies_is_a_406_naming_what_is_on_offer(viewer_api):
    response = viewer_api.get(ATTEMPTS, HTTP_ACCEPT="application/xml")  # a 400 about ?format before, which was not sent
    assert response.status_code == 406 and response["Content-Type"].startswith("application/json")
    assert response.json()["detail"] == (
        "This endpoint answers application/json, text/csv; send an Accept header that allows one of them."
    )
    assert viewer_api.get(ATTEMPTS, HTTP_ACCEPT="text/csv").status_code == 200


def test_an_offset_whose_plus_became_a_space_gets_a_hint(viewer_api):
    response = viewer_api.get(f"{ATTEMPTS}?since=2025-06-01T10:00:00+01:00")
    assert "write the + of an offset as %2B" in response.json()["errors"][0]["message"]
    assert viewer_api.get(f"{ATTEMPTS}?since=2025-06-01T10:00:00%2B01:00").status_code == 200


def test_run_detail_refuses_unknown_parameters(viewer_api):
    _seed(1)
    run_id = AiRun.objects.get().run_id
    response = viewer_api.get(f"{RUNS}/{run_id}?verbose=1")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "verbose"
    assert viewer_api.get(f"{RUNS}/{run_id}").status_code == 200
