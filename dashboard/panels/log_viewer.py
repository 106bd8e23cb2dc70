"""The dashboard's log viewer (row 1): attempts or runs, newest first, with the log API's filters.

One filter definition (STYLE.md): the panel's parameters are the API's names behind ``log_``
(:mod:`dashboard.url_state`); they go through :func:`ailog.filters.log_filter_parse` and
:func:`ailog.filters.page_parse` and the same :class:`~ailog.filters.LogFilter` reaches the same
selector (:func:`ailog.selectors.attempt_list` / :func:`~ailog.selectors.run_list`), so the
page, its CSV link and ``GET /api/rmos/logs/ai/attempts`` always list the same rows. A bad value
is shown next to its field (the page answers 400), never a 500.

Bounded work whatever the log's size: one keyset page of :data:`PAGE_SIZE` rows in one query.
Each row links to select its context (the inspector's anchor) and to its run's page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.safestring import SafeString

from ailog import selectors as log_selectors
from ailog.filters import ATTEMPT_FILTERS, RUN_FILTERS, LogFilter, log_filter_parse, page_parse
from dashboard import table_rows
from dashboard.panels.forms import PanelFilterForm, choice, since_field, text, until_field, workflow_field
from dashboard.url_state import LOG_PREFIX, LOG_TABS, DashboardState, Selection, run_url
from engine.context import NO_GEOMETRY_ENGINE, WORKFLOW_MODES
from engine.feasibility import BUCKETS
from engine.profile import NAME_RE
from engine.search import REASONS
from rmos_site import present
from rmos_site.errors import ValidationFailed

ANCHOR = "log-viewer"
PAGE_SIZE = 100
RUN_ONLY = ("success", "reason")
PAGE_KEYS = ("cursor",)
TAB_LABELS = {"attempts": "Attempts", "runs": "Runs"}
FILTER_LABELS = {
    "tool_id": "Tool",
    "material_id": "Material",
    "machine_id": "Machine",
    "workflow_mode": "Workflow",
    "geometry_engine": "Geometry engine",
    "profile": "Profile",
    "risk_bucket": "Risk",
    "success": "Success",
    "reason": "Outcome",
    "since": "Since",
    "until": "Until",
    "run_id": "Run",
}
#: What a log row selects: the §3 context of the run (the default workflow left implicit).
SELECTED_FIELDS = ("tool_id", "material_id", "machine_id", "workflow_mode", "geometry_engine")


class LogFilterForm(PanelFilterForm):
    param_prefix = LOG_PREFIX

    tool_id = text("Tool", datalist="catalog-tools")
    material_id = text("Material", datalist="catalog-materials")
    machine_id = text("Machine", datalist="catalog-machines")
    workflow_mode = workflow_field()
    geometry_engine = text("Geometry engine", placeholder="any; - for none")
    profile = text("Profile", datalist="log-profiles")
    risk_bucket = choice("Risk", [(b, b) for b in BUCKETS])
    success = choice("Success", [("true", "succeeded"), ("false", "failed")])
    reason = choice("Outcome", [(r, present.reason_label(r)) for r in REASONS])
    since = since_field()
    until = until_field()
    run_id = text("Run id", placeholder="UUID or its first 8 characters")


def row_selection(row: Mapping[str, Any]) -> dict[str, str]:
    """The context a log row selects; the default workflow mode is left out (it is implied)."""
    chosen = {f: row[f] for f in SELECTED_FIELDS if row.get(f)}
    if chosen.get("workflow_mode") == WORKFLOW_MODES[0]:
        del chosen["workflow_mode"]
    return chosen


def context_filter(selection: Mapping[str, str]) -> dict[str, str]:
    """Log filters for exactly this context: when tool, material and machine are all given, a
    blank geometry engine means "none" (as in the analytics table), not "any"."""
    query = dict(selection)
    if all(query.get(f) for f in ("tool_id", "material_id", "machine_id")) and not query.get("geometry_engine"):
        query["geometry_engine"] = NO_GEOMETRY_ENGINE
    return query


@dataclass(frozen=True)
class Tab:
    name: str
    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class Chip:
    """An active filter, with a link that removes it."""

    key: str  # as in the address: log_tool_id
    label: str
    value: str
    remove_url: str


@dataclass(frozen=True)
class LogRow:
    """One attempt or run, every cell worked out."""

    kind: str  # attempts | runs
    when: present.When
    tool_id: str
    material_id: str
    machine_id: str
    context_extra: str  # workflow mode and geometry engine, when set
    select_url: str
    selected: bool
    run_id: str
    run_short: str
    run_url: str
    profile: str
    profile_version: int | None
    profile_url: str
    score: str  # attempts: its score; runs: the selected score
    bucket: str  # attempts: its bucket; runs: the selected candidate's ("" for none)
    attempt_index: int | None = None  # attempts

    @property
    def bucket_class(self) -> str:
        return f"bucket bucket-{self.bucket.lower()}"

    acceptable: bool | None = None  # attempts
    rings: str = ""  # attempts
    width: str = ""  # attempts, total mm
    attempts: int | None = None  # runs
    success: bool | None = None  # runs
    reason: str = ""  # runs
    row_id: int = 0
    new: bool = False  # arrived since the live refresh before (``after``)


@dataclass(frozen=True)
class LogPanel:
    tab: str
    tabs: tuple[Tab, ...]
    form: LogFilterForm
    problems: tuple[str, ...]  # errors that belong to no field (a bad cursor, an unknown parameter)
    chips: tuple[Chip, ...]
    rows: tuple[LogRow, ...]
    clear_url: str  # "" when nothing is filtered
    selection_url: str  # filter to the selected context ("" when nothing is selected or already so)
    hidden: tuple[tuple[str, str], ...]  # the filter form's hidden inputs: the rest of the state
    newest_url: str  # back to the first page ("" on it)
    older_url: str  # the next page ("" when there is none)
    csv_url: str  # "" when the filters are invalid
    api_url: str
    empty_message: str
    empty_detail: str
    newest_id: int = 0  # the newest row's id on the first page (0: none); the live tail asks for rows after it
    floor: str = ""  # the oldest moment on a full first page ("" when the page is not full)
    live: bool = False  # the first page of a valid list: the live tail may refresh it

    @property
    def status(self) -> int:
        return 400 if self.form.errors or self.problems else 200

    @property
    def rows_html(self) -> SafeString:
        return table_rows.log_rows(self.rows, runs=self.tab == "runs")

    @property
    def form_open(self) -> bool:
        """The filter form starts open when a filter is set or has a problem."""
        return bool(self.form.errors or any(self.form.data.get(self.form.add_prefix(n)) for n in self.form.fields))


def log_filters(state: DashboardState, time_range: Mapping[str, str]) -> LogFilter:
    """The list's filter with the shared time range under its own (raises ValidationFailed)."""
    runs = state.log_tab == "runs"
    query = {**time_range, **dict(state.log_query)}
    return log_filter_parse(query, allowed=RUN_FILTERS if runs else ATTEMPT_FILTERS, extra=PAGE_KEYS)


