from __future__ import annotations

import json
from decimal import Decimal

import optuna
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.generator import Generator
from engine.prediction import predict
from engine.profile import DEFAULTS, MAX_RINGS_LIMIT, parse_profile
from engine.tuning import DIVERSITY, SearchSpace, TuningError, admit, sampling_noise, tune
from tests.factories import make_context, make_spec

from .test_generator import valid_specs

PROPERTY = settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TRAFFIC = [
    (make_context("saw:jeweler-0.25", "wood:maple-hard", "prod:vmc-3axis"), 40),
    (make_context("router:vbit-60", "wood:rosewood", "proto:desktop-cnc"), 25),
    (make_context("router:upcut-1.5", "wood:ebony", "proto:hobby-laser"), 10),
]
SAVED = {**DEFAULTS, "description": "loose starter", "max_rings": 8}
QUICK = {"trials": 12, "samples_per_context": 25, "seed": 7}


@pytest.fixture(autouse=True)
def _quiet_optuna():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield
    optuna.logging.set_verbosity(optuna.logging.INFO)


@pytest.fixture(scope="module")
def result():
    from engine.catalog import load_catalog

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return tune(load_catalog(), SAVED, TRAFFIC, trials=30, samples_per_context=40, seed=5)


def space_for(catalog, spec):
    return SearchSpace.for_traffic(spec, catalog, [c for c, _ in TRAFFIC])


class TestSearchSpace:
    def test_limits_come_from_the_traffic_and_take_in_the_saved_values(self, catalog):
        space = space_for(catalog, make_spec(**{k: v for k, v in SAVED.items() if k != "description"}))
        assert space.max_ring_count == 20  # prod:vmc-3axis cuts 20 rings in one fixturing
        assert space.ring_width == (30, 600)  # the jeweler's saw's 0.3 mm feature .. four 1.5 mm kerfs
        assert space.total_width == (150, 1800)  # half the saved minimum .. 1.5 x the saved maximum
        assert space.palette_keys == ("", *catalog.palette_keys())
        wide = space_for(catalog, make_spec(max_rings=24, min_ring_width_mm="0.10", max_ring_width_mm="7.00"))
        assert (wide.max_ring_count, wide.ring_width) == (24, (10, 700))

    @PROPERTY
    @given(spec=valid_specs())
    def test_the_saved_values_are_a_point_of_the_space(self, spec):
        from engine.catalog import load_catalog

        space = space_for(load_catalog(), spec)
        params = space.params_of(spec)
        for name, distribution in space.distributions().items():
            assert distribution._contains(distribution.to_internal_repr(params[name])), name
        assert space.values_of(params, spec.description) == spec.values()

    @PROPERTY
    @given(spec=valid_specs(), data=st.data())
    def test_every_point_of_the_space_is_a_valid_profile_inside_the_limits(self, spec, data):
        from engine.catalog import load_catalog

        catalog = load_catalog()
        space = space_for(catalog, spec)
        params = {}
        for name, d in space.distributions().items():
            if isinstance(d, optuna.distributions.CategoricalDistribution):
                params[name] = data.draw(st.sampled_from(d.choices), label=name)
            elif isinstance(d, optuna.distributions.IntDistribution):
                params[name] = data.draw(st.integers(d.low, d.high), label=name)
            else:
                steps = round((d.high - d.low) / d.step)
                params[name] = d.low + data.draw(st.integers(0, steps), label=name) * d.step
        values = space.values_of(params)
        parsed, problems = parse_profile("t", values, palette_keys=catalog.palette_keys())
        assert parsed is not None, (params, problems)
        assert_inside(space, values)

    @PROPERTY
    @given(spec=valid_specs(), data=st.data())
    def test_ring_count_bounds_move_toward_the_saved_ones_only_where_nothing_changes(self, spec, data):
        from engine.catalog import load_catalog

        catalog = load_catalog()
        space = space_for(catalog, spec)
        params = {**space.params_of(spec)}
        params["min_rings"] = data.draw(st.integers(1, space.max_ring_count))
        params["extra_rings"] = data.draw(st.integers(0, space.max_ring_count - 1))
        values = space.values_of(params)
        # The same drawn values without the tidying: the generator must not see a difference.
        raw = admit(
            params["min_rings"],
            min(space.max_ring_count, params["min_rings"] + params["extra_rings"]),
            *(int(values[f] * 100) for f in ("min_ring_width_mm", "max_ring_width_mm")),
            *(round(params[f] * 100) for f in ("min_total_width_mm",)),
            min(space.total_width[1], round((params["min_total_width_mm"] + params["total_width_range_mm"]) * 100)),
            max(space.total_width[1], int(values["min_ring_width_mm"] * 100)),
        )
        untidy = {**values, "min_rings": raw[0], "max_rings": raw[1]}
        tidy_spec, _ = parse_profile("t", values)
        raw_spec, _ = parse_profile("t", untidy)
        assert tidy_spec.feasible_ring_counts() == raw_spec.feasible_ring_counts()
        assert Generator(tidy_spec, catalog).generate(20, 1) == Generator(raw_spec, catalog).generate(20, 1)
        counts = tidy_spec.feasible_ring_counts()
        # Each bound is the one nearest the saved value among those that change nothing.
        assert values["min_rings"] == min(max(spec.min_rings, raw[0]), counts[0])
        assert values["max_rings"] == max(min(spec.max_rings, raw[1]), counts[-1])


