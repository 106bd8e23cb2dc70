from __future__ import annotations

import random
import re
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path

import pytest

from engine.context import Context
from engine.feasibility import CHECK_NAMES, CHECKS, PATTERN_STRESS, TOOL_IMPACT, Scorer, bucket_of
from engine.generator import Generator
from tests.factories import make_candidate, make_context, make_spec

DOCS = Path(__file__).resolve().parents[2] / "docs" / "feasibility.md"


def check(context: Context, candidate, name: str, catalog) -> float:
    result = Scorer(context, catalog).score(candidate)
    return next(c.score for c in result.checks if c.name == name)


def solid(width: float, material: str = "wood:maple-hard"):
    return (width, "solid", material)


class TestEachCheck:
    @pytest.mark.parametrize(
        ("thinnest", "expected"),
        [(0.75, 0.0), (1.13, 25.3), (1.50, 50.0), (1.69, 65.2), (1.88, 80.1), (3.00, 100.0), (4.00, 100.0)],
    )
    def test_min_feature(self, catalog, thinnest, expected):
        # router:upcut-1.5 has a 1.5 mm minimum feature; the thinnest ring decides.
        candidate = make_candidate(solid(thinnest), solid(4.0))
        assert check(make_context("router:upcut-1.5"), candidate, "min_feature", catalog) == expected

    @pytest.mark.parametrize(
        ("context_material", "ring", "expected"),
        [
            ("wood:maple-hard", solid(0.55, "wood:ebony"), 62.0),  # needs ebony's 0.5: ratio 1.1
            ("wood:maple-hard", solid(1.00, "shell:abalone-paua"), 50.0),  # needs shell's 1.0
            ("shell:abalone-paua", solid(0.80), 30.0),  # the context's shell needs 1.0 everywhere
            ("wood:maple-hard", solid(0.20, "wood:holly"), 0.0),  # 0.2 / 0.4
            ("wood:maple-hard", solid(0.80), 100.0),
        ],
    )
    def test_strip_width(self, catalog, context_material, ring, expected):
        candidate = make_candidate(ring, solid(3.0))
        context = make_context(material_id=context_material)
        assert check(context, candidate, "strip_width", catalog) == expected

    @pytest.mark.parametrize(
        ("machine", "rings", "total", "expected"),
        [
            ("proto:desktop-cnc", 3, 6.00, 80.0),  # 3 x 0.1 / 6 = 0.05
            ("proto:desktop-cnc", 4, 5.00, 62.0),  # 0.08
            ("proto:desktop-cnc", 8, 4.00, 0.0),  # 0.2
            ("prod:vmc-3axis", 2, 4.00, 100.0),  # 0.01
        ],
    )
    def test_tolerance_stackup(self, catalog, machine, rings, total, expected):
        candidate = make_candidate(*[solid(total / rings)] * rings)
        assert check(make_context(machine_id=machine), candidate, "tolerance_stackup", catalog) == expected

    @pytest.mark.parametrize(
        ("context_material", "rings", "expected"),
        [
            ("wood:maple-hard", [solid(2.0)], 100.0),
            ("wood:maple-hard", [(2.0, "mosaic", "wood:maple-hard")], 82.0),  # 0.9 x 0.2
            ("wood:maple-hard", [(2.0, "mosaic", "wood:ebony"), solid(2.0)], 59.5),  # 0.9 x 0.45
            ("wood:maple-hard", [(2.0, "segmented", "wood:ebony"), (2.0, "mosaic", "shell:abalone-paua")], 23.5),
            ("wood:maple-hard", [(2.0, "segmented", "shell:abalone-paua")], 49.0),  # 0.6 x 0.85
            ("shell:abalone-paua", [(2.0, "segmented", "wood:maple-hard")], 49.0),  # the context's shell
        ],
    )
    def test_brittle_patterns(self, catalog, context_material, rings, expected):
        context = make_context(material_id=context_material)
        assert check(context, make_candidate(*rings), "brittle_patterns", catalog) == expected

    @pytest.mark.parametrize(
        ("tool", "pattern", "expected"),
        [
            ("saw:slitting-0.5", "segmented", 0.0),
            ("router:downcut-0.8", "segmented", 0.0),
            ("saw:jeweler-0.25", "segmented", 100.0),
            ("laser:co2-40w", "segmented", 100.0),
            ("saw:slitting-0.5", "mosaic", 100.0),
        ],
    )
    def test_segmented_tooling(self, catalog, tool, pattern, expected):
        candidate = make_candidate(solid(2.0), (2.0, pattern, "wood:maple-hard"))
        assert check(make_context(tool), candidate, "segmented_tooling", catalog) == expected

    @pytest.mark.parametrize(
        ("tool", "context_material", "ring_material", "expected"),
        [
            ("router:upcut-1.5", "wood:maple-hard", "wood:maple-hard", 100.0),  # 1.0 x 0.2
            ("router:upcut-1.5", "wood:maple-hard", "wood:rosewood", 80.0),  # 0.35
            ("router:upcut-1.5", "wood:ebony", "wood:maple-hard", 60.0),  # 0.45
            ("router:upcut-1.5", "shell:abalone-paua", "wood:maple-hard", 0.0),  # 0.85
            ("saw:jeweler-0.25", "shell:abalone-paua", "wood:maple-hard", 81.3),  # 0.4 x 0.85
            ("laser:fiber-20w", "shell:abalone-paua", "shell:abalone-paua", 100.0),  # 0.2 x 0.85
        ],
    )
    def test_chip_out(self, catalog, tool, context_material, ring_material, expected):
        candidate = make_candidate(solid(2.0), solid(2.0, ring_material))
        context = make_context(tool, context_material)
        assert check(context, candidate, "chip_out", catalog) == expected

    @pytest.mark.parametrize(("rings", "expected"), [(6, 100.0), (8, 80.0), (9, 65.0), (10, 50.0), (16, 0.0)])
    def test_ring_capacity(self, catalog, rings, expected):
        candidate = make_candidate(*[solid(1.0)] * rings)  # proto:desktop-cnc cuts 8 rings per fixturing
        assert check(make_context(machine_id="proto:desktop-cnc"), candidate, "ring_capacity", catalog) == expected

    @pytest.mark.parametrize(
        ("thinnest", "expected"), [(4.0, 100.0), (2.0, 80.0), (1.5, 70.0), (1.0, 50.0), (0.5, 0.0)]
    )
    def test_kerf_loss(self, catalog, thinnest, expected):
        candidate = make_candidate(solid(thinnest), solid(4.0))  # saw:table-1.0 has a 1.0 mm kerf
        assert check(make_context("saw:table-1.0"), candidate, "kerf_loss", catalog) == expected


