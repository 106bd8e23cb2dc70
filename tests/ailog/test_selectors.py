"""ailog.selectors: every filter, keyset paging under concurrent inserts, streaming."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from ailog import selectors, services
from ailog.filters import LogFilter, cursor_parse
from ailog.models import AiAttempt, AiRun
from tests.factories import T0, attempt_event, new_run_id, run_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged(default_profile):
    """Six runs that differ in one context field each, plus a pending attempt without summary."""
    base = dict(at=T0, attempts=2)
    items = [
        run_item(**base),
        run_item(**{**base, "at": T0 + timedelta(hours=1)}, tool_id="laser:co2-40w"),
        run_item(**{**base, "at": T0 + timedelta(hours=2)}, material_id="shell:abalone-paua"),
        run_item(**{**base, "at": T0 + timedelta(hours=3)}, machine_id="proto:desktop-cnc", geometry_engine="ml"),
        run_item(**{**base, "at": T0 + timedelta(days=1)}, workflow_mode="design_first", profile="other"),
        run_item(**{**base, "at": T0 + timedelta(days=2)}, success=False),
    ]
    services.runs_ingest(runs=items)
    pending = new_run_id()
    services.events_ingest(events=[attempt_event(pending, 1, at=T0 + timedelta(days=3))])
    return items, pending


def _ids(page) -> list:
    return [str(row["run_id"]) for row in page.items]


@pytest.mark.parametrize(
    "filters, expected_runs",
    [
        (LogFilter(), [5, 4, 3, 2, 1, 0]),
        (LogFilter(tool_id="laser:co2-40w"), [1]),
        (LogFilter(material_id="shell:abalone-paua"), [2]),
        (LogFilter(machine_id="proto:desktop-cnc"), [3]),
        (LogFilter(geometry_engine="ml"), [3]),
        (LogFilter(workflow_mode="design_first"), [4]),
        (LogFilter(profile="other"), [4]),
        (LogFilter(since=T0 + timedelta(hours=2), until=T0 + timedelta(days=1)), [3, 2]),
        (LogFilter(success=False), [5]),
        (LogFilter(reason="budget_exhausted"), [5]),
        (LogFilter(risk_bucket="RED"), [5]),
        (LogFilter(tool_id="saw:jeweler-0.25", success=True, until=T0 + timedelta(hours=2)), [0]),
        (LogFilter(tool_id="nothing"), []),
    ],
)
def test_run_filters(logged, filters, expected_runs):
    items, _ = logged
    assert _ids(selectors.run_list(filters=filters)) == [items[i]["run_id"] for i in expected_runs]


def test_attempt_filters(logged):
    items, pending = logged
    every = selectors.attempt_list(filters=LogFilter(), limit=1000).items
    assert len(every) == 13 and str(every[0]["run_id"]) == pending
    assert {
        str(a["run_id"]) for a in selectors.attempt_list(filters=LogFilter(run_id=uuid.UUID(items[2]["run_id"]))).items
    } == {items[2]["run_id"]}
    reds = selectors.attempt_list(filters=LogFilter(risk_bucket="RED"), limit=1000).items
    assert {a["risk_bucket"] for a in reds} == {"RED"} and len(reds) == 7
    assert [str(a["run_id"]) for a in selectors.attempt_list(filters=LogFilter(profile="other")).items] == [
        items[4]["run_id"]
    ] * 2
    assert len(selectors.attempt_list(filters=LogFilter(geometry_engine="ml")).items) == 2
    assert len(selectors.attempt_list(filters=LogFilter(workflow_mode="design_first")).items) == 2


def test_pages_neither_repeat_nor_skip_while_rows_arrive(default_profile):
    services.runs_ingest(runs=[run_item(at=T0 + timedelta(minutes=i), attempts=3) for i in range(10)])
    original = set(AiAttempt.objects.values_list("id", flat=True))
    seen: list[int] = []
    cursor = None
    step = 0
    while True:
        page = selectors.attempt_list(filters=LogFilter(), cursor=cursor, limit=4)
        seen += [a["id"] for a in page.items]
        # Between pages: newer runs, a run as old as the page boundary, a run older than all.
        step += 1
        services.runs_ingest(runs=[run_item(at=T0 + timedelta(hours=5, minutes=step), attempts=2)])
        if page.items:
            services.runs_ingest(runs=[run_item(at=page.items[-1]["timestamp"] + timedelta(seconds=2), attempts=1)])
        if not page.next_cursor:
            break
        cursor = cursor_parse(page.next_cursor, kind="a")
    assert len(seen) == len(set(seen))  # no duplicates
    assert original <= set(seen)  # no gaps
    timestamps = list(AiAttempt.objects.filter(id__in=seen).values_list("timestamp", "id"))
    order = {row_id: (ts, row_id) for ts, row_id in timestamps}
    assert [order[i] for i in seen] == sorted((order[i] for i in seen), reverse=True)


def test_rows_sharing_a_timestamp_page_by_id(default_profile):
    services.runs_ingest(runs=[run_item(at=T0, attempts=1) for _ in range(7)])
    seen, cursor = [], None
    while True:
        page = selectors.run_list(filters=LogFilter(), cursor=cursor, limit=3)
        seen += [r["id"] for r in page.items]
        if not page.next_cursor:
            break
        cursor = cursor_parse(page.next_cursor, kind="r")
    assert seen == sorted(AiRun.objects.values_list("id", flat=True), reverse=True)


def test_stream_returns_every_row_in_chunks(default_profile, monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(selectors, "STREAM_CHUNK", 4)
    services.runs_ingest(runs=[run_item(at=T0 + timedelta(minutes=i), attempts=2) for i in range(5)])
    with django_assert_num_queries(3):  # 4 + 4 + 2 rows
        streamed = [a["id"] for a in selectors.attempt_stream(filters=LogFilter())]
    assert streamed == [a["id"] for a in selectors.attempt_list(filters=LogFilter(), limit=100).items]
    with django_assert_num_queries(2):  # 4 + 1 rows
        assert len(list(selectors.run_stream(filters=LogFilter()))) == 5


def test_run_get_and_log_is_empty(default_profile):
    assert selectors.log_is_empty()
    item = run_item(attempts=3)
    services.runs_ingest(runs=[item])
    assert not selectors.log_is_empty()
    detail = selectors.run_get(run_id=item["run_id"])
    assert [a["attempt_index"] for a in detail.attempts] == [1, 2, 3]
