"""The log viewer's filters and paging, defined once.

``GET /api/rmos/logs/ai/attempts`` and ``…/runs``, the dashboard's log viewer page and the
analytics endpoints all parse their query string here and hand the same frozen
:class:`LogFilter` to the same selectors, so a filter means the same thing behind every door.

Filters (DESIGN.md §4): ``run_id`` (a UUID, or its first 8 or more hex digits), ``tool_id``, ``material_id``, ``machine_id``,
``workflow_mode``, ``geometry_engine``, ``risk_bucket``, ``profile``, ``since``, ``until``; runs
also ``success`` and ``reason``. An empty value means "not filtered" (what an HTML form sends for
an empty field); ``geometry_engine=-`` selects what has no geometry engine. ``since`` is inclusive and ``until`` exclusive; a bare date means that day in
UTC, so ``since=2025-03-01&until=2025-03-31`` covers all of March including the 31st.
On runs, ``risk_bucket`` filters the selected candidate's bucket.

Paging: newest first by ``(timestamp, id)``; ``cursor`` is the opaque ``next_cursor`` of the
previous page and ``limit`` is 1-1000 (default 100). A cursor names the last row seen, so pages
neither repeat nor skip rows however many arrive in between.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ailog.models import Reason, RiskBucket
from engine.context import GEOMETRY_ENGINE_MAX, ID_MAX_LENGTH, NO_GEOMETRY_ENGINE, WORKFLOW_MODES
from engine.profile import PROFILE_NAME_MAX
from rmos_site.errors import FieldError, ValidationFailed
from rmos_site.numbers import whole_number
from rmos_site.present import utc_iso

UTC = UTC
#: The moments a filter may name: [from, to).
INSTANT_RANGE = (datetime(1900, 1, 1, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC))
LIMIT_DEFAULT = 100
LIMIT_MAX = 1000

ATTEMPT_FILTERS: tuple[str, ...] = (
    "run_id",
    "tool_id",
    "material_id",
    "machine_id",
    "workflow_mode",
    "geometry_engine",
    "risk_bucket",
    "profile",
    "since",
    "until",
)
RUN_FILTERS: tuple[str, ...] = ATTEMPT_FILTERS + ("success", "reason")
PAGE_PARAMS: tuple[str, ...] = ("cursor", "limit")
#: DRF's format override (``?format=csv``); the views read it, the filters ignore it.
FORMAT_PARAM = "format"

_TEXT_LIMITS = {
    "tool_id": ID_MAX_LENGTH,
    "material_id": ID_MAX_LENGTH,
    "machine_id": ID_MAX_LENGTH,
    "geometry_engine": GEOMETRY_ENGINE_MAX,
    "profile": PROFILE_NAME_MAX,
}
_CHOICES = {
    "workflow_mode": tuple(WORKFLOW_MODES),
    "risk_bucket": tuple(RiskBucket.values),
    "reason": tuple(Reason.values),
}
_BOOLEANS = {"true": True, "false": False}


class RunIdPrefix(str):
    """The first hex digits of a run id (8 to 31, lower case, no dashes): what the pages show."""

    def bounds(self) -> tuple[uuid.UUID, uuid.UUID]:
        return uuid.UUID(self.ljust(32, "0")), uuid.UUID(self.ljust(32, "f"))


@dataclass(frozen=True)
class LogFilter:
    run_id: uuid.UUID | RunIdPrefix | None = None
    tool_id: str | None = None
    material_id: str | None = None
    machine_id: str | None = None
    workflow_mode: str | None = None
    geometry_engine: str | None = None
    risk_bucket: str | None = None
    profile: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    success: bool | None = None
    reason: str | None = None

    def as_params(self) -> dict[str, str]:
        """The filter as query parameters (for links to the next page or another view)."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, bool):
                out[f.name] = "true" if value else "false"
            elif f.name == "geometry_engine" and value == "":
                out[f.name] = NO_GEOMETRY_ENGINE
            elif isinstance(value, datetime):
                out[f.name] = utc_iso(value)
            else:
                out[f.name] = str(value)
        return out


def _one_value(query: Mapping[str, Any], key: str) -> str:
    getlist = getattr(query, "getlist", None)
    values = getlist(key) if getlist is not None else [query[key]]
    if len(values) > 1:
        raise ValidationFailed.single(key, "single_value", "give this parameter once")
    value = values[0]
    if not isinstance(value, str):
        raise ValidationFailed.single(key, "type", "must be text")
    return value.strip()


def parse_instant(value: str, field: str, *, end_of_day: bool = False) -> datetime:
    """An ISO date-time with a timezone, or a bare date (midnight UTC; with ``end_of_day``, the next midnight).

    Moments outside :data:`INSTANT_RANGE` are refused: they mean nothing for this log, and date
    arithmetic near the ends of Python's calendar overflows.
    """
    if len(value) == 10:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValidationFailed.single(field, "format", f"{value!r} is not a date (YYYY-MM-DD)") from None
        start = datetime.combine(day, time(), tzinfo=UTC)
        _check_range(start, value, field)
        return start + timedelta(days=1) if end_of_day else start
    try:
        # RFC 3339 allows a lower-case "z" for UTC, as ingestion takes it; Python's parser takes only "Z".
        parsed = datetime.fromisoformat(value[:-1] + "Z" if value[-1:] == "z" else value)
    except ValueError:
        hint = ""
        if re.search(r"\d \d\d:?\d\d$", value):
            # "…T10:00:00+01:00" in a query string arrives as "…T10:00:00 01:00": '+' means space there.
            hint = "; in a URL, write the + of an offset as %2B (or use Z)"
        raise ValidationFailed.single(
            field,
            "format",
            f"{value!r} is not an ISO 8601 date (2025-03-01) or date-time with a timezone (2025-03-01T08:00:00Z){hint}",
        ) from None
    if parsed.tzinfo is None:
        raise ValidationFailed.single(
            field, "timezone", f"{value!r} has no timezone; add Z or an offset such as +01:00"
        )
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 is before the first moment Python knows
        parsed = None
    _check_range(parsed, value, field)
    return parsed


