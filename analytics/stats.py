"""The statistics behind the analytics: each definition once, with its formula, its reason and,
where it is a published formula, its citation (DESIGN §9).

Plain data in, plain data out: no Django here, so each statistic can be tested against an
independent computation and timed alone (tests/analytics/test_stats.py). What statsmodels and
scipy provide is called, not rewritten. They are imported inside the functions that use them:
importing statsmodels takes about a second, which every process (manage.py, each gunicorn worker,
the test run) would otherwise pay at start-up whether or not it computes a statistic.

All intervals are 95%: ``ALPHA`` is their two-sided error rate.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, NamedTuple

ALPHA = 0.05
Z95 = NormalDist().inv_cdf(1 - ALPHA / 2)  # 1.959964: the normal quantile of a two-sided 95% interval
DETECTABLE_DIFFERENCE = 0.05  # "a 5-point difference" (§9)
POWER = 0.8


def wilson_interval(*, successes: float, n: float) -> tuple[float, float] | None:
    """The 95% Wilson score interval of a success rate ``successes / n``; None when n is 0.

    With p = successes / n and z = 1.959964::

        centre = (p + z²/2n) / (1 + z²/n)
        half   = z · √(p(1 − p)/n + z²/4n²) / (1 + z²/n)
        interval = [centre − half, centre + half]

    (Wilson 1927; computed by statsmodels' ``proportion_confint(method="wilson")``.) Unlike the
    textbook p ± z·√(p(1 − p)/n) it stays inside [0, 1] and does not collapse to a point at 0/n or
    n/n, so small samples get the wide interval they deserve (Brown, Cai & DasGupta 2001).
    ``successes`` may be fractional (a share times a sample size).
    """
    if n <= 0:
        return None
    from statsmodels.stats.proportion import proportion_confint

    return proportion_confint(successes, n, alpha=ALPHA, method="wilson")


def failure_lower_bound(*, failures: int, runs: int) -> float:
    """What the evidence supports at least about a failure rate: the lower end of the 95% Wilson
    interval of ``failures / runs`` (so a one-sided 97.5% lower bound); 0 when there are no runs.

    Hotspots are ranked on it because it is volume-aware: 3 failures out of 3 (lower bound 0.44)
    rank below 400 out of 500 (0.76), and at equal rates more runs rank higher.
    """
    return failure_lower_bounds(failures=[failures], runs=[runs])[0]


def failure_lower_bounds(*, failures: Sequence[int], runs: Sequence[int]) -> list[float]:
    """:func:`failure_lower_bound` of many contexts in one vectorised statsmodels call (the same
    arithmetic element by element): hotspots score every context, and one call per context cost
    about 85 µs each."""
    if not runs:
        return []
    from numpy import asarray, maximum, where
    from statsmodels.stats.proportion import proportion_confint

    n = asarray(runs, dtype=float)
    low, _ = proportion_confint(asarray(failures, dtype=float), maximum(n, 1.0), alpha=ALPHA, method="wilson")
    return [float(value) for value in where(n > 0, low, 0.0)]


@dataclass(frozen=True)
class MeanInterval:
    n: int
    mean: float | None
    ci95: tuple[float, float] | None


def mean_interval(*, n: int, total: float, total_sq: float) -> MeanInterval:
    """The mean of a per-run share (e.g. each run's RED share of its attempts) over ``n`` runs, with
    a 95% interval over runs, from the sufficient statistics the aggregates keep: ``total`` = Σx
    and ``total_sq`` = Σx² of the per-run shares x.

    ::

        mean = Σx / n
        s²   = (Σx² − (Σx)²/n) / (n − 1)            (sample variance of the per-run shares)
        interval = mean ± t(0.975, n − 1) · s/√n     (Student t), clamped to [0, 1]

    Why runs and not attempts: the attempts of one run are not independent draws (a hard context
    stays hard for the whole run, and the search mutates its best candidate), so a Wilson interval
    over attempts counts correlated attempts as fresh evidence and is far too narrow; and averaging
    per-run shares weighs each run once, so long runs (those that exhaust their budget) do not
    dominate. Runs are the independent units, so the interval is the t interval of their mean.

    When the runs give no estimate of spread - one run, or every run with the same share - the t
    interval has no width (or no definition). Then the interval is the Wilson interval of
    mean · n out of n: a share in [0, 1] with mean m has variance at most m(1 − m) (Bhatia–Davis),
    which is what Wilson's interval assumes, so it is the conservative answer (1 run at 0 gives
    [0, 0.79], 10 runs at 0 give [0, 0.28]). No runs: no mean, no interval.
    """
    if n <= 0:
        return MeanInterval(n=0, mean=None, ci95=None)
    mean = total / n
    variance = (total_sq - total * total / n) / (n - 1) if n > 1 else 0.0
    if variance <= 1e-12:  # no spread (float cancellation can leave a few ulps of it)
        return MeanInterval(n=n, mean=mean, ci95=wilson_interval(successes=mean * n, n=n))
    # scipy.stats.t.ppf calls this special function after ~50 µs of argument checks; it runs per row.
    from scipy.special import stdtrit

    half = stdtrit(n - 1, 1 - ALPHA / 2) * math.sqrt(variance / n)
    return MeanInterval(n=n, mean=mean, ci95=(max(0.0, mean - float(half)), min(1.0, mean + float(half))))


# -- comparing two versions --------------------------------------------------------------------


class Stratum(NamedTuple):
    """One context's runs under versions A and B (successes ≤ runs, both ≥ 0)."""

    key: Hashable
    a_successes: int
    a_runs: int
    b_successes: int
    b_runs: int


def mantel_haenszel_difference(*, strata: Sequence[Stratum]) -> tuple[float, float]:
    """The Mantel–Haenszel pooled difference of success rates B − A over strata that both versions
    saw (every ``a_runs`` and ``b_runs`` > 0), and Sato's variance of it.

    For stratum i, with xA, xB successes out of nA, nB runs and N = nA + nB::

        w_i  = nA·nB / N
        RD   = Σ (xB·nA − xA·nB)/N  /  Σ w_i          (= Σ w_i·(xB/nB − xA/nA) / Σ w_i)
        P_i  = (nB²·xA − nA²·xB + nA·nB·(nA − nB)/2) / N²
        Q_i  = (xB·(nA − xA) + xA·(nB − xB)) / (2N)
        Var  = (RD·Σ P_i + Σ Q_i) / (Σ w_i)²

    The estimator is the Mantel–Haenszel risk difference (Greenland S, Robins JM, "Estimation of a
    common effect parameter from sparse follow-up data", Biometrics 1985;41:55–68). The variance is
    Sato's: Sato T, "On the variance estimator for the Mantel–Haenszel risk difference" (letter),
    Biometrics 1989;45(4):1323–1324 - the one Agresti uses (Categorical Data Analysis, 3rd ed.,
    2013, p. 231) and SAS PROC FREQ's COMMONRISKDIFF reports. Sato's rather than Greenland–Robins'
    variance because it stays consistent when there are many small strata, not only when every
    stratum is large, and a profile's runs spread over many contexts with few runs each. No library
    offers this estimator (statsmodels' StratifiedTable pools odds and risk ratios only);
    tests/analytics/test_stats.py checks it against Agresti's worked example.

    The variance is 0 exactly when, in every stratum, each version's runs all had the same outcome.
    """
    weight = numerator = p_sum = q_sum = 0.0
    for _, xa, na, xb, nb in strata:
        n = na + nb
        weight += na * nb / n
        numerator += (xb * na - xa * nb) / n
        p_sum += (nb * nb * xa - na * na * xb + na * nb * (na - nb) / 2) / (n * n)
        q_sum += (xb * (na - xa) + xa * (nb - xb)) / (2 * n)
    difference = numerator / weight
    return difference, (difference * p_sum + q_sum) / (weight * weight)


@dataclass(frozen=True)
class Comparison:
    """Version A → B: the shape of one entry of ``comparisons`` in the profile-versions API."""

    method: str
    strata: int
    runs: tuple[int, int]
    difference: float | None
    ci95: tuple[float, float] | None
    p_value: float | None
    crude_difference: float | None
    verdict: str
    runs_needed: tuple[int, int] | None
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "strata": self.strata,
            "runs": list(self.runs),
            "difference": self.difference,
            "ci95": list(self.ci95) if self.ci95 else None,
            "p_value": self.p_value,
            "crude_difference": self.crude_difference,
            "verdict": self.verdict,
            "runs_needed": list(self.runs_needed) if self.runs_needed else None,
            "note": self.note,
        }