def has_newer(state: DashboardState, time_range: Mapping[str, str], after: int, floor: datetime | None) -> bool:
    """Whether a row that belongs on the first page arrived after row ``after`` (the newest id the
    page showed): one indexed probe, only as far back as ``floor``, the oldest moment on that full
    page (a row posted later but dated before it would not be on the page). False when the
    filters are invalid: the page shows why."""
    try:
        filters = log_filters(state, time_range)
    except ValidationFailed:
        return False
    listed = log_selectors.runs_filtered if state.log_tab == "runs" else log_selectors.attempts_filtered
    newer = listed(filters=filters).filter(id__gt=after)
    if floor is not None:
        newer = newer.filter(timestamp__gte=floor)
    return newer.exists()


def log_panel(
    state: DashboardState, time_range: Mapping[str, str] | None = None, *, after: int | None = None
) -> LogPanel:
    """The panel; ``time_range`` (``since`` / ``until``) applies under the list's own filters,
    and rows with an id above ``after`` are marked new."""
    tab = state.log_tab
    runs = tab == "runs"
    query = dict(state.log_query)
    form = LogFilterForm(query, drop=() if runs else RUN_ONLY)
    problems: list[str] = []
    filters: LogFilter | None = None
    page_request = None
    try:
        filters = log_filters(state, time_range or {})
    except ValidationFailed as exc:
        problems += form.attach(exc.errors)
    try:
        page_request = page_parse(query, kind=log_selectors.RUNS if runs else log_selectors.ATTEMPTS)
    except ValidationFailed:
        # The cursor is opaque: say what to do rather than what the parser found inside it.
        problems.append(f"{LOG_PREFIX}cursor: not a page of this list; start again from the newest {tab}.")

    rows: tuple[LogRow, ...] = ()
    next_cursor = None
    if filters is not None and page_request is not None and not problems and not form.errors:
        lister = log_selectors.run_list if runs else log_selectors.attempt_list
        page = lister(filters=filters, cursor=page_request.cursor, limit=PAGE_SIZE)
        next_cursor = page.next_cursor
        build = _run_row if runs else _attempt_row
        shared = _Shared(state.selection, state.select_url_maker(fragment=state.selection_landing(ANCHOR)), {})
        rows = tuple(build(item, shared) for item in page.items)
        if after is not None:
            rows = tuple(replace(row, new=True) if row.row_id > after else row for row in rows)

    filter_query = {k: v for k, v in query.items() if k not in PAGE_KEYS}
    first_page = {k: v for k, v in query.items() if k != "cursor"}

    def link(q: Mapping[str, str], tab_name: str | None = None) -> str:
        return state.with_log(tab=tab_name, query=q).url(fragment=ANCHOR)

    tabs = tuple(
        Tab(
            name,
            TAB_LABELS[name],
            link({k: v for k, v in filter_query.items() if name == "runs" or k not in RUN_ONLY}, name),
            name == tab,
        )
        for name in LOG_TABS
    )
    chips = tuple(
        Chip(
            LOG_PREFIX + key,
            FILTER_LABELS.get(key, key),
            _shown(form, key, value),
            link({k: v for k, v in filter_query.items() if k != key}),
        )
        for key, value in filter_query.items()
    )
    selection_url = ""
    if not state.selection.is_empty:
        wanted = {
            **{k: v for k, v in filter_query.items() if k not in SELECTED_FIELDS},
            **context_filter(dict(state.selection.items())),
        }
        if wanted != filter_query:
            selection_url = link(wanted)

    csv_url = api_url = ""
    if filters is not None:
        params = filters.as_params()
        path = reverse("ai-runs" if runs else "ai-attempts")
        csv_url = f"{path}?{urlencode({'format': 'csv', **params})}"
        api_url = f"{path}?{urlencode({**params, 'limit': PAGE_SIZE})}"

    message = detail = ""
    if not rows:
        message, detail = _empty(
            tab, filtered=bool(filter_query), later_page="cursor" in query, invalid=bool(form.errors or problems)
        )
    return LogPanel(
        tab=tab,
        tabs=tabs,
        form=form,
        problems=tuple(problems),
        chips=chips,
        rows=rows,
        clear_url=link({}) if filter_query else "",
        selection_url=selection_url,
        hidden=tuple(state.with_log(query={}).query_items()),
        newest_url=link(first_page) if "cursor" in query else "",
        older_url=link({**first_page, "cursor": next_cursor}) if next_cursor else "",
        csv_url=csv_url,
        api_url=api_url,
        empty_message=message,
        empty_detail=detail,
        newest_id=max((row.row_id for row in rows), default=after or 0),
        floor=rows[-1].when.iso if len(rows) == PAGE_SIZE and rows[-1].when else "",
        live="cursor" not in query and filters is not None and not problems and not form.errors,
    )


