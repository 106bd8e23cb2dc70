"""A difference of success rates with its 95% interval, on an axis through 0 (DESIGN §9: "the
stratified verdict with its interval drawn"), with the crude difference marked beside it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from dashboard.charts.common import svg_number

PAD = 14  # room for the end tick labels


@dataclass(frozen=True)
class IntervalChart:
    title: str
    summary: str
    width: int
    height: int
    empty: bool
    empty_message: str
    verdict: str
    zero_x: str = "0"
    low_x: str = "0"
    high_x: str = "0"
    point_x: str = "0"
    crude_x: str | None = None
    axis_y: str = "0"
    ticks: tuple[tuple[str, str], ...] = ()  # (x, label)


def _pp(value: float) -> str:
    return f"{value * 100:+.0f}" if value else "0"


def difference_chart(
    *,
    difference: float | None,
    ci95: list[float] | tuple[float, float] | None,
    crude: float | None,
    verdict: str,
    label: str,
    width: int = 220,
    height: int = 40,
) -> IntervalChart:
    """The interval as a bar, the estimate as a dot, 0 as a line, the crude difference as a
    hollow mark: a range of ±N points, N the smallest multiple of 10 that holds them all."""
    if difference is None or ci95 is None:
        return IntervalChart(
            title=label, summary="", width=width, height=height, empty=True,
            empty_message="no interval: " + verdict.replace("_", " "), verdict=verdict,
        )  # fmt: skip
    values = [abs(v) for v in (*ci95, difference, crude or 0.0)]
    reach = max(0.1, math.ceil(max(values) * 10 - 1e-9) / 10)
    left, right = PAD, width - PAD

    def x(value: float) -> str:
        return svg_number(left + (value + reach) / (2 * reach) * (right - left))

    low, high = ci95
    summary = (
        f"{label}: {difference * 100:+.1f} points of success within contexts, 95% interval "
        f"{low * 100:+.1f} to {high * 100:+.1f}"
        + (f"; crude {crude * 100:+.1f} points" if crude is not None else "")
        + f"; {verdict.replace('_', ' ')}"
    )
    return IntervalChart(
        title=label,
        summary=summary,
        width=width,
        height=height,
        empty=False,
        empty_message="",
        verdict=verdict,
        zero_x=x(0.0),
        low_x=x(low),
        high_x=x(high),
        point_x=x(difference),
        crude_x=x(crude) if crude is not None else None,
        axis_y=svg_number(height - 12),
        ticks=((x(-reach), _pp(-reach)), (x(0.0), "0"), (x(reach), _pp(reach))),
    )
