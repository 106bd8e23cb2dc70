from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from engine.catalog import load_catalog
from engine.search import (
    MAX_DRAWS_PER_ATTEMPT,
    Budget,
    BudgetError,
    run_search,
)
from tests.factories import make_context, make_spec

EASY = make_context("saw:jeweler-0.25", "wood:maple-hard", "prod:vmc-3axis")
ALWAYS_YELLOW = make_context("router:downcut-0.8", "wood:ebony", "prod:vmc-3axis")  # chip_out 60
ALWAYS_RED = make_context("router:upcut-1.5", "shell:abalone-paua", "proto:desktop-cnc")  # chip_out 0
SIMPLE = make_spec(
    "simple",
    min_rings=2,
    max_rings=4,
    min_ring_width_mm="1.00",
    max_ring_width_mm="3.00",
    allow_mosaic=False,
    allow_segmented=False,
    palette_key="warm_woods",
)
START = datetime(2025, 12, 13, 9, 0, tzinfo=UTC)


class FakeClock:
    """Advances ``step`` seconds every time it is read."""

    def __init__(self, step: float = 0.0):
        self.step = step
        self.now = 0.0
        self.reads = 0

    def __call__(self) -> float:
        value = self.now
        self.now += self.step
        self.reads += 1
        return value


def fixed_now():
    ticks = itertools.count()
    return lambda: START + timedelta(seconds=next(ticks))


def search(context, spec=SIMPLE, clock=None, **budget):
    budget.setdefault("seed", 1)
    return run_search(context, spec, load_catalog(), Budget(**budget), clock=clock or FakeClock(), now=fixed_now())


class TestReasons:
    def test_green_found_stops_at_the_first_acceptable_green(self):
        outcome = search(EASY, max_attempts=50)
        assert (outcome.reason, outcome.success) == ("green_found", True)
        last = outcome.attempts[-1]
        assert last.risk_bucket == "GREEN" and last.is_acceptable
        assert not any(a.is_acceptable and a.risk_bucket == "GREEN" for a in outcome.attempts[:-1])
        assert outcome.selected == last
        assert (outcome.selected_score, outcome.selected_risk_bucket) == (last.score, "GREEN")
        assert outcome.selected_candidate == last.candidate

    def test_green_found_without_stopping_runs_the_whole_budget(self):
        outcome = search(EASY, max_attempts=30, stop_on_first_green=False)
        assert (outcome.reason, outcome.attempt_count) == ("green_found", 30)
        assert outcome.selected.score == max(a.score for a in outcome.attempts if a.risk_bucket == "GREEN")

    def test_acceptable_found_when_only_yellow_reaches_the_score(self):
        outcome = search(ALWAYS_YELLOW, max_attempts=20, min_feasibility_score=70)
        assert (outcome.reason, outcome.success, outcome.attempt_count) == ("acceptable_found", True, 20)
        assert outcome.selected.risk_bucket == "YELLOW" and outcome.selected.is_acceptable
        assert outcome.selected.score == max(a.score for a in outcome.attempts if a.is_acceptable)

    def test_budget_exhausted_when_nothing_is_acceptable(self):
        outcome = search(ALWAYS_RED, max_attempts=15)
        assert (outcome.reason, outcome.success, outcome.attempt_count) == ("budget_exhausted", False, 15)
        assert not any(a.is_acceptable for a in outcome.attempts)
        # Nothing acceptable: the best overall is selected.
        assert outcome.selected.score == max(a.score for a in outcome.attempts)

    def test_a_high_score_is_not_acceptable_when_red(self):
        outcome = search(ALWAYS_RED, max_attempts=15, min_feasibility_score=0)
        assert outcome.reason == "budget_exhausted"
        assert all(a.risk_bucket == "RED" and not a.is_acceptable for a in outcome.attempts)

    def test_min_score_above_every_green_is_never_met(self):
        outcome = search(ALWAYS_YELLOW, max_attempts=10, min_feasibility_score=100)
        assert outcome.reason == "budget_exhausted"

    def test_timeout_is_checked_between_attempts_on_the_injected_clock(self):
        clock = FakeClock(step=1.0)  # every read is one second later
        outcome = search(ALWAYS_RED, clock=clock, max_attempts=200, time_limit_seconds=2.5)
        # Reads: start 0; before attempt 1 at 1; before attempt 2 at 2; before attempt 3 at 3 >= 2.5.
        assert (outcome.reason, outcome.success, outcome.attempt_count) == ("timeout", False, 2)
        assert outcome.elapsed_ms == 4000.0  # the final read

    def test_an_acceptable_attempt_before_the_timeout_still_succeeds(self):
        outcome = search(ALWAYS_YELLOW, clock=FakeClock(step=1.0), time_limit_seconds=2.5, min_feasibility_score=50)
        assert (outcome.reason, outcome.success) == ("acceptable_found", True)

    def test_no_candidates_when_the_design_space_is_exhausted(self):
        # 3 fixed 1.00 mm solid rings from a 3-material palette: exactly 27 designs.
        tiny = make_spec(
            "tiny",
            min_rings=3,
            max_rings=3,
            min_ring_width_mm="1.00",
            max_ring_width_mm="1.00",
            min_total_width_mm="3.00",
            max_total_width_mm="3.00",
            allow_mosaic=False,
            allow_segmented=False,
            palette_key="classic_bw",
        )
        outcome = search(ALWAYS_RED, spec=tiny, max_attempts=200)
        assert (outcome.reason, outcome.success, outcome.attempt_count) == ("no_candidates", False, 27)
        assert len({json.dumps(a.candidate) for a in outcome.attempts}) == 27
        assert outcome.duplicates_skipped >= MAX_DRAWS_PER_ATTEMPT


