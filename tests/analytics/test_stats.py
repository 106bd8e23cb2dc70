"""analytics.stats: each statistic against an independent computation - statsmodels' or scipy's own
functions, or a hand-worked example written out here - on data built to contain Simpson's paradox,
and the Mantel–Haenszel difference against a published worked example. No database."""

from __future__ import annotations

import json
import math
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize, proportions_ztest

from analytics.stats import (
    Stratum,
    compare,
    failure_lower_bound,
    failure_lower_bounds,
    mantel_haenszel_difference,
    mean_interval,
    wilson_interval,
)

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


@given(st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 5000)), max_size=40))
def test_failure_lower_bounds_of_many_contexts_equal_each_one_by_hand(pairs):
    pairs = [(min(k, n), n) for k, n in pairs]
    bounds = failure_lower_bounds(failures=[k for k, _ in pairs], runs=[n for _, n in pairs])
    assert len(bounds) == len(pairs)
    for (k, n), bound in zip(pairs, bounds):
        assert bound == (pytest.approx(max(0.0, _wilson_by_hand(k, n)[0]), abs=1e-12) if n else 0.0)


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


# -- the published worked example of the Mantel-Haenszel difference and Sato's variance -----------

# Agresti, Categorical Data Analysis, 3rd ed. (Wiley 2013), p. 226: a clinical trial of a drug
# against a control at eight centres (Beitler & Landis 1985), successes / patients per centre.
# On p. 231 Agresti gives the Mantel-Haenszel estimate of the common difference of proportions
# drug - control as 0.130 with standard error (Sato's) 0.050; R package cicalc (GSK-Biostatistics)
# checks its ci_prop_diff_mh_strata against those numbers and documents its output on the same data
# (tests/testthat/_snaps/prop_ci_common_risk.md): estimate 0.13, 95% interval (0.0313, 0.2284).
AGRESTI_DRUG = [(11, 36), (16, 20), (14, 19), (2, 16), (6, 17), (1, 11), (1, 5), (4, 6)]
AGRESTI_CONTROL = [(10, 37), (22, 32), (7, 19), (1, 17), (0, 12), (0, 10), (1, 9), (6, 7)]
AGRESTI = [
    Stratum(centre, control[0], control[1], drug[0], drug[1])
    for centre, (drug, control) in enumerate(zip(AGRESTI_DRUG, AGRESTI_CONTROL), start=1)
]


def test_mantel_haenszel_difference_and_sato_variance_match_agresti():
    difference, variance = mantel_haenszel_difference(strata=AGRESTI)
    assert round(difference, 3) == 0.130
    assert round(math.sqrt(variance), 3) == 0.050


def test_compare_reproduces_the_published_interval_and_the_cmh_test():
    result = compare(strata=AGRESTI, labels=("control", "drug"))
    assert result.method == "mantel-haenszel" and result.strata == 8 and result.runs == (143, 130)
    assert result.difference == 0.1299
    assert result.ci95 == (0.0313, 0.2284)
    assert result.verdict == "better"
    # The Cochran-Mantel-Haenszel statistic by hand: Σ(a − E[a])² / Σ Var[a] under no association,
    # with a the drug successes, E[a] = n_drug·m_success/N, Var[a] = n_drug·n_control·m_s·m_f / (N²(N − 1)).
    deviation = variance = 0.0
    for (a, n1), (c, n0) in zip(AGRESTI_DRUG, AGRESTI_CONTROL):
        n, successes = n1 + n0, a + c
        deviation += a - n1 * successes / n
        variance += n1 * n0 * successes * (n - successes) / (n * n * (n - 1))
    statistic = deviation**2 / variance
    assert statistic == pytest.approx(6.384, abs=5e-4)
    assert result.p_value == pytest.approx(scipy_stats.chi2.sf(statistic, 1), rel=1e-3)
    assert result.crude_difference == round(55 / 130 - 47 / 143, 4)


# -- data built to contain Simpson's paradox, a real regression, small samples, no overlap -------

EASY, HARD = "saw:thin-kerf/wood:maple", "saw:slitting-0.5/wood:ebony"


def test_a_traffic_shift_alone_is_not_a_change():
    """v1 saw mostly the easy context, v2 (the same profile in effect) mostly the hard one."""
    strata = [Stratum(EASY, 810, 900, 89, 100), Stratum(HARD, 30, 100, 272, 900)]  # easy ~90%, hard ~30%
    # Crude: 361/1000 against 840/1000, a "highly significant" drop of 48 points.
    _, crude_p = proportions_ztest([361, 840], [1000, 1000])
    assert crude_p < 1e-50

    result = compare(strata=strata, labels=("v1", "v2"))
    assert result.crude_difference == -0.479
    assert result.verdict == "no_change_detected"
    low, high = result.ci95
    assert low < 0 < high and abs(result.difference) < 0.01
    assert result.p_value > 0.05
    assert "traffic moved toward harder contexts" in result.note
    assert "v2's traffic mix" in result.note


