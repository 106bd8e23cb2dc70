"""The dashboard's row 2: performance analytics per context, and the hotspots beside it.

The panel's parameters are the analytics API's names behind ``stats_`` (see
:mod:`dashboard.url_state`) and go through the API's own parser,
:func:`analytics.filters.stats_query_parse`; both tables read
:func:`analytics.selectors.profile_stats` and :func:`analytics.selectors.hotspots` (in one read of
the aggregates: :func:`analytics.selectors.stats_and_hotspots`), which answer from the aggregates (docs/analytics.md defines every number), so the work does not grow with
the log. ``stats_sort`` orders the table on the server: a column name, ``-`` in front for
descending (``-runs``, the API's order, is the default).

Sorting by another column must see every context, not the 100 busiest, so the table then asks
for the most the API gives (:data:`analytics.filters.STATS_LIMIT_MAX` contexts), sorts them and
shows the first :data:`SHOWN`; the panel says when there are more. Sorted by runs (the default),
the selector's own order is the table's, and the first :data:`SHOWN` are all it needs to build.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.safestring import SafeString

from ailog.filters import LogFilter
from analytics import selectors as analytics_selectors
from analytics.filters import MIN_RUNS_DEFAULT, STATS_LIMIT_MAX, WINDOW_MAX, Window, stats_query_parse
from dashboard import charts, table_rows
from dashboard.panels.forms import PanelFilterForm, since_field, text, until_field, workflow_field
from dashboard.url_state import STATS_PREFIX, DashboardState, Selection
from rmos_site import present
from rmos_site.errors import FieldError, ValidationFailed

ANCHOR = "analytics"
SHOWN = 50  # rows in the panel (it scrolls); every context is in the API answer it links to
HOTSPOTS_SHOWN = 10
SORT_KEY = "sort"
DEFAULT_SORT = "-runs"
CONTEXT = ("tool_id", "material_id", "machine_id", "geometry_engine")
#: The API's parameters the panel fixes itself (it sorts every context and lists ten hotspots of
#: at least five runs); any other goes to the API's parser, which names what it does not know.
FIXED_HERE = ("limit", "min_runs")
WINDOW_KEYS = ("max_runs", "max_attempts")


class AnalyticsFilterForm(PanelFilterForm):
    param_prefix = STATS_PREFIX
    unknown_message = "not a parameter of the analytics"

    tool_id = text("Tool", datalist="catalog-tools")
    material_id = text("Material", datalist="catalog-materials")
    machine_id = text("Machine", datalist="catalog-machines")
    workflow_mode = workflow_field()
    geometry_engine = text("Geometry engine")
    profile = text("Profile", datalist="log-profiles")
    since = since_field()
    until = until_field()
    max_runs = text(
        "Recent runs", placeholder="all", numeric=True, help_text=f"only the newest N runs (1–{WINDOW_MAX:,})"
    )
    max_attempts = text(
        "Recent attempts", placeholder="all", numeric=True, help_text="risk mix of the newest N attempts"
    )


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    first_descending: bool  # the direction a first click sorts in (the "interesting" end first)
    value: Callable[[Mapping[str, Any]], Any]
    numeric: bool = True
    title: str = ""


def _red_share(row: Mapping[str, Any]) -> float | None:
    """The RED share of a run's attempts, averaged over runs (docs/analytics.md)."""
    return row["red_share"]


COLUMNS: tuple[Column, ...] = (
    Column("context", "Context", False, lambda r: tuple(r[f] for f in CONTEXT), numeric=False),
    Column("runs", "Runs", True, lambda r: r["runs"]),
    Column(
        "success_rate", "Success", False, lambda r: r["success_rate"], title="success rate, 95% Wilson interval below"
    ),
    Column("avg_attempts", "Attempts", True, lambda r: r["avg_attempts"], title="average attempts per run"),
    Column(
        "avg_selected_score",
        "Score",
        False,
        lambda r: r["avg_selected_score"],
        title="average selected score of the successful runs",
    ),
    Column(
        "red_share",
        "Risk mix",
        True,
        _red_share,
        numeric=False,
        title="GREEN / YELLOW / RED share of attempts; sorts by the RED share per run",
    ),
    Column("last_run", "Last run", True, lambda r: r["last_run"]),
)
BY_KEY = {c.key: c for c in COLUMNS}
SORT_HELP = {
    "red_share": "sorted by RED share",
    "avg_attempts": "sorted by average attempts",
    "avg_selected_score": "sorted by average score",
}