class TestRecords:
    def test_attempts_are_numbered_stamped_and_unique(self):
        outcome = search(ALWAYS_RED, max_attempts=40)
        assert [a.attempt_index for a in outcome.attempts] == list(range(1, 41))
        assert [a.timestamp for a in outcome.attempts] == [START + timedelta(seconds=i) for i in range(1, 41)]
        assert outcome.started_at == START and outcome.finished_at == START + timedelta(seconds=41)
        candidates = [json.dumps(a.candidate, sort_keys=True) for a in outcome.attempts]
        assert len(set(candidates)) == len(candidates)
        for attempt in outcome.attempts:
            assert attempt.ring_count == attempt.candidate["ring_count"]
            assert attempt.total_width_mm == attempt.candidate["total_width_mm"]
            assert any("chip_out is RED" in w for w in attempt.warnings)

    def test_unknown_ids_are_warned_about(self):
        outcome = search(make_context("saw:mystery"), max_attempts=3)
        assert any("'saw:mystery'" in w for w in outcome.warnings)

    def test_to_dict_is_json_ready(self):
        data = json.loads(json.dumps(search(EASY, max_attempts=5).to_dict()))
        assert data["reason"] == "green_found" and data["attempt_count"] == len(data["attempts"])
        assert data["budget"] == {
            "max_attempts": 5,
            "time_limit_seconds": 30.0,
            "min_feasibility_score": 80.0,
            "stop_on_first_green": True,
            "seed": 1,
        }
        assert data["selected_candidate"] == data["attempts"][data["selected_attempt_index"] - 1]["candidate"]


class TestDeterminism:
    def test_same_seed_same_run(self):
        first = search(ALWAYS_YELLOW, max_attempts=60, stop_on_first_green=False)
        again = search(ALWAYS_YELLOW, max_attempts=60, stop_on_first_green=False)
        assert first.to_dict() == again.to_dict()

    def test_different_seed_different_run(self):
        assert (
            search(ALWAYS_RED, max_attempts=10, seed=1).attempts != search(ALWAYS_RED, max_attempts=10, seed=2).attempts
        )

    def test_a_run_without_seed_reports_the_seed_it_drew(self):
        outcome = run_search(
            ALWAYS_RED, SIMPLE, load_catalog(), Budget(max_attempts=5), clock=FakeClock(), now=fixed_now()
        )
        replay = search(ALWAYS_RED, max_attempts=5, seed=outcome.seed)
        assert [a.candidate for a in replay.attempts] == [a.candidate for a in outcome.attempts]


class TestBudget:
    def test_defaults(self):
        assert Budget().to_dict() == {
            "max_attempts": 50,
            "time_limit_seconds": 30.0,
            "min_feasibility_score": 80.0,
            "stop_on_first_green": True,
            "seed": None,
        }

    @pytest.mark.parametrize(
        ("values", "field", "rule"),
        [
            ({"max_attempts": 0}, "max_attempts", "range"),
            ({"max_attempts": 201}, "max_attempts", "range"),
            ({"max_attempts": 5.0}, "max_attempts", "type"),
            ({"max_attempts": True}, "max_attempts", "type"),
            ({"time_limit_seconds": 0.09}, "time_limit_seconds", "range"),
            ({"time_limit_seconds": 60.5}, "time_limit_seconds", "range"),
            ({"time_limit_seconds": float("nan")}, "time_limit_seconds", "type"),
            ({"time_limit_seconds": "30"}, "time_limit_seconds", "type"),
            ({"min_feasibility_score": -1}, "min_feasibility_score", "range"),
            ({"min_feasibility_score": 100.5}, "min_feasibility_score", "range"),
            ({"stop_on_first_green": 1}, "stop_on_first_green", "type"),
            ({"seed": -1}, "seed", "range"),
            ({"seed": 2**63}, "seed", "range"),
            ({"seed": "7"}, "seed", "type"),
        ],
    )
    def test_each_rule(self, values, field, rule):
        with pytest.raises(BudgetError) as caught:
            Budget(**values)
        assert [(p.field, p.rule) for p in caught.value.problems] == [(field, rule)]

    @pytest.mark.parametrize(
        "values",
        [
            {"max_attempts": 1, "time_limit_seconds": 0.1, "min_feasibility_score": 0, "seed": 0},
            {"max_attempts": 200, "time_limit_seconds": 60, "min_feasibility_score": 100, "seed": 2**63 - 1},
            {"time_limit_seconds": Decimal("0.1"), "min_feasibility_score": Decimal("75.5")},
        ],
    )
    def test_limits_are_inclusive(self, values):
        budget = Budget(**values)
        assert isinstance(budget.time_limit_seconds, float) and isinstance(budget.min_feasibility_score, float)

    def test_every_problem_is_reported_at_once(self):
        with pytest.raises(BudgetError) as caught:
            Budget(max_attempts=0, time_limit_seconds=0, min_feasibility_score=101)
        assert [p.field for p in caught.value.problems] == [
            "max_attempts",
            "time_limit_seconds",
            "min_feasibility_score",
        ]
        assert "max_attempts: must be between 1 and 200, got 0" in str(caught.value)

    def test_from_mapping(self):
        assert Budget.from_mapping({"max_attempts": 7}).max_attempts == 7
        with pytest.raises(BudgetError) as caught:
            Budget.from_mapping({"max_attempt": 7})
        assert [(p.field, p.rule) for p in caught.value.problems] == [("max_attempt", "unknown_field")]
