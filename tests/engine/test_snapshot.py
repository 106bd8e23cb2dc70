from __future__ import annotations

import json
import math
from collections import Counter

import pytest

from engine.feasibility import Scorer
from engine.generator import Generator
from engine.snapshot import (
    SnapshotError,
    compare_snapshots,
    percentile,
    sample_snapshot,
    total_width_bins,
)
from tests.factories import make_context, make_spec

EASY = make_context("saw:jeweler-0.25", "wood:maple-hard", "prod:vmc-3axis")


class TestPercentile:
    @pytest.mark.parametrize(
        ("values", "p", "expected"),
        [
            ([1, 2, 3, 4, 5], 50, 3),  # rank ceil(2.5) = 3
            ([1, 2, 3, 4, 5], 90, 5),  # rank ceil(4.5) = 5
            (list(range(1, 11)), 50, 5),  # rank 5
            (list(range(1, 11)), 90, 9),  # rank 9
            (list(range(1, 71)), 90, 63),  # rank 63 exactly; 0.9 * 70 in floats would say 64
            ([7], 50, 7),
            ([1, 2, 3], 100, 3),
        ],
    )
    def test_nearest_rank(self, values, p, expected):
        assert percentile(values, p) == expected


class TestTotalWidthBins:
    def test_ten_equal_bins(self):
        bins = total_width_bins(300, 1200)
        assert bins[0] == (300, 390) and bins[-1] == (1110, 1200) and len(bins) == 10
        assert all(high - low == 90 for low, high in bins)

    def test_last_bin_may_be_narrower(self):
        bins = total_width_bins(0, 837)  # bin width ceil(83.7) = 84
        assert len(bins) == 10 and bins[-1] == (756, 837)

    def test_few_values(self):
        assert total_width_bins(300, 305) == [(300, 301), (301, 302), (302, 303), (303, 304), (304, 305)]

    def test_a_single_total(self):
        assert total_width_bins(300, 300) == [(300, 300)]


