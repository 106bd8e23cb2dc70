"""Histograms: whole-number categories or numeric bins."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dashboard.charts.common import (
    TICK_GAP,
    Y_TITLE_RIGHT,
    Y_TITLE_X,
    Plot,
    Tick,
    count_steps,
    percentages,
    plural,
    thin_ticks,
    tick_label_px,
)


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
    y_values = count_steps(max(max(counts), y_max))
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
                title=f"{describe} {label}: {plural(count, noun)} ({pct}%)",
            )
        )
    if edge_labels is None:
        ticks = [Tick(b.center_x, b.label) for b in bars]
    else:
        ticks = [Tick(round(plot.left + i * slot, 2), text) for i, text in enumerate(edge_labels)]
    widest = max(tick_label_px(t.label) for t in ticks) + 6
    x_ticks = thin_ticks(ticks, widest)
    mode = max(rows, key=lambda r: r[1])
    summary = f"{plural(total, noun)}; most common {describe.lower()} {mode[0]} ({mode[1]}, {mode[2]}%)."
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