def test_a_regression_in_every_context_is_worse():
    strata = [Stratum(EASY, 450, 500, 400, 500), Stratum(HARD, 150, 500, 100, 500)]  # both 10 points worse
    result = compare(strata=strata)
    assert result.verdict == "worse"
    assert result.difference == -0.1  # each context lost exactly 10 points
    assert result.ci95[1] < 0 and result.p_value < 0.001
    assert result.note is None  # the crude answer agrees


def test_a_regression_hidden_by_easier_traffic_is_still_worse():
    # v2 is 10 points worse everywhere, but its traffic moved toward the easy context.
    strata = [Stratum(EASY, 270, 300, 1280, 1600), Stratum(HARD, 510, 1700, 80, 400)]
    _, crude_p = proportions_ztest([1360, 780], [2000, 2000])
    result = compare(strata=strata, labels=("v1", "v2"))
    assert result.crude_difference > 0.25 and crude_p < 0.05  # the crude answer says "better"
    assert result.verdict == "worse"
    assert "traffic moved toward easier contexts" in result.note


def test_a_handful_of_runs_proves_nothing():
    strata = [Stratum(EASY, 3, 3, 2, 3), Stratum(HARD, 1, 2, 0, 2)]
    result = compare(strata=strata)
    assert result.verdict == "no_change_detected"
    assert result.ci95[1] - result.ci95[0] > 0.5
    assert min(result.runs_needed) > 1000


def test_versions_without_a_shared_context_are_not_comparable():
    result = compare(strata=[Stratum(EASY, 90, 100, 0, 0), Stratum(HARD, 0, 0, 30, 100)], labels=("v1", "v2"))
    assert result.verdict == "not_comparable"
    assert result.strata == 0 and result.runs == (0, 0)
    assert result.difference is None and result.ci95 is None and result.p_value is None
    assert result.runs_needed is None
    assert result.crude_difference == -0.6
    assert "share no context" in result.note
    assert compare(strata=[Stratum(EASY, 9, 10, 0, 0)], labels=("v1", "v2")).note == "v2 has no runs."


# -- edge cases ---------------------------------------------------------------------------------


def test_contexts_seen_by_one_version_are_left_out_and_said_so():
    strata = [Stratum(EASY, 45, 50, 44, 50), Stratum(HARD, 6, 20, 8, 20), Stratum("laser/shell", 0, 0, 3, 40)]
    result = compare(strata=strata, labels=("v1", "v2"))
    assert result.strata == 2 and result.runs == (70, 70)
    assert result.difference == compare(strata=strata[:2]).difference
    assert result.crude_difference == round(55 / 110 - 51 / 70, 4)  # every run of each version
    assert "1 context seen by only one version (0 runs of v1, 40 runs of v2) is left out" in result.note


def test_a_single_context_is_its_plain_difference_and_its_chi_square():
    result = compare(strata=[Stratum(EASY, 30, 60, 45, 70)])
    assert result.difference == round(45 / 70 - 30 / 60, 4)
    # The CMH statistic of one table is Pearson's chi-square (no correction) times (N − 1)/N.
    pearson = scipy_stats.chi2_contingency([[45, 25], [30, 30]], correction=False)[0]
    assert result.p_value == pytest.approx(scipy_stats.chi2.sf(pearson * 129 / 130, 1), rel=1e-3)


def test_when_every_run_has_the_same_outcome_there_is_no_interval_and_no_test():
    result = compare(strata=[Stratum(EASY, 20, 20, 30, 30), Stratum(HARD, 0, 5, 0, 8)])
    assert result.difference == 0.0 and result.ci95 is None and result.p_value is None
    assert result.verdict == "no_change_detected"
    assert "same outcome" in result.note