def compare(*, strata: Iterable[Stratum | tuple], labels: tuple[str, str] = ("A", "B")) -> Comparison:
    """Did the change from version A to version B help? A comparison that survives a change of
    traffic (DESIGN §9).

    ``strata`` holds one row per context (tool, material, machine, workflow mode, geometry engine)
    with each version's successes and runs there; ``labels`` name the versions in the note.

    - ``strata`` / ``runs``: the contexts both versions saw (a context where one version has no
      runs is not shared) and the runs [A, B] in them.
    - ``difference``, ``ci95``: the Mantel–Haenszel pooled difference of success rates B − A over
      the shared contexts with its 95% interval, difference ± 1.96·√(Sato variance) clamped to
      [−1, 1] (:func:`mantel_haenszel_difference`). It compares like with like: each context's
      difference, weighted by how many runs of both versions it holds, so a version is not judged
      by whether its traffic was easy or hard (Simpson's paradox).
    - ``p_value``: the Cochran–Mantel–Haenszel test of "no difference in any context" (statsmodels
      ``StratifiedTable.test_null_odds``, no continuity correction). None when undefined: every
      shared context had the same outcome in all its runs. At the margin it may disagree with the
      interval (both are large-sample answers); the verdict follows the interval.
    - ``crude_difference``: B's success rate minus A's over all their runs, shared or not.
    - ``verdict``: ``better`` / ``worse`` when the interval lies above / below 0,
      ``no_change_detected`` otherwise, ``not_comparable`` when no context is shared. When there is
      no interval (every shared context had one outcome per version, so Sato's variance is 0) the
      verdict follows the CMH test: ``better`` / ``worse`` by the difference's sign when p < 0.05.
    - ``runs_needed`` [A, B]: about how many more runs each version needs before a 5-point
      difference could be detected (two-sided 5% test, 80% power) at the pooled success rate; see
      :func:`_runs_needed`. [0, 0] when there are already enough.
    - ``note``: plain sentences - when contexts were left out because only one version saw them;
      when the crude answer (a two-proportion z-test over all runs, statsmodels
      ``proportions_ztest``) gives another verdict than the stratified one, with the likely cause:
      A's per-context success rates applied to B's traffic mix against A's own mix tell whether
      traffic moved toward harder or easier contexts; when there is no interval or test.

    Edge cases: a single shared context gives that context's plain difference; contexts where every
    run succeeded stay in (they are evidence of no difference there, and pull the pooled difference
    toward 0); counts are validated (ValueError) because a wrong count would be a caller's bug.
    Differences are rounded to 4 places, the p-value to 4 significant digits.
    """
    rows = [_checked(Stratum._make(row)) for row in strata]
    if len({row.key for row in rows}) != len(rows):
        raise ValueError("each context may appear only once")
    label_a, label_b = labels
    shared = [row for row in rows if row.a_runs and row.b_runs]
    only_a = [row for row in rows if row.a_runs and not row.b_runs]
    only_b = [row for row in rows if row.b_runs and not row.a_runs]
    runs_a, runs_b = sum(row.a_runs for row in rows), sum(row.b_runs for row in rows)
    successes_a, successes_b = sum(row.a_successes for row in rows), sum(row.b_successes for row in rows)
    crude = successes_b / runs_b - successes_a / runs_a if runs_a and runs_b else None

    if not shared:
        if runs_a and runs_b:
            note = (
                f"The versions share no context ({label_a} ran in {_count(len(only_a), 'context')}, "
                f"{label_b} in {len(only_b):,}), so they cannot be compared like with like."
            )
        else:
            note = " ".join(
                f"{label} has no runs." for label, runs in ((label_a, runs_a), (label_b, runs_b)) if not runs
            )
        return Comparison(
            method="mantel-haenszel",
            strata=0,
            runs=(0, 0),
            difference=None,
            ci95=None,
            p_value=None,
            crude_difference=_round(crude),
            verdict="not_comparable",
            runs_needed=None,
            note=note,
        )

    notes = []
    if only_a or only_b:
        notes.append(
            f"{_count(len(only_a) + len(only_b), 'context')} seen by only one version "
            f"({_count(sum(row.a_runs for row in only_a), 'run')} of {label_a}, "
            f"{_count(sum(row.b_runs for row in only_b), 'run')} of {label_b}) "
            f"{'is' if len(only_a) + len(only_b) == 1 else 'are'} left out of the stratified comparison."
        )
    difference, variance = mantel_haenszel_difference(strata=shared)
    ci95 = None
    if variance > 0:
        half = Z95 * math.sqrt(variance)
        ci95 = (max(-1.0, difference - half), min(1.0, difference + half))
    if ci95 and ci95[0] > 0:
        verdict = "better"
    elif ci95 and ci95[1] < 0:
        verdict = "worse"
    else:
        verdict = "no_change_detected"

    p_value = None
    if any(0 < row.a_successes + row.b_successes < row.a_runs + row.b_runs for row in shared):
        from statsmodels.stats.contingency_tables import StratifiedTable

        tables = [
            [[r.b_successes, r.b_runs - r.b_successes], [r.a_successes, r.a_runs - r.a_successes]] for r in shared
        ]
        p_value = float(StratifiedTable(tables).test_null_odds(correction=False).pvalue)
        if ci95 is None:
            # Sato's variance is 0 (every context's runs had one outcome per version): a zero-width
            # "interval" would be false certainty, so the verdict follows the CMH test instead.
            if p_value < ALPHA and difference:
                verdict = "better" if difference > 0 else "worse"
            notes.append(
                "Within each shared context each version's runs all had the same outcome, "
                "so the difference has no interval; the verdict follows the test's p-value."
            )
    else:
        notes.append("Every run in the shared contexts had the same outcome, so there is no interval and no test.")

    crude_verdict = _crude_verdict(successes_a, runs_a, successes_b, runs_b)
    if ci95 and crude is not None and crude_verdict != verdict:
        notes.append(_disagreement(shared, crude, difference, labels, has_dropped=bool(only_a or only_b)))

    shared_a, shared_b = sum(row.a_runs for row in shared), sum(row.b_runs for row in shared)
    pooled_rate = sum(row.a_successes + row.b_successes for row in shared) / (shared_a + shared_b)
    return Comparison(
        method="mantel-haenszel",
        strata=len(shared),
        runs=(shared_a, shared_b),
        difference=_round(difference),
        ci95=(_round(ci95[0]), _round(ci95[1])) if ci95 else None,  # type: ignore[arg-type]
        p_value=float(f"{p_value:.4g}") if p_value is not None else None,
        crude_difference=_round(crude),
        verdict=verdict,
        runs_needed=_runs_needed(runs_a=shared_a, runs_b=shared_b, rate=pooled_rate),
        note=" ".join(notes) or None,
    )


