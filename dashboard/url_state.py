"""The dashboard's state lives in its URL, so a view can be bookmarked, shared and reloaded.

No requests, no database: :func:`parse` turns query parameters into a :class:`DashboardState`
(dropping what is invalid, with a message for each), and the state builds URLs that change one
thing and keep the rest. Every selection is therefore a plain link: a log row, an analytics row
or a hotspot links to ``state.select(tool_id=..., material_id=..., machine_id=...)``.

Parameters (defaults are left out of URLs, so each state has one canonical URL):

| parameter          | meaning                                                                 |
| ------------------ | ----------------------------------------------------------------------- |
| ``tool_id``, ``material_id``, ``machine_id``, ``workflow_mode``, ``geometry_engine`` | the selected context (§3) |
| ``autoload``       | ``on`` (default) or ``off``: whether the snapshot inspector follows the selection |
| ``snap_<field>``   | the inspector's own context while auto-load is off (it "stays put")      |
| ``n_samples``      | candidates the inspector samples, 5–10,000 (default 500)                |
| ``seed``           | the sample's random seed, 0–2⁶³−1 (default 1: one URL, one picture)     |
| ``profile``        | the profile open in the editor                                          |
| ``log``            | the log viewer's list: ``attempts`` (default) or ``runs``               |
| ``log_<name>``     | the log viewer's filters and ``log_cursor``: the log API's own names (``log_tool_id`` is the API's ``tool_id``) |
| ``stats_<name>``   | the analytics panel's filters, ``stats_max_runs``, ``stats_max_attempts`` and ``stats_sort`` (the analytics API's names) |
| ``range``          | the shared time range of every panel: ``1h``, ``24h``, ``7d``, ``30d`` (default: all time) |
| ``from``, ``to``   | a fixed time range instead (``to`` exclusive, a bare date covers its UTC day); wins over ``range`` |
| ``live``           | ``on`` (default) or ``off``: whether the log tail, the overview and the analytics refresh on their own |
| ``open``           | the sections below the overview that are open, comma-separated (default: all; ``none`` closes every one) |

The panels' parameters carry a prefix because the bare names already mean the selection; behind
the prefix they are the API's names and go through the API's own parsers
(:func:`ailog.filters.log_filter_parse`, :func:`analytics.filters.stats_query_parse`), which
:mod:`dashboard.panels.log_viewer` and :mod:`dashboard.panels.analytics` call. Here they are only kept, as
given, so that every link carries them.

Auto-load, as in the seed: while it is on, the inspector shows the selected context; while it
is off, selecting another row changes the selection but the inspector keeps the context it was
showing (``snap_*``), until it is loaded by hand or auto-load is switched back on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import quote_plus, urlencode

from ailog.filters import RUN_FILTERS
from analytics.filters import ANALYTICS_FILTERS
from engine.context import CONTEXT_FIELDS, ID_MAX_LENGTH, WORKFLOW_MODES
from engine.profile import NAME_RE
from rmos_site.numbers import whole_number

DASHBOARD_PATH = "/rmos/ai-ops/"
#: The snapshot inspector's anchor on the dashboard.
INSPECTOR_ANCHOR = "snapshot-inspector"
RUNS_PATH = "/rmos/runs/"
PIN_PREFIX = "snap_"
N_SAMPLES_DEFAULT = 500
N_SAMPLES_MIN = 5
N_SAMPLES_MAX = 10_000
# A fixed default seed: the same URL shows the same sample, so a view can be shared.
SEED_DEFAULT = 1
SEED_MAX = 2**63 - 1
_ON = {"on", "1", "true", "yes"}
_OFF = {"off", "0", "false", "no"}
# Ids are tokens such as "saw:fine-0.5": printable, no whitespace (as the rule patterns).
_ID_RE = re.compile(r"^[^\s\x00-\x1f\x7f]+$")

LOG_TAB = "log"
LOG_TABS = ("attempts", "runs")
LOG_PREFIX = "log_"
STATS_PREFIX = "stats_"
#: Canonical order of each panel's names (others, refused by the panel's parser, sort last).
LOG_NAMES: tuple[str, ...] = (*RUN_FILTERS, "cursor")
STATS_NAMES: tuple[str, ...] = (*ANALYTICS_FILTERS, "max_runs", "max_attempts", "sort")
# A panel's query values are short: no filter takes more. A longer one is kept cut to this, plus
# "…" (still too long, and no valid value, so the panel's parser refuses it by name and shows no
# rows, rather than the page dropping the filter and showing every row); links never repeat it whole.
PANEL_VALUE_MAX = 200

PanelQuery = tuple[tuple[str, str], ...]

RANGE, FROM, TO, LIVE, OPEN = "range", "from", "to", "live", "open"
#: The relative time ranges the overview offers, and their length.
RANGES: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
#: The sections below the overview (each a <details> whose state is in ``open``).
SECTIONS: tuple[str, ...] = ("log", "inspector", "analytics", "editor")
SECTIONS_DEFAULT: tuple[str, ...] = SECTIONS


@dataclass(frozen=True)
class Selection:
    """A context; any field may be blank (nothing selected for it)."""

    tool_id: str = ""
    material_id: str = ""
    machine_id: str = ""
    workflow_mode: str = ""
    geometry_engine: str = ""

    @property
    def is_empty(self) -> bool:
        return not any(self.as_dict().values())

    def as_dict(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in CONTEXT_FIELDS}

    def items(self) -> list[tuple[str, str]]:
        """The fields that are set, in canonical order."""
        return [(k, v) for k, v in self.as_dict().items() if v]


EMPTY = Selection()


class Problem(NamedTuple):
    """A parameter that was ignored, and why (shown as "key: message")."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


