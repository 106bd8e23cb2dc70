"""analytics.metrics: the definitions, against reference numbers and hand computations."""

from __future__ import annotations

import pytest

from analytics.metrics import Counts, hotspot, wilson


@pytest.mark.parametrize(
    "k, n, low, high",
    [
        # Published 95% Wilson intervals (e.g. statsmodels proportion_confint(method="wilson")).
        (5, 10, 0.2366, 0.7634),
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (1, 1, 0.2065, 1.0),
        (0, 1, 0.0, 0.7935),
        (3, 3, 0.4385, 1.0),
        (400, 500, 0.7627, 0.8327),
        (2, 3, 0.2077, 0.9385),
    ],
)
def test_wilson_reference_values(k, n, low, high):
    assert wilson(k, n) == (pytest.approx(low, abs=5e-5), pytest.approx(high, abs=5e-5))


def test_wilson_of_nothing():
    assert wilson(0, 0) is None


def _failing(runs: int, failures: int, attempts: int = 0, red: int = 0) -> Counts:
    return Counts(runs=runs, green_found=runs - failures, budget_exhausted=failures, attempts=attempts, red=red)


def test_a_small_sample_does_not_outrank_strong_evidence():
    small = hotspot(_failing(3, 3))
    large = hotspot(_failing(500, 400))
    assert small.score == pytest.approx(43.9, abs=0.05)  # lower bound of 3/3
    assert large.score == pytest.approx(76.3, abs=0.05)  # lower bound of 400/500
    assert large.score > small.score


def test_red_share_is_averaged_over_runs_with_runs_as_the_sample_size():
    # 9 runs whose attempts were all RED: strong only as far as 9 runs go (no spread between the
    # runs, so the interval is Wilson's of 9 out of 9, analytics.stats.mean_interval).
    few_runs = Counts(
        runs=9, green_found=9, attempts=135, red=135, risk_runs=9, red_share_sum=9.0, red_share_sq_sum=9.0
    )
    red = few_runs.red_per_run()
    assert red.mean == 1.0 and red.ci95 == wilson(9, 9)
    assert few_runs.summary()["red_share_ci"] == [round(wilson(9, 9)[0], 4), 1.0]


def test_hotspots_rank_on_outcome_and_give_red_share_as_a_reason_only():
    # Every run succeeded: a RED-heavy search is search cost, not a problem (DESIGN §9).
    costly = Counts(
        runs=50, green_found=50, attempts=500, red=450, risk_runs=50, red_share_sum=45.0, red_share_sq_sum=40.5
    )
    spot = hotspot(costly)
    assert spot.score == 0
    assert any(reason.startswith("RED share 90%") for reason in spot.reasons)


def test_hotspot_reasons_read_like_sentences():
    # 310 runs whose RED shares have mean 0.62 and standard deviation 0.2 (Σx² = n·m² + (n−1)·s²).
    counts = Counts(
        runs=310,
        green_found=34,
        budget_exhausted=250,
        timeout=26,
        attempts=1240,
        red=769,
        risk_runs=310,
        red_share_sum=0.62 * 310,
        red_share_sq_sum=310 * 0.62**2 + 309 * 0.2**2,
    )
    spot = hotspot(counts)
    # Wilson 95% for 34 of 310: 7.96%-14.94%. The RED share's t interval over runs:
    # 0.62 ± t(0.975, 309) · 0.2/√310 = 0.62 ± 1.9677 · 0.011359 = 59.8%-64.2%.
    assert spot.reasons[0] == "success 11% (95% interval 8–15%) over 310 runs"
    assert spot.reasons[1] == "RED share 62% of a run's attempts on average (95% interval 60–64%) over 310 runs"
    assert spot.reasons[2] == "most failures: budget exhausted (250 of 276)"
    assert spot.score == pytest.approx(100 * (1 - wilson(34, 310)[1]), abs=0.05)  # the failure rate's lower bound


def test_summary_metrics():
    counts = Counts(
        runs=3,
        green_found=1,
        acceptable_found=1,
        budget_exhausted=1,
        attempts_reported=7,
        scored_runs=3,
        selected_score_sum=205.0,
        success_score_sum=170.0,
        attempts=7,
        green=1,
        yellow=3,
        red=3,
    )
    summary = counts.summary()
    assert summary["success_rate"] == 0.6667 and summary["success_rate_ci"] == [0.2077, 0.9385]
    # The average selected score is the successful runs' (170 / 2); the failed run's best stands apart.
    assert summary["avg_attempts"] == 2.333 and summary["avg_selected_score"] == 85.0
    assert summary["avg_failed_best_score"] == 35.0
    assert summary["risk"] == {
        "GREEN": {"count": 1, "share": 0.1429},
        "YELLOW": {"count": 3, "share": 0.4286},
        "RED": {"count": 3, "share": 0.4286},
    }
    assert Counts().summary()["success_rate"] is None and Counts().summary()["avg_selected_score"] is None


@pytest.mark.parametrize("total", [783.1, 783.0999999999999, 783.1000000000001])
def test_an_average_does_not_depend_on_the_order_its_sum_was_added_in(total):
    # 783.1 / 8 = 97.8875: float sums of the same eight scores land on either side of it.
    assert (
        Counts(runs=8, green_found=8, scored_runs=8, selected_score_sum=total, success_score_sum=total).summary()[
            "avg_selected_score"
        ]
        == 97.888
    )


def test_one_outcome_vocabulary_everywhere():
    """A reason the log accepts but the aggregates lack a column for would make every ingestion
    fail (the tally looks its column up); so every layer must know exactly the engine's reasons."""
    from ailog.models import SUCCESS_REASONS, Reason
    from analytics.metrics import FAILURE_REASONS, REASONS
    from analytics.models import ContextDay, ContextTotal
    from engine import search

    assert list(Reason.values) == list(search.REASONS) == list(REASONS)
    assert SUCCESS_REASONS == search.SUCCESS_REASONS and set(FAILURE_REASONS) == set(REASONS) - SUCCESS_REASONS
    for model in (ContextDay, ContextTotal):
        columns = {f.name for f in model._meta.get_fields()}
        assert set(REASONS) <= columns, model


def test_the_counts_the_log_sends_are_the_counts_analytics_keeps():
    """The log's tally rows are read slot by slot into Counts and into the aggregate columns, so
    the three must name the same counts in the same order."""
    from dataclasses import fields

    from ailog import counts as log_counts
    from analytics.metrics import ADDITIVE, Counts
    from analytics.models import ContextDay, ContextTotal

    assert ADDITIVE == log_counts.ADDITIVE
    assert [f.name for f in fields(Counts)] == [*log_counts.ADDITIVE, "last_run_at"]
    for model in (ContextDay, ContextTotal):
        columns = {f.name for f in model._meta.get_fields()}
        assert set(log_counts.ADDITIVE) | {"last_run_at", *log_counts.KEY_FIELDS} <= columns, model