def _runs_needed(*, runs_a: int, runs_b: int, rate: float) -> tuple[int, int]:
    """About how many more runs A and B need before a 5-point difference could be detected.

    n* = the runs per version that a two-sided 5% test of two proportions needs for 80% power
    against a 5-point difference around the pooled rate (the pair rate ∓ 2.5 points, shifted to
    stay inside [0, 1]): statsmodels ``samplesize_proportions_2indep_onetail``. Unequal counts
    trade off as for NormalIndPower, whose effective size is 1 / (1/nA + 1/nB), so there are
    enough runs when 1/nA + 1/nB ≤ 2/n*. The fewest extra runs in total that reach it: both
    versions up to n*; or, when one version already has more than n*, only the other, up to
    1 / (2/n* − 1/n_more). Stratifying usually narrows the interval, so this errs on the safe side.
    """
    from statsmodels.stats.proportion import samplesize_proportions_2indep_onetail

    low = min(max(rate - DETECTABLE_DIFFERENCE / 2, 0.0), 1.0 - DETECTABLE_DIFFERENCE)
    target = float(
        samplesize_proportions_2indep_onetail(
            diff=DETECTABLE_DIFFERENCE, prop2=low, power=POWER, ratio=1, alpha=ALPHA, alternative="two-sided"
        )
    )
    if 1 / runs_a + 1 / runs_b <= 2 / target:
        return 0, 0
    if max(runs_a, runs_b) <= target:
        return max(0, math.ceil(target - runs_a)), max(0, math.ceil(target - runs_b))
    other = 1 / (2 / target - 1 / max(runs_a, runs_b))
    if runs_a > runs_b:
        return 0, max(0, math.ceil(other - runs_b))
    return max(0, math.ceil(other - runs_a)), 0