class TestSampleSnapshot:
    def test_a_fully_determined_profile(self, catalog):
        spec = make_spec(
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
        snapshot = sample_snapshot(spec, catalog, EASY, n_samples=40, seed=1, examples=2)
        assert {k: snapshot["ring_count"][k] for k in ("min", "max", "mean", "p50", "p90")} == dict.fromkeys(
            ("min", "max", "mean", "p50", "p90"), 3
        )
        assert snapshot["ring_count"]["histogram"] == [{"value": 3, "count": 40}]
        assert snapshot["total_width_mm"]["histogram"] == [{"low": 3.0, "high": 3.0, "count": 40}]
        assert snapshot["pattern_shares"] == {"solid": 1.0, "mosaic": 0.0, "segmented": 0.0}
        assert snapshot["risk"] == {
            "GREEN": {"count": 40, "share": 1.0},
            "YELLOW": {"count": 0, "share": 0.0},
            "RED": {"count": 0, "share": 0.0},
        }
        assert snapshot["score"] == {"min": 100.0, "max": 100.0, "mean": 100.0, "p50": 100.0, "p90": 100.0}

    def test_statistics_match_an_independent_count(self, catalog):
        spec = make_spec(min_rings=2, max_rings=7, max_total_width_mm="9.00")
        context = make_context("router:downcut-0.8", "wood:ebony", "proto:desktop-cnc")
        snapshot = sample_snapshot(spec, catalog, context, n_samples=200, seed=5, examples=3)

        candidates = Generator(spec, catalog).generate(200, seed=5)  # the same draws
        scorer = Scorer(context, catalog)
        results = [scorer.score(c) for c in candidates]

        def nearest_rank(values, p):
            ordered = sorted(values)
            return ordered[math.ceil(p * len(ordered) / 100) - 1]

        counts = [c.ring_count for c in candidates]
        assert snapshot["ring_count"]["mean"] == round(sum(counts) / 200, 2)
        assert snapshot["ring_count"]["p90"] == nearest_rank(counts, 90)
        assert snapshot["ring_count"]["histogram"] == [{"value": n, "count": counts.count(n)} for n in range(2, 8)]
        totals = [c.total / 100 for c in candidates]
        assert (snapshot["total_width_mm"]["min"], snapshot["total_width_mm"]["max"]) == (min(totals), max(totals))
        assert snapshot["total_width_mm"]["p50"] == nearest_rank(totals, 50)
        histogram = snapshot["total_width_mm"]["histogram"]
        assert sum(b["count"] for b in histogram) == 200
        for i, b in enumerate(histogram):
            last = i == len(histogram) - 1
            assert b["count"] == sum(b["low"] <= t < b["high"] or (last and t == b["high"]) for t in totals)
        scores = [r.score for r in results]
        assert snapshot["score"]["mean"] == round(sum(scores) / 200, 2)
        assert snapshot["score"]["p90"] == nearest_rank(scores, 90)
        buckets = Counter(r.risk_bucket for r in results)
        assert {b: v["count"] for b, v in snapshot["risk"].items()} == {
            b: buckets[b] for b in ("GREEN", "YELLOW", "RED")
        }
        rings = Counter(p for c in candidates for p in c.patterns)
        assert snapshot["pattern_shares"]["mosaic"] == round(rings["mosaic"] / sum(rings.values()), 4)
        assert [e["candidate"] for e in snapshot["examples"]] == [c.to_dict() for c in candidates[:3]]
        assert [e["feasibility"] for e in snapshot["examples"]] == [r.to_dict() for r in results[:3]]

    def test_is_json_ready_and_deterministic(self, catalog):
        spec = make_spec()
        first = sample_snapshot(spec, catalog, EASY, n_samples=50, seed=9)
        assert json.loads(json.dumps(first)) == first
        assert sample_snapshot(spec, catalog, EASY, n_samples=50, seed=9) == first
        assert len(first["examples"]) == 5 and first["seed"] == 9 and first["n_samples"] == 50

    def test_without_a_seed_one_is_drawn_and_reported(self, catalog):
        snapshot = sample_snapshot(make_spec(), catalog, EASY, n_samples=20, seed=None)
        again = sample_snapshot(make_spec(), catalog, EASY, n_samples=20, seed=snapshot["seed"])
        assert again == snapshot

    def test_warns_about_unknown_ids_and_ring_counts_that_cannot_occur(self, catalog):
        spec = make_spec(
            min_rings=1, max_rings=8, max_ring_width_mm="1.00", min_total_width_mm="4.00", max_total_width_mm="5.00"
        )  # rings of at most 1.00 mm: 1-3 of them cannot reach 4.00 mm
        snapshot = sample_snapshot(spec, catalog, make_context(machine_id="prod:mystery"), n_samples=30, seed=1)
        assert any("'prod:mystery'" in w for w in snapshot["warnings"])
        assert (
            "ring counts 1-3 never occur: no widths of 0.50-1.00 mm add up to a total of 4.00-5.00 mm"
            in snapshot["warnings"]
        )
        histogram = {bar["value"]: bar["count"] for bar in snapshot["ring_count"]["histogram"]}
        assert list(histogram) == list(range(1, 9)) and histogram[1] == histogram[2] == histogram[3] == 0

    @pytest.mark.parametrize(
        ("arguments", "field", "rule"),
        [
            ({"n_samples": 4}, "n_samples", "range"),
            ({"n_samples": 10_001}, "n_samples", "range"),
            ({"n_samples": 50.0}, "n_samples", "type"),
            ({"n_samples": True}, "n_samples", "type"),
            ({"n_samples": "50"}, "n_samples", "type"),
            ({"seed": -1}, "seed", "range"),
            ({"seed": 1.5}, "seed", "type"),
            ({"examples": 21}, "examples", "range"),
            ({"examples": -1}, "examples", "range"),
        ],
    )
    def test_validation(self, catalog, arguments, field, rule):
        values = {"n_samples": 50, "seed": 1, "examples": 5, **arguments}
        with pytest.raises(SnapshotError) as caught:
            sample_snapshot(make_spec(), catalog, EASY, **values)
        assert [(p.field, p.rule) for p in caught.value.problems] == [(field, rule)]

    def test_the_limits_are_inclusive(self, catalog):
        assert sample_snapshot(make_spec(), catalog, EASY, n_samples=5, seed=0, examples=0)["examples"] == []


class TestCompare:
    def test_deltas_are_proposed_minus_current(self, catalog):
        current = sample_snapshot(make_spec(), catalog, EASY, n_samples=300, seed=2)
        proposed = sample_snapshot(make_spec(bias_simple=True), catalog, EASY, n_samples=300, seed=2)
        comparison = compare_snapshots(current, proposed)
        for key in ("ring_count", "total_width_mm", "score"):
            for stat in ("min", "max", "mean", "p50", "p90"):
                entry = comparison[key][stat]
                assert (entry["current"], entry["proposed"]) == (current[key][stat], proposed[key][stat])
                assert entry["delta"] == round(proposed[key][stat] - current[key][stat], 2)
        for bucket in ("GREEN", "YELLOW", "RED"):
            entry = comparison["risk_shares"][bucket]
            assert entry["delta"] == round(proposed["risk"][bucket]["share"] - current["risk"][bucket]["share"], 4)
        assert comparison["ring_count"]["mean"]["delta"] < 0  # bias_simple: fewer rings
        assert comparison["pattern_shares"]["solid"]["delta"] > 0  # and more solid ones
        mean_rings = comparison["ring_count"]["mean"]
        assert comparison["summary"][0] == (
            f"mean ring count {mean_rings['current']:.2f} -> {mean_rings['proposed']:.2f} ({mean_rings['delta']:+g})"
        )
        assert json.loads(json.dumps(comparison)) == comparison

    def test_identical_snapshots_change_nothing(self, catalog):
        snapshot = sample_snapshot(make_spec(), catalog, EASY, n_samples=50, seed=3)
        comparison = compare_snapshots(snapshot, snapshot)
        assert all(entry["delta"] == 0 for entry in comparison["risk_shares"].values())
        assert all("unchanged" in sentence for sentence in comparison["summary"])
