from __future__ import annotations

import random

import pytest

from engine.context import Context
from engine.feasibility import RED, Scorer
from engine.generator import Generator
from engine.prediction import MAX_CONTEXTS, PredictionError, context_seed, predict
from engine.profile import DEFAULTS
from tests.factories import make_context, make_spec

EASY = make_context("saw:jeweler-0.25", "wood:maple-hard", "prod:vmc-3axis")
MIDDLING = make_context("router:vbit-60", "wood:rosewood", "proto:desktop-cnc")
HARD = make_context("router:upcut-1.5", "shell:abalone-paua", "proto:hobby-laser", workflow_mode="ai_assisted")
TRAFFIC = [(EASY, 30), (MIDDLING, 12), (HARD, 5)]
SAVED = {**DEFAULTS, "min_ring_width_mm": "0.60", "max_rings": 8}


def recount(catalog, values, context, seed, n, minimum=80.0):
    """Counted again through the generator and the full scorer, with the search's rule spelt out."""
    spec = make_spec(**{k: v for k, v in values.items() if k != "description"})
    generator = Generator(spec, catalog)
    rng = random.Random(context_seed(seed, context))
    candidates = [generator.sample(rng) for _ in range(n)]
    results = [Scorer(context, catalog).score(c) for c in candidates]
    acceptable = sum(r.score >= minimum and r.risk_bucket != RED for r in results)
    green = sum(r.risk_bucket == "GREEN" for r in results)
    return acceptable, green, len(set(candidates))


class TestAnswers:
    def test_counts_match_a_direct_recount_through_generator_and_scorer(self, catalog):
        proposed = {**SAVED, "min_ring_width_mm": "1.00", "allow_mosaic": False}
        answer = predict(catalog, SAVED, proposed, TRAFFIC, samples_per_context=200, seed=11)
        for row, (context, weight) in zip(answer["contexts"], TRAFFIC):
            assert row["context"] == context.as_dict() and row["weight"] == weight
            for side, values in (("saved", SAVED), ("proposed", proposed)):
                acceptable, green, distinct = recount(catalog, values, context, 11, 200)
                assert row[side] == {
                    "acceptable": acceptable,
                    "acceptable_share": round(acceptable / 200, 4),
                    "green": green,
                    "green_share": round(green / 200, 4),
                    "distinct_designs": distinct,
                }, (side, context)

    def test_overall_shares_are_weighted_by_the_traffic(self, catalog):
        answer = predict(catalog, SAVED, None, TRAFFIC, samples_per_context=100, seed=3)
        rows = answer["contexts"]
        total = sum(w for _, w in TRAFFIC)
        for share in ("acceptable_share", "green_share"):
            counts = [row["saved"][share.replace("_share", "")] for row in rows]
            expected = sum(w * c / 100 for (_, w), c in zip(TRAFFIC, counts)) / total
            assert answer["overall"]["saved"][share] == round(expected, 4)
        assert answer["overall"]["proposed"] is None and answer["overall"]["difference"] is None
        assert all(row["proposed"] is None and row["difference"] is None for row in rows)

    def test_the_contexts_differ_in_difficulty(self, catalog):
        rows = predict(catalog, SAVED, None, TRAFFIC, samples_per_context=300, seed=5)["contexts"]
        easy, _, hard = (row["saved"]["acceptable_share"] for row in rows)
        assert easy > 0.3 and hard == 0.0

    def test_acceptable_follows_the_minimum_score(self, catalog):
        low = predict(catalog, SAVED, None, TRAFFIC, samples_per_context=200, seed=2, min_feasibility_score=50)
        high = predict(catalog, SAVED, None, TRAFFIC, samples_per_context=200, seed=2, min_feasibility_score=95)
        assert low["overall"]["saved"]["acceptable_share"] > high["overall"]["saved"]["acceptable_share"]
        assert low["overall"]["saved"]["green_share"] == high["overall"]["saved"]["green_share"]
        assert high["min_feasibility_score"] == 95.0

    def test_rings_below_the_tool_minimum_feature_predict_a_lower_share_in_every_context(self, catalog):
        # Issue 16: narrowing rings below the tool's minimum feature must read as worse, per context.
        saved = {**DEFAULTS, "min_ring_width_mm": "1.00", "max_ring_width_mm": "2.50", "allow_segmented": False}
        narrow = {**saved, "min_ring_width_mm": "0.20", "max_ring_width_mm": "0.60"}
        traffic = [
            (make_context("router:vbit-60", "wood:maple-hard", "prod:vmc-3axis"), 10),  # min feature 0.4 mm
            (make_context("saw:slitting-0.5", "wood:maple-hard", "prod:laser-cell"), 5),  # 0.6 mm
        ]
        answer = predict(catalog, saved, narrow, traffic, samples_per_context=300, seed=8)
        for row in answer["contexts"]:
            assert row["proposed"]["acceptable_share"] < row["saved"]["acceptable_share"], row["context"]
            assert row["difference"]["acceptable_share"] < 0
        assert answer["overall"]["difference"]["acceptable_share"] < 0


