"""ailog.filters: the one parser of the log viewer's query (API and dashboard page alike)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.http import QueryDict

from ailog.filters import (
    ATTEMPT_FILTERS,
    RUN_FILTERS,
    Cursor,
    LogFilter,
    cursor_parse,
    limit_parse,
    log_filter_parse,
    page_parse,
)
from rmos_site.errors import ValidationFailed

UTC = UTC


def test_parses_every_filter_from_a_querydict():
    run_id = uuid.uuid4()
    query = QueryDict(
        f"run_id={run_id}&tool_id=saw:a&material_id=m&machine_id=c&workflow_mode=ai_assisted&geometry_engine=ml"
        "&risk_bucket=RED&profile=p&since=2025-03-01&until=2025-03-31T12:00:00%2B02:00&success=TRUE&reason=timeout"
    )
    parsed = log_filter_parse(query, allowed=RUN_FILTERS)
    assert parsed == LogFilter(
        run_id=run_id,
        tool_id="saw:a",
        material_id="m",
        machine_id="c",
        workflow_mode="ai_assisted",
        geometry_engine="ml",
        risk_bucket="RED",
        profile="p",
        since=datetime(2025, 3, 1, tzinfo=UTC),
        until=datetime(2025, 3, 31, 10, tzinfo=UTC),
        success=True,
        reason="timeout",
    )
    again = QueryDict(mutable=True)
    again.update(parsed.as_params())
    assert log_filter_parse(again, allowed=RUN_FILTERS) == parsed  # as_params round-trips


def test_a_bare_until_date_includes_that_day():
    parsed = log_filter_parse({"since": "2025-03-01", "until": "2025-03-31"})
    assert parsed.until - parsed.since == timedelta(days=31)


def test_a_lower_case_z_means_utc_as_in_ingestion():
    parsed = log_filter_parse({"since": "2025-03-01T08:00:00z", "until": "2025-03-01T09:00:00Z"})
    assert parsed.since == datetime(2025, 3, 1, 8, tzinfo=UTC) and parsed.until == datetime(2025, 3, 1, 9, tzinfo=UTC)


def test_every_bad_field_is_named_at_once():
    with pytest.raises(ValidationFailed) as caught:
        log_filter_parse(
            {"tool_id": "x" * 200, "risk_bucket": "PINK", "success": "true", "bogus": "1"}, allowed=ATTEMPT_FILTERS
        )
    assert {(e.field, e.rule) for e in caught.value.errors} == {
        ("tool_id", "max_length"),
        ("risk_bucket", "choice"),
        ("success", "unknown_field"),
        ("bogus", "unknown_field"),
    }


def test_extra_keys_are_allowed_but_not_filters():
    assert log_filter_parse({"view": "runs", "tool_id": "t"}, extra=("view",)) == LogFilter(tool_id="t")


def test_since_must_precede_until():
    with pytest.raises(ValidationFailed) as caught:
        log_filter_parse({"since": "2025-03-02", "until": "2025-03-01"})
    assert caught.value.errors[0].field == "until"


@pytest.mark.parametrize(
    "query",
    [
        {"until": "9999-12-31"},  # the next midnight is past Python's calendar
        {"since": "0001-01-01T00:00:00+14:00"},  # before its first moment in UTC
        {"since": "9999-12-31T23:59:59-12:00"},  # after its last
        {"since": "1899-12-31"},
        {"until": "3000-01-01T00:00:00Z"},
    ],
)
def test_moments_outside_the_calendar_range_are_refused_by_name(query):
    with pytest.raises(ValidationFailed) as caught:
        log_filter_parse(query)
    [(field, value)] = query.items()
    assert [(e.field, e.rule) for e in caught.value.errors] == [(field, "range")]
    assert "1900-01-01" in caught.value.errors[0].message


def test_the_ends_of_the_range_are_accepted():
    parsed = log_filter_parse({"since": "1900-01-01", "until": "2999-12-31"})
    assert parsed.since == datetime(1900, 1, 1, tzinfo=UTC) and parsed.until == datetime(3000, 1, 1, tzinfo=UTC)


def test_cursor_round_trip_and_tampering():
    cursor = Cursor("a", datetime(2025, 6, 1, 12, 0, 0, 123456, tzinfo=UTC), 42)
    assert cursor_parse(cursor.encode(), kind="a") == cursor
    for bad in ("", None):
        assert cursor_parse(bad, kind="a") is None
    for bad in (
        "%%%",
        "YWJj",
        cursor.encode()[:-2] + "zz",
        Cursor("r", cursor.timestamp, 1).encode(),
        Cursor("a", cursor.timestamp, 0).encode(),
    ):
        with pytest.raises(ValidationFailed):
            cursor_parse(bad, kind="a")


def test_limits():
    assert limit_parse(None) == 100 and limit_parse("1000") == 1000
    for bad in ("0", "1001", "-1", "1.5", "x"):
        with pytest.raises(ValidationFailed):
            limit_parse(bad)
    assert page_parse({"limit": "5"}, kind="a").limit_given
    assert not page_parse({}, kind="a").limit_given


@pytest.mark.parametrize("key", ["tool_id", "material_id", "machine_id", "geometry_engine", "profile"])
def test_text_with_control_characters_is_refused(key):
    """Nothing stored could match (ingestion keeps printable text only), and PostgreSQL refuses a
    NUL byte in a query with an error: a 400 that says so instead."""
    with pytest.raises(ValidationFailed) as caught:
        log_filter_parse(QueryDict(f"{key}=a%00b"))
    assert [(e.field, e.rule) for e in caught.value.errors] == [(key, "printable")]
