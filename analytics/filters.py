"""The analytics endpoints' parameters, parsed once for the API and the dashboard's pages.

Filters are the log's (ailog.filters), so a number here always describes rows the log viewer
shows with the same filter: ``tool_id``, ``material_id``, ``machine_id``, ``workflow_mode``,
``geometry_engine``, ``profile``, ``since``, ``until`` and ``run_id``. The log's outcome filters
(``risk_bucket``, ``success``, ``reason``) are refused with a 400 that says why: analytics
*reports* outcomes, and filtering on one would turn a success rate into 0% or 100%.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ailog.filters import ATTEMPT_FILTERS, LogFilter, limit_parse, log_filter_parse
from rmos_site.errors import FieldError, ValidationFailed
from rmos_site.numbers import whole_number

UTC = UTC
#: The log's filters that describe what was tried, not how it went: analytics measures outcomes.
OUTCOME_FILTERS = ("risk_bucket", "success", "reason")
ANALYTICS_FILTERS = tuple(name for name in ATTEMPT_FILTERS if name not in OUTCOME_FILTERS)
#: Largest max_runs / max_attempts window: windows are computed from the log's rows, so their
#: cost grows with their size and is bounded here.
WINDOW_MAX = 100_000
STATS_LIMIT_DEFAULT, STATS_LIMIT_MAX = 100, 1000
HOTSPOTS_LIMIT_DEFAULT, HOTSPOTS_LIMIT_MAX = 10, 100
MIN_RUNS_DEFAULT = 5
TIMESERIES_DAYS_DEFAULT, TIMESERIES_DAYS_MAX = 90, 3660


@dataclass(frozen=True)
class Window:
    """Only the most recent ``max_runs`` runs / ``max_attempts`` attempts count (the seed's windows)."""

    max_runs: int | None = None
    max_attempts: int | None = None


@dataclass(frozen=True)
class StatsQuery:
    filters: LogFilter
    window: Window
    limit: int


@dataclass(frozen=True)
class HotspotsQuery:
    filters: LogFilter
    window: Window
    limit: int
    min_runs: int


@dataclass(frozen=True)
class VersionsQuery:
    profile: str
    filters: LogFilter


@dataclass(frozen=True)
class TimeseriesQuery:
    filters: LogFilter  # since and until are always set


def _single(query: Mapping[str, Any], key: str) -> str | None:
    getlist = getattr(query, "getlist", None)
    values = getlist(key) if getlist is not None else ([query[key]] if key in query else [])
    if len(values) > 1:
        raise ValidationFailed.single(key, "single_value", "give this parameter once")
    if not values or values[0] == "":
        return None
    return str(values[0]).strip()


def _whole_number(query: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    raw = _single(query, key)
    if raw is None:
        return None
    value = whole_number(raw)
    if value is None:
        raise ValidationFailed.single(key, "type", "must be a whole number")
    if not low <= value <= high:
        raise ValidationFailed.single(key, "range", f"must be from {low:,} to {high:,}, got {value:,}")
    return value


def _filters(query: Mapping[str, Any], extra: tuple[str, ...]) -> LogFilter:
    errors = [
        FieldError(
            key,
            "not_an_analytics_filter",
            f"analytics reports outcomes (success rate, risk mix), so it cannot be filtered by {key}; "
            "list the runs or attempts with it instead",
        )
        for key in OUTCOME_FILTERS
        if key in query
    ]
    try:
        filters = log_filter_parse(_without(query, OUTCOME_FILTERS), allowed=ANALYTICS_FILTERS, extra=extra)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors=errors)
    return filters


def _without(query: Mapping[str, Any], keys: tuple[str, ...]) -> Mapping[str, Any]:
    if hasattr(query, "setlist"):  # a QueryDict: keep repeated values, so they are refused as such
        copy = query.copy()
        for key in keys:
            copy.pop(key, None)
        return copy
    return {key: value for key, value in query.items() if key not in keys}


def _window(query: Mapping[str, Any]) -> Window:
    return Window(_whole_number(query, "max_runs", 1, WINDOW_MAX), _whole_number(query, "max_attempts", 1, WINDOW_MAX))


def stats_query_parse(query: Mapping[str, Any]) -> StatsQuery:
    filters = _filters(query, ("max_runs", "max_attempts", "limit"))
    limit = limit_parse(_single(query, "limit"), default=STATS_LIMIT_DEFAULT, maximum=STATS_LIMIT_MAX)
    return StatsQuery(filters, _window(query), limit)


def overview_query_parse(query: Mapping[str, Any]) -> LogFilter:
    """The overview's filters: the analytics filters, usually only ``since`` / ``until``."""
    return _filters(query, ())


def hotspots_query_parse(query: Mapping[str, Any]) -> HotspotsQuery:
    filters = _filters(query, ("max_runs", "max_attempts", "limit", "min_runs"))
    limit = limit_parse(_single(query, "limit"), default=HOTSPOTS_LIMIT_DEFAULT, maximum=HOTSPOTS_LIMIT_MAX)
    min_runs = _whole_number(query, "min_runs", 1, 1_000_000_000)
    return HotspotsQuery(filters, _window(query), limit, MIN_RUNS_DEFAULT if min_runs is None else min_runs)


def versions_query_parse(query: Mapping[str, Any]) -> VersionsQuery:
    filters = _filters(query, ())
    if filters.profile is None:
        raise ValidationFailed.single("profile", "required", "name the profile whose versions to compare")
    return VersionsQuery(filters.profile, filters)


def timeseries_query_parse(query: Mapping[str, Any], *, today: date | None = None) -> TimeseriesQuery:
    """Days from ``since`` to ``until`` (default: the last 90 days, today included)."""
    filters = _filters(query, ())
    today = today or datetime.now(UTC).date()
    until = filters.until or datetime.combine(today + timedelta(days=1), time(), tzinfo=UTC)
    since = filters.since or until - timedelta(days=TIMESERIES_DAYS_DEFAULT)
    if since >= until:
        raise ValidationFailed.single("since", "order", "since must be earlier than until")
    if until - since > timedelta(days=TIMESERIES_DAYS_MAX):
        # Name what the caller gave: with only since, until is today and since is what to change.
        field = "until" if filters.until is not None else "since"
        raise ValidationFailed.single(
            field, "range", f"a time series spans at most {TIMESERIES_DAYS_MAX:,} days from since to until"
        )
    return TimeseriesQuery(LogFilter(**{**filters.__dict__, "since": since, "until": until}))


@dataclass(frozen=True)
class CompareQuery:
    profile: str
    a: int
    b: int
    filters: LogFilter


def compare_query_parse(query: Mapping[str, Any]) -> CompareQuery:
    """``profile``, versions ``a`` and ``b`` (whole numbers ≥ 1, different), and the filters."""
    filters = _filters(query, ("a", "b"))
    errors = []
    if filters.profile is None:
        errors.append(FieldError("profile", "required", "name the profile whose versions to compare"))
    versions = {}
    for key in ("a", "b"):
        try:
            versions[key] = _whole_number(query, key, 1, 2_147_483_647)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        if versions[key] is None:
            errors.append(FieldError(key, "required", f"give the version to compare as {key} (e.g. a=2&b=3)"))
    if not errors and versions["a"] == versions["b"]:
        errors.append(FieldError("b", "different", "compare two different versions"))
    if errors:
        raise ValidationFailed(errors=errors)
    return CompareQuery(filters.profile, versions["a"], versions["b"], filters)  # type: ignore[arg-type]


@dataclass(frozen=True)
class AlertsQuery:
    state: str | None
    profile: str | None
    limit: int


ALERTS_LIMIT_DEFAULT, ALERTS_LIMIT_MAX = 50, 200
ALERT_STATES = ("open", "acknowledged", "cleared", "superseded")


def alerts_query_parse(query: Mapping[str, Any]) -> AlertsQuery:
    unknown = sorted(set(query) - {"state", "profile", "limit"})
    if unknown:
        raise ValidationFailed(
            errors=[FieldError(key, "unknown_parameter", "alerts take state, profile and limit") for key in unknown]
        )
    state = _single(query, "state")
    if state is not None and state not in ALERT_STATES:
        raise ValidationFailed.single("state", "choice", f"must be one of {', '.join(ALERT_STATES)}")
    limit = limit_parse(_single(query, "limit"), default=ALERTS_LIMIT_DEFAULT, maximum=ALERTS_LIMIT_MAX)
    return AlertsQuery(state, _single(query, "profile"), limit)