@dataclass(frozen=True)
class DashboardState:
    selection: Selection = EMPTY
    autoload: bool = True
    pinned: Selection = EMPTY  # only meaningful while autoload is off
    n_samples: int = N_SAMPLES_DEFAULT
    seed: int = SEED_DEFAULT
    profile: str = ""
    log_tab: str = LOG_TABS[0]
    log_query: PanelQuery = ()  # the log viewer's parameters, API names without the prefix
    stats_query: PanelQuery = ()  # the analytics panel's, likewise
    time_range: str = ""  # one of RANGES ("" = all time), unless time_from / time_to are set
    time_from: str = ""  # as given (checked by parse)
    time_to: str = ""
    live: bool = True
    sections: tuple[str, ...] = SECTIONS_DEFAULT  # the sections below the overview that are open

    # -- what the panels show -----------------------------------------------------------------

    @property
    def inspector_context(self) -> Selection:
        """The context the snapshot inspector shows (may be empty: nothing to load)."""
        return self.selection if self.autoload else self.pinned

    @property
    def inspector_follows_selection(self) -> bool:
        return self.autoload

    @property
    def inspector_prefix(self) -> str:
        """The prefix of the parameters that hold the inspector's context."""
        return "" if self.autoload else PIN_PREFIX

    # -- new states -------------------------------------------------------------------------

    def select(self, **context: str) -> DashboardState:
        """Select a context (e.g. a log row). Fields not given are cleared, so the selection is
        exactly that row's context. With auto-load off the inspector stays where it was."""
        return replace(self, selection=_selection(context))

    def selection_landing(self, panel_anchor: str) -> str:
        """Where a click that selects a context lands: the inspector when it follows the selection
        (auto-load on), else back at the panel clicked (the inspector did not change)."""
        return INSPECTOR_ANCHOR if self.autoload else panel_anchor

    def select_url_maker(self, *, path: str = DASHBOARD_PATH, fragment: str = "") -> Callable[[Mapping[str, str]], str]:
        """``maker(context)`` == ``self.select(**context).url(path, fragment=fragment)``, for a page of
        rows: the parameters after the selection are the same for every row, so they are encoded once."""
        rest = urlencode(self.query_items(exclude=CONTEXT_FIELDS))
        tail = (f"&{rest}" if rest else "") + (f"#{fragment}" if fragment else "")
        bare = path + (f"?{rest}" if rest else "") + (f"#{fragment}" if fragment else "")

        def make(context: Mapping[str, str]) -> str:
            chosen = "&".join(f"{k}={_quoted(v)}" for k, v in _selection(context).items())
            return f"{path}?{chosen}{tail}" if chosen else bare

        return make

    def inspect(self, **context: str) -> DashboardState:
        """Load a context into the inspector by hand: with auto-load on that is the selection,
        with it off only the inspector's own context changes."""
        chosen = _selection(context)
        return replace(self, selection=chosen) if self.autoload else replace(self, pinned=chosen)

    def with_autoload(self, on: bool) -> DashboardState:
        """Switching off keeps the inspector on what it shows now; switching on makes it follow
        the selection again."""
        if on:
            return replace(self, autoload=True, pinned=EMPTY)
        if not self.autoload:
            return self
        return replace(self, autoload=False, pinned=self.selection)

    def with_profile(self, name: str) -> DashboardState:
        return replace(self, profile=name)

    def with_log(
        self, *, tab: str | None = None, query: Mapping[str, str] | Iterable[tuple[str, str]] | None = None
    ) -> DashboardState:
        """Another list and/or log query (API names; blank values are left out)."""
        if tab is not None and tab not in LOG_TABS:
            raise ValueError(f"log tab must be one of {', '.join(LOG_TABS)}, got {tab!r}")
        return replace(
            self,
            log_tab=self.log_tab if tab is None else tab,
            log_query=self.log_query if query is None else _panel_query(query, LOG_NAMES),
        )

    def with_stats(self, query: Mapping[str, str] | Iterable[tuple[str, str]]) -> DashboardState:
        return replace(self, stats_query=_panel_query(query, STATS_NAMES))

    def with_range(self, time_range: str = "", *, time_from: str = "", time_to: str = "") -> DashboardState:
        """Another shared time range (a relative one, or fixed bounds); the log's page starts again."""
        log_query = tuple((k, v) for k, v in self.log_query if k != "cursor")
        return replace(self, time_range=time_range, time_from=time_from, time_to=time_to, log_query=log_query)

    def with_live(self, on: bool) -> DashboardState:
        return replace(self, live=on)

    def with_section(self, name: str, open_: bool) -> DashboardState:
        """The same view with one section opened or closed."""
        wanted = set(self.sections) | {name} if open_ else set(self.sections) - {name}
        return replace(self, sections=tuple(s for s in SECTIONS if s in wanted))

    def section_open(self, name: str) -> bool:
        return name in self.sections

    def with_sampling(self, *, n_samples: int | None = None, seed: int | None = None) -> DashboardState:
        """Another sample size and/or seed for the inspector (and the what-if preview)."""
        return replace(
            self,
            n_samples=self.n_samples if n_samples is None else n_samples,
            seed=self.seed if seed is None else seed,
        )

    # -- URLs -------------------------------------------------------------------------------

    def query_items(self, *, exclude: Iterable[str] = ()) -> list[tuple[str, str]]:
        """The non-default parameters in canonical order (also for hidden inputs of GET forms)."""
        skip = set(exclude)
        items: list[tuple[str, str]] = list(self.selection.items())
        if not self.autoload:
            items.append(("autoload", "off"))
            items.extend((PIN_PREFIX + k, v) for k, v in self.pinned.items())
        if self.n_samples != N_SAMPLES_DEFAULT:
            items.append(("n_samples", str(self.n_samples)))
        if self.seed != SEED_DEFAULT:
            items.append(("seed", str(self.seed)))
        if self.profile:
            items.append(("profile", self.profile))
        if self.log_tab != LOG_TABS[0]:
            items.append((LOG_TAB, self.log_tab))
        items.extend((LOG_PREFIX + k, v) for k, v in self.log_query)
        items.extend((STATS_PREFIX + k, v) for k, v in self.stats_query)
        if self.time_range:
            items.append((RANGE, self.time_range))
        if self.time_from:
            items.append((FROM, self.time_from))
        if self.time_to:
            items.append((TO, self.time_to))
        if not self.live:
            items.append((LIVE, "off"))
        if self.sections != SECTIONS_DEFAULT:
            items.append((OPEN, ",".join(self.sections) or "none"))
        return [(k, v) for k, v in items if k not in skip]

    def query_string(self) -> str:
        return urlencode(self.query_items())

    def url(self, path: str = DASHBOARD_PATH, *, fragment: str = "") -> str:
        query = self.query_string()
        return path + (f"?{query}" if query else "") + (f"#{fragment}" if fragment else "")


