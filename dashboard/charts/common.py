"""What every chart shares: label metrics, SVG numbers, percentages and the axes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

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


def svg_number(value: float) -> str:
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


def plural(count: int, noun: str) -> str:
    if count == 1 and noun.endswith("s"):
        return f"1 {noun[:-1]}"
    return f"{count} {noun}"


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


def count_steps(max_count: int) -> range:
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


def thin_ticks(ticks: list[Tick], min_gap: float) -> tuple[Tick, ...]:
    """Every k-th tick, k as small as keeps neighbouring labels ``min_gap`` apart."""
    if len(ticks) < 2:
        return tuple(ticks)
    spacing = ticks[1].position - ticks[0].position
    every = max(1, math.ceil(min_gap / spacing)) if spacing > 0 else 1
    return tuple(ticks[::every])