class TestCombining:
    def test_weighted_mean_and_worst_bucket_by_hand(self, catalog):
        context = make_context("router:upcut-1.5", "wood:maple-hard", "proto:desktop-cnc")
        result = Scorer(context, catalog).score(make_candidate(solid(1.69)))
        assert [(c.name, c.score, c.bucket, c.weight) for c in result.checks] == [
            ("min_feature", 65.2, "YELLOW", 3),  # 1.69 / 1.5 = 1.1267
            ("strip_width", 100.0, "GREEN", 3),
            ("tolerance_stackup", 74.5, "YELLOW", 2),  # 0.1 / 1.69 = 0.0592
            ("brittle_patterns", 100.0, "GREEN", 2),
            ("segmented_tooling", 100.0, "GREEN", 2),
            ("chip_out", 100.0, "GREEN", 2),
            ("ring_capacity", 100.0, "GREEN", 1),
            ("kerf_loss", 56.7, "YELLOW", 1),  # 1.5 / 1.69 = 0.8876
        ]
        # (3*65.2 + 3*100 + 2*74.5 + 6*100 + 100 + 56.7) / 16 = 1401.3 / 16 = 87.58
        assert (result.score, result.risk_bucket) == (87.6, "YELLOW")

    def test_one_red_check_makes_a_high_score_red(self, catalog):
        context = make_context("saw:slitting-0.5", "wood:maple-hard", "prod:vmc-3axis")
        result = Scorer(context, catalog).score(make_candidate(solid(2.0), (2.0, "segmented", "wood:maple-hard")))
        # brittle_patterns: 100 * (1 - 0.6 * 0.2) = 88 (GREEN)
        assert {c.name: c.score for c in result.checks if c.score < 100} == {
            "segmented_tooling": 0.0,
            "brittle_patterns": 88.0,
        }
        assert (result.score, result.risk_bucket) == (86.0, "RED")  # (12 * 100 + 2 * 88 + 2 * 0) / 16
        assert result.warnings == [
            "segmented_tooling is RED (0.0): 1 segmented ring, but saw:slitting-0.5 cannot cut angled joints"
        ]

    @pytest.mark.parametrize(
        ("score", "bucket"),
        [(100, "GREEN"), (80, "GREEN"), (79.9, "YELLOW"), (50, "YELLOW"), (49.9, "RED"), (0, "RED")],
    )
    def test_bucket_thresholds(self, score, bucket):
        assert bucket_of(score) == bucket

    def test_easy_context_is_all_green(self, catalog):
        context = make_context("saw:jeweler-0.25", "wood:maple-hard", "prod:vmc-3axis")
        result = Scorer(context, catalog).score(make_candidate(solid(1.5), solid(2.0, "wood:walnut"), solid(1.5)))
        assert (result.score, result.risk_bucket, result.warnings) == (100.0, "GREEN", [])
        assert [c.name for c in result.checks] == list(CHECK_NAMES)

    def test_details_name_the_deciding_ring(self, catalog):
        context = make_context("router:downcut-0.8", "wood:maple-hard", "proto:desktop-cnc")
        candidate = make_candidate(solid(2.0), (0.9, "mosaic", "wood:ebony"), solid(1.2, "wood:cedar"))
        details = {c.name: c.detail for c in Scorer(context, catalog).score(candidate).checks}
        assert (
            details["min_feature"]
            == "thinnest ring 0.90 mm (ring 2) vs router:downcut-0.8 minimum feature 0.8 mm: ratio 1.12"
        )
        # cedar's 1.20 / 0.8 = 1.5 is tighter than ebony's 0.90 / 0.5 = 1.8
        assert details["strip_width"] == "ring 3 (1.20 mm wood:cedar) vs minimum strip 0.8 mm: ratio 1.50"
        assert (
            details["brittle_patterns"] == "ring 2 is mosaic in wood:ebony: factor 0.9 x brittleness 0.45 = stress 0.41"
        )
        assert details["chip_out"] == "ring 3 (wood:cedar) cut by a router: impact 1 x brittleness 0.55 = 0.55"
        assert details["tolerance_stackup"] == (
            "3 rings x 0.1 mm tolerance of proto:desktop-cnc = 0.30 mm, 7.3% of the 4.10 mm total"
        )


