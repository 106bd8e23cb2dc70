"""A tuning job's charts (DESIGN §11): the objective of every trial with the best so far, and the
parameters' importances as horizontal bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dashboard.charts.common import CHAR_PX, Plot, Tick, svg_number

NO_TRIALS = "No trials yet."
NO_IMPORTANCES = "Importances need at least 10 feasible trials."


@dataclass(frozen=True)
class TrialDot:
    x: float
    y: float
    feasible: bool
    title: str


@dataclass(frozen=True)
class TrialChart:
    width: float
    height: float
    plot: Plot
    dots: tuple[TrialDot, ...]
    best_line: str  # polyline points of the best feasible objective so far (a step line)
    saved_y: float | None  # the saved values' objective
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    title: str
    summary: str
    empty: bool
    empty_message: str


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def trial_history_chart(
    history: Sequence[Mapping[str, Any]],
    *,
    saved: float | None = None,
    title: str = "Objective per trial",
    width: float = 640,
    height: float = 220,
) -> TrialChart:
    """Each trial's objective (a share, 0..1) as a dot (hollow when infeasible), the best feasible
    so far as a step line, and the saved values' objective as a dashed rule."""
    plot = Plot(left=48, top=12, right=width - 16, bottom=height - 26)
    finished = [h for h in history if h.get("objective") is not None]
    if not finished:
        return TrialChart(width, height, plot, (), "", None, (), (), title, NO_TRIALS, True, NO_TRIALS)
    values = [h["objective"] for h in finished] + ([saved] if saved is not None else [])
    low, high = min(values), max(values)
    if high - low < 0.02:  # a flat study still gets an axis a few points tall
        low, high = max(0.0, low - 0.01), min(1.0, high + 0.01)
        if high - low < 0.02:
            low, high = max(0.0, high - 0.02), max(0.02, high)
    last = max(h["trial"] for h in finished) or 1

    def x_of(trial: int) -> float:
        return round(plot.left + plot.width * trial / last, 2)

    def y_of(value: float) -> float:
        return round(plot.bottom - plot.height * (value - low) / (high - low), 2)

    dots = tuple(
        TrialDot(
            x_of(h["trial"]),
            y_of(h["objective"]),
            bool(h.get("feasible")),
            f"trial {h['trial']}: {_pct(h['objective'])}"
            + ("" if h.get("feasible") else " (infeasible: too few designs)"),
        )
        for h in finished
    )
    points: list[str] = []
    previous: float | None = None
    for h in sorted(finished, key=lambda h: h["trial"]):
        best = h.get("best_so_far")
        if best is None:
            continue
        if previous is not None and best != previous:
            points.append(f"{svg_number(x_of(h['trial']))},{svg_number(y_of(previous))}")
        points.append(f"{svg_number(x_of(h['trial']))},{svg_number(y_of(best))}")
        previous = best
    y_ticks = tuple(Tick(y_of(low + (high - low) * i / 4), _pct(low + (high - low) * i / 4)) for i in range(5))
    step = max(1, round(last / 5))
    x_ticks = tuple(Tick(x_of(t), str(t)) for t in range(0, last + 1, step))
    best_final = max((h["objective"] for h in finished if h.get("feasible")), default=None)
    summary = f"{len(finished)} trials; best feasible objective " + (
        _pct(best_final) if best_final is not None else "none"
    )
    if saved is not None:
        summary += f"; saved values {_pct(saved)}"
    return TrialChart(
        width,
        height,
        plot,
        dots,
        " ".join(points),
        y_of(saved) if saved is not None else None,
        y_ticks,
        x_ticks,
        title,
        summary + ".",
        False,
        "",
    )


@dataclass(frozen=True)
class ImportanceBar:
    label: str
    y: float
    width: float
    value_text: str


@dataclass(frozen=True)
class ImportanceChart:
    width: float
    height: float
    plot: Plot
    bars: tuple[ImportanceBar, ...]
    bar_height: float
    title: str
    summary: str
    empty: bool
    empty_message: str


def importance_chart(
    importances: Mapping[str, float], *, title: str = "Parameter importances", width: float = 640
) -> ImportanceChart:
    """One bar per parameter, most important first, its length its share of the importance."""
    ordered = sorted(importances.items(), key=lambda item: (-item[1], item[0]))
    label_px = max((len(name) for name, _ in ordered), default=10) * CHAR_PX + 12
    bar_height, gap = 16, 6
    height = 12 + len(ordered) * (bar_height + gap)
    plot = Plot(left=label_px, top=6, right=width - 56, bottom=height - 6)
    if not ordered:
        return ImportanceChart(width, 40, plot, (), bar_height, title, NO_IMPORTANCES, True, NO_IMPORTANCES)
    top = max(value for _, value in ordered) or 1
    bars = tuple(
        ImportanceBar(
            name,
            round(plot.top + i * (bar_height + gap), 2),
            round(plot.width * value / top, 2),
            f"{value * 100:.0f}%",
        )
        for i, (name, value) in enumerate(ordered)
    )
    summary = ", ".join(f"{name} {value * 100:.0f}%" for name, value in ordered[:3])
    return ImportanceChart(width, height, plot, bars, bar_height, title, f"Most important: {summary}.", False, "")