def _check_range(moment: datetime | None, text: str, field: str) -> None:
    low, high = INSTANT_RANGE
    if moment is None or not low <= moment < high:
        raise ValidationFailed.single(
            field,
            "range",
            f"{text!r} is out of range: give a moment from {low.date()} up to (not including) {high.date()}",
        )


def log_filter_parse(
    query: Mapping[str, Any],
    *,
    allowed: Iterable[str] = ATTEMPT_FILTERS,
    extra: Iterable[str] = (),
) -> LogFilter:
    """Parse a query (a ``QueryDict`` or a plain mapping) into a filter, or raise naming each bad field.

    ``allowed`` is the filter set of the list (:data:`ATTEMPT_FILTERS` or :data:`RUN_FILTERS`);
    ``extra`` are other parameters the caller reads itself (paging, ``format``, a page's own),
    accepted here without being filters. Any other key is refused, so a typo never silently
    widens a list.
    """
    allowed = tuple(allowed)
    known = set(allowed) | set(extra)
    errors: list[FieldError] = []
    for key in query.keys():
        if key not in known:
            errors.append(FieldError(key, "unknown_field", f"unknown parameter; known: {', '.join(sorted(known))}"))
    values: dict[str, Any] = {}
    for key in allowed:
        if key not in query:
            continue
        try:
            raw = _one_value(query, key)
            if raw == "":
                continue
            values[key] = _parse_value(key, raw)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors=errors)
    since, until = values.get("since"), values.get("until")
    if since is not None and until is not None and since >= until:
        raise ValidationFailed.single("until", "order", "until must be later than since")
    return LogFilter(**values)


def _parse_value(key: str, raw: str) -> Any:
    if key == "run_id":
        try:
            return uuid.UUID(raw)
        except ValueError:
            pass
        digits = raw.replace("-", "").lower()
        if re.fullmatch(r"[0-9a-f]{8,31}", digits):
            return RunIdPrefix(digits)  # the short id the pages show (01ba9aac), or more of it
        raise ValidationFailed.single(
            key, "format", f"{raw!r} is not a UUID, nor its first 8 or more hex digits"
        ) from None
    if key == "geometry_engine" and raw == NO_GEOMETRY_ENGINE:
        return ""  # filters to runs and attempts without an engine
    if key in _TEXT_LIMITS:
        if len(raw) > _TEXT_LIMITS[key]:
            raise ValidationFailed.single(key, "max_length", f"must be at most {_TEXT_LIMITS[key]} characters")
        if not raw.isprintable():
            # Ingestion stores printable text only, so nothing could match; and PostgreSQL refuses
            # a NUL byte in a query outright.
            raise ValidationFailed.single(key, "printable", "must be printable text, without control characters")
        return raw
    if key in _CHOICES:
        if raw not in _CHOICES[key]:
            raise ValidationFailed.single(key, "choice", f"must be one of {', '.join(_CHOICES[key])}; got {raw!r}")
        return raw
    if key == "success":
        if raw.lower() not in _BOOLEANS:
            raise ValidationFailed.single(key, "type", "must be true or false")
        return _BOOLEANS[raw.lower()]
    if key == "since":
        return parse_instant(raw, key)
    if key == "until":
        return parse_instant(raw, key, end_of_day=True)
    raise AssertionError(f"no parser for filter {key!r}")


# -- paging ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """The last row of a page: where the next page continues (rows strictly older than it)."""

    kind: str  # "a" (attempts) or "r" (runs): a cursor only fits the list that made it
    timestamp: datetime
    id: int

    def encode(self) -> str:
        micros = (self.timestamp - _EPOCH) // timedelta(microseconds=1)
        raw = f"{self.kind}:{micros}:{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def cursor_parse(value: str | None, *, kind: str) -> Cursor | None:
    if value is None or value == "":
        return None
    bad = ValidationFailed.single(
        "cursor", "invalid", "not a cursor of this list; use next_cursor from the previous page"
    )
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
        cursor_kind, micros, row_id = raw.split(":")
        cursor = Cursor(cursor_kind, _EPOCH + timedelta(microseconds=int(micros)), int(row_id))
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise bad from None
    if cursor.kind != kind or cursor.id < 1:
        raise bad
    return cursor


def limit_parse(value: str | None, *, default: int = LIMIT_DEFAULT, maximum: int = LIMIT_MAX) -> int:
    if value is None or value == "":
        return default
    limit = whole_number(value)
    if limit is None:
        raise ValidationFailed.single("limit", "type", "must be a whole number")
    if not 1 <= limit <= maximum:
        raise ValidationFailed.single("limit", "range", f"must be from 1 to {maximum}, got {limit}")
    return limit


@dataclass(frozen=True)
class PageRequest:
    cursor: Cursor | None
    limit: int
    limit_given: bool  # an export (CSV) without a limit streams every row


def page_parse(query: Mapping[str, Any], *, kind: str) -> PageRequest:
    """``cursor`` and ``limit`` of a list query."""
    cursor = _one_value(query, "cursor") if "cursor" in query else None
    limit = _one_value(query, "limit") if "limit" in query else None
    return PageRequest(cursor_parse(cursor, kind=kind), limit_parse(limit), bool(limit))
