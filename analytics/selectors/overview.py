"""The overview of a time range (DESIGN.md §12): the numbers the dashboard's strip shows.

One read from the aggregates (:func:`~analytics.selectors.aggregates.counts` over no group: the
whole days in the range from the day rows, the partial days at its edges from the log), plus the
open regression alerts and the open change requests. ``GET /api/rmos/ai/analytics/overview``
answers the same dict for the same filters, so the strip and the API always agree.
"""

from __future__ import annotations

from typing import Any

from ailog.filters import LogFilter
from analytics.metrics import Counts
from analytics.selectors.aggregates import counts
from analytics.selectors.alerts import alerts_open_count
from profiles.selectors import RequestFilter
from profiles.selectors.change_requests import change_requests_filtered
from rmos_site.present import utc_iso

#: The numbers of :meth:`analytics.metrics.Counts.summary` the overview repeats.
OVERVIEW_FIELDS = (
    "runs",
    "successes",
    "success_rate",
    "success_rate_ci",
    "attempts",
    "red_share",
    "red_share_ci",
    "red_share_runs",
    "last_run",
)


def overview_fields() -> tuple[str, ...]:
    return OVERVIEW_FIELDS


def overview(*, filters: LogFilter) -> dict[str, Any]:
    """Runs, attempts, success rate with its 95% interval and RED share of the runs matching
    ``filters`` (usually only a time range), with the open alerts and change requests."""
    total = Counts()
    # Grouped by the column with the fewest values (the aggregates need a group), then added up.
    for value in counts(filters=filters, group=("geometry_engine",)).values():
        total.add(value)
    summary = total.summary()
    open_requests = change_requests_filtered(filters=RequestFilter(states=("open",)), user=None).count()
    return {
        "since": utc_iso(filters.since) if filters.since else None,
        "until": utc_iso(filters.until) if filters.until else None,
        **{name: summary[name] for name in OVERVIEW_FIELDS},
        "open_alerts": alerts_open_count(),
        "open_change_requests": open_requests,
    }
