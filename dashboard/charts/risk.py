"""Risk mix: one horizontal bar split GREEN / YELLOW / RED."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dashboard.charts.common import CHAR_PX, NO_RUNS, RISK_BUCKETS, percent_text, percentages, plural


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
        title = f"{bucket}: {count} of {plural(total, noun)} ({shown})"
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
    summary = f"{plural(total, noun)}: {parts}" if total else empty_message
    return RiskMixBar(
        width=width,
        height=height,
        total=total,
        noun=noun,
        segments=tuple(segments),
        legend=tuple(legend),
        title=f"Risk mix of {plural(total, noun)}",
        summary=summary,
        empty=total == 0,
        empty_message=empty_message,
    )