@dataclass(frozen=True)
class Header:
    key: str
    label: str
    url: str
    aria_sort: str  # ascending | descending | "" (not sorted by it)
    numeric: bool
    next_direction: str  # what a click does, for its tooltip
    title: str


@dataclass(frozen=True)
class IntervalBar:
    """The success rate and its 95% interval on a 0-100% track (SVG coordinates)."""

    width: float
    low_x: float
    band_width: float
    rate_x: float


def interval_bar(rate: float | None, bounds: list[float] | None, *, width: float = 96) -> IntervalBar | None:
    if rate is None or not bounds:
        return None
    low, high = bounds
    return IntervalBar(width, round(low * width, 2), round(max((high - low) * width, 1.0), 2), round(rate * width, 2))


@dataclass(frozen=True)
class ContextCells:
    """What the stats table and the hotspots both show of a context."""

    tool_id: str
    material_id: str
    machine_id: str
    engine: str
    select_url: str
    selected: bool
    runs: str
    success: str
    success_ci: str
    interval: IntervalBar | None
    risk: charts.RiskMixBar
    red_share: str


@dataclass(frozen=True)
class StatsRow(ContextCells):
    avg_attempts: str = ""
    avg_score: str = ""
    score_hint: str = ""  # what the score means when no run succeeded (it averages successful runs)
    last_run: present.When | None = None
    profiles: tuple[tuple[str, str], ...] = ()  # (label, title)


@dataclass(frozen=True)
class HotspotRow(ContextCells):
    rank: int = 0
    score: str = ""
    severity: str = ""  # high | medium | low
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnalyticsPanel:
    form: AnalyticsFilterForm
    problems: tuple[str, ...]
    hidden: tuple[tuple[str, str], ...]
    headers: tuple[Header, ...]
    sort_label: str
    rows: tuple[StatsRow, ...]
    count: int  # contexts matching
    considered: int  # contexts sorted (at most STATS_LIMIT_MAX)
    hotspots: tuple[HotspotRow, ...]
    hotspots_considered: int
    min_runs: int
    windowed: bool
    filtered: bool
    clear_url: str
    api_url: str  # the same numbers from GET /api/rmos/ai/analytics/profile-stats ("" when invalid)
    empty_message: str
    empty_detail: str
    hotspots_empty: str

    @property
    def status(self) -> int:
        return 400 if self.form.errors or self.problems else 200

    @property
    def form_open(self) -> bool:
        return bool(self.form.errors or self.filtered)

    @property
    def rows_html(self) -> SafeString:
        return table_rows.stats_rows(self.rows)

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.rows))


def context_selection(row: Mapping[str, Any]) -> dict[str, str]:
    """An analytics context: tool, material, machine, and the geometry engine when it has one."""
    return {f: row[f] for f in CONTEXT if row.get(f)}


def _cells(
    row: Mapping[str, Any], selection: Selection, select_url: Callable[[Mapping[str, str]], str]
) -> dict[str, Any]:
    chosen = context_selection(row)
    risk = row["risk"]
    return {
        "tool_id": row["tool_id"],
        "material_id": row["material_id"],
        "machine_id": row["machine_id"],
        "engine": row["geometry_engine"],
        "select_url": select_url(chosen),
        # workflow mode is not part of an analytics context: a selection that adds one still matches
        "selected": Selection(**chosen) == replace(selection, workflow_mode=""),
        "runs": present.whole(row["runs"]),
        "success": present.percent(row["success_rate"]),
        "success_ci": present.interval(row["success_rate_ci"]),
        "interval": interval_bar(row["success_rate"], row["success_rate_ci"]),
        "risk": charts.risk_mix_bar(
            {b: risk[b]["count"] for b in charts.RISK_BUCKETS},
            width=84,
            height=12,
            labels=False,
            empty_message="no attempts",
        ),
        "red_share": present.percent(_red_share(row)),
    }


