"""The numbers analytics reports, from the additive counts the aggregates keep.

Every definition - formula and reason - is written once, in docs/analytics.md; the statistics
themselves (intervals, the comparison of versions) are :mod:`analytics.stats`. This module turns
a :class:`Counts` into those numbers (:meth:`Counts.summary`) and scores hotspots
(:func:`hotspot`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from analytics.stats import failure_lower_bound, mean_interval, wilson_interval
from engine.search import REASONS, SUCCESS_REASONS
from rmos_site.present import utc_iso

# The outcome vocabulary is the search loop's (engine.search); the aggregates have a column for
# each reason (analytics.models, checked by a test).
FAILURE_REASONS = tuple(reason for reason in REASONS if reason not in SUCCESS_REASONS)
BUCKETS = ("GREEN", "YELLOW", "RED")


def wilson(successes: float, n: float) -> tuple[float, float] | None:
    """The 95% Wilson interval of ``successes`` out of ``n`` (None when n is 0)."""
    return wilson_interval(successes=successes, n=n)


@dataclass
class Counts:
    """The additive counts the aggregates keep; every metric above derives from them."""

    runs: int = 0
    green_found: int = 0
    acceptable_found: int = 0
    budget_exhausted: int = 0
    timeout: int = 0
    no_candidates: int = 0
    attempts_reported: int = 0  # sum of the runs' own attempt counts
    scored_runs: int = 0  # runs with a selected score
    selected_score_sum: float = 0.0
    success_score_sum: float = 0.0  # selected scores of the successful runs
    risk_runs: int = 0  # runs with at least one attempt row
    red_share_sum: float = 0.0  # Σ of each such run's RED share of its attempts
    red_share_sq_sum: float = 0.0  # Σ of its square
    attempts: int = 0  # attempt rows
    green: int = 0
    yellow: int = 0
    red: int = 0
    acceptable: int = 0
    score_sum: float = 0.0
    last_run_at: datetime | None = None

    def add(self, other: Counts | dict[str, Any]) -> Counts:
        get = other.get if isinstance(other, dict) else other.__getattribute__
        for name in ADDITIVE:
            setattr(self, name, getattr(self, name) + (get(name) or 0))
        last = get("last_run_at")
        if last is not None and (self.last_run_at is None or last > self.last_run_at):
            self.last_run_at = last
        return self

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in (*ADDITIVE, "last_run_at")}

    @property
    def successes(self) -> int:
        return self.green_found + self.acceptable_found

    @property
    def failures(self) -> int:
        return self.runs - self.successes

    def red_per_run(self):
        """The mean over runs of each run's RED share, with its 95% interval over runs
        (:func:`analytics.stats.mean_interval`)."""
        return mean_interval(n=self.risk_runs, total=self.red_share_sum, total_sq=self.red_share_sq_sum)

    def summary(self) -> dict[str, Any]:
        """The defined metrics, JSON-ready."""
        red = self.red_per_run()
        return {
            "runs": self.runs,
            "successes": self.successes,
            "success_rate": _ratio(self.successes, self.runs),
            "success_rate_ci": _interval(self.successes, self.runs),
            "avg_attempts": _mean(self.attempts_reported, self.runs),
            "avg_selected_score": _mean(self.success_score_sum, self.successes),
            "avg_failed_best_score": _mean(
                self.selected_score_sum - self.success_score_sum, self.scored_runs - self.successes
            ),
            "outcomes": {reason: getattr(self, reason) for reason in REASONS},
            "attempts": self.attempts,
            "risk": {
                bucket: {
                    "count": getattr(self, bucket.lower()),
                    "share": _ratio(getattr(self, bucket.lower()), self.attempts),
                }
                for bucket in BUCKETS
            },
            "red_share": _ratio(red.mean, 1) if red.mean is not None else None,
            "red_share_ci": _rounded(red.ci95),
            "red_share_runs": red.n,
            "last_run": utc_iso(self.last_run_at) if self.last_run_at else None,
        }


ADDITIVE = tuple(f.name for f in fields(Counts) if f.name != "last_run_at")


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(total: float, n: int) -> float | None:
    """``total / n`` to three decimals, halves rounded up. The total is a float sum whose last bits
    depend on the order it was added in (per day, per context, in full); rounding it to 9 decimals
    first makes 783.1 / 8 come out 97.888 whichever way it was summed, not 97.887 one way."""
    if not n:
        return None
    exact = Decimal(repr(round(total, 9))) / n
    return float(exact.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def _interval(k: int, n: int) -> list[float] | None:
    return _rounded(wilson(k, n))


def _rounded(bounds: tuple[float, float] | None) -> list[float] | None:
    return [round(bounds[0], 4), round(bounds[1], 4)] if bounds else None


# -- hotspots ----------------------------------------------------------------------------------


@dataclass
class Hotspot:
    score: float
    counts: Counts
    reasons: list[str] = field(default_factory=list)


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _interval_text(bounds: tuple[float, float]) -> str:
    """The 95% interval as the analytics table shows it ("62–79%"): Wilson intervals are not
    symmetric, so a "±" would be wrong on one side (0 of 7 is "0–35%", not "0% ±18%")."""
    low, high = bounds
    return f"{low * 100:.0f}–{high * 100:.0f}%"


def hotspot_score(lower_bound: float) -> float:
    """The hotspot score from the failure rate's lower bound (:func:`analytics.stats.failure_lower_bound`)."""
    return round(100 * lower_bound, 1)


def hotspot(counts: Counts, score: float | None = None) -> Hotspot:
    """Score a context on outcome and say why in words (docs/analytics.md, "hotspot score").

    ``score``, when given, is this context's :func:`hotspot_score`, already computed for many
    contexts at once."""
    if score is None:
        score = hotspot_score(failure_lower_bound(failures=counts.failures, runs=counts.runs))
    reasons = []
    if counts.runs:
        reasons.append(
            f"success {_percent(counts.successes / counts.runs)} "
            f"(95% interval {_interval_text(wilson(counts.successes, counts.runs))}) over {_count(counts.runs, 'run')}"  # type: ignore[arg-type]
        )
    red = counts.red_per_run()
    if red.mean is not None and red.ci95 is not None:
        reasons.append(
            f"RED share {_percent(red.mean)} of a run's attempts on average "
            f"(95% interval {_interval_text(red.ci95)}) over {_count(red.n, 'run')}"
        )
    if counts.failures:
        worst = max(FAILURE_REASONS, key=lambda reason: getattr(counts, reason))
        reasons.append(f"most failures: {worst.replace('_', ' ')} ({getattr(counts, worst):,} of {counts.failures:,})")
    return Hotspot(score, counts, reasons)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")