def assert_inside(space: SearchSpace, values) -> None:
    units = {k: int(Decimal(str(values[k])) * 100) for k in values if k.endswith("_mm")}
    assert 1 <= values["min_rings"] <= values["max_rings"] <= space.max_ring_count <= MAX_RINGS_LIMIT
    low, high = space.ring_width
    assert low <= units["min_ring_width_mm"] <= units["max_ring_width_mm"] <= high
    # Totals stay in the space, unless widened to admit a design; never past the product's limit.
    assert (
        0
        < units["min_total_width_mm"]
        <= units["max_total_width_mm"]
        <= max(space.total_width[1], units["min_ring_width_mm"])
    )
    assert units["max_total_width_mm"] <= 6000
    assert values["palette_key"] in space.palette_keys


class TestAdmit:
    def test_a_gap_between_ring_counts_is_bridged_by_the_nearest_total(self):
        # Rings of exactly 2.00 mm, 1-2 of them: totals 2.00 or 4.00 only; 2.90-3.20 reaches neither.
        assert admit(1, 2, 200, 200, 290, 320, 1800) == (1, 2, 290, 400)
        assert admit(1, 2, 200, 200, 210, 250, 1800) == (1, 2, 200, 250)

    def test_too_many_minimum_rings_for_the_largest_total_are_fewer(self):
        # 10 rings of 3 mm cannot fit 18 mm: at most 6 minimum rings.
        min_r, max_r, min_t, max_t = admit(10, 12, 300, 400, 600, 1800, 1800)
        assert (min_r, max_r) == (6, 12) and (min_t, max_t) == (600, 1800)


