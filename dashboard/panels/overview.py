"""The dashboard's overview strip and the shared time range every panel follows (DESIGN.md §12).

The range is in the address: ``range`` (``1h``, ``24h``, ``7d``, ``30d``; all time without it)
or fixed ``from`` / ``to`` (the log's instants: a date-time with a timezone or a bare UTC date,
``to`` exclusive and a bare ``to`` date covering its day). :func:`time_bounds` turns it into the
``since`` / ``until`` the panels add to their own filters (a panel's own ``log_since`` /
``stats_since`` wins). The strip's numbers are :func:`analytics.selectors.overview` for exactly
those bounds, the answer of ``GET /api/rmos/ai/analytics/overview?since=…&until=…`` (linked),
so the page and the API agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from ailog.filters import parse_instant
from analytics import selectors as analytics_selectors
from dashboard.url_state import FROM, RANGES, TO, DashboardState, Problem
from rmos_site import present
from rmos_site.errors import ValidationFailed
from rmos_site.present import utc_iso

ANCHOR = "overview"
RANGE_LABELS = {"": "All time", "1h": "1 h", "24h": "24 h", "7d": "7 d", "30d": "30 d"}


@dataclass(frozen=True)
class Bounds:
    since: datetime | None
    until: datetime | None

    def params(self) -> dict[str, str]:
        """As the log's and analytics' ``since`` / ``until`` parameters."""
        out = {}
        if self.since is not None:
            out["since"] = utc_iso(self.since)
        if self.until is not None:
            out["until"] = utc_iso(self.until)
        return out


def time_bounds(state: DashboardState, *, now: datetime | None = None) -> tuple[Bounds, list[Problem]]:
    """The range's instants (whole seconds); a bad ``from`` / ``to`` is dropped with a problem."""
    problems: list[Problem] = []
    if state.time_from or state.time_to:
        since = until = None
        try:
            since = parse_instant(state.time_from, FROM) if state.time_from else None
        except ValidationFailed as exc:
            problems.append(Problem(FROM, f"ignored, {exc.errors[0].message}"))
        try:
            until = parse_instant(state.time_to, TO, end_of_day=True) if state.time_to else None
        except ValidationFailed as exc:
            problems.append(Problem(TO, f"ignored, {exc.errors[0].message}"))
        if since is not None and until is not None and since >= until:
            problems.append(Problem(TO, "ignored, it must be later than from"))
            until = None
        return Bounds(since, until), problems
    if state.time_range:
        now = (now or datetime.now(UTC)).replace(microsecond=0)
        return Bounds(now - RANGES[state.time_range], None), problems
    return Bounds(None, None), problems


@dataclass(frozen=True)
class RangeChoice:
    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class Figure:
    """One number of the strip, with the filtered view it links to."""

    label: str
    value: str
    detail: str
    url: str
    title: str = ""
    warn: bool = False


@dataclass(frozen=True)
class Overview:
    label: str  # what the range is, in words
    since: present.When | None
    until: present.When | None
    choices: tuple[RangeChoice, ...]
    figures: tuple[Figure, ...]
    api_url: str
    hidden: tuple[tuple[str, str], ...]  # the range form's hidden inputs: the rest of the state
    time_from: str
    time_to: str
    fixed: bool  # from / to rather than a relative range
    live_url: str  # the strip alone (htmx refresh)
    numbers: dict[str, Any]


def overview_panel(state: DashboardState, bounds: Bounds) -> Overview:
    from ailog.filters import LogFilter

    numbers = analytics_selectors.overview(filters=LogFilter(since=bounds.since, until=bounds.until))
    params = bounds.params()
    api_url = reverse("analytics-overview") + (f"?{urlencode(params)}" if params else "")
    # A from / to that could not be read was dropped (with a notice): the range is then all time.
    fixed = bool(state.time_from or state.time_to) and (bounds.since is not None or bounds.until is not None)
    choices = tuple(
        RangeChoice(RANGE_LABELS[key], state.with_range(key).url(), not fixed and state.time_range == key)
        for key in ("1h", "24h", "7d", "30d", "")
    )
    if fixed:
        label = f"{_day_or_moment(bounds.since) or 'the start'} – {_day_or_moment(bounds.until) or 'now'}"
    elif state.time_range and not (state.time_from or state.time_to):
        label = f"Last {RANGE_LABELS[state.time_range]}"
    else:
        label = "All time"
    runs_view = state.with_log(tab="runs", query={}).with_section("log", True)
    attempts_view = state.with_log(tab="attempts", query={}).with_section("log", True)
    red_view = state.with_log(tab="attempts", query={"risk_bucket": "RED"}).with_section("log", True)
    stats_view = state.with_section("analytics", True)
    runs, attempts = numbers["runs"], numbers["attempts"]
    rate, ci = numbers["success_rate"], numbers["success_rate_ci"]
    red, red_ci = numbers["red_share"], numbers["red_share_ci"]
    figures = (
        Figure("Runs", f"{runs:,}", f"{numbers['successes']:,} succeeded", runs_view.url(fragment="log-viewer")),
        Figure("Attempts", f"{attempts:,}", _per_run(attempts, runs), attempts_view.url(fragment="log-viewer")),
        Figure(
            "Success rate",
            present.percent(rate) if rate is not None else "—",
            f"95% interval {present.interval(ci)}" if ci else "no runs",
            stats_view.url(fragment="analytics"),
            title="successful runs / runs, with the 95% Wilson interval",
        ),
        Figure(
            "RED share",
            present.percent(red) if red is not None else "—",
            f"95% interval {present.interval(red_ci)}" if red_ci else "per run, averaged",
            red_view.url(fragment="log-viewer"),
            title="each run's share of RED attempts, averaged over runs; links to the RED attempts",
        ),
        Figure(
            "Open alerts",
            f"{numbers['open_alerts']:,}",
            "versions judged worse",
            state.url(fragment="alerts") if numbers["open_alerts"] else reverse("analytics-alerts") + "?state=open",
            warn=bool(numbers["open_alerts"]),
        ),
        Figure(
            "Change requests",
            f"{numbers['open_change_requests']:,}",
            "awaiting review (state open)",
            reverse("change-request-list") + "?state=open",
        ),
    )
    return Overview(
        label=label,
        since=present.when(bounds.since) if bounds.since else None,
        until=present.when(bounds.until) if bounds.until else None,
        choices=choices,
        figures=figures,
        api_url=api_url,
        hidden=tuple(state.with_range("").query_items()),
        time_from=state.time_from,
        time_to=state.time_to,
        fixed=fixed,
        live_url=reverse("dashboard-live-overview") + (f"?{state.query_string()}" if state.query_string() else ""),
        numbers=numbers,
    )


def _per_run(attempts: int, runs: int) -> str:
    return f"{attempts / runs:.1f} a run" if runs else "no runs"


def _day_or_moment(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.hour == moment.minute == moment.second == 0:
        return moment.date().isoformat()
    return utc_iso(moment)
