"""Analytics reads from the aggregates: counts, profile stats, hotspots and the time series.

The API and the dashboard pages call these with filters parsed by :mod:`analytics.filters`.
Every number is defined in docs/analytics.md; they are read from the aggregates of
:mod:`analytics.models`, never by scanning history:

* no ``since`` / ``until``: the all-time rows (their number depends on how many contexts and
  profile versions exist, not on how many runs);
* ``since`` / ``until``: the day rows of the whole days in between, plus the log's own rows of
  the partial days at either edge (at most two days' worth), so the bounds are exact to the
  microsecond;
* ``run_id``: that run's own rows (at most 200 attempts);
* ``max_runs`` / ``max_attempts``: the most recent runs (N runs, or as many as report at most N
  attempts) and those runs' attempts, from the log (N is capped, so the cost is too).
"""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import BigIntegerField, F, Max, Q, QuerySet, Subquery, Sum
from django.db.models import Window as Over
from django.db.models.functions import Cast
from django.utils.dateparse import parse_datetime

from ailog.filters import LogFilter
from ailog.selectors import attempts_filtered, attempts_of_runs, context_q, log_counts, newest, runs_filtered
from analytics.filters import Window
from analytics.metrics import ADDITIVE, Counts, hotspot, hotspot_score
from analytics.models import ContextDay, ContextTotal
from analytics.stats import failure_lower_bounds
from profiles import selectors as profile_selectors
from rmos_site.present import utc_iso

UTC = UTC
CONTEXT = ("tool_id", "material_id", "machine_id", "geometry_engine")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _summed(model, q: Q, group: tuple[str, ...], measures: tuple[str, ...] = ADDITIVE) -> dict[tuple, list]:
    """Sums of ``measures`` (and the latest run) per ``group``, as plain lists.

    The query is built by the ORM but read through the cursor: a few thousand rows go through no
    per-field converter, which was most of a request's time.
    """
    sums = {
        # PostgreSQL sums bigints into numeric, which the driver would turn into Decimal objects.
        f"s_{name}": Sum(name) if name.endswith("_sum") else Cast(Sum(name), BigIntegerField())
        for name in measures
    }
    queryset = model.objects.filter(q).values(*group).annotate(**sums, s_last=Max("last_run_at")).order_by()
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # e.g. profile_name__in=[]: nothing can match
        return {}
    width = len(group)
    kinds = [float if name.endswith("_sum") else int for name in measures]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        # The latest run stays as the driver gave it (text on SQLite) until a row is shown.
        return {
            row[:width]: [kind(value or 0) for kind, value in zip(kinds, row[width:-1])] + [row[-1]]
            for row in cursor.fetchall()
        }