class TestTune:
    def test_the_result_is_json_with_every_promised_part(self, result):
        assert json.loads(json.dumps(result)) == result
        assert result["trials_done"] == 30 and not result["stopped"]
        assert len(result["history"]) == 30 and result["history"][0]["trial"] == 0
        assert result["saved"]["values"]["description"] == "loose starter"
        assert 1 <= len(result["proposals"]) <= 3
        best = [h["best_so_far"] for h in result["history"]]
        assert all(a is None or b >= a for a, b in zip(best, best[1:]))
        assert set(result["importances"]) <= set(result["search_space"]["parameters"])
        assert abs(sum(result["importances"].values()) - 1) < 0.01

    def test_the_first_trial_is_the_saved_values(self, result):
        first = result["history"][0]
        assert first["objective"] == result["saved"]["objective"] and first["feasible"]
        assert first["distinct_designs"] == result["saved"]["distinct_designs"]

    def test_proposals_are_distinct_valid_inside_the_space_and_sorted(self, catalog, result):
        space = space_for(catalog, make_spec(**{k: v for k, v in SAVED.items() if k != "description"}))
        seen = []
        for rank, proposal in enumerate(result["proposals"], 1):
            assert proposal["rank"] == rank
            values = proposal["values"]
            parsed, problems = parse_profile("p", values, palette_keys=catalog.palette_keys())
            assert parsed is not None, problems
            assert_inside(space, values)
            assert values != result["saved"]["values"] and values not in seen
            seen.append(values)
            assert proposal["distinct_designs"] >= result["saved"]["min_distinct_designs"]
            assert proposal["changes"] == [
                {"field": f, "before": result["saved"]["values"][f], "after": values[f]}
                for f in values
                if values[f] != result["saved"]["values"][f]
            ]
        objectives = [p["objective"] for p in result["proposals"]]
        assert objectives == sorted(objectives, reverse=True)
        assert objectives[0] == max(h["objective"] for h in result["history"] if h["feasible"])

    def test_a_proposal_predicts_what_predict_predicts(self, catalog, result):
        proposal = result["proposals"][0]
        again = predict(catalog, SAVED, proposal["values"], TRAFFIC, samples_per_context=40, seed=5)
        assert proposal["prediction"] == {"contexts": again["contexts"], "overall": again["overall"]}
        assert proposal["objective"] == again["overall"]["proposed"]["acceptable_share"]

    def test_a_seed_gives_the_same_trials_and_proposals(self, catalog):
        first = tune(catalog, SAVED, TRAFFIC, **QUICK)
        second = tune(catalog, SAVED, TRAFFIC, **QUICK)
        for result in (first, second):
            result.pop("study_name")  # a fresh in-memory study each time
        assert first == second
        other = tune(catalog, SAVED, TRAFFIC, **{**QUICK, "seed": 8})
        assert [h["objective"] for h in other["history"]] != [h["objective"] for h in first["history"]]

    def test_a_collapsing_trial_is_infeasible_and_never_proposed(self, catalog):
        storage = optuna.storages.InMemoryStorage()
        study = optuna.create_study(storage=storage, study_name="collapse", direction="maximize")
        spec = make_spec(**{k: v for k, v in SAVED.items() if k != "description"})
        space = space_for(catalog, spec)
        # One ring of exactly 3.00 mm in one of classic_bw's three woods: three designs at most.
        collapse = {
            **space.params_of(spec),
            "min_rings": 1,
            "extra_rings": 0,
            "min_ring_width_mm": 3.0,
            "ring_width_range_mm": 0.0,
            "min_total_width_mm": 3.0,
            "total_width_range_mm": 0.0,
            "allow_mosaic": False,
            "allow_segmented": False,
            "palette_key": "classic_bw",
        }
        study.enqueue_trial(collapse)
        result = tune(catalog, SAVED, TRAFFIC, storage=storage, study_name="collapse", **QUICK)
        refused = result["history"][0]
        assert refused["distinct_designs"] <= 3 and not refused["feasible"]
        # It is the best by its objective (easy, safe designs), yet refused: no win by collapsing.
        assert refused["objective"] > result["saved"]["objective"]
        frozen = study.trials[0]
        assert frozen.constraints[DIVERSITY] == result["saved"]["min_distinct_designs"] - refused["distinct_designs"]
        assert all(p["trial"] != 0 for p in result["proposals"])
        assert all(p["distinct_designs"] >= result["saved"]["min_distinct_designs"] for p in result["proposals"])
        assert study.best_trial.number != 0  # Optuna itself excludes it

    def test_a_shared_study_keeps_every_workers_trials(self, catalog):
        storage = optuna.storages.InMemoryStorage()
        first = tune(catalog, SAVED, TRAFFIC, storage=storage, study_name="shared", **QUICK)
        second = tune(catalog, SAVED, TRAFFIC, storage=storage, study_name="shared", sampler_seed=2, **QUICK)
        assert first["study_name"] == second["study_name"] == "shared"
        assert len(second["history"]) == 24  # the saved values are enqueued once
        assert second["trials_done"] == 12
        assert second["history"][:12] == first["history"]

    def test_a_worker_measuring_on_other_samples_is_refused(self, catalog):
        storage = optuna.storages.InMemoryStorage()
        tune(catalog, SAVED, TRAFFIC, storage=storage, study_name="shared", **QUICK)
        for change in ({"seed": 8}, {"samples_per_context": 30}, {"traffic": TRAFFIC[:2]}):
            with pytest.raises(TuningError) as info:
                tune(catalog, SAVED, storage=storage, study_name="shared", **{"traffic": TRAFFIC, **QUICK, **change})
            assert [(p.field, p.rule) for p in info.value.problems] == [("study_name", "mismatch")]

    def test_should_stop_cancels_and_progress_counts(self, catalog):
        calls = []
        result = tune(
            catalog,
            SAVED,
            TRAFFIC,
            progress=lambda done, total: calls.append((done, total)),
            should_stop=lambda: len(calls) >= 4,
            **QUICK,
        )
        assert result["stopped"] and result["trials_done"] == 4
        assert calls == [(1, 12), (2, 12), (3, 12), (4, 12)]
        assert len(result["history"]) == 4
        assert result["importances"] == {}  # too few trials to say

    def test_focus_makes_one_context_the_objective(self, catalog):
        focus = TRAFFIC[1][0]
        result = tune(catalog, SAVED, TRAFFIC, focus=focus, **QUICK)
        assert result["focus"] == focus.as_dict()
        saved_row = predict(catalog, SAVED, None, TRAFFIC, samples_per_context=25, seed=7)["contexts"][1]
        assert result["saved"]["objective"] == saved_row["saved"]["acceptable_share"]
        for proposal in result["proposals"]:
            assert proposal["objective"] == proposal["prediction"]["contexts"][1]["proposed"]["acceptable_share"]


