"""The issue 16 benchmark rows run against a small log (the timings themselves are the benchmark
command's business): every call they measure answers 200 and each row has its baseline."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from bench.core import Bench
from bench.impact import impact_latency, predict_latency
from tests.factories import edit_profile, log_runs, run_item

pytestmark = pytest.mark.django_db


def test_the_impact_rows_measure_versions_compare_alerts_and_predict(default_profile):
    now = datetime.now(UTC)
    log_runs(*[run_item(at=now - timedelta(days=2, minutes=i), profile_version=1) for i in range(6)])
    edit_profile("default", max_rings=7)
    log_runs(*[run_item(at=now - timedelta(days=1, minutes=i), profile_version=2) for i in range(6)])
    bench = Bench(database_url="", vendor="sqlite", dataset={}, stdout=io.StringIO(), stderr=io.StringIO(), quick=True)
    rows = impact_latency(bench)
    assert [r.metric for r in rows] == [
        "impact: profile-versions?profile=default",
        "impact: compare?profile=default&a=1&b=2",
        "impact: alerts (refreshed from the aggregates)",
    ]
    assert all(r.unit == "ms" and r.value > 0 and r.baseline > 0 and r.target == "p50 <= 50 ms" for r in rows)
    [predict] = predict_latency(bench)
    assert predict.metric == "impact: predict, default, 1 contexts x 500 samples" and predict.value > 0
    assert predict.met is None  # fewer than 20 contexts: no verdict on the 2-second target
