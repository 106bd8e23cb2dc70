"""Small formatters the log, analytics, profile and run pages share.

Plain Python: numbers, shares, intervals and moments as the pages print them, worked out once so
that 100-row tables render without per-cell template logic, and the same number reads the same
on every page. ``None`` (no data) prints as an em dash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime

DASH = "—"
UTC = UTC

REASON_LABELS: dict[str, str] = {
    "green_found": "green found",
    "acceptable_found": "acceptable found",
    "budget_exhausted": "budget exhausted",
    "timeout": "timed out",
    "no_candidates": "no candidates",
}


def utc_iso(moment: datetime, *, timespec: str = "auto") -> str:
    """An aware moment as the API writes every time: ISO 8601 in UTC with "Z"."""
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def percent(share: float | None, places: int = 0) -> str:
    """0.712 -> "71%"."""
    return DASH if share is None else f"{share * 100:.{places}f}%"


def interval(bounds: Sequence[float] | None) -> str:
    """[0.62, 0.79] -> "62–79%"."""
    if not bounds:
        return DASH
    low, high = bounds
    return f"{low * 100:.0f}–{high * 100:.0f}%"


def points(delta: float | None) -> str:
    """A difference of two shares in percentage points, signed: 0.052 -> "+5.2 pp"."""
    if delta is None:
        return DASH
    text = f"{delta * 100:+.1f}"
    return ("±0.0" if text in ("+0.0", "-0.0") else text) + " pp"


def signed(delta: float | None, places: int = 1) -> str:
    if delta is None:
        return DASH
    text = f"{delta:+.{places}f}"
    return "±" + text[1:] if float(text) == 0 else text


def number(value: float | None, places: int = 1) -> str:
    return DASH if value is None else f"{value:,.{places}f}"


def whole(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


def moment(value: datetime | str | None) -> datetime | None:
    """An aware UTC datetime from a datetime or an ISO string (as the selectors give them)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value.replace("Z", "+00:00"))
        if parsed is None:
            return None
        value = parsed
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True)
class When:
    """A moment for a ``<time>`` element: machine-readable, short and long forms (UTC)."""

    iso: str
    short: str  # "25 Nov 09:10"
    long: str  # "25 Nov 2026, 09:10:03 UTC"
    day: str  # "25 Nov"
    time: str  # "09:10:03"

    def __str__(self) -> str:
        return self.short


def when(value: datetime | str | None) -> When | None:
    moment_ = moment(value)
    if moment_ is None:
        return None
    return When(
        iso=utc_iso(moment_),
        short=f"{moment_.day} {moment_:%b %H:%M}",
        long=f"{moment_.day} {moment_:%b %Y, %H:%M:%S} UTC",
        day=f"{moment_.day} {moment_:%b}",
        time=f"{moment_:%H:%M:%S}",
    )


def reason_label(reason: str | None) -> str:
    return REASON_LABELS.get(reason or "", reason or DASH)
