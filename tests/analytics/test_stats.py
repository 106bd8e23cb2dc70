"""analytics.stats: each statistic against an independent computation - statsmodels' or scipy's own
functions, or a hand-worked example written out here. No database."""

from __future__ import annotations

import math
import statistics

import pytest
from scipy import stats as scipy_stats

from analytics.stats import failure_lower_bound, mean_interval, wilson_interval

Z = 1.959963984540054

# -- Wilson interval and the failure-rate lower bound --------------------------------------------


def _wilson_by_hand(k: float, n: int) -> tuple[float, float]:
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return centre - half, centre + half


@pytest.mark.parametrize("k, n", [(5, 10), (34, 310), (400, 500), (2, 3), (7.5, 12)])
def test_wilson_interval_is_the_published_formula(k, n):
    low, high = wilson_interval(successes=k, n=n)
    assert (low, high) == (pytest.approx(_wilson_by_hand(k, n)[0]), pytest.approx(_wilson_by_hand(k, n)[1]))


def test_wilson_interval_reference_values_and_edges():
    # Published 95% Wilson intervals: 5 of 10 -> 0.2366-0.7634, 0 of 10 -> 0-0.2775.
    assert wilson_interval(successes=5, n=10) == (pytest.approx(0.2366, abs=5e-5), pytest.approx(0.7634, abs=5e-5))
    assert wilson_interval(successes=0, n=10) == (0.0, pytest.approx(0.2775, abs=5e-5))
    assert wilson_interval(successes=10, n=10)[1] == 1.0
    assert wilson_interval(successes=0, n=0) is None


def test_failure_lower_bound_is_volume_aware():
    assert failure_lower_bound(failures=3, runs=3) == pytest.approx(0.4385, abs=5e-5)
    assert failure_lower_bound(failures=400, runs=500) == pytest.approx(0.7627, abs=5e-5)
    assert failure_lower_bound(failures=0, runs=0) == 0.0
    # Equal rates: more runs, more evidence, a higher bound.
    assert failure_lower_bound(failures=50, runs=100) < failure_lower_bound(failures=500, runs=1000) < 0.5


# -- mean of per-run shares with an interval over runs ------------------------------------------


def _sufficient(shares: list[float]) -> dict[str, float]:
    return {"n": len(shares), "total": sum(shares), "total_sq": sum(x * x for x in shares)}


@pytest.mark.parametrize(
    "shares",
    [
        [0.1, 0.4, 0.25, 0.0, 0.6, 0.3],
        [0.5, 0.55, 0.45, 0.5, 0.52, 0.48, 0.51, 0.49],
        [0.2, 0.9],
    ],
)
def test_mean_interval_is_the_t_interval_of_the_runs(shares):
    result = mean_interval(**_sufficient(shares))
    n, mean = len(shares), statistics.fmean(shares)
    low, high = scipy_stats.t.interval(0.95, df=n - 1, loc=mean, scale=statistics.stdev(shares) / math.sqrt(n))
    assert result.n == n and result.mean == pytest.approx(mean)
    assert result.ci95 == (pytest.approx(max(0.0, low)), pytest.approx(min(1.0, high)))


def test_mean_interval_is_clamped_to_shares():
    result = mean_interval(**_sufficient([0.0, 0.0, 0.0, 0.3]))
    assert result.ci95[0] == 0.0 and 0.075 < result.ci95[1] < 0.5
    assert type(result.ci95[0]) is float and type(result.ci95[1]) is float


def test_mean_interval_without_a_spread_falls_back_to_wilson_over_runs():
    assert mean_interval(n=0, total=0.0, total_sq=0.0).ci95 is None
    assert mean_interval(n=0, total=0.0, total_sq=0.0).mean is None
    # One run says nothing about the spread: the widest interval a share with that mean allows.
    assert mean_interval(**_sufficient([0.0])).ci95 == wilson_interval(successes=0, n=1)
    # Ten runs, all without a RED attempt: 0-0.2775 (Wilson 0 of 10), not a zero-width interval.
    assert mean_interval(**_sufficient([0.0] * 10)).ci95 == (0.0, pytest.approx(0.2775, abs=5e-5))
    # Equal shares whose float sums leave a few ulps of "variance".
    assert mean_interval(**_sufficient([0.1, 0.1, 0.1])).ci95 == pytest.approx(wilson_interval(successes=0.3, n=3))