def _stats_row(row: Mapping[str, Any], *shared: Any) -> StatsRow:
    profiles = tuple(
        (
            f"{p['profile'] or '(none)'}{' v' + str(p['version']) if p['version'] else ''}",
            f"{p['runs']:,} run{'s' if p['runs'] != 1 else ''}",
        )
        for p in row["profiles"]
    )
    return StatsRow(
        **_cells(row, *shared),
        avg_attempts=present.number(row["avg_attempts"]),
        avg_score=present.number(row["avg_selected_score"]),
        score_hint=_score_hint(row),
        last_run=present.when(row["last_run"]),
        profiles=profiles,
    )


def _score_hint(row: Mapping[str, Any]) -> str:
    """The score averages successful runs only; beside 0% success, say what the failed runs reached."""
    if row["avg_selected_score"] is not None or not row["runs"]:
        return ""
    best = row.get("avg_failed_best_score")
    return "no run succeeded" + (f"; failed runs' best {present.number(best)} on average" if best is not None else "")


def _hotspot_row(rank: int, row: Mapping[str, Any], *shared: Any) -> HotspotRow:
    score = row["score"]
    return HotspotRow(
        **_cells(row, *shared),
        rank=rank,
        score=f"{score:.0f}",
        severity="high" if score >= 50 else "medium" if score >= 25 else "low",
        reasons=tuple(row["reasons"]),
    )


def parse_sort(raw: str | None) -> tuple[Column, bool]:
    """``stats_sort`` -> (column, descending); raises ValidationFailed naming the choices."""
    value = raw or DEFAULT_SORT
    column = BY_KEY.get(value.lstrip("-"))
    if column is None or value.count("-") > 1 or ("-" in value and not value.startswith("-")):
        choices = ", ".join(c.key for c in COLUMNS)
        raise ValidationFailed.single(
            SORT_KEY, "choice", f"sort by one of {choices}, with - in front for descending; got {value[:40]!r}"
        )
    return column, value.startswith("-")


def _busiest_first(row: Mapping[str, Any]) -> tuple:
    """The selector's own order (most runs, then most attempts, then the context), for ties."""
    return (-row["runs"], -row["attempts"], tuple(row[f] for f in CONTEXT))


def sort_rows(rows: list[dict[str, Any]], column: Column, descending: bool) -> list[dict[str, Any]]:
    """Sorted by ``column``; rows without a value (no runs yet) last either way; ties busiest first."""
    with_value = sorted((r for r in rows if column.value(r) is not None), key=_busiest_first)
    with_value.sort(key=column.value, reverse=descending)  # stable: ties keep the order above
    without = sorted((r for r in rows if column.value(r) is None), key=_busiest_first)
    return with_value + without