class TestUnknownIds:
    def test_defaults_are_used_and_each_id_is_named(self, catalog):
        context = Context("saw:mystery", "wood:bogwood", "proto:garage")
        scorer = Scorer(context, catalog)
        assert scorer.tool == catalog.default_tool and scorer.machine == catalog.default_machine
        result = scorer.score(make_candidate(solid(2.0, "wood:unobtainium")))
        for unknown in ("'saw:mystery'", "'wood:bogwood'", "'proto:garage'", "'wood:unobtainium'"):
            assert sum(unknown in warning for warning in result.warnings) == 1, unknown
        # Default tool: router, 1.0 mm feature and kerf; default material: 0.8 mm strip, brittleness 0.5;
        # default machine: 0.1 mm tolerance, 8 rings.
        assert {c.name: c.score for c in result.checks} == {
            "min_feature": 100.0,  # 2.0 / 1.0
            "strip_width": 100.0,  # 2.0 / 0.8
            "tolerance_stackup": 80.0,  # 0.1 / 2.0
            "brittle_patterns": 100.0,
            "segmented_tooling": 100.0,
            "chip_out": 50.0,  # 1.0 x 0.5
            "ring_capacity": 100.0,
            "kerf_loss": 80.0,  # 1.0 / 2.0
        }
        assert scorer.fast_score(make_candidate(solid(2.0, "wood:unobtainium"))) == (result.score, result.risk_bucket)


def test_fast_path_agrees_with_the_full_path(catalog):
    contexts = [
        make_context(tool, material, machine)
        for tool in ("saw:jeweler-0.25", "router:upcut-1.5", "laser:co2-40w", "saw:no-such-saw")
        for material in ("wood:maple-hard", "shell:abalone-paua", "wood:cedar")
        for machine in ("proto:desktop-cnc", "prod:laser-cell")
    ]
    specs = [make_spec(max_rings=12, min_ring_width_mm="0.30"), make_spec(palette_key="shell_premium")]
    rng = random.Random(12)
    compared = 0
    for context in contexts:
        scorer = Scorer(context, catalog)
        for spec in specs:
            generator = Generator(spec, catalog)
            for _ in range(60):
                candidate = generator.sample(rng)
                full = scorer.score(candidate)
                assert scorer.fast_score(candidate) == (full.score, full.risk_bucket)
                assert full.risk_bucket == bucket_of(min(c.score for c in full.checks))
                weighted = sum(c.weight * Decimal(repr(c.score)) for c in full.checks) / sum(
                    c.weight for c in full.checks
                )
                assert Decimal(repr(full.score)) == weighted.quantize(Decimal("0.1"), ROUND_HALF_EVEN)
                assert 0 <= full.score <= 100
                compared += 1
    assert compared == 24 * 2 * 60