def test_perfect_separation_has_no_interval_so_the_verdict_follows_the_test():
    result = compare(strata=[Stratum(EASY, 0, 3, 5, 5), Stratum(HARD, 0, 4, 3, 3)])
    assert result.difference == 1.0 and result.ci95 is None
    assert result.p_value < 0.01
    assert result.verdict == "better"  # no interval to follow: the verdict follows the test
    assert "no interval" in result.note
    worse = compare(strata=[Stratum(EASY, 30, 30, 0, 30)])
    assert worse.difference == -1.0 and worse.ci95 is None and worse.verdict == "worse"
    # Too few runs for the test to reject: nothing detected, however far apart the rates.
    few = compare(strata=[Stratum(EASY, 0, 1, 1, 1)])
    assert few.ci95 is None and few.p_value > 0.05 and few.verdict == "no_change_detected"


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="between 0 and runs"):
        compare(strata=[Stratum(EASY, 11, 10, 1, 2)])
    with pytest.raises(ValueError, match="only once"):
        compare(strata=[Stratum(EASY, 1, 2, 1, 2), Stratum(EASY, 1, 2, 1, 2)])


def test_plain_tuples_work_and_the_answer_is_json():
    result = compare(strata=[(EASY, 45, 50, 40, 50), (HARD, 6, 20, 8, 20)])
    data = result.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {
        "method",
        "strata",
        "runs",
        "difference",
        "ci95",
        "p_value",
        "crude_difference",
        "verdict",
        "runs_needed",
        "note",
    }


# -- runs needed, against statsmodels' own power function ---------------------------------------


def _power(pooled_rate: float, runs_a: int, runs_b: int) -> float:
    """The power against a 5-point difference around the pooled rate, by NormalIndPower and
    Cohen's h (arcsine effect size): a different route from the module's."""
    effect = proportion_effectsize(pooled_rate + 0.025, pooled_rate - 0.025)
    return NormalIndPower().power(effect_size=effect, nobs1=runs_a, ratio=runs_b / runs_a, alpha=0.05)


@pytest.mark.parametrize(
    "strata",
    [
        [Stratum(EASY, 3, 3, 2, 3), Stratum(HARD, 1, 2, 0, 2)],  # both versions short
        [Stratum(EASY, 45000, 50000, 60, 70), Stratum(HARD, 15000, 50000, 10, 30)],  # only B short
        [Stratum(EASY, 60, 70, 45000, 50000), Stratum(HARD, 10, 30, 15000, 50000)],  # only A short
    ],
)
def test_runs_needed_reach_the_promised_power(strata):
    result = compare(strata=strata)
    runs_a, runs_b = result.runs
    more_a, more_b = result.runs_needed
    pooled = sum(s.a_successes + s.b_successes for s in strata) / (runs_a + runs_b)
    assert _power(pooled, runs_a, runs_b) < 0.79
    assert _power(pooled, runs_a + more_a, runs_b + more_b) == pytest.approx(0.8, abs=0.01)
    assert (more_a == 0) == (runs_a > 1000) and (more_b == 0) == (runs_b > 1000)


def test_no_more_runs_needed_when_there_are_enough():
    result = compare(strata=[Stratum(EASY, 9000, 10000, 9100, 10000)])
    assert result.runs_needed == (0, 0)


# -- properties ---------------------------------------------------------------------------------


@st.composite
def shared_strata(draw):
    rows = []
    for key in range(draw(st.integers(min_value=1, max_value=6))):
        a_runs, b_runs = draw(st.integers(1, 60)), draw(st.integers(1, 60))
        rows.append(Stratum(key, draw(st.integers(0, a_runs)), a_runs, draw(st.integers(0, b_runs)), b_runs))
    return rows


@settings(max_examples=200, deadline=None)
@given(shared_strata())
def test_the_pooled_difference_lies_between_the_context_differences(strata):
    difference, variance = mantel_haenszel_difference(strata=strata)
    per_context = [s.b_successes / s.b_runs - s.a_successes / s.a_runs for s in strata]
    assert min(per_context) - 1e-12 <= difference <= max(per_context) + 1e-12
    assert variance >= -1e-15


@settings(max_examples=200, deadline=None)
@given(shared_strata())
def test_swapping_the_versions_mirrors_the_answer(strata):
    forward = compare(strata=strata)
    backward = compare(strata=[Stratum(s.key, s.b_successes, s.b_runs, s.a_successes, s.a_runs) for s in strata])
    assert backward.difference == -forward.difference
    assert backward.crude_difference == -forward.crude_difference
    if forward.ci95 is None:
        assert backward.ci95 is None
    else:
        assert backward.ci95 == (-forward.ci95[1], -forward.ci95[0])
    assert backward.p_value == forward.p_value
    assert backward.runs == forward.runs[::-1]
    assert backward.runs_needed == forward.runs_needed[::-1]
    mirrored = {"better": "worse", "worse": "better"}
    assert backward.verdict == mirrored.get(forward.verdict, forward.verdict)