def _crude_verdict(successes_a: int, runs_a: int, successes_b: int, runs_b: int) -> str | None:
    """The verdict a crude two-proportion z-test over all runs would give (None without runs)."""
    if not runs_a or not runs_b:
        return None
    if successes_a + successes_b in (0, runs_a + runs_b):
        return "no_change_detected"  # one outcome everywhere: the z statistic is 0/0
    from statsmodels.stats.proportion import proportions_ztest

    statistic, p_value = proportions_ztest([successes_b, successes_a], [runs_b, runs_a])
    if p_value >= ALPHA:
        return "no_change_detected"
    return "better" if statistic > 0 else "worse"


def _disagreement(
    shared: list[Stratum], crude: float, difference: float, labels: tuple[str, str], *, has_dropped: bool
) -> str:
    """Why the crude and the stratified answers differ. The traffic effect is A's success rate in
    each shared context weighted by B's share of runs there, minus the same rates weighted by A's
    own shares: what B's traffic mix alone would have changed at A's rates."""
    label_a, label_b = labels
    runs_a, runs_b = sum(row.a_runs for row in shared), sum(row.b_runs for row in shared)
    mix_effect = sum(row.a_successes / row.a_runs * (row.b_runs / runs_b - row.a_runs / runs_a) for row in shared)
    opening = (
        f"The crude difference ({_points(crude)} over all runs) and the stratified one "
        f"({_points(difference)} within contexts) disagree: "
    )
    if abs(mix_effect) >= 0.005:
        direction = "harder" if mix_effect < 0 else "easier"
        return opening + (
            f"traffic moved toward {direction} contexts ({label_b}'s traffic mix alone accounts for "
            f"{_points(mix_effect)} at {label_a}'s success rate in each context)."
        )
    if has_dropped:
        return (
            opening
            + "the traffic mix of the shared contexts hardly moved; the gap comes from contexts only one version saw."
        )
    return (
        opening
        + "the traffic mix hardly moved; the crude test weighs the contexts by traffic, the stratified one like for like."
    )


def _checked(row: Stratum) -> Stratum:
    for successes, runs in ((row.a_successes, row.a_runs), (row.b_successes, row.b_runs)):
        if not 0 <= successes <= runs:
            raise ValueError(f"context {row.key!r}: successes must be between 0 and runs, got {successes} of {runs}")
    return row


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4) + 0.0  # + 0.0 turns -0.0 into 0.0


def _points(value: float) -> str:
    return f"{value * 100:+.1f} points"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")
