"""Scores over a run's attempts: each attempt a dot in its bucket's colour, the best so far as a
step line. No coloured score bands behind them: an attempt's bucket is its worst check's, not
a range of its score, so a band would tell a RED attempt scored 85 that it is GREEN."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dashboard.charts.common import RISK_BUCKETS, Plot, Tick, plural, svg_number, thin_ticks


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
    ordered = sorted(attempts, key=lambda a: a[0])
    for index, score, bucket in ordered:
        if not 0 <= score <= 100:
            raise ValueError(f"attempt {index}: score must be 0-100, got {score!r}")
        if bucket.upper() not in RISK_BUCKETS:
            raise ValueError(f"attempt {index}: unknown risk bucket {bucket!r}")
    # The axis is scaled to the data (and the threshold): from a round ten below the lowest score
    # up to 100, so scores of 78-92 do not huddle in the top fifth of the plot.
    lowest = min([score for _, score, _ in ordered] + ([threshold] if threshold is not None else []), default=0.0)
    floor = max(0, int((lowest - 5) // 10) * 10)
    step = 10 if 100 - floor <= 50 else 20
    floor = max(0, 100 - -(-(100 - floor) // step) * step)  # whole steps up to 100: no crowded last tick

    def y_of(score: float) -> float:
        return round(plot.bottom - plot.height * (score - floor) / (100 - floor), 2)

    y_ticks = tuple(Tick(y_of(v), str(v)) for v in (*range(floor, 100, step), 100))

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
                best_points.append(f"{svg_number(x_of(index))},{svg_number(y_of(best))}")
            best = score
            best_points.append(f"{svg_number(x_of(index))},{svg_number(y_of(best))}")
    best_points.append(f"{svg_number(x_of(last))},{svg_number(y_of(best))}")
    labels = [Tick(x_of(index), str(index)) for index, _, _ in ordered]
    x_ticks = thin_ticks(labels, 26)
    if x_ticks and x_ticks[-1].label != labels[-1].label and labels[-1].position - x_ticks[-1].position >= 26:
        x_ticks = (*x_ticks, labels[-1])
    counts = {b: sum(1 for _, _, bucket in ordered if bucket.upper() == b) for b in RISK_BUCKETS}
    scores = [score for _, score, _ in ordered]
    chosen = next((score for index, score, _ in ordered if index == selected), None)
    summary = (
        f"{plural(len(ordered), 'attempts')}, scores {min(scores):.1f} to {max(scores):.1f}; "
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
