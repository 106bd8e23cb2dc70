"""Template helpers for the pages: URLs that change one part of the dashboard state, hidden
inputs that carry the state through GET forms, and value formatting.

    {% load rmos %}
    <a href="{% select_url state tool_id=row.tool_id material_id=row.material_id machine_id=row.machine_id %}">
    <a href="{% state_url state autoload='off' %}">
    <form method="get">{% state_inputs state exclude='profile' %} ... </form>
    <td>{% risk_bar row.risk %}</td>

The small table-cell charts are drawn by tags (in Python, :mod:`dashboard.table_rows`) rather
than included templates: a table of a hundred rows would otherwise spend most of its time on them.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from analytics import selectors as analytics_selectors
from dashboard import table_rows
from dashboard.charts import RiskMixBar
from dashboard.url_state import DASHBOARD_PATH, DashboardState
from profiles.presentation import display_value
from rmos_site import present

register = template.Library()


@register.simple_tag
def state_url(
    state: DashboardState,
    *,
    profile: str | None = None,
    autoload: str | None = None,
    live: str | None = None,
    fragment: str = "",
    path: str = DASHBOARD_PATH,
) -> str:
    """The state's URL with the profile, auto-load and/or live refresh changed, everything else kept."""
    if live is not None:
        state = state.with_live(live == "on")
    if profile is not None:
        state = state.with_profile(profile)
    if autoload is not None:
        state = state.with_autoload(autoload == "on")
    return state.url(path, fragment=fragment)


@register.simple_tag
def section_url(state: DashboardState, name: str, open_: str = "on", fragment: str = "") -> str:
    """The state's URL with one section below the overview opened (``on``) or closed."""
    return state.with_section(name, open_ == "on").url(fragment=fragment)


@register.simple_tag
def select_url(state: DashboardState, *, fragment: str = "", path: str = DASHBOARD_PATH, **context: str) -> str:
    """Select exactly this context (fields not given are cleared); no fields clears the selection."""
    return state.select(**context).url(path, fragment=fragment)


@register.simple_tag
def state_inputs(state: DashboardState, exclude: str = "") -> str:
    """Hidden inputs for every state parameter except the comma-separated ``exclude``."""
    skip = {name.strip() for name in exclude.split(",") if name.strip()}
    return format_html_join("", '<input type="hidden" name="{}" value="{}">', state.query_items(exclude=skip))


@register.filter
def field_value(value, field: str) -> str:
    """``{{ value|field_value:"max_ring_width_mm" }}`` -> "3.00 mm"."""
    return display_value(field, value)


@register.simple_tag
def risk_bar(chart: RiskMixBar) -> str:
    """A compact GREEN / YELLOW / RED bar for a table cell (see :func:`dashboard.table_rows.risk_bar`)."""
    return mark_safe(table_rows.risk_bar(chart))  # noqa: S308 - its texts are escaped there


@register.simple_tag
def interval_bar(bar) -> str:
    """A rate and its interval on a 0-100% track (see :func:`dashboard.table_rows.interval_bar`)."""
    return mark_safe(table_rows.interval_bar(bar))  # noqa: S308 - numbers only


@register.inclusion_tag("components/alert_count.html")
def alerts_header() -> dict:
    """The open regression alerts' count for the page header (one query), linking to the
    dashboard's alert banner."""
    return {"count": analytics_selectors.alerts_open_count(), "url": f"{DASHBOARD_PATH}#alerts"}


@register.filter
def points(value) -> str:
    """0.1495 -> "+15.0 pp": a difference of two shares, signed, in percentage points."""
    return present.points(value)


@register.filter
def share(value) -> str:
    """0.4123 -> "41.2%" (a share the API gives as a fraction); a dash for none."""
    return present.percent(value, 1)