def test_calibration_spreads_contexts(catalog):
    """The shipped catalog must make some contexts easy and some hard, whatever the profile."""
    spec = make_spec(max_rings=8)

    def buckets(tool: str, material: str, machine: str) -> dict[str, int]:
        scorer = Scorer(make_context(tool, material, machine), catalog)
        counts = {"GREEN": 0, "YELLOW": 0, "RED": 0}
        for candidate in Generator(spec, catalog).generate(500, seed=13):
            counts[scorer.fast_score(candidate)[1]] += 1
        return counts

    easy = buckets("saw:jeweler-0.25", "wood:maple-hard", "prod:vmc-3axis")
    hard = buckets("router:upcut-1.5", "shell:abalone-paua", "proto:desktop-cnc")
    middling = buckets("router:downcut-0.8", "wood:ebony", "prod:vmc-3axis")
    assert easy["GREEN"] > 50  # this loose profile also allows shell mosaics, which are RED anywhere
    assert hard == {"GREEN": 0, "YELLOW": 0, "RED": 500}
    assert middling["GREEN"] == 0 and middling["YELLOW"] > 50


def test_docs_match_the_code():
    text = DOCS.read_text()
    for spec in CHECKS:
        row = re.search(rf"^\| `{spec.name}` \| (\d+) \|[^|]*\| ([^|]*) \|$", text, re.MULTILINE)
        assert row, f"docs/feasibility.md has no table row for {spec.name}"
        assert int(row.group(1)) == spec.weight, spec.name
        points = ", ".join(f"{x:g} → {y:g}" for x, y in spec.curve) or "—"
        assert row.group(2).strip() == points, spec.name
        assert f"### `{spec.name}` (weight {spec.weight})" in text
    assert f"Σ weights = {sum(c.weight for c in CHECKS)}" in text
    assert ", ".join(f"{p} {f:g}" for p, f in PATTERN_STRESS.items()) in text.replace("\n", " ")
    assert ", ".join(f"{k} {v:.1f}" for k, v in TOOL_IMPACT.items()) in text.replace("\n", " ")


def test_docs_state_the_shipped_defaults(catalog):
    tool, material, machine = catalog.default_tool, catalog.default_material, catalog.default_machine
    text = DOCS.read_text()
    cuts = "angled cuts" if tool.angled_cuts else "no angled cuts"
    assert (
        f"| tool | {tool.kind}, kerf {tool.kerf_mm:.1f} mm, minimum feature {tool.min_feature_mm:.1f} mm, {cuts} |"
        in text
    )
    assert (
        f"| material | {material.kind}, minimum strip {material.min_strip_mm:g} mm, brittleness {material.brittleness:g} |"
        in text
    )
    assert (
        f"| machine | {machine.machine_class}, tolerance {machine.tolerance_mm:g} mm, at most {machine.max_rings} rings |"
        in text
    )


class TestExactRounding:
    """Sub-scores and the overall score are rounded from their exact values (docs/feasibility.md,
    "Rounding"), so a tie is a tie and goes to the even tenth, whatever binary floats would say."""

    def test_a_weighted_mean_of_exactly_79_95_scores_80(self, catalog):
        # 3*100 + 3*92.5 + 2*100 + 2*55 + 2*100 + 2*8.3 + 100 + 75.1 = 1279.2; / 16 = 79.95 exactly,
        # which rounds to the even 80.0 (float arithmetic made it 79.94999... and so 79.9).
        context = make_context("router:vbit-60", "wood:maple-hard", "prod:vmc-3axis")
        candidate = make_candidate(
            (3.00, "solid", "wood:spruce"),
            (3.00, "segmented", "wood:holly"),
            (3.00, "solid", "wood:rosewood"),
            (1.58, "segmented", "shell:mother-of-pearl"),
            (0.86, "solid", "wood:rosewood"),
        )
        result = Scorer(context, catalog).score(candidate)
        assert [c.score for c in result.checks] == [100.0, 92.5, 100.0, 55.0, 100.0, 8.3, 100.0, 75.1]
        assert (result.score, result.risk_bucket) == (80.0, "RED")
        assert Scorer(context, catalog).fast_score(candidate) == (80.0, "RED")

    def test_a_sub_score_tie_goes_to_the_even_tenth(self, catalog):
        # strip_width: 0.49 mm of mother of pearl (0.8 mm minimum strip): x = 0.6125,
        # 100 * (0.6125 - 0.5) = 11.25 exactly -> 11.2 (floats made it 11.250000000000002 -> 11.3).
        candidate = make_candidate((0.49, "solid", "shell:mother-of-pearl"), solid(4.0))
        assert check(make_context(), candidate, "strip_width", catalog) == 11.2

    def test_sub_scores_and_scores_match_an_exact_decimal_recomputation(self, catalog):
        """A sweep over generated candidates in many contexts, against :func:`exact_reference`."""
        specs = [
            make_spec(max_rings=12, min_ring_width_mm="0.30"),
            make_spec(palette_key="shell_premium", min_ring_width_mm="0.40", max_ring_width_mm="4.00"),
            make_spec(min_rings=2, max_rings=20, min_ring_width_mm="0.15", max_ring_width_mm="1.20"),
        ]
        contexts = [
            make_context(tool, material, machine)
            for tool in list(catalog.tools) + ["saw:no-such-saw"]
            for material in ("wood:maple-hard", "wood:ebony", "shell:mother-of-pearl", "wood:cedar")
            for machine in list(catalog.machines)
        ]
        rng = random.Random(20)
        compared = ties = 0
        for context in contexts:
            scorer = Scorer(context, catalog)
            for spec in specs:
                generator = Generator(spec, catalog)
                for _ in range(40):
                    candidate = generator.sample(rng)
                    subs, score = exact_reference(context, candidate, catalog)
                    full = scorer.score(candidate)
                    assert [Decimal(repr(c.score)) for c in full.checks] == subs, (context, candidate)
                    assert Decimal(repr(full.score)) == score, (context, candidate)
                    assert scorer.fast_score(candidate) == (full.score, full.risk_bucket)
                    weighted = sum(w * s for w, s in zip((c.weight for c in CHECKS), subs)) / 16
                    ties += (weighted * 10) % 1 == Decimal("0.5")
                    compared += 1
        assert compared == 9 * 4 * 4 * 3 * 40
        assert ties > 0  # the sweep does reach exact ties, where floats used to decide


