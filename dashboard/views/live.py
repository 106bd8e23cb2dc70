"""The dashboard's live refreshes (DESIGN.md §12): htmx asks these for one panel at a time.

Progressive enhancement: the dashboard is complete without them. With JavaScript, htmx
(``static/vendor/htmx/``, no CDN) polls, while ``live`` is on in the address:

* the log tail, every :data:`LOG_SECONDS` s: one indexed probe for a row newer than the newest
  shown (``after``); nothing new answers 204 (htmx keeps the table), else the first page is
  drawn again with the new rows marked. Never on a later page (``log_cursor``): it stays put.
* the overview strip, every :data:`OVERVIEW_SECONDS` s (one read of the aggregates; the regression
  watch refreshed at most once a minute, so a new alert shows up);
* the analytics and hotspots, every :data:`ANALYTICS_SECONDS` s.

Each answers for the same address as the page (the same parameters), so it shows what a reload
would. A request without htmx (a bookmarked or shared refresh URL) is sent to the dashboard.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from ailog.filters import parse_instant
from analytics import services as analytics_services
from dashboard import url_state
from dashboard.panels.analytics import analytics_panel
from dashboard.panels.log_viewer import LogPanel, has_newer, log_panel
from dashboard.panels.overview import overview_panel, time_bounds
from rmos_site.errors import ValidationFailed
from rmos_site.numbers import whole_number

LOG_SECONDS = 5
OVERVIEW_SECONDS = 10
ANALYTICS_SECONDS = 30
AFTER, FLOOR = "after", "floor"


def live_urls(state: url_state.DashboardState, log: LogPanel) -> dict[str, object]:
    """What the page's polling elements ask for (empty when live is off)."""
    if not state.live:
        return {}
    query = state.query_string()
    tail = f"?{query}&" if query else "?"
    return {
        "log": f"{reverse('dashboard-live-log')}{tail}{urlencode(_tail_params(log))}" if log.live else "",
        "overview": f"{reverse('dashboard-live-overview')}{tail}".rstrip("?&"),
        "analytics": f"{reverse('dashboard-live-analytics')}{tail}".rstrip("?&"),
        "log_seconds": LOG_SECONDS,
        "overview_seconds": OVERVIEW_SECONDS,
        "analytics_seconds": ANALYTICS_SECONDS,
    }


def _tail_params(log: LogPanel) -> dict[str, str]:
    return {AFTER: str(log.newest_id), **({FLOOR: log.floor} if log.floor else {})}


def _state(request: HttpRequest) -> url_state.DashboardState | HttpResponse:
    query = request.GET.copy()
    query.pop(AFTER, None)
    query.pop(FLOOR, None)
    state, _ = url_state.parse(query)
    if not request.htmx:
        return redirect(state.url())
    return state


@login_required
@require_GET
def live_log(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    if isinstance(state, HttpResponse):
        return state
    after = whole_number(request.GET.get(AFTER, "")) or 0
    try:
        floor = parse_instant(request.GET.get(FLOOR, ""), FLOOR) if request.GET.get(FLOOR) else None
    except ValidationFailed:
        floor = None
    bounds, _ = time_bounds(state)
    time_range = bounds.params()
    if not state.live or dict(state.log_query).get("cursor") or not has_newer(state, time_range, after, floor):
        return HttpResponse(status=204)
    log = log_panel(state, time_range, after=after)
    context = {"state": state, "log": log, "live": live_urls(state, log)}
    return render(request, "dashboard/panels/log_table.html", context)


@login_required
@require_GET
def live_overview(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    if isinstance(state, HttpResponse):
        return state
    analytics_services.alerts_refresh_due()  # new runs may have made a version worse
    bounds, _ = time_bounds(state)
    context = {"state": state, "overview": overview_panel(state, bounds), "live": {"overview": request.get_full_path()}}
    context["live"]["overview_seconds"] = OVERVIEW_SECONDS
    return render(request, "dashboard/panels/overview.html", context)


@login_required
@require_GET
def live_analytics(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    if isinstance(state, HttpResponse):
        return state
    bounds, _ = time_bounds(state)
    stats = analytics_panel(state, bounds.params())
    # The refreshed part carries its own trigger (hx-get), or polling would end after one refresh.
    context = {
        "state": state,
        "stats": stats,
        "live": {"analytics": request.get_full_path(), "analytics_seconds": ANALYTICS_SECONDS},
    }
    return render(request, "dashboard/panels/analytics_tables.html", context)