#: Every parameter of the dashboard's state, but the panels' (see :func:`is_parameter`).
PARAMETERS = frozenset(
    (
        *CONTEXT_FIELDS,
        *(PIN_PREFIX + f for f in CONTEXT_FIELDS),
        "autoload",
        "n_samples",
        "seed",
        "profile",
        LOG_TAB,
        RANGE,
        FROM,
        TO,
        LIVE,
        OPEN,
    )
)


def run_url(run_id: Any, *, fragment: str = "") -> str:
    """The run detail page (a plain path: the log viewer builds a hundred of these per page)."""
    return f"{RUNS_PATH}{run_id}/" + (f"#{fragment}" if fragment else "")


def is_parameter(key: str) -> bool:
    """Whether ``key`` belongs to the dashboard's state (the panels' keys by their prefix)."""
    return key in PARAMETERS or key.startswith((LOG_PREFIX, STATS_PREFIX))


def canonical_url(query: Any, state: DashboardState) -> str | None:
    """The state's own URL when ``query`` (a QueryDict) says the same in other words (blank or
    default values, another order, a GET form's every field), else None. Queries with other
    parameters are left alone: they belong to something this module does not know."""
    items = [(key, value) for key in query for value in query.getlist(key)]
    if any(not is_parameter(key) for key, _ in items) or items == state.query_items():
        return None
    return state.url()


