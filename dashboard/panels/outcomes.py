"""The profile page's outcomes: "did my edit help?" per version, and the success rate over time.

Reads :func:`analytics.selectors.profile_versions` and :func:`analytics.selectors.timeseries`
with the runs of this profile only (``profile=<name>``, as ``GET
/api/rmos/ai/analytics/profile-versions?profile=<name>`` and ``…/timeseries?profile=<name>``):
both answer from the aggregates, so the page costs the same however long the log is. The numbers
are defined in docs/analytics.md. Each version row has the anchor ``version-<n>``; the chart's
change markers link there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from ailog.filters import LogFilter
from analytics import selectors as analytics_selectors
from analytics.filters import timeseries_query_parse
from dashboard import charts
from profiles.presentation import ChangeRow, change_rows
from rmos_site import present

UTC = UTC
DAYS_CHOICES = (14, 30, 90, 365)
DAYS_DEFAULT = 90
ANCHOR = "outcomes"
CHART_ANCHOR = "success-over-time"


@dataclass(frozen=True)
class ComparisonView:
    """One comparison of a version, as the page shows it (analytics.selectors.comparisons)."""

    against: int
    kind: str  # previous | restored | requested
    verdict: str  # better | worse | no_change_detected | not_comparable
    verdict_label: str
    difference: str  # "+5.2 pp" within contexts
    interval: str  # "-1.0 to +11.4 pp"
    crude: str
    p_value: str
    runs: str  # "120 vs 98 runs in 4 shared contexts"
    runs_needed: str
    note: str
    chart: charts.IntervalChart
    compare_url: str


@dataclass(frozen=True)
class PredictionView:
    state: str
    against: int | None  # the version whose values it was compared with
    before: str  # predicted acceptable share of the version before
    predicted: str  # of this version
    change: str
    green: str
    observed: str  # acceptable share of the version's recorded attempts
    observed_attempts: int
    contexts: int


VERDICT_LABELS = {
    "better": "better",
    "worse": "worse",
    "no_change_detected": "no change detected",
    "not_comparable": "not comparable",
}


@dataclass(frozen=True)
class VersionRow:
    version: int
    anchor: str
    type: str  # created | changed | rollback | import | deleted | "" (not journaled here)
    when: present.When | None
    who: str
    note: str
    restores: int | None  # a rollback: the version whose values it restored
    changes: tuple[ChangeRow, ...]
    initial: bool  # the changes are the first values
    current: bool
    runs: int
    success: str
    success_ci: str
    avg_score: str
    red_share: str
    comparisons: tuple[ComparisonView, ...]
    prediction: PredictionView | None
    alerts: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class DayLink:
    days: int
    url: str
    current: bool


@dataclass(frozen=True)
class Outcomes:
    versions: tuple[VersionRow, ...]
    unknown_runs: int  # runs whose version is not known (e.g. posted without one)
    total_runs: int
    # Runs dated before the day this server first journaled the profile (it was in use before:
    # imported, or runs sent in later with their own times). They count under the version in
    # force when they resolved, or else the first one.
    early_runs: int
    first_journaled: datetime | None
    chart: charts.LineChart
    days: int
    day_links: tuple[DayLink, ...]
    versions_api_url: str
    timeseries_api_url: str


def _who(entry: Mapping[str, Any]) -> str:
    if entry.get("user"):
        return str(entry["user"])
    if entry.get("operator"):
        return f"an API client (operator “{entry['operator']}”)"
    return "the system"


def comparison_view(profile: str, version: int, c: Mapping[str, Any]) -> ComparisonView:
    ci = c["ci95"]
    runs_needed = c["runs_needed"]
    if runs_needed is None:
        needed = ""
    elif runs_needed == [0, 0]:
        needed = "enough runs to detect a 5-point difference"
    else:
        needed = f"about {runs_needed[0]:,} more runs of v{c['against']} and {runs_needed[1]:,} of v{version} to detect 5 points"
    strata = c["strata"]
    return ComparisonView(
        against=c["against"],
        kind=c["kind"],
        verdict=c["verdict"],
        verdict_label=VERDICT_LABELS.get(c["verdict"], c["verdict"]),
        difference=present.points(c["difference"]),
        interval=f"{ci[0] * 100:+.1f} to {ci[1] * 100:+.1f} pp" if ci else present.DASH,
        crude=present.points(c["crude_difference"]),
        p_value=present.DASH if c["p_value"] is None else f"{c['p_value']:.3g}",
        # "0 vs 0 runs" beside a version with a hundred runs read as if it had none.
        runs=(
            f"{c['runs'][0]:,} vs {c['runs'][1]:,} runs in {strata} shared context{'s' if strata != 1 else ''}"
            if strata
            else f"no context seen by both v{c['against']} and v{version}"
        ),
        runs_needed=needed,
        note=c["note"] or "",
        chart=charts.difference_chart(
            difference=c["difference"],
            ci95=ci,
            crude=c["crude_difference"],
            verdict=c["verdict"],
            label=f"v{version} against v{c['against']}",
        ),
        compare_url=f"{reverse('profile-compare', args=[profile])}?{urlencode({'a': c['against'], 'b': version})}",
    )


def prediction_view(prediction: Mapping[str, Any] | None, observed: Mapping[str, Any]) -> PredictionView | None:
    if not prediction:
        return None
    # A first version has nothing before it: its prediction is of its own values ("before").
    if prediction.get("predicted") is not None:
        predicted, before = prediction["predicted"], prediction.get("before")
    else:
        predicted, before = prediction.get("before"), None
    return PredictionView(
        state=prediction["state"],
        against=prediction.get("against_version"),
        before=present.percent(before["acceptable_share"], 1) if before else present.DASH,
        predicted=present.percent(predicted["acceptable_share"], 1) if predicted else present.DASH,
        change=present.points((prediction.get("difference") or {}).get("acceptable_share")),
        green=present.percent(predicted["green_share"], 1) if predicted else present.DASH,
        observed=present.percent(observed["acceptable_share"], 1),
        observed_attempts=observed["attempts"],
        contexts=prediction["contexts"],
    )


def version_rows(
    results: list[Mapping[str, Any]],
    *,
    current_version: int,
    profile: str = "",
    alerts: Mapping[int, list[dict[str, Any]]] | None = None,
) -> tuple[VersionRow, ...]:
    by_history = {r["history_id"]: r["version"] for r in results if r["history_id"]}
    rows = []
    for r in results:
        changes = r["changes"] or []
        initial = bool(changes) and all(c.get("before") is None for c in changes)
        rows.append(
            VersionRow(
                version=r["version"],
                anchor=f"version-{r['version']}",
                type=r["type"] or "",
                when=present.when(r["time"]),
                who=_who(r) if r["type"] else "",
                note=r["note"] or "",
                restores=by_history.get(r["rollback_of"]) if r["rollback_of"] else None,
                changes=change_rows(changes, initial=initial),
                initial=initial,
                current=r["version"] == current_version,
                runs=r["runs"],
                success=present.percent(r["success_rate"]),
                success_ci=present.interval(r["success_rate_ci"]),
                avg_score=present.number(r["avg_selected_score"]),
                red_share=present.percent(r["red_share"]),
                comparisons=tuple(comparison_view(profile, r["version"], c) for c in r["comparisons"]),
                prediction=prediction_view(r["prediction"], r["observed"]),
                alerts=tuple((alerts or {}).get(r["version"], [])),
            )
        )
    return tuple(rows)


MIN_DAYS_SHOWN = 14


def _from_first_event(points: list[charts.RatePoint], markers: list[charts.ChangeMarker]) -> list[charts.RatePoint]:
    """The days from the first run or change in the range (at least :data:`MIN_DAYS_SHOWN` days):
    a profile made last week is not drawn as a thin line at the end of three empty months."""
    firsts = [p.day for p in points if p.runs] + [
        m.when.date() if isinstance(m.when, datetime) else m.when for m in markers
    ]
    if not firsts:
        return points
    start = min(min(firsts), points[-1].day - timedelta(days=MIN_DAYS_SHOWN - 1))
    return [p for p in points if p.day >= start]


def _before_the_journal(profile: str, results: list[Mapping[str, Any]]) -> tuple[datetime | None, int]:
    """The moment of the profile's first journal entry, and how many of its runs are dated before
    it (the aggregates answer for the whole days before, the log for the rest of that day)."""
    times = [present.moment(r["time"]) for r in results if r["time"]]
    if not times:
        return None, 0
    first: datetime = min(times)  # type: ignore[type-var, assignment]
    early = analytics_selectors.counts(filters=LogFilter(profile=profile, until=first), group=("profile_version",))
    return first, sum(c.runs for c in early.values())


def parse_days(raw: str | None) -> int:
    """``?days=`` of the profile page: one of :data:`DAYS_CHOICES`, anything else the default."""
    try:
        days = int(raw or DAYS_DEFAULT)
    except ValueError:
        return DAYS_DEFAULT
    return days if days in DAYS_CHOICES else DAYS_DEFAULT


def profile_outcomes(
    *, profile: str, current_version: int, days: int = DAYS_DEFAULT, today: date | None = None
) -> Outcomes:
    today = today or datetime.now(UTC).date()
    since = today - timedelta(days=days - 1)
    versions = analytics_selectors.profile_versions(profile=profile, filters=LogFilter(profile=profile))
    query = timeseries_query_parse({"profile": profile, "since": since.isoformat()}, today=today)
    series = analytics_selectors.timeseries(filters=query.filters)

    points = [
        charts.RatePoint(
            day=date.fromisoformat(d["day"]),
            rate=d["success_rate"],
            low=d["success_rate_ci"][0] if d["success_rate_ci"] else None,
            high=d["success_rate_ci"][1] if d["success_rate_ci"] else None,
            runs=d["runs"],
        )
        for d in series["days"]
    ]
    markers = [
        charts.ChangeMarker(
            when=present.moment(m["time"]),  # type: ignore[arg-type]
            label=f"v{m['version']} {m['type']}",
            href=f"#version-{m['version']}",
        )
        for m in series["markers"]
        if m["profile"] == profile
    ]
    points = _from_first_event(points, markers)
    first = points[0].day if points else since
    chart = charts.rate_line_chart(
        points,
        markers=markers,
        title=f"Success rate per day, last {days} days"
        if first == since
        else f"Success rate per day since {first.day} {first:%b %Y}",
        width=1200,
        height=260,
        empty_message=f"No runs under {profile} in the last {days} days",
    )
    rows = version_rows(
        versions["results"],
        current_version=current_version,
        profile=profile,
        alerts=analytics_selectors.profile_alerts(profile=profile),
    )
    unknown = versions["unknown_version"]
    first_journaled, early_runs = _before_the_journal(profile, versions["results"])
    page = reverse("profile-detail", args=[profile])
    return Outcomes(
        versions=rows,
        unknown_runs=unknown["runs"] if unknown else 0,
        total_runs=sum(r.runs for r in rows) + (unknown["runs"] if unknown else 0),
        early_runs=early_runs,
        first_journaled=first_journaled,
        chart=chart,
        days=days,
        day_links=tuple(
            DayLink(
                n,
                f"{page}?{urlencode({'days': n})}#{CHART_ANCHOR}" if n != DAYS_DEFAULT else f"{page}#{CHART_ANCHOR}",
                n == days,
            )
            for n in DAYS_CHOICES
        ),
        versions_api_url=f"{reverse('analytics-profile-versions')}?{urlencode({'profile': profile})}",
        timeseries_api_url=f"{reverse('analytics-timeseries')}?{urlencode({'profile': profile, 'since': since.isoformat()})}",
    )