def _curve_exact(points, x: Decimal) -> Decimal:
    pts = [(Decimal(repr(px)), Decimal(repr(py))) for px, py in points]
    if x <= pts[0][0]:
        return pts[0][1]
    if x >= pts[-1][0]:
        return pts[-1][1]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if x0 <= x < x1:
            return y0 + (x - x0) * (y1 - y0) / (x1 - x0)
    raise AssertionError(x)


def exact_reference(context: Context, candidate, catalog) -> tuple[list[Decimal], Decimal]:
    """docs/feasibility.md computed again in Decimal, independently of engine.feasibility:
    every catalog number as the decimal written in the file, each sub-score rounded half-even to
    0.1, then the weighted mean of those, rounded the same way."""
    with localcontext() as ctx:
        ctx.prec = 60
        tenth = Decimal("0.1")
        d = lambda value: Decimal(repr(value))  # noqa: E731
        tool, _ = catalog.tool(context.tool_id)
        stock, _ = catalog.material(context.material_id)
        machine, _ = catalog.machine(context.machine_id)
        rings = [
            (Decimal(w) / 100, p, catalog.materials.get(m, catalog.default_material))
            for w, p, m in zip(candidate.widths, candidate.patterns, candidate.materials)
        ]
        n = len(rings)
        thinnest = min(w for w, _, _ in rings)
        total = Decimal(candidate.total) / 100
        brittle = [max(d(stock.brittleness), d(m.brittleness)) for _, _, m in rings]
        stress = [d(PATTERN_STRESS.get(p, 0.0)) * b for (_, p, _), b in zip(rings, brittle)]
        segmented = any(p == "segmented" for _, p, _ in rings)
        curves = {c.name: c.curve for c in CHECKS}
        raw = [
            _curve_exact(curves["min_feature"], thinnest / d(tool.min_feature_mm)),
            _curve_exact(
                curves["strip_width"], min(w / max(d(stock.min_strip_mm), d(m.min_strip_mm)) for w, _, m in rings)
            ),
            _curve_exact(curves["tolerance_stackup"], n * d(machine.tolerance_mm) / total),
            100 * (1 - max(stress)),
            Decimal(0) if segmented and not tool.angled_cuts else Decimal(100),
            _curve_exact(curves["chip_out"], d(TOOL_IMPACT[tool.kind]) * max(brittle)),
            _curve_exact(curves["ring_capacity"], Decimal(n) / machine.max_rings),
            _curve_exact(curves["kerf_loss"], d(tool.kerf_mm) / thinnest),
        ]
        subs = [value.quantize(tenth, ROUND_HALF_EVEN) for value in raw]
        weighted = sum(c.weight * s for c, s in zip(CHECKS, subs)) / sum(c.weight for c in CHECKS)
        return subs, weighted.quantize(tenth, ROUND_HALF_EVEN)