def analytics_panel(state: DashboardState, time_range: Mapping[str, str] | None = None) -> AnalyticsPanel:
    """The panel; ``time_range`` (``since`` / ``until``) applies under the panel's own filters."""
    query = dict(state.stats_query)
    shared_range = {k: v for k, v in (time_range or {}).items() if k not in query}
    form = AnalyticsFilterForm(query)
    problems: list[str] = []
    errors = [FieldError(key, "unknown_field", "") for key in query if key in FIXED_HERE]
    # The filters and the windows are parsed apart, so that both kinds of problem show at once.
    filters: LogFilter | None = None
    window: Window | None = None
    try:
        filters = stats_query_parse(
            {**shared_range, **{k: v for k, v in query.items() if k not in (*FIXED_HERE, *WINDOW_KEYS, SORT_KEY)}}
        ).filters
    except ValidationFailed as exc:
        errors += exc.errors
    try:
        window = stats_query_parse({k: v for k, v in query.items() if k in WINDOW_KEYS}).window
    except ValidationFailed as exc:
        errors += exc.errors
    column, descending = BY_KEY["runs"], True
    try:
        column, descending = parse_sort(query.get(SORT_KEY))
    except ValidationFailed as exc:
        problems += [f"{STATS_PREFIX}{e.field}: {e.message}" for e in exc.errors]
    problems = form.attach(errors) + problems
    filter_query = {k: v for k, v in query.items() if k != SORT_KEY}
    sort_value = ("-" if descending else "") + column.key

    def link(q: Mapping[str, str]) -> str:
        return state.with_stats(q).url(fragment=ANCHOR)

    headers = []
    for c in COLUMNS:
        current = c.key == column.key
        going_down = (not descending) if current else c.first_descending
        wanted = ("-" if going_down else "") + c.key
        headers.append(
            Header(
                key=c.key,
                label=c.label,
                url=link({**filter_query, **({SORT_KEY: wanted} if wanted != DEFAULT_SORT else {})}),
                aria_sort=("descending" if descending else "ascending") if current else "",
                numeric=c.numeric,
                next_direction="descending" if going_down else "ascending",
                title=c.title,
            )
        )

    rows: tuple[StatsRow, ...] = ()
    hotspot_rows: tuple[HotspotRow, ...] = ()
    count = considered = hot_considered = 0
    if filters is not None and window is not None and not problems and not form.errors:
        limit = SHOWN if sort_value == DEFAULT_SORT else STATS_LIMIT_MAX
        stats, spots = analytics_selectors.stats_and_hotspots(
            filters=filters, window=window, limit=limit, hotspots_limit=HOTSPOTS_SHOWN, min_runs=MIN_RUNS_DEFAULT
        )
        count, considered = stats["count"], len(stats["results"])
        ordered = sort_rows(stats["results"], column, descending)[:SHOWN]
        shared = (state.selection, state.select_url_maker(fragment=state.selection_landing(ANCHOR)))
        rows = tuple(_stats_row(r, *shared) for r in ordered)
        hot_considered = spots["considered"]
        hotspot_rows = tuple(_hotspot_row(i, r, *shared) for i, r in enumerate(spots["results"], start=1))

    filtered = bool(filter_query)
    windowed = bool(query.get("max_runs") or query.get("max_attempts"))
    invalid = bool(problems or form.errors)
    message = detail = hot_empty = ""
    if invalid:
        message, detail = "Nothing computed", "Fix the parameters marked above."
        hot_empty = "Fix the parameters in the analytics panel."
    else:
        if not rows:
            message, detail = (
                ("No runs match these filters", "Widen the filters, or clear them.")
                if filtered
                else ("No runs yet", "Each context’s numbers appear here after its first run is logged.")
            )
        if not hotspot_rows:
            hot_empty = (
                f"No context with {MIN_RUNS_DEFAULT} or more runs shows a problem the evidence supports."
                if hot_considered
                else f"No context has {MIN_RUNS_DEFAULT} or more runs{' with these filters' if filtered else ' yet'}."
            )
    return AnalyticsPanel(
        form=form,
        problems=tuple(problems),
        hidden=tuple(state.with_stats({SORT_KEY: sort_value} if sort_value != DEFAULT_SORT else {}).query_items()),
        headers=tuple(headers),
        sort_label=_sort_label(column, descending),
        rows=rows,
        count=count,
        considered=considered,
        hotspots=hotspot_rows,
        hotspots_considered=hot_considered,
        min_runs=MIN_RUNS_DEFAULT,
        windowed=windowed,
        filtered=filtered,
        clear_url=link({SORT_KEY: sort_value} if sort_value != DEFAULT_SORT else {}) if filtered else "",
        api_url=f"{reverse('analytics-profile-stats')}?{urlencode({**shared_range, **filter_query, 'limit': STATS_LIMIT_MAX})}"
        if not invalid
        else "",
        empty_message=message,
        empty_detail=detail,
        hotspots_empty=hot_empty,
    )


def _sort_label(column: Column, descending: bool) -> str:
    name = SORT_HELP.get(column.key, f"sorted by {column.label.lower()}")
    if column.key == "context":
        return f"{name}, {'Z to A' if descending else 'A to Z'}"
    if column.key == "last_run":
        return f"{name}, {'newest' if descending else 'oldest'} first"
    return f"{name}, {'highest' if descending else 'lowest'} first"