def _panel_query(items: Mapping[str, str] | Iterable[tuple[str, str]], names: tuple[str, ...]) -> PanelQuery:
    """Non-blank values in canonical order: ``names`` first, in that order, then any other key."""
    pairs = items.items() if isinstance(items, Mapping) else items
    kept = {k: str(v).strip() for k, v in pairs if v is not None and str(v).strip()}
    rank = {name: i for i, name in enumerate(names)}
    return tuple(sorted(kept.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


def _parse_panel(query: Mapping[str, Any], prefix: str, names: tuple[str, ...]) -> PanelQuery:
    values: dict[str, str] = {}
    for key in query:
        if not key.startswith(prefix):
            continue
        raw = _get(query, key)
        if len(raw) > PANEL_VALUE_MAX:
            # Ends in "…" so that the cut can never leave a valid value behind ("true   …x").
            raw = raw[:PANEL_VALUE_MAX] + "…"
        if raw:
            values[key[len(prefix) :]] = raw
    return _panel_query(values, names)


@lru_cache(maxsize=4096)
def _quoted(value: str) -> str:
    """A query value as ``urlencode`` writes it (ids repeat row after row, so once each)."""
    return quote_plus(value)


def _selection(context: Mapping[str, Any]) -> Selection:
    unknown = set(context) - set(CONTEXT_FIELDS)
    if unknown:
        raise TypeError(f"not context fields: {', '.join(sorted(unknown))}")
    return Selection(**{k: ("" if v is None else str(v)) for k, v in context.items()})


def _get(query: Mapping[str, Any], key: str) -> str:
    """The last value of a parameter (Django's QueryDict.get and a plain dict of str or list)."""
    value = query.get(key)
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    return "" if value is None else str(value).strip()


def _parse_selection(query: Mapping[str, Any], prefix: str, problems: list[Problem]) -> Selection:
    values: dict[str, str] = {}
    for field in CONTEXT_FIELDS:
        key = prefix + field
        raw = _get(query, key)
        if not raw:
            continue
        if len(raw) > ID_MAX_LENGTH:
            problems.append(Problem(key, f"ignored, longer than {ID_MAX_LENGTH} characters"))
        elif not _ID_RE.match(raw):
            problems.append(Problem(key, "ignored, ids cannot contain spaces or control characters"))
        elif field == "workflow_mode" and raw not in WORKFLOW_MODES:
            problems.append(Problem(key, f"ignored, {raw!r} is not one of {', '.join(WORKFLOW_MODES)}"))
        else:
            values[field] = raw
    return Selection(**values)


def _parse_whole(query: Mapping[str, Any], key: str, low: int, high: int, default: int, problems: list[Problem]) -> int:
    raw = _get(query, key)
    if not raw:
        return default
    value = whole_number(raw)
    if value is not None and value >= 0 and low <= value <= high:
        return value
    problems.append(Problem(key, f"ignored {raw[:40]!r}, use a whole number from {low} to {high}"))
    return default


def parse(query: Mapping[str, Any]) -> tuple[DashboardState, list[Problem]]:
    """Read the state from query parameters; invalid values are dropped and described."""
    problems: list[Problem] = []
    selection = _parse_selection(query, "", problems)
    raw_autoload = _get(query, "autoload").lower()
    autoload = True
    if raw_autoload in _OFF:
        autoload = False
    elif raw_autoload and raw_autoload not in _ON:
        problems.append(Problem("autoload", f"ignored {raw_autoload!r}, use on or off"))
    pinned = _parse_selection(query, PIN_PREFIX, problems) if not autoload else EMPTY
    n_samples = _parse_whole(query, "n_samples", N_SAMPLES_MIN, N_SAMPLES_MAX, N_SAMPLES_DEFAULT, problems)
    seed = _parse_whole(query, "seed", 0, SEED_MAX, SEED_DEFAULT, problems)
    profile = _get(query, "profile")
    if profile and not NAME_RE.match(profile):
        problems.append(Problem("profile", f"ignored {profile[:40]!r}, not a profile name"))
        profile = ""
    log_tab = _get(query, LOG_TAB).lower() or LOG_TABS[0]
    if log_tab not in LOG_TABS:
        problems.append(Problem(LOG_TAB, f"ignored {log_tab[:40]!r}, use {' or '.join(LOG_TABS)}"))
        log_tab = LOG_TABS[0]
    time_range = _get(query, RANGE).lower()
    if time_range and time_range not in RANGES:
        problems.append(Problem(RANGE, f"ignored {time_range[:40]!r}, use one of {', '.join(RANGES)}"))
        time_range = ""
    bounds = {}
    for key in (FROM, TO):
        raw = _get(query, key)
        if raw and len(raw) > 40:
            problems.append(Problem(key, "ignored, longer than 40 characters"))
            raw = ""
        bounds[key] = raw
    raw_live = _get(query, LIVE).lower()
    live = raw_live not in _OFF
    if raw_live and raw_live not in _ON | _OFF:
        problems.append(Problem(LIVE, f"ignored {raw_live[:40]!r}, use on or off"))
    sections = SECTIONS_DEFAULT
    raw_open = _get(query, OPEN).lower()
    if raw_open:
        names = {n.strip() for n in raw_open.split(",") if n.strip()}
        unknown = names - set(SECTIONS) - {"none"}
        if unknown:
            problems.append(Problem(OPEN, f"ignored {sorted(unknown)[0][:40]!r}, use some of {', '.join(SECTIONS)}"))
        if names - unknown:  # only unknown names: the default, not every section closed
            sections = tuple(s for s in SECTIONS if s in names)
    state = DashboardState(
        selection=selection,
        autoload=autoload,
        pinned=pinned,
        n_samples=n_samples,
        seed=seed,
        profile=profile,
        log_tab=log_tab,
        log_query=_parse_panel(query, LOG_PREFIX, LOG_NAMES),
        stats_query=_parse_panel(query, STATS_PREFIX, STATS_NAMES),
        time_range=time_range,
        time_from=bounds[FROM],
        time_to=bounds[TO],
        live=live,
        sections=sections,
    )
    return state, problems


__all__ = [
    "DASHBOARD_PATH",
    "LOG_PREFIX",
    "RUNS_PATH",
    "LOG_TABS",
    "PARAMETERS",
    "RANGES",
    "SECTIONS",
    "STATS_PREFIX",
    "DashboardState",
    "Problem",
    "Selection",
    "canonical_url",
    "is_parameter",
    "parse",
    "run_url",
]
