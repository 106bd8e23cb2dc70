"""The tuning rows of ./dev bench, as a smoke run (quick: few trials and samples)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from bench.core import Bench
from bench.tuning import tuning_gain, tuning_speed
from tests.factories import log_runs, run_item

pytestmark = pytest.mark.django_db
SHELL = {"tool_id": "router:downcut-0.8", "material_id": "shell:mother-of-pearl", "machine_id": "prod:vmc-3axis"}
SAW = {"tool_id": "saw:slitting-0.5", "material_id": "wood:maple-hard", "machine_id": "prod:laser-cell"}


def test_the_tuning_rows_time_a_search_and_weigh_the_gain_against_the_noise(starter_profiles):
    at = datetime.now(UTC) - timedelta(days=1)
    log_runs(
        *[run_item(**SHELL, profile="premium_shell", at=at, success=False) for _ in range(6)],
        *[run_item(**SAW, profile="premium_shell", at=at) for _ in range(6)],
    )
    bench = Bench(database_url="", vendor="sqlite", dataset={}, stdout=io.StringIO(), stderr=io.StringIO(), quick=True)
    speed = tuning_speed(bench)
    assert [row.metric for row in speed] == [
        "tuning: 20 trials, premium_shell, 2 contexts x 50 samples, 1 worker",
        "tuning: 20 trials, 20 catalog contexts x 50 samples, 1 worker",
    ]
    assert all(row.value > 0 and row.unit == "s" for row in speed)
    (gain,) = tuning_gain(bench)
    assert gain.metric == "tuning: gain for the worst hotspot's profile (premium_shell, 2 contexts)"
    assert gain.met == (gain.value > gain.baseline)
    assert "router:downcut-0.8" in gain.notes