def _moment(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return parse_datetime(value).replace(tzinfo=UTC)  # SQLite keeps naive UTC text


def _log_counts(**query) -> dict[tuple, Counts]:
    return {key: Counts().add(counts) for key, counts in log_counts(**query).items()}


def _listed(counts: dict[tuple, Counts]) -> dict[tuple, list]:
    return {key: [getattr(value, name) for name in ADDITIVE] + [value.last_run_at] for key, value in counts.items()}


def _counts(sums: list) -> Counts:
    return Counts(*sums[:-1], last_run_at=_moment(sums[-1]))


def _merge(into: dict[tuple, list], more: dict[tuple, list]) -> dict[tuple, list]:
    for key, values in more.items():
        current = into.get(key)
        if current is None:
            into[key] = values
            continue
        for i in range(_LAST):
            current[i] += values[i]
        latest = _moment(values[_LAST])
        if latest is not None and (current[_LAST] is None or latest > _moment(current[_LAST])):
            current[_LAST] = latest
    return into


_LAST = len(ADDITIVE)
_RUNS_SLOT, _ATTEMPTS_SLOT = ADDITIVE.index("runs"), ADDITIVE.index("attempts")


def time_pieces(
    since: datetime | None, until: datetime | None
) -> tuple[tuple[date | None, date | None] | None, list[tuple[datetime, datetime]]]:
    """Split ``[since, until)`` into whole UTC days (``[first, end)``, open ends as None) and partial edges."""
    edges: list[tuple[datetime, datetime]] = []
    first = end = None
    if since is not None:
        first = since.astimezone(UTC).date()
        if since != _midnight(first):
            first += timedelta(days=1)
            edges.append((since, _midnight(first)))
    if until is not None:
        end = until.astimezone(UTC).date()
        if until != _midnight(end):
            edges.append((_midnight(end), until))
    if first is not None and end is not None and first > end:
        # since and until fall inside the same day: one raw range, no whole day.
        return None, [(since, until)]  # type: ignore[list-item]
    if first is not None and end is not None and first == end:
        return None, edges
    return (first, end), edges


def _from_aggregates(filters: LogFilter, group: tuple[str, ...]) -> dict[tuple, list]:
    if filters.run_id is not None:
        return _listed(
            _log_counts(runs=runs_filtered(filters=filters), attempts=attempts_filtered(filters=filters), group=group)
        )
    q = context_q(filters)
    if filters.since is None and filters.until is None and "day" not in group:
        return _summed(ContextTotal, q, group)
    whole, edges = time_pieces(filters.since, filters.until)
    out: dict[tuple, list] = {}
    if whole is not None:
        first, end = whole
        days = q
        if first is not None:
            days &= Q(day__gte=first)
        if end is not None:
            days &= Q(day__lt=end)
        out = _summed(ContextDay, days, group)
    for start, stop in edges:
        piece = _most_of_a_day(filters, q, group, start, stop)
        if piece is None:
            piece = _from_log(filters, group, start, stop)
        _merge(out, piece)
    return out


def _from_log(filters: LogFilter, group: tuple[str, ...], start: datetime, stop: datetime) -> dict[tuple, list]:
    edge = LogFilter(**{**filters.__dict__, "since": start, "until": stop})
    return _listed(_log_counts(runs=runs_filtered(filters=edge), attempts=attempts_filtered(filters=edge), group=group))


def _most_of_a_day(
    filters: LogFilter, q: Q, group: tuple[str, ...], start: datetime, stop: datetime
) -> dict[tuple, list] | None:
    """A start edge ``[start, next midnight)`` that is most of its day, as the day's aggregates
    minus the log's short rest ``[midnight, start)``: "the last 24 h" then reads minutes of the log,
    not a day of it (81 -> 9 ms at 10M attempts). Every count is additive over a partition of the
    day, so the difference is exact; the latest run is the day's, unless the rest held them all.
    None (read the edge from the log) for another edge, or if the two reads disagree (a write
    landed between them)."""
    midnight = _midnight(start.astimezone(UTC).date())
    if stop != midnight + timedelta(days=1) or start - midnight >= stop - start:
        return None
    day = _summed(ContextDay, q & Q(day=midnight.date()), group)
    for key, rest in _from_log(filters, group, midnight, start).items():
        values = day.get(key)
        if values is None:
            return None
        for i in range(_LAST):
            values[i] -= rest[i]
            if values[i] < 0:
                if values[i] > -1e-9:  # float sums: rounding, not a missing row
                    values[i] = 0.0
                else:
                    return None
    for key, values in list(day.items()):
        if not values[_RUNS_SLOT] and not values[_ATTEMPTS_SLOT]:
            del day[key]
        elif not values[_RUNS_SLOT]:
            values[_LAST] = None
    return day


def window_runs(filters: LogFilter, window: Window) -> QuerySet:
    """The runs a window selects: the ``max_runs`` most recent runs matching ``filters``, and of
    those the most recent ones whose reported attempts add up to at most ``max_attempts``."""
    limit = min(n for n in (window.max_runs, window.max_attempts) if n is not None)
    recent = newest(runs_filtered(filters=filters), limit)
    if window.max_attempts is None:
        return recent
    # A run reports at least 0 attempts, so max_attempts runs are enough to look at.
    running = recent.annotate(
        attempts_so_far=Over(Sum("attempts"), order_by=[F("timestamp").desc(), F("id").desc()])
    ).filter(attempts_so_far__lte=window.max_attempts)
    return recent.model.objects.filter(id__in=Subquery(running.values("id")))


def _sums(filters: LogFilter, group: tuple[str, ...], window: Window) -> dict[tuple, list]:
    """Sums per ``group``: from the aggregates, or for a window, from the runs it selects and
    their attempts (wherever they are dated), so one row describes one set of runs."""
    if window.max_runs is None and window.max_attempts is None:
        out = _from_aggregates(filters, group)
    else:
        runs = window_runs(filters, window)
        attempts = attempts_of_runs(runs)
        out = _listed(_log_counts(runs=runs, attempts=attempts, group=group))
    return {key: values for key, values in out.items() if values[_RUNS_SLOT] or values[_ATTEMPTS_SLOT]}


def counts(*, filters: LogFilter, group: tuple[str, ...], window: Window = Window()) -> dict[tuple, Counts]:
    """Counts per ``group`` for the rows matching ``filters`` (see the module docstring)."""
    return {key: _counts(values) for key, values in _sums(filters, group, window).items()}


def aggregates_lack_run_risk() -> bool:
    """True when the aggregates hold attempts but no run's RED share: they were built before the
    per-run risk columns existed (an upgrade) and need ``rebuild_aggregates`` once."""
    totals = ContextTotal.objects.aggregate(attempts=Sum("attempts"), risk_runs=Sum("risk_runs"))
    return bool(totals["attempts"]) and not totals["risk_runs"]


# -- profile stats and hotspots ------------------------------------------------------------------


def _by_context(
    filters: LogFilter, window: Window, *, with_profiles: bool
) -> tuple[dict[tuple, list], dict[tuple, dict[tuple, int]] | None]:
    """Sums per context and, when asked, the runs per profile version of each context.

    Without a time range, window or run, the all-time rows answer both with two lean queries (the
    profile versions are read later, for the contexts shown only); otherwise one pass groups by
    context and profile version and folds.
    """
    if filters.since is None and filters.until is None and filters.run_id is None and window == Window():
        return _sums(filters, CONTEXT, window), None
    if not with_profiles:
        return _sums(filters, CONTEXT, window), {}
    per_context: dict[tuple, list] = {}
    profiles: dict[tuple, dict[tuple, int]] = {}
    for key, values in _sums(filters, CONTEXT + ("profile_name", "profile_version"), window).items():
        _merge(per_context, {key[:4]: list(values)})
        if values[_RUNS_SLOT]:
            profiles.setdefault(key[:4], {})[key[4:]] = values[_RUNS_SLOT]
    return per_context, profiles


def _profiles_seen(
    filters: LogFilter, contexts: list[tuple], known: dict[tuple, dict[tuple, int]] | None
) -> dict[tuple, list[dict[str, Any]]]:
    """For the ``contexts`` shown: the profile versions their runs used, most runs first."""
    if known is None:
        known = {}
        if contexts:
            q = context_q(filters) & Q(runs__gt=0) & Q(tool_id__in={context[0] for context in contexts})
            for key, values in _summed(
                ContextTotal, q, CONTEXT + ("profile_name", "profile_version"), ("runs",)
            ).items():
                known.setdefault(key[:4], {})[key[4:]] = values[0]
    return {
        context: [
            {"profile": name, "version": version or None, "runs": runs}
            for (name, version), runs in sorted(known.get(context, {}).items(), key=lambda item: (-item[1], item[0]))
        ]
        for context in contexts
    }


def _context_dict(context: tuple) -> dict[str, str]:
    return dict(zip(CONTEXT, context))


def _window_dict(window: Window) -> dict[str, int | None]:
    return {f.name: getattr(window, f.name) for f in dataclass_fields(window)}


def profile_stats(*, filters: LogFilter, window: Window = Window(), limit: int = 100) -> dict[str, Any]:
    """Per context: runs, success rate and interval, averages, risk mix, last run, profiles seen.

    Contexts with the most runs first; ``count`` says how many matched in all.
    """
    per_context, known = _by_context(filters, window, with_profiles=True)
    return _stats_answer(per_context, known, filters, window, limit)


def hotspots(*, filters: LogFilter, window: Window = Window(), limit: int = 10, min_runs: int = 5) -> dict[str, Any]:
    """The ``limit`` most problematic contexts with at least ``min_runs`` runs, by hotspot score."""
    per_context, _ = _by_context(filters, window, with_profiles=False)
    return _hotspots_answer(per_context, window, limit, min_runs)


def stats_and_hotspots(
    *, filters: LogFilter, window: Window = Window(), limit: int = 100, hotspots_limit: int = 10, min_runs: int = 5
) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`profile_stats` and :func:`hotspots` for the same filters and window, from one read of
    the aggregates: the dashboard shows both side by side. The answers are the two functions' own."""
    per_context, known = _by_context(filters, window, with_profiles=True)
    return _stats_answer(per_context, known, filters, window, limit), _hotspots_answer(
        per_context, window, hotspots_limit, min_runs
    )


def _stats_answer(
    per_context: dict[tuple, list], known, filters: LogFilter, window: Window, limit: int
) -> dict[str, Any]:
    ordered = sorted(per_context.items(), key=lambda item: (-item[1][_RUNS_SLOT], -item[1][_ATTEMPTS_SLOT], item[0]))[
        :limit
    ]
    profiles = _profiles_seen(filters, [context for context, _ in ordered], known)
    results = [
        {**_context_dict(context), **_counts(values).summary(), "profiles": profiles.get(context, [])}
        for context, values in ordered
    ]
    return {"count": len(per_context), "limit": limit, "window": _window_dict(window), "results": results}


def _hotspots_answer(per_context: dict[tuple, list], window: Window, limit: int, min_runs: int) -> dict[str, Any]:
    considered = [
        (context, _counts(values)) for context, values in per_context.items() if values[_RUNS_SLOT] >= min_runs
    ]
    # Every context is scored in one call; only the ones shown are described in words.
    bounds = failure_lower_bounds(
        failures=[counts.failures for _, counts in considered], runs=[counts.runs for _, counts in considered]
    )
    # A score of 0 means the evidence supports no problem at all: such a context is no hotspot.
    ranked = [
        (score, counts, context)
        for (context, counts), score in zip(considered, map(hotspot_score, bounds))
        if score > 0
    ]
    ranked.sort(key=lambda item: (-item[0], -item[1].runs, item[2]))
    scored = [(hotspot(counts, score), context) for score, counts, context in ranked[:limit]]
    shown = (
        "runs",
        "successes",
        "success_rate",
        "success_rate_ci",
        "attempts",
        "red_share",
        "red_share_ci",
        "red_share_runs",
        "risk",
        "last_run",
        "outcomes",
    )
    results = [
        {
            **_context_dict(context),
            "score": spot.score,
            "reasons": spot.reasons,
            **{key: value for key, value in spot.counts.summary().items() if key in shown},
        }
        for spot, context in scored
    ]
    return {
        "considered": len(considered),
        "min_runs": min_runs,
        "limit": limit,
        "window": _window_dict(window),
        "results": results,
    }


# -- time series -----------------------------------------------------------------------------------


def timeseries(*, filters: LogFilter) -> dict[str, Any]:
    """Per UTC day from ``filters.since`` to ``filters.until``: runs, success rate, risk mix and the
    profile versions in use, with a marker for every journaled change of those profiles."""
    assert filters.since is not None and filters.until is not None
    per_day: dict[date, Counts] = {}
    versions: dict[date, dict[tuple, int]] = {}
    for (day, name, version), value in counts(
        filters=filters, group=("day", "profile_name", "profile_version")
    ).items():
        per_day.setdefault(day, Counts()).add(value)
        if value.runs:
            versions.setdefault(day, {})[(name, version)] = value.runs
    days = []
    day = filters.since.astimezone(UTC).date()
    last = (filters.until - timedelta(microseconds=1)).astimezone(UTC).date()
    while day <= last:
        summary = per_day.get(day, Counts()).summary()
        days.append(
            {
                "day": day.isoformat(),
                **{
                    key: summary[key]
                    for key in (
                        "runs",
                        "successes",
                        "success_rate",
                        "success_rate_ci",
                        "attempts",
                        "risk",
                        "avg_selected_score",
                    )
                },
                "profiles": [
                    {"profile": name, "version": version or None, "runs": runs}
                    for (name, version), runs in sorted(
                        versions.get(day, {}).items(), key=lambda item: (-item[1], item[0])
                    )
                ],
            }
        )
        day += timedelta(days=1)
    names = {filters.profile} if filters.profile else {name for seen in versions.values() for name, _ in seen if name}
    return {
        "since": utc_iso(filters.since),
        "until": utc_iso(filters.until),
        "days": days,
        "markers": _markers(sorted(names), filters.since, filters.until),
    }


def _markers(names: list[str], since: datetime, until: datetime) -> list[dict[str, Any]]:
    markers = []
    for name, journal in profile_selectors.profile_journals(names=names, until=until).items():
        for entry in journal:
            moment = datetime.fromisoformat(entry["time"])
            if since <= moment < until:
                markers.append(
                    {
                        "time": entry["time"],
                        "day": moment.astimezone(UTC).date().isoformat(),
                        "profile": name,
                        "version": entry["version"],
                        "type": entry["type"],
                        "note": entry["note"],
                        "user": entry["user"],
                    }
                )
    markers.sort(key=lambda marker: marker["time"])
    return markers
