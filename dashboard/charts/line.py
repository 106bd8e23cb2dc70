"""Rate over days: line, optional confidence band, vertical change markers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from dashboard.charts.common import CHAR_PX, NO_RUNS, Plot, Tick, plural, svg_number

#: The least horizontal distance between two change markers, so lines on one day stay apart.
MARKER_GAP = 7


@dataclass(frozen=True)
class RatePoint:
    day: date
    rate: float | None  # 0..1; None: no runs that day (the line breaks)
    low: float | None = None  # confidence interval, 0..1
    high: float | None = None
    runs: int = 0


@dataclass(frozen=True)
class ChangeMarker:
    when: date | datetime
    label: str
    href: str = ""


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class MarkerLine:
    x: float
    label: str  # shortened to fit
    label_x: float
    label_y: float
    anchor: str  # SVG text-anchor: "start", or "end" near the right edge
    title: str  # the full label and date
    href: str

    @property
    def line_top(self) -> float:
        return round(self.label_y + 3, 2)


@dataclass(frozen=True)
class LineChart:
    width: float
    height: float
    plot: Plot
    lines: tuple[str, ...]  # SVG polyline "points", one per run of consecutive days with data
    band: tuple[str, ...]  # SVG path "d", one closed shape per run of days with an interval
    dots: tuple[Dot, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    markers: tuple[MarkerLine, ...]
    title: str
    summary: str
    rows: tuple[tuple[str, str, str, int], ...]  # (day, rate, interval, runs) for the data table
    empty: bool
    empty_message: str


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(1, limit - 1)].rstrip() + "…"


def rate_line_chart(
    points: Sequence[RatePoint],
    *,
    markers: Sequence[ChangeMarker] = (),
    title: str = "Success rate per day",
    noun: str = "runs",
    width: float = 640,
    height: float = 220,
    empty_message: str = NO_RUNS,
) -> LineChart:
    """A rate (0..1) per day; days without data break the line; markers outside the days shown
    are left out."""
    marker_rows = 2
    plot = Plot(left=44, top=14 + 14 * marker_rows, right=width - 24, bottom=height - 26)
    y_ticks = tuple(Tick(round(plot.bottom - plot.height * v / 100, 2), f"{v}%") for v in (0, 25, 50, 75, 100))
    ordered = sorted(points, key=lambda p: p.day)
    for p in ordered:
        for name in ("rate", "low", "high"):
            value = getattr(p, name)
            if value is not None and not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r} on {p.day}")
    rows = tuple(
        (
            p.day.isoformat(),
            _pct(p.rate),
            f"{_pct(p.low)}–{_pct(p.high)}" if p.low is not None and p.high is not None else "—",
            p.runs,
        )
        for p in ordered
    )
    if not any(p.rate is not None for p in ordered):
        return LineChart(
            width, height, plot, (), (), (), y_ticks, (), (), title, empty_message, rows, True, empty_message
        )

    first, last = ordered[0].day, ordered[-1].day
    span_days = (last - first).days

    def x_of(moment: date | datetime) -> float:
        if span_days == 0:
            return plot.left + plot.width / 2
        if isinstance(moment, datetime):
            offset = (moment.date() - first).days + (moment.hour * 3600 + moment.minute * 60 + moment.second) / 86400
        else:
            offset = (moment - first).days
        return plot.left + plot.width * offset / span_days

    def y_of(rate: float) -> float:
        return plot.bottom - plot.height * rate

    lines: list[str] = []
    band: list[str] = []
    dots: list[Dot] = []
    current_line: list[str] = []
    current_band: list[RatePoint] = []
    previous_day: date | None = None

    def close_band() -> None:
        if current_band:
            upper = [f"{svg_number(x_of(p.day))},{svg_number(y_of(p.high))}" for p in current_band]  # type: ignore[arg-type]
            lower = [f"{svg_number(x_of(p.day))},{svg_number(y_of(p.low))}" for p in reversed(current_band)]  # type: ignore[arg-type]
            band.append("M" + " L".join(upper + lower) + " Z")
            current_band.clear()

    for p in ordered:
        consecutive = previous_day is not None and (p.day - previous_day).days == 1
        if p.rate is None or not consecutive:
            if len(current_line) > 1:
                lines.append(" ".join(current_line))
            current_line = []
        if p.rate is None or p.low is None or p.high is None or not consecutive:
            close_band()
        if p.rate is not None:
            x, y = x_of(p.day), y_of(p.rate)
            current_line.append(f"{svg_number(x)},{svg_number(y)}")
            interval = (
                f", 95% interval {_pct(p.low)}–{_pct(p.high)}" if p.low is not None and p.high is not None else ""
            )
            dots.append(
                Dot(round(x, 2), round(y, 2), f"{p.day.isoformat()}: {_pct(p.rate)} ({plural(p.runs, noun)}){interval}")
            )
            if p.low is not None and p.high is not None:
                current_band.append(p)
            previous_day = p.day
        else:
            previous_day = None
    if len(current_line) > 1:
        lines.append(" ".join(current_line))
    close_band()

    # Date labels: at most about one per 90px, evenly every ``step`` days from the first day, and
    # the last day too when it is not squeezed against the label before it.
    label_count = max(2, int(plot.width // 90))
    step = max(1, math.ceil(span_days / (label_count - 1)))
    day_offsets = list(range(0, span_days + 1, step))
    if day_offsets[-1] != span_days:
        if span_days - day_offsets[-1] < step / 2:
            day_offsets.pop()
        day_offsets.append(span_days)
    x_ticks = tuple(
        Tick(round(x_of(first + timedelta(days=d)), 2), (first + timedelta(days=d)).strftime("%d %b"))
        for d in day_offsets
    )

    def naive_utc(when: date | datetime) -> datetime:
        if not isinstance(when, datetime):
            return datetime.combine(when, datetime.min.time())
        return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo is not None else when

    start = datetime.combine(first, datetime.min.time())
    end = datetime.combine(last, datetime.max.time())
    shown = sorted(
        ((m, naive_utc(m.when)) for m in markers if start <= naive_utc(m.when) <= end), key=lambda item: item[1]
    )
    marker_lines: list[MarkerLine] = []
    row_ends = [-math.inf] * marker_rows
    last_in_row: list[int | None] = [None] * marker_rows  # index in marker_lines of each row's last label
    unlabelled = [0] * marker_rows
    # Several changes on one day would draw their lines on top of each other: each one after the
    # first sits MARKER_GAP px right of the one before (its tooltip has its time), and a group that
    # would pass the plot's right edge is moved left as a whole.
    xs: list[float] = []
    for _, moment in shown:
        x = min(max(x_of(moment), plot.left), plot.right)
        xs.append(x if not xs or x - xs[-1] >= MARKER_GAP else xs[-1] + MARKER_GAP)
    limit = plot.right
    for i in range(len(xs) - 1, -1, -1):
        xs[i] = min(xs[i], limit)
        limit = xs[i] - MARKER_GAP
    for (m, moment), x in zip(shown, xs):
        label = _shorten(m.label, 22)
        label_px = len(label) * CHAR_PX * 0.9
        anchor = "end" if x + 3 + label_px > width - 2 else "start"
        left = x - label_px - 3 if anchor == "end" else x
        # The first row where the label does not run into the one before it. With none free, the
        # line is drawn without a label (its tooltip names it) and the last label says "+n".
        row = next((r for r in range(marker_rows) if left >= row_ends[r]), None)
        if row is None:
            row = marker_rows - 1
            unlabelled[row] += 1
            label = ""
        else:
            row_ends[row] = max(row_ends[row], x + 3 + label_px + 6 if anchor == "start" else x + 6)
            last_in_row[row] = len(marker_lines)
        marker_lines.append(
            MarkerLine(
                x=round(x, 2),
                label=label,
                label_x=round(x + 3 if anchor == "start" else x - 3, 2),
                label_y=round(11 + 14 * row, 2),
                anchor=anchor,
                title=f"{m.label} ({_when_text(m, moment)})",
                href=m.href,
            )
        )
    for row, hidden in enumerate(unlabelled):
        index = last_in_row[row]
        if hidden and index is not None:
            crowded = marker_lines[index]
            marker_lines[index] = replace(crowded, label=_shorten(crowded.label, 18) + f" +{hidden}")

    with_data = [p for p in ordered if p.rate is not None]
    total_runs = sum(p.runs for p in with_data)
    weighted = sum((p.rate or 0) * p.runs for p in with_data) / total_runs if total_runs else None
    summary = (
        f"{len(with_data)} day{'s' if len(with_data) != 1 else ''} with data from {first.isoformat()} to "
        f"{last.isoformat()}, {plural(total_runs, noun)}"
        + (f", {_pct(weighted)} overall" if weighted is not None else "")
        + f"; latest {_pct(with_data[-1].rate)} on {with_data[-1].day.isoformat()}"
        + (
            f"; {len(marker_lines)} profile change{'s' if len(marker_lines) != 1 else ''} marked."
            if marker_lines
            else "."
        )
    )
    return LineChart(
        width,
        height,
        plot,
        tuple(lines),
        tuple(band),
        tuple(dots),
        y_ticks,
        x_ticks,
        tuple(marker_lines),
        title,
        summary,
        rows,
        False,
        empty_message,
    )


def _when_text(marker: ChangeMarker, moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if isinstance(marker.when, datetime) else moment.strftime("%Y-%m-%d")
