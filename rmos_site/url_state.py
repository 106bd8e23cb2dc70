"""The dashboard's state lives in its URL, so a view can be bookmarked, shared and reloaded.

Plain Python (no Django): :func:`parse` turns query parameters into a :class:`DashboardState`
(dropping what is invalid, with a message for each), and the state builds URLs that change one
thing and keep the rest. Every selection is therefore a plain link: a log row, an analytics row
or a hotspot links to ``state.select(tool_id=..., material_id=..., machine_id=...)``.

Parameters (defaults are left out of URLs, so each state has one canonical URL):

| parameter          | meaning                                                                 |
| ------------------ | ----------------------------------------------------------------------- |
| ``tool_id``, ``material_id``, ``machine_id``, ``workflow_mode``, ``geometry_engine`` | the selected context (§3) |
| ``autoload``       | ``on`` (default) or ``off``: whether the snapshot inspector follows the selection |
| ``snap_<field>``   | the inspector's own context while auto-load is off (it "stays put")      |
| ``profile``        | the profile open in the editor                                          |

Auto-load, as in the seed: while it is on, the inspector shows the selected context; while it
is off, selecting another row changes the selection but the inspector keeps the context it was
showing (``snap_*``), until it is loaded by hand or auto-load is switched back on.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping
from urllib.parse import urlencode

from engine.context import CONTEXT_FIELDS, ID_MAX_LENGTH, WORKFLOW_MODES
from engine.profile import NAME_RE

DASHBOARD_PATH = "/rmos/ai-ops/"
PIN_PREFIX = "snap_"
_ON = {"on", "1", "true", "yes"}
_OFF = {"off", "0", "false", "no"}
# Ids are tokens such as "saw:fine-0.5": printable, no whitespace (as the rule patterns).
_ID_RE = re.compile(r"^[^\s\x00-\x1f\x7f]+$")


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


@dataclass(frozen=True)
class DashboardState:
    selection: Selection = EMPTY
    autoload: bool = True
    pinned: Selection = EMPTY  # only meaningful while autoload is off
    profile: str = ""

    # -- what the panels show -----------------------------------------------------------------

    @property
    def inspector_context(self) -> Selection:
        """The context the snapshot inspector shows (may be empty: nothing to load)."""
        return self.selection if self.autoload else self.pinned

    @property
    def inspector_follows_selection(self) -> bool:
        return self.autoload

    # -- new states -------------------------------------------------------------------------

    def select(self, **context: str) -> "DashboardState":
        """Select a context (e.g. a log row). Fields not given are cleared, so the selection is
        exactly that row's context. With auto-load off the inspector stays where it was."""
        return replace(self, selection=_selection(context))

    def inspect(self, **context: str) -> "DashboardState":
        """Load a context into the inspector by hand: with auto-load on that is the selection,
        with it off only the inspector's own context changes."""
        chosen = _selection(context)
        return replace(self, selection=chosen) if self.autoload else replace(self, pinned=chosen)

    def with_autoload(self, on: bool) -> "DashboardState":
        """Switching off keeps the inspector on what it shows now; switching on makes it follow
        the selection again."""
        if on:
            return replace(self, autoload=True, pinned=EMPTY)
        if not self.autoload:
            return self
        return replace(self, autoload=False, pinned=self.selection)

    def with_profile(self, name: str) -> "DashboardState":
        return replace(self, profile=name)

    # -- URLs -------------------------------------------------------------------------------

    def query_items(self, *, exclude: Iterable[str] = ()) -> list[tuple[str, str]]:
        """The non-default parameters in canonical order (also for hidden inputs of GET forms)."""
        skip = set(exclude)
        items: list[tuple[str, str]] = list(self.selection.items())
        if not self.autoload:
            items.append(("autoload", "off"))
            items.extend((PIN_PREFIX + k, v) for k, v in self.pinned.items())
        if self.profile:
            items.append(("profile", self.profile))
        return [(k, v) for k, v in items if k not in skip]

    def query_string(self) -> str:
        return urlencode(self.query_items())

    def url(self, path: str = DASHBOARD_PATH, *, fragment: str = "") -> str:
        query = self.query_string()
        return path + (f"?{query}" if query else "") + (f"#{fragment}" if fragment else "")


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


def _parse_selection(query: Mapping[str, Any], prefix: str, problems: list[str]) -> Selection:
    values: dict[str, str] = {}
    for field in CONTEXT_FIELDS:
        key = prefix + field
        raw = _get(query, key)
        if not raw:
            continue
        if len(raw) > ID_MAX_LENGTH:
            problems.append(f"{key}: ignored, longer than {ID_MAX_LENGTH} characters")
        elif not _ID_RE.match(raw):
            problems.append(f"{key}: ignored, ids cannot contain spaces or control characters")
        elif field == "workflow_mode" and raw not in WORKFLOW_MODES:
            problems.append(f"{key}: ignored, {raw!r} is not one of {', '.join(WORKFLOW_MODES)}")
        else:
            values[field] = raw
    return Selection(**values)


def parse(query: Mapping[str, Any]) -> tuple[DashboardState, list[str]]:
    """Read the state from query parameters; invalid values are dropped and described."""
    problems: list[str] = []
    selection = _parse_selection(query, "", problems)
    raw_autoload = _get(query, "autoload").lower()
    autoload = True
    if raw_autoload in _OFF:
        autoload = False
    elif raw_autoload and raw_autoload not in _ON:
        problems.append(f"autoload: ignored {raw_autoload!r}, use on or off")
    pinned = _parse_selection(query, PIN_PREFIX, problems) if not autoload else EMPTY
    profile = _get(query, "profile")
    if profile and not NAME_RE.match(profile):
        problems.append(f"profile: ignored {profile[:40]!r}, not a profile name")
        profile = ""
    return DashboardState(selection=selection, autoload=autoload, pinned=pinned, profile=profile), problems


__all__ = ["DASHBOARD_PATH", "DashboardState", "Selection", "parse"]