class TestValidation:
    def problems(self, catalog, **overrides):
        arguments = {"saved": SAVED, "traffic": TRAFFIC, **QUICK, **overrides}
        with pytest.raises(TuningError) as info:
            tune(catalog, **arguments)
        return {(p.field, p.rule) for p in info.value.problems}

    def test_rules(self, catalog):
        assert self.problems(catalog, trials=9) == {("trials", "range")}
        assert self.problems(catalog, trials=2001) == {("trials", "range")}
        assert self.problems(catalog, trials="200") == {("trials", "type")}
        assert self.problems(catalog, focus=make_context("laser:co2-40w")) == {("focus", "not_in_traffic")}
        assert self.problems(catalog, saved={**SAVED, "min_rings": 9}) == {("saved.max_rings", "min_le_max")}
        assert self.problems(catalog, traffic=[]) == {("traffic", "range")}
        assert self.problems(catalog, samples_per_context=1, seed=-3) == {
            ("samples_per_context", "range"),
            ("seed", "range"),
        }


def test_sampling_noise_re_evaluates_the_saved_values_under_each_seed(catalog):
    noise = sampling_noise(catalog, SAVED, TRAFFIC, samples_per_context=60)
    assert noise["seeds"] == [0, 1, 2, 3, 4] and len(noise["objectives"]) == 5
    for seed, objective in zip(noise["seeds"], noise["objectives"]):
        answer = predict(catalog, SAVED, None, TRAFFIC, samples_per_context=60, seed=seed)
        assert round(objective, 4) == answer["overall"]["saved"]["acceptable_share"]
    assert noise["spread"] == max(noise["objectives"]) - min(noise["objectives"]) > 0
    assert noise["stdev"] > 0
    with pytest.raises(TuningError):
        sampling_noise(catalog, SAVED, TRAFFIC, seeds=[1])
