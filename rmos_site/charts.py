"""Chart geometry for the dashboard's inline SVG, computed on the server.

Plain Python (no Django): each function takes plain data and returns a frozen dataclass with
every coordinate, label, tooltip and text alternative already worked out. The templates in
``templates/components/chart_*.html`` and ``rosette.html`` only draw what is here, so the
drawing logic is tested without a browser and escaping is left to the template engine.

Every chart carries ``title`` and ``summary`` (for ``<title>``/``<desc>`` and the text beside
it), ``rows`` for a data table where one helps, and ``empty``/``empty_message`` for when
there is nothing to draw.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

RISK_BUCKETS: tuple[str, ...] = ("GREEN", "YELLOW", "RED")
NO_RUNS = "No runs in this range yet"

# Rough advance width of one character of the 12px label font: enough to decide whether a
# label fits inside a bar segment, which is all it is used for.
CHAR_PX = 7.0
# Room reserved for an axis's tick labels is measured with the widest sans digit a browser is
# likely to pick for the 12px label font (DejaVu Sans: 0.64 em), so no label is wider than its room.
TICK_CHAR_PX = 7.7
TICK_GAP = 6  # between a y tick label and the axis (the templates' dx="-6")
# The rotated y axis title (11px) has its baseline this far from the left edge; its glyphs end
# about 3 px to the right of it, and the tick labels keep a further 4 px away.
Y_TITLE_X = 12
Y_TITLE_RIGHT = Y_TITLE_X + 3 + 4


def tick_label_px(label: str) -> float:
    """The room a tick label needs at the 12px label font (an upper bound, see TICK_CHAR_PX)."""
    return len(label) * TICK_CHAR_PX


def _num(value: float) -> str:
    """A coordinate for SVG: two decimals at most, no trailing zeros, never ``-0``."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def percentages(counts: Sequence[int]) -> list[int]:
    """Whole percentages that add up to exactly 100 (largest remainder), or all 0 for no data."""
    total = sum(counts)
    if total <= 0:
        return [0 for _ in counts]
    exact = [c * 100 / total for c in counts]
    floors = [math.floor(e) for e in exact]
    short = 100 - sum(floors)
    # Hand out the missing points to the largest remainders; earlier items win ties.
    order = sorted(range(len(counts)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:short]:
        floors[i] += 1
    return floors


def percent_text(count: int, total: int, percent: int) -> str:
    """A rounded share as shown: never "0%" for a count above zero, nor "100%" for less than all."""
    if count and percent == 0:
        return "<1%"
    if count < total and percent == 100:
        return ">99%"
    return f"{percent}%"


def _plural(count: int, noun: str) -> str:
    if count == 1 and noun.endswith("s"):
        return f"1 {noun[:-1]}"
    return f"{count} {noun}"


# ---------------------------------------------------------------------------------------------
# Risk mix: one horizontal bar split GREEN / YELLOW / RED


@dataclass(frozen=True)
class RiskSegment:
    bucket: str  # GREEN | YELLOW | RED
    count: int
    percent: int  # rounded; the segments' percents add up to 100
    x: float
    width: float
    label: str  # drawn inside the segment when it fits, else ""
    title: str  # tooltip
    shown_percent: str = ""  # the percent as shown ("<1%" rather than "0%" for a few)
    left_percent: float = 0.0  # x and width as percentages of the bar, for a bar that fills its box
    width_percent: float = 0.0


@dataclass(frozen=True)
class RiskMixBar:
    width: float
    height: float
    total: int
    noun: str
    segments: tuple[RiskSegment, ...]  # only buckets with a count, in bucket order
    legend: tuple[RiskSegment, ...]  # every bucket, zeros included, for the text beside the bar
    title: str
    summary: str
    empty: bool
    empty_message: str


def risk_mix_bar(
    counts: Mapping[str, int],
    *,
    noun: str = "attempts",
    width: float = 320,
    height: float = 22,
    labels: bool = True,
    empty_message: str = NO_RUNS,
) -> RiskMixBar:
    """A stacked bar of GREEN / YELLOW / RED counts (keys are case-insensitive).

    ``width`` is the narrowest the bar is drawn at, in px: a segment's label is chosen to fit
    its share of that. The page draws the bar across its whole box (``left_percent`` and
    ``width_percent``), so on a wider screen every label still fits. ``labels=False`` draws a
    compact bar for table cells; tooltips and the summary remain.
    """
    normalised = {bucket: 0 for bucket in RISK_BUCKETS}
    for key, count in counts.items():
        bucket = str(key).upper()
        if bucket not in normalised:
            raise ValueError(f"unknown risk bucket {key!r}; expected one of {', '.join(RISK_BUCKETS)}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count for {bucket} must be a whole number >= 0, got {count!r}")
        normalised[bucket] += count
    ordered = [normalised[b] for b in RISK_BUCKETS]
    total = sum(ordered)
    pcts = percentages(ordered)
    legend: list[RiskSegment] = []
    segments: list[RiskSegment] = []
    x = 0.0
    done = 0
    for bucket, count, pct in zip(RISK_BUCKETS, ordered, pcts):
        seg_width = width * count / total if total else 0.0
        shown = percent_text(count, total, pct)
        title = f"{bucket}: {count} of {_plural(total, noun)} ({shown})"
        label = ""
        if labels and count:
            for candidate in (f"{count} · {shown}", shown):
                if len(candidate) * CHAR_PX + 8 <= seg_width:
                    label = candidate
                    break
        # From the running count, so that the rounded percentages tile the bar without a gap.
        left_percent = round(100 * done / total, 2) if total else 0.0
        done += count
        right_percent = round(100 * done / total, 2) if total else 0.0
        segment = RiskSegment(
            bucket,
            count,
            pct,
            round(x, 2),
            round(seg_width, 2),
            label,
            title,
            shown,
            left_percent=left_percent,
            width_percent=round(right_percent - left_percent, 2),
        )
        legend.append(segment)
        if count:
            segments.append(segment)
        x += seg_width
    parts = ", ".join(f"{s.count} {s.bucket.lower()} ({s.shown_percent})" for s in legend)
    summary = f"{_plural(total, noun)}: {parts}" if total else empty_message
    return RiskMixBar(
        width=width,
        height=height,
        total=total,
        noun=noun,
        segments=tuple(segments),
        legend=tuple(legend),
        title=f"Risk mix of {_plural(total, noun)}",
        summary=summary,
        empty=total == 0,
        empty_message=empty_message,
    )


# ---------------------------------------------------------------------------------------------
# Axes shared by the histogram and the line chart


@dataclass(frozen=True)
class Plot:
    """The drawing area inside the margins."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def center_x(self) -> float:
        return round((self.left + self.right) / 2, 2)

    @property
    def center_y(self) -> float:
        return round((self.top + self.bottom) / 2, 2)


@dataclass(frozen=True)
class Tick:
    position: float  # y for a value axis, x for a category/date axis
    label: str


def _count_steps(max_count: int) -> range:
    """The values of a y axis for whole counts: a step of 1, 2 or 5 x 10^k giving at most five
    intervals, up to the first step at or above the largest count."""
    max_count = max(1, max_count)
    magnitude = 1
    while True:
        step = next((m * magnitude for m in (1, 2, 5) if math.ceil(max_count / (m * magnitude)) <= 5), None)
        if step is not None:
            break
        magnitude *= 10
    return range(0, step * math.ceil(max_count / step) + 1, step)


# ---------------------------------------------------------------------------------------------
# Histogram: whole-number categories or numeric bins


@dataclass(frozen=True)
class HistogramBar:
    label: str  # "3" or "2.00–4.00"
    count: int
    percent: int
    x: float
    y: float
    width: float
    height: float
    title: str

    @property
    def center_x(self) -> float:
        return round(self.x + self.width / 2, 2)


@dataclass(frozen=True)
class Histogram:
    width: float
    height: float
    plot: Plot
    bars: tuple[HistogramBar, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]  # under each category, or at the bin edges; thinned to never overlap
    x_label: str
    y_label: str
    total: int
    title: str
    summary: str
    rows: tuple[tuple[str, int, int], ...]  # (label, count, percent) for the data table
    empty: bool
    empty_message: str

    @property
    def y_label_x(self) -> float:
        """The baseline of the rotated y axis title (the plot's left margin keeps clear of it)."""
        return Y_TITLE_X


def _thin(ticks: list[Tick], min_gap: float) -> tuple[Tick, ...]:
    """Every k-th tick, k as small as keeps neighbouring labels ``min_gap`` apart."""
    if len(ticks) < 2:
        return tuple(ticks)
    spacing = ticks[1].position - ticks[0].position
    every = max(1, math.ceil(min_gap / spacing)) if spacing > 0 else 1
    return tuple(ticks[::every])


def _histogram(
    labels: Sequence[str],
    counts: Sequence[int],
    *,
    edge_labels: Sequence[str] | None = None,
    title: str,
    x_label: str,
    noun: str,
    width: float,
    height: float,
    empty_message: str,
    describe: str,
    y_max: int = 0,
) -> Histogram:
    for count in counts:
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"histogram counts must be whole numbers >= 0, got {count!r}")
    total = sum(counts)
    pcts = percentages(list(counts))
    rows = tuple(zip(labels, counts, pcts))
    y_label = f"{noun[:1].upper()}{noun[1:]}"
    if total == 0:
        plot = Plot(left=40, top=14, right=width - 8, bottom=height - 34)
        return Histogram(
            width, height, plot, (), (), (), x_label, y_label, 0, title, empty_message, rows, True, empty_message
        )
    y_values = _count_steps(max(max(counts), y_max))
    x_texts = list(labels if edge_labels is None else edge_labels)
    # The y tick labels sit between the rotated axis title and the axis, however many digits they
    # have; the first and last x labels, centred on the plot's edges at worst, stay in the chart.
    x_overhang = max(tick_label_px(text) for text in x_texts) / 2 + 2
    plot = Plot(
        left=max(Y_TITLE_RIGHT + max(tick_label_px(str(v)) for v in y_values) + TICK_GAP, x_overhang),
        top=14,
        right=width - max(8, x_overhang),
        bottom=height - 34,
    )
    y_top = y_values[-1]
    y_ticks = tuple(Tick(round(plot.bottom - plot.height * v / y_top, 2), str(v)) for v in y_values)
    slot = plot.width / len(counts)
    gap = min(6.0, slot * 0.15)
    bars = []
    for i, (label, count, pct) in enumerate(rows):
        bar_height = plot.height * count / y_top
        bars.append(
            HistogramBar(
                label=label,
                count=count,
                percent=pct,
                x=round(plot.left + i * slot + gap / 2, 2),
                y=round(plot.bottom - bar_height, 2),
                width=round(slot - gap, 2),
                height=round(bar_height, 2),
                title=f"{describe} {label}: {_plural(count, noun)} ({pct}%)",
            )
        )
    if edge_labels is None:
        ticks = [Tick(b.center_x, b.label) for b in bars]
    else:
        ticks = [Tick(round(plot.left + i * slot, 2), text) for i, text in enumerate(edge_labels)]
    widest = max(tick_label_px(t.label) for t in ticks) + 6
    x_ticks = _thin(ticks, widest)
    mode = max(rows, key=lambda r: r[1])
    summary = f"{_plural(total, noun)}; most common {describe.lower()} {mode[0]} ({mode[1]}, {mode[2]}%)."
    return Histogram(
        width,
        height,
        plot,
        tuple(bars),
        y_ticks,
        x_ticks,
        x_label,
        y_label,
        total,
        title,
        summary,
        rows,
        False,
        empty_message,
    )


def integer_histogram(
    counts: Mapping[int, int],
    *,
    title: str = "Ring count",
    x_label: str = "Rings",
    noun: str = "samples",
    width: float = 320,
    height: float = 180,
    empty_message: str = "No samples yet",
    low: int | None = None,
    high: int | None = None,
    y_max: int = 0,
) -> Histogram:
    """One bar per whole number from the smallest to the largest key, gaps drawn as zero bars.

    ``low``/``high`` widen the range (e.g. to a profile's ring limits) and ``y_max`` raises the
    count axis, so that two histograms shown side by side share their axes.
    """
    clean = {int(k): v for k, v in counts.items() if v}
    if not clean:
        return _histogram(
            [],
            [],
            title=title,
            x_label=x_label,
            noun=noun,
            width=width,
            height=height,
            empty_message=empty_message,
            describe=x_label,
        )
    low = min(clean) if low is None else min(low, min(clean))
    high = max(clean) if high is None else max(high, max(clean))
    keys = list(range(low, high + 1))
    return _histogram(
        [str(k) for k in keys],
        [clean.get(k, 0) for k in keys],
        title=title,
        x_label=x_label,
        noun=noun,
        width=width,
        height=height,
        empty_message=empty_message,
        describe=x_label,
        y_max=y_max,
    )


def binned_histogram(
    edges: Sequence[float],
    counts: Sequence[int],
    *,
    title: str = "Total width",
    x_label: str = "Total width (mm)",
    noun: str = "samples",
    decimals: int = 1,
    width: float = 320,
    height: float = 180,
    empty_message: str = "No samples yet",
    y_max: int = 0,
) -> Histogram:
    """Numeric bins: ``edges`` has one more item than ``counts`` (bin i is edges[i]..edges[i+1]);
    ``y_max`` raises the count axis to share it with another histogram."""
    if len(edges) != len(counts) + 1:
        raise ValueError(f"need len(edges) == len(counts) + 1, got {len(edges)} edges and {len(counts)} counts")
    # One bin of no width: a profile whose bounds allow a single value (total 3.00-3.00 mm), drawn
    # as one bar labelled with that value.
    single = len(counts) == 1 and edges[0] == edges[1]
    if not single and any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError("bin edges must increase")
    labels = [f"{a:.{decimals}f}" if single else f"{a:.{decimals}f}–{b:.{decimals}f}" for a, b in zip(edges, edges[1:])]
    return _histogram(
        labels,
        list(counts),
        edge_labels=None if single else [f"{e:.{decimals}f}" for e in edges],
        title=title,
        x_label=x_label,
        noun=noun,
        width=width,
        height=height,
        empty_message=empty_message,
        describe=title,
        y_max=y_max,
    )


# ---------------------------------------------------------------------------------------------
# Rate over days: line, optional confidence band, vertical change markers


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
            upper = [f"{_num(x_of(p.day))},{_num(y_of(p.high))}" for p in current_band]  # type: ignore[arg-type]
            lower = [f"{_num(x_of(p.day))},{_num(y_of(p.low))}" for p in reversed(current_band)]  # type: ignore[arg-type]
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
            current_line.append(f"{_num(x)},{_num(y)}")
            interval = (
                f", 95% interval {_pct(p.low)}–{_pct(p.high)}" if p.low is not None and p.high is not None else ""
            )
            dots.append(
                Dot(
                    round(x, 2), round(y, 2), f"{p.day.isoformat()}: {_pct(p.rate)} ({_plural(p.runs, noun)}){interval}"
                )
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
    for m, moment in shown:
        x = min(max(x_of(moment), plot.left), plot.right)
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
        when_text = moment.strftime("%Y-%m-%d %H:%M") if isinstance(m.when, datetime) else moment.strftime("%Y-%m-%d")
        marker_lines.append(
            MarkerLine(
                x=round(x, 2),
                label=label,
                label_x=round(x + 3 if anchor == "start" else x - 3, 2),
                label_y=round(11 + 14 * row, 2),
                anchor=anchor,
                title=f"{m.label} ({when_text})",
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
        f"{last.isoformat()}, {_plural(total_runs, noun)}"
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


# ---------------------------------------------------------------------------------------------
# Scores over a run's attempts: each attempt a dot in its bucket's colour, the best so far as a
# step line. No coloured score bands behind them: an attempt's bucket is its worst check's, not
# a range of its score, so a band would tell a RED attempt scored 85 that it is GREEN.


@dataclass(frozen=True)
class ScoreDot:
    index: int  # the attempt's 1-based index
    x: float
    y: float
    bucket: str
    selected: bool
    title: str
    href: str


@dataclass(frozen=True)
class ScoreChart:
    width: float
    height: float
    plot: Plot
    dots: tuple[ScoreDot, ...]
    best: str  # SVG polyline points of the best score so far ("" for one attempt)
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    threshold_y: float | None  # the run's minimum acceptable score, when it had one
    threshold_label: str
    dot_r: float
    title: str
    summary: str
    empty: bool
    empty_message: str


def attempt_score_chart(
    attempts: Sequence[tuple[int, float, str]],
    *,
    selected: int | None = None,
    threshold: float | None = None,
    href: str = "#attempt-{index}",
    width: float = 640,
    height: float = 170,
    empty_message: str = "No attempts recorded",
) -> ScoreChart:
    """``attempts`` as (index, score 0-100, bucket), in any order; ``selected`` is the index of the
    attempt the run selected. ``href`` links each dot (``{index}`` is filled in)."""
    plot = Plot(left=34, top=8, right=width - 10, bottom=height - 22)
    y_ticks = tuple(Tick(round(plot.bottom - plot.height * v / 100, 2), str(v)) for v in (0, 50, 80, 100))
    ordered = sorted(attempts, key=lambda a: a[0])
    for index, score, bucket in ordered:
        if not 0 <= score <= 100:
            raise ValueError(f"attempt {index}: score must be 0-100, got {score!r}")
        if bucket.upper() not in RISK_BUCKETS:
            raise ValueError(f"attempt {index}: unknown risk bucket {bucket!r}")

    def y_of(score: float) -> float:
        return round(plot.bottom - plot.height * score / 100, 2)

    if not ordered:
        return ScoreChart(
            width,
            height,
            plot,
            (),
            "",
            y_ticks,
            (),
            None,
            "",
            3,
            "Score per attempt",
            empty_message,
            True,
            empty_message,
        )

    first, last = ordered[0][0], ordered[-1][0]
    span = last - first

    def x_of(index: int) -> float:
        if span == 0:
            return plot.center_x
        return round(plot.left + plot.width * (index - first) / span, 2)

    dots = tuple(
        ScoreDot(
            index=index,
            x=x_of(index),
            y=y_of(score),
            bucket=bucket.upper(),
            selected=index == selected,
            title=f"Attempt {index}: {score:.1f}, {bucket.upper()}" + (" (selected)" if index == selected else ""),
            href=href.format(index=index),
        )
        for index, score, bucket in ordered
    )
    best_points: list[str] = []
    best = -1.0
    for index, score, _ in ordered:
        if score > best:
            if best >= 0:
                best_points.append(f"{_num(x_of(index))},{_num(y_of(best))}")
            best = score
            best_points.append(f"{_num(x_of(index))},{_num(y_of(best))}")
    best_points.append(f"{_num(x_of(last))},{_num(y_of(best))}")
    labels = [Tick(x_of(index), str(index)) for index, _, _ in ordered]
    x_ticks = _thin(labels, 26)
    if x_ticks and x_ticks[-1].label != labels[-1].label and labels[-1].position - x_ticks[-1].position >= 26:
        x_ticks = (*x_ticks, labels[-1])
    counts = {b: sum(1 for _, _, bucket in ordered if bucket.upper() == b) for b in RISK_BUCKETS}
    scores = [score for _, score, _ in ordered]
    chosen = next((score for index, score, _ in ordered if index == selected), None)
    summary = (
        f"{_plural(len(ordered), 'attempts')}, scores {min(scores):.1f} to {max(scores):.1f}; "
        + ", ".join(f"{counts[b]} {b}" for b in RISK_BUCKETS)
        + (
            f"; the run selected attempt {selected} ({chosen:.1f})."
            if chosen is not None
            else "; no attempt was selected."
        )
    )
    return ScoreChart(
        width=width,
        height=height,
        plot=plot,
        dots=dots,
        best=" ".join(best_points) if len(ordered) > 1 else "",
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        threshold_y=y_of(threshold) if threshold is not None and 0 <= threshold <= 100 else None,
        threshold_label=f"min {threshold:g}" if threshold is not None else "",
        dot_r=3.5 if len(ordered) <= 60 else 2.5,
        title="Score per attempt",
        summary=summary,
        empty=False,
        empty_message=empty_message,
    )


# ---------------------------------------------------------------------------------------------
# Rosette: concentric rings of a candidate, inner ring first

#: Natural colours for the catalog's materials (by the name after "wood:" / "shell:").
MATERIAL_COLOURS: dict[str, str] = {
    "ebony": "#2b2523",
    "rosewood": "#5a3222",
    "mahogany": "#7b3f2a",
    "walnut": "#5c4332",
    "padauk": "#b5482d",
    "maple-hard": "#e8d6b0",
    "maple-flamed": "#d9b97e",
    "holly": "#f3eee2",
    "abalone-paua": "#3c7d8a",
    "abalone-green": "#4f8a6a",
    "mother-of-pearl": "#e6e1ee",
}
#: Other keys get one of these, chosen by a hash of the key (stable across runs and processes).
FALLBACK_COLOURS: tuple[str, ...] = (
    "#8c6d4f",
    "#a8845c",
    "#6b7f4e",
    "#4d6b85",
    "#8a5a6b",
    "#b39a6b",
    "#5f5a53",
    "#9a7b3f",
)
PATTERNS: tuple[str, ...] = ("solid", "mosaic", "segmented")


def material_colour(key: str) -> str:
    name = key.split(":", 1)[-1].strip().lower()
    if name in MATERIAL_COLOURS:
        return MATERIAL_COLOURS[name]
    return FALLBACK_COLOURS[zlib.crc32(key.encode("utf-8")) % len(FALLBACK_COLOURS)]


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _luminance(colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _mix(colour: str, other: str, amount: float) -> str:
    a, b = _rgb(colour), _rgb(other)
    return "#" + "".join(f"{round(x + (y - x) * amount):02x}" for x, y in zip(a, b))


def contrast_colour(colour: str) -> str:
    """A second tone for tiles and wedges: darker for light materials, lighter for dark ones."""
    return _mix(colour, "#000000", 0.35) if _luminance(colour) > 0.35 else _mix(colour, "#ffffff", 0.45)


def _sector(cx: float, cy: float, r_in: float, r_out: float, a0: float, a1: float) -> str:
    """An annular sector between angles a0 < a1 (radians, clockwise from 12 o'clock)."""

    def point(r: float, a: float) -> str:
        return f"{_num(cx + r * math.sin(a))},{_num(cy - r * math.cos(a))}"

    large = 1 if a1 - a0 > math.pi else 0
    return (
        f"M{point(r_out, a0)} A{_num(r_out)},{_num(r_out)} 0 {large} 1 {point(r_out, a1)} "
        f"L{point(r_in, a1)} A{_num(r_in)},{_num(r_in)} 0 {large} 0 {point(r_in, a0)} Z"
    )


def _annulus(cx: float, cy: float, r_in: float, r_out: float) -> str:
    """A full ring as two circles (draw with fill-rule evenodd)."""

    def circle(r: float) -> str:
        return (
            f"M{_num(cx + r)},{_num(cy)} A{_num(r)},{_num(r)} 0 1 0 {_num(cx - r)},{_num(cy)} "
            f"A{_num(r)},{_num(r)} 0 1 0 {_num(cx + r)},{_num(cy)} Z"
        )

    return circle(r_out) + " " + circle(r_in)


@dataclass(frozen=True)
class RosetteRing:
    index: int  # 1 = innermost
    width_mm: float
    pattern: str
    material_key: str
    inner_r: float
    outer_r: float
    fill: str
    base_d: str  # the whole ring in ``fill``
    detail_d: str  # wedges or tiles in ``detail_fill`` ("" for solid)
    detail_fill: str
    pieces: int  # wedges or tiles drawn
    title: str


@dataclass(frozen=True)
class Rosette:
    size: float
    center: float
    hole_r: float
    rings: tuple[RosetteRing, ...]
    boundaries: tuple[float, ...]  # radii of the lines between rings (and the outer edge)
    legend: tuple[tuple[str, str], ...]  # (material key, colour) in order of first use
    ring_count: int
    total_width_mm: float
    title: str
    summary: str
    empty: bool
    empty_message: str


def rosette(
    candidate: Mapping[str, Any],
    *,
    size: float = 180,
    band_fraction: float = 0.4,
    empty_message: str = "No candidate to draw",
) -> Rosette:
    """Draw a candidate ``{rings: [{width_mm, pattern, material_key}], ...}``, inner ring first.

    Not to scale: the soundhole is drawn so that the rings take ``band_fraction`` of the radius
    whatever their total width, which keeps thin rosettes readable. Ring widths stay exact
    relative to each other; the summary states the real widths.
    """
    raw_rings = list(candidate.get("rings") or [])
    center = size / 2
    rings_in: list[tuple[float, str, str]] = []
    for i, ring in enumerate(raw_rings, start=1):
        try:
            width_mm = float(ring["width_mm"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"ring {i} has no numeric width_mm") from None
        if not math.isfinite(width_mm) or width_mm <= 0:
            raise ValueError(f"ring {i} width_mm must be > 0, got {ring['width_mm']!r}")
        rings_in.append((width_mm, str(ring.get("pattern") or "solid"), str(ring.get("material_key") or "")))
    total_mm = sum(w for w, _, _ in rings_in)
    if not rings_in:
        return Rosette(size, center, 0, (), (), (), 0, 0.0, "Rosette", empty_message, True, empty_message)

    outer = center * 0.94  # a little of the top shows around the rosette
    hole = outer * (1 - band_fraction)
    scale = (outer - hole) / total_mm
    rings: list[RosetteRing] = []
    legend: dict[str, str] = {}
    radius = hole
    for index, (width_mm, pattern, material) in enumerate(rings_in, start=1):
        r_in, r_out = radius, radius + width_mm * scale
        radius = r_out
        fill = material_colour(material) if material else "#b9b2a6"
        legend.setdefault(material or "(no material)", fill)
        detail_fill = contrast_colour(fill)
        ring_px = r_out - r_in
        r_mid = (r_in + r_out) / 2
        detail: list[str] = []
        pieces = 0
        if pattern == "segmented":
            # Wedges about three ring-widths long, an even number so the tones alternate.
            count = max(8, min(48, 2 * round(math.tau * r_mid / max(ring_px * 3, 4) / 2)))
            step = math.tau / count
            detail = [_sector(center, center, r_in, r_out, k * step, (k + 1) * step) for k in range(1, count, 2)]
            pieces = count
        elif pattern == "mosaic":
            rows = 2 if ring_px >= 5 else 1
            tile = ring_px / rows
            count = max(12, min(120, 2 * round(math.tau * r_mid / max(tile, 2) / 2)))
            step = math.tau / count
            for row in range(rows):
                t_in, t_out = r_in + row * tile, r_in + (row + 1) * tile
                detail.extend(
                    _sector(center, center, t_in, t_out, k * step, (k + 1) * step) for k in range(row % 2, count, 2)
                )
            pieces = count * rows
        rings.append(
            RosetteRing(
                index=index,
                width_mm=width_mm,
                pattern=pattern,
                material_key=material,
                inner_r=round(r_in, 2),
                outer_r=round(r_out, 2),
                fill=fill,
                base_d=_annulus(center, center, r_in, r_out),
                detail_d=" ".join(detail),
                detail_fill=detail_fill,
                pieces=pieces,
                title=f"Ring {index}: {width_mm:.2f} mm {pattern}, {material or 'no material'}",
            )
        )
    boundaries = tuple(round(r.outer_r, 2) for r in rings)
    described = "; ".join(f"{r.width_mm:.2f} mm {r.pattern} {r.material_key or 'no material'}" for r in rings)
    summary = (
        f"{len(rings)} ring{'s' if len(rings) != 1 else ''}, {total_mm:.2f} mm in total, inner to outer: {described}."
    )
    return Rosette(
        size=size,
        center=center,
        hole_r=round(hole, 2),
        rings=tuple(rings),
        boundaries=boundaries,
        legend=tuple(legend.items()),
        ring_count=len(rings),
        total_width_mm=round(total_mm, 2),
        title=f"Rosette: {len(rings)} ring{'s' if len(rings) != 1 else ''}, {total_mm:.2f} mm",
        summary=summary,
        empty=False,
        empty_message=empty_message,
    )
