"""What the analytics numbers mean: every definition, written once (docs/analytics.md quotes it).

All numbers are computed from the runs and attempts that match the request's filters (the same
rows ``GET /api/rmos/logs/ai/runs`` and ``…/attempts`` list with those filters), grouped as the
endpoint says. A user can check each of them by hand from the log:

runs
    The number of runs.
successes, success rate
    A run succeeded when its ``reason`` is ``green_found`` or ``acceptable_found`` (then
    ``success`` is true). success rate = successes / runs; none when there are no runs.
95% Wilson interval
    Of k successes out of n runs: :func:`analytics.stats.wilson_interval`, where its formula and
    reason are written.
average attempts per run
    The sum of each run's ``attempts`` (the count it reports) divided by runs.
average selected score
    The mean ``selected_score`` of the runs that selected a candidate (runs with none, e.g.
    ``no_candidates``, are left out); none when no run selected one.
risk distribution
    Counted over attempts, not runs: the number of attempts whose ``risk_bucket`` is GREEN,
    YELLOW and RED, and each count's share of all attempts. (An attempt event that arrived
    before its run summary is counted under its own context from the start, and under its run's
    profile once the summary arrives.)
RED share interval
    The Wilson interval of the RED share, with the number of *runs* as the sample size (or the
    number of attempts when that is smaller): the attempts of one run are not independent draws
    - a context that is hard stays hard for the whole run - so counting each attempt as fresh
    evidence would make the interval far too narrow.
last run
    The latest run ``timestamp``.
hotspot score
    For a context with at least ``min_runs`` runs, the larger of two 95% Wilson *lower* bounds:
    of the failure rate (failures / runs, :func:`analytics.stats.failure_lower_bound`) and of the
    RED share (as above), times 100. A lower bound is what the data supports at least, so 3 failures out of 3 (lower bound
    44%) ranks below 400 out of 500 (76%): small samples are not overrated, and at equal rates
    more evidence ranks higher. Ties go to more runs, then to the context in alphabetical order.
    Each hotspot lists its reasons in words: the success rate and the RED share with their 95%
    intervals and sample sizes, and the most frequent way its runs failed.
per-version deltas
    For each version of a profile, the runs resolved to that version (and their attempts), with
    the numbers above; the delta of a version is its value minus the previous version's (success
    rate and RED share as fractions, so 0.05 is 5 percentage points; average score in points). The verdict is
    ``better`` or ``worse`` only when the two 95% Wilson intervals of the success rate do not
    overlap, else ``unclear``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from analytics.stats import failure_lower_bound, wilson_interval
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

    def red_interval(self) -> tuple[float, float] | None:
        """The RED share's Wilson interval, with min(runs, attempts) as the sample size."""
        if not self.attempts:
            return None
        n = min(self.runs, self.attempts) if self.runs else self.attempts
        return wilson(self.red / self.attempts * n, n)

    def summary(self) -> dict[str, Any]:
        """The defined metrics, JSON-ready."""
        return {
            "runs": self.runs,
            "successes": self.successes,
            "success_rate": _ratio(self.successes, self.runs),
            "success_rate_ci": _interval(self.successes, self.runs),
            "avg_attempts": _mean(self.attempts_reported, self.runs),
            "avg_selected_score": _mean(self.selected_score_sum, self.scored_runs),
            "outcomes": {reason: getattr(self, reason) for reason in REASONS},
            "attempts": self.attempts,
            "risk": {
                bucket: {
                    "count": getattr(self, bucket.lower()),
                    "share": _ratio(getattr(self, bucket.lower()), self.attempts),
                }
                for bucket in BUCKETS
            },
            "red_share_ci": _rounded(self.red_interval()),
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


def hotspot(counts: Counts) -> Hotspot:
    """Score a context (see the module docstring) and say why in words."""
    red = counts.red_interval()
    failure_low = failure_lower_bound(failures=counts.failures, runs=counts.runs)
    red_low = red[0] if red else 0.0
    score = round(100 * max(failure_low, red_low), 1)
    reasons = []
    red_reason = (
        f"RED share {_percent(counts.red / counts.attempts)} (95% interval {_interval_text(red)}) over {_count(counts.attempts, 'attempt')}"
        + (f" of {_count(counts.runs, 'run')}" if counts.runs else "")
        if red
        else None
    )
    success_reason = (
        f"success {_percent(counts.successes / counts.runs)} (95% interval {_interval_text(wilson(counts.successes, counts.runs))}) "  # type: ignore[arg-type]
        f"over {_count(counts.runs, 'run')}"
        if counts.runs
        else None
    )
    ordered = [red_reason, success_reason] if red_low >= failure_low else [success_reason, red_reason]
    reasons.extend(reason for reason in ordered if reason)
    if counts.failures:
        worst = max(FAILURE_REASONS, key=lambda reason: getattr(counts, reason))
        reasons.append(f"most failures: {worst.replace('_', ' ')} ({getattr(counts, worst):,} of {counts.failures:,})")
    return Hotspot(score, counts, reasons)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


# -- per-version deltas ----------------------------------------------------------------------


def version_delta(current: Counts, previous: Counts) -> dict[str, Any]:
    """The change from ``previous`` to ``current`` (see the module docstring)."""

    def diff(a: float | None, b: float | None, digits: int) -> float | None:
        return None if a is None or b is None else round(a - b, digits)

    now, before = current.summary(), previous.summary()
    verdict = "unclear"
    if current.runs and previous.runs:
        low_now, high_now = wilson(current.successes, current.runs)  # type: ignore[misc]
        low_before, high_before = wilson(previous.successes, previous.runs)  # type: ignore[misc]
        if low_now > high_before:
            verdict = "better"
        elif high_now < low_before:
            verdict = "worse"
    return {
        "success_rate": diff(now["success_rate"], before["success_rate"], 4),
        "avg_selected_score": diff(now["avg_selected_score"], before["avg_selected_score"], 3),
        "red_share": diff(now["risk"]["RED"]["share"], before["risk"]["RED"]["share"], 4),
        "verdict": verdict,
    }