def _shown(form: LogFilterForm, key: str, value: str) -> str:
    """A filter's value as its select offers it ("failed" for success=false), else as given."""
    field = form.fields.get(key)
    if key == "geometry_engine" and value == NO_GEOMETRY_ENGINE:
        return "- (no engine)"
    choices = dict(getattr(field.widget, "choices", ())) if field is not None else {}
    return str(choices.get(value, value))


def _empty(tab: str, *, filtered: bool, later_page: bool, invalid: bool) -> tuple[str, str]:
    if invalid:
        return "Nothing listed", "Fix the filters marked above."
    if later_page:
        return f"No older {tab}", "This is the end of the list."
    if filtered:
        return f"No {tab} match these filters", "Remove a filter, or clear them all."
    return (
        "The log is empty",
        "Runs appear here as generators post them (POST /api/rmos/logs/ai/runs) or as searches run "
        "(POST /api/rmos/ai/constraint-search, manage.py simulate_traffic).",
    )


@dataclass(frozen=True)
class _Shared:
    """What every row of a page needs, worked out once."""

    selection: Selection
    select_url: Callable[[Mapping[str, str]], str]
    profile_urls: dict[str, str]


def _common(item: Mapping[str, Any], shared: _Shared) -> dict[str, Any]:
    chosen = row_selection(item)
    run_id = str(item["run_id"])
    name = item["profile_name"]
    profile_urls = shared.profile_urls
    if name and name not in profile_urls:
        # A posted run may name any profile; only a profile name can have a page here.
        profile_urls[name] = reverse("profile-detail", args=[name]) if NAME_RE.match(name) else ""
    extra = [item["workflow_mode"]] if item["workflow_mode"] != WORKFLOW_MODES[0] else []
    if item["geometry_engine"]:
        extra.append(item["geometry_engine"])
    return {
        "when": present.when(item["timestamp"]),
        "tool_id": item["tool_id"],
        "material_id": item["material_id"],
        "machine_id": item["machine_id"],
        "context_extra": " · ".join(extra),
        "select_url": shared.select_url(chosen),
        "selected": Selection(**chosen) == shared.selection,
        "run_id": run_id,
        "run_short": run_id[:8],
        "profile": name,
        "profile_version": item["profile_version"],
        "profile_url": profile_urls.get(name, ""),
        "row_id": item["id"],
    }


def _attempt_row(item: Mapping[str, Any], shared: _Shared) -> LogRow:
    return LogRow(
        kind="attempts",
        run_url=run_url(item["run_id"], fragment=f"attempt-{item['attempt_index']}"),
        score=present.number(item["score"]),
        bucket=item["risk_bucket"],
        attempt_index=item["attempt_index"],
        acceptable=item["is_acceptable"],
        rings=present.whole(item["ring_count"]),
        width=present.number(item["total_width_mm"], 2),
        **_common(item, shared),
    )


def _run_row(item: Mapping[str, Any], shared: _Shared) -> LogRow:
    return LogRow(
        kind="runs",
        run_url=run_url(item["run_id"]),
        score=present.number(item["selected_score"]),
        bucket=item["selected_risk_bucket"] or "",
        attempts=item["attempts"],
        success=item["success"],
        reason=present.reason_label(item["reason"]),
        **_common(item, shared),
    )
