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
from dataclasses import dataclass

ALPHA = 0.05


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
    interval = wilson_interval(successes=failures, n=runs)
    return interval[0] if interval else 0.0


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