class TestCommonRandomNumbers:
    def test_the_same_values_on_both_sides_differ_by_exactly_nothing(self, catalog):
        answer = predict(catalog, SAVED, dict(SAVED), TRAFFIC, samples_per_context=150, seed=21)
        for row in answer["contexts"]:
            assert row["proposed"] == row["saved"]
            assert row["difference"] == {"acceptable_share": 0.0, "green_share": 0.0, "distinct_designs": 0}

    def test_a_seed_gives_the_same_answer_and_order_does_not_matter(self, catalog):
        first = predict(catalog, SAVED, None, TRAFFIC, samples_per_context=100, seed=4)
        again = predict(catalog, SAVED, None, list(reversed(TRAFFIC)), samples_per_context=100, seed=4)
        assert first["contexts"] == list(reversed(again["contexts"]))
        assert first["overall"] == again["overall"]
        other = predict(catalog, SAVED, None, TRAFFIC, samples_per_context=100, seed=5)
        assert other["contexts"] != first["contexts"]

    def test_without_a_seed_one_is_drawn_and_reported(self, catalog):
        answer = predict(catalog, SAVED, None, TRAFFIC[:1], samples_per_context=20)
        replay = predict(catalog, SAVED, None, TRAFFIC[:1], samples_per_context=20, seed=answer["seed"])
        assert replay == answer

    def test_contexts_get_their_own_seeds(self):
        seeds = {context_seed(1, context) for context, _ in TRAFFIC}
        assert len(seeds) == len(TRAFFIC)
        assert context_seed(1, EASY) == context_seed(1, make_context())  # identity, not position
        assert all(0 <= s < 2**63 for s in seeds)


class TestValidation:
    def problems(self, catalog, **overrides):
        arguments = {"saved": SAVED, "proposed": None, "traffic": TRAFFIC, "samples_per_context": 50, "seed": 1}
        arguments.update(overrides)
        with pytest.raises(PredictionError) as info:
            predict(catalog, **arguments)
        return {(p.field, p.rule) for p in info.value.problems}

    def test_profile_values_are_checked_like_any_profile_edit(self, catalog):
        found = self.problems(
            catalog,
            saved={**SAVED, "max_rings": 0},
            proposed={**SAVED, "palette_key": "no-such-palette", "min_ring_width_mm": "4.00"},
        )
        assert found == {
            ("saved.max_rings", "range"),
            ("proposed.palette_key", "unknown_palette"),
            ("proposed.max_ring_width_mm", "min_le_max"),
        }
        assert self.problems(catalog, proposed={"min_rings": 2}) >= {("proposed.max_rings", "required")}
        assert self.problems(catalog, saved=[1, 2]) == {("saved", "type")}

    def test_a_profile_that_admits_no_design_is_refused(self, catalog):
        found = self.problems(catalog, proposed={**SAVED, "min_rings": 6, "max_total_width_mm": "3.00"})
        assert found == {("proposed.max_total_width_mm", "admits_design")}

    @pytest.mark.parametrize(
        ("traffic", "expected"),
        [
            ([], {("traffic", "range")}),
            ("contexts", {("traffic", "type")}),
            ([(EASY, 0)], {("traffic[0].weight", "range")}),
            ([(EASY, float("nan"))], {("traffic[0].weight", "type")}),
            ([(EASY, True)], {("traffic[0].weight", "type")}),
            ([(EASY, 1), (EASY, 2)], {("traffic[1].context", "duplicate")}),
            ([({"tool_id": "x"}, 1)], {("traffic[0]", "type")}),
        ],
    )
    def test_traffic_rules(self, catalog, traffic, expected):
        assert self.problems(catalog, traffic=traffic) == expected

    def test_at_most_twenty_contexts(self, catalog):
        many = [(Context(f"saw:{i}", "wood:maple-hard", "prod:vmc-3axis"), 1) for i in range(MAX_CONTEXTS + 1)]
        assert self.problems(catalog, traffic=many) == {("traffic", "range")}

    def test_sampling_rules(self, catalog):
        assert self.problems(catalog, samples_per_context=4) == {("samples_per_context", "range")}
        assert self.problems(catalog, samples_per_context=10.0) == {("samples_per_context", "type")}
        assert self.problems(catalog, seed=-1) == {("seed", "range")}
        assert self.problems(catalog, min_feasibility_score=101) == {("min_feasibility_score", "range")}
        assert self.problems(catalog, min_feasibility_score="80") == {("min_feasibility_score", "type")}
