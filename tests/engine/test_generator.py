from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal
from statistics import mean

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.catalog import DEFAULT_CATALOG_PATH, load_catalog, parse_catalog
from engine.generator import Candidate, Generator, PaletteError
from engine.profile import DEFAULTS, ProfileSpec, parse_profile
from tests.factories import assert_satisfies, make_spec

PROPERTY = settings(max_examples=80, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PALETTE_KEYS = ("", "classic_bw", "warm_woods", "maple_contrast", "shell_premium")


def mm(units: int) -> Decimal:
    return Decimal(units) / 100


@st.composite
def valid_specs(draw: st.DrawFn) -> ProfileSpec:
    """Any valid profile: choose one design it must admit, then bounds around it."""
    min_rings = draw(st.integers(1, 24))
    max_rings = draw(st.integers(min_rings, 24))
    min_w = draw(st.integers(1, 2000))
    max_w = draw(st.integers(min_w, 2000))
    n = draw(st.integers(min_rings, max_rings).filter(lambda n: n * min_w <= 6000))
    total = draw(st.integers(n * min_w, min(6000, n * max_w)))
    min_t = draw(st.integers(1, total))
    max_t = draw(st.integers(total, 6000))
    values = {
        **DEFAULTS,
        "min_rings": min_rings,
        "max_rings": max_rings,
        "min_ring_width_mm": mm(min_w),
        "max_ring_width_mm": mm(max_w),
        "min_total_width_mm": mm(min_t),
        "max_total_width_mm": mm(max_t),
        "allow_mosaic": draw(st.booleans()),
        "allow_segmented": draw(st.booleans()),
        "palette_key": draw(st.sampled_from(PALETTE_KEYS)),
        "bias_simple": draw(st.booleans()),
    }
    spec, problems = parse_profile("prop", values, palette_keys=PALETTE_KEYS[1:])
    assert spec is not None, problems
    return spec


TIGHT = make_spec(
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
# Only 5 rings fit: 4 rings reach at most 8.00 mm < 9.00, 6 rings need at least 10.20 mm > 10.00.
ONE_COUNT = make_spec(
    min_rings=1,
    max_rings=8,
    min_ring_width_mm="1.70",
    max_ring_width_mm="2.00",
    min_total_width_mm="9.00",
    max_total_width_mm="10.00",
)


@PROPERTY
@given(spec=valid_specs(), seed=st.integers(0, 2**32))
@example(spec=TIGHT, seed=0)
@example(spec=ONE_COUNT, seed=0)
def test_every_candidate_and_every_mutation_satisfies_its_profile(spec, seed):
    catalog = load_catalog()
    generator = Generator(spec, catalog)
    palette = catalog.palette_materials(spec.palette_key)
    rng = random.Random(seed)
    for _ in range(25):
        candidate = generator.sample(rng)
        assert_satisfies(candidate, spec, palette)
    for _ in range(25):
        candidate = generator.mutate(candidate, rng)
        assert_satisfies(candidate, spec, palette)


@PROPERTY
@given(spec=valid_specs(), seed=st.integers(0, 2**32))
def test_generation_is_deterministic_for_a_seed(spec, seed):
    generator = Generator(spec, load_catalog())
    first = generator.generate(20, seed)
    random.seed(seed + 1)  # the global generator must play no part
    assert Generator(spec, load_catalog()).generate(20, seed) == first


def test_different_seeds_give_different_candidates(catalog):
    generator = Generator(make_spec(), catalog)
    assert generator.generate(20, 1) != generator.generate(20, 2)


def test_tight_profile_yields_its_one_design(catalog):
    candidates = Generator(TIGHT, catalog).generate(50, seed=3)
    assert {(c.widths, c.patterns) for c in candidates} == {((100, 100, 100), ("solid",) * 3)}


def test_only_feasible_ring_counts_are_used(catalog):
    assert ONE_COUNT.feasible_ring_counts() == [5]
    assert {c.ring_count for c in Generator(ONE_COUNT, catalog).generate(200, seed=4)} == {5}


def test_everything_allowed_actually_occurs(catalog):
    spec = make_spec(min_rings=1, max_rings=8, max_ring_width_mm="2.00", palette_key="warm_woods")
    candidates = Generator(spec, catalog).generate(2000, seed=5)
    assert {c.ring_count for c in candidates} == set(spec.feasible_ring_counts())
    assert {p for c in candidates for p in c.patterns} == {"solid", "mosaic", "segmented"}
    assert {m for c in candidates for m in c.materials} == set(catalog.palettes["warm_woods"])
    min_w, max_w, min_t, max_t = spec.units
    widths = [w for c in candidates for w in c.widths]
    assert min(widths) == min_w and max(widths) == max_w
    totals = [c.total for c in candidates]
    assert min(totals) < min_t + 20 and max(totals) > max_t - 20


def test_empty_palette_means_any_catalog_material(catalog):
    candidates = Generator(make_spec(palette_key=""), catalog).generate(3000, seed=6)
    assert {m for c in candidates for m in c.materials} == set(catalog.materials)


def test_no_ring_position_is_favoured(catalog):
    # Totals close to 4 x max width make the per-ring clamps work hard.
    spec = make_spec(
        min_rings=4,
        max_rings=4,
        min_ring_width_mm="0.50",
        max_ring_width_mm="3.00",
        min_total_width_mm="10.00",
        max_total_width_mm="11.50",
    )
    candidates = Generator(spec, catalog).generate(4000, seed=7)
    position_means = [mean(c.widths[i] for c in candidates) for i in range(4)]
    assert max(position_means) - min(position_means) < 6  # hundredths; overall mean is ~270


def test_bias_simple_prefers_fewer_rings_and_solid_patterns(catalog):
    plain = Generator(make_spec(bias_simple=False), catalog).generate(1000, seed=8)
    simple = Generator(make_spec(bias_simple=True), catalog).generate(1000, seed=8)

    def solid_share(candidates: list[Candidate]) -> float:
        patterns = Counter(p for c in candidates for p in c.patterns)
        return patterns["solid"] / sum(patterns.values())

    assert mean(c.ring_count for c in simple) < mean(c.ring_count for c in plain) - 0.5
    assert solid_share(simple) > solid_share(plain) + 0.15


def test_unknown_palette_is_refused_not_guessed(catalog):
    spec, _ = parse_profile("p", {**DEFAULTS, "palette_key": "gone_palette"})  # validated without a catalog
    with pytest.raises(PaletteError) as caught:
        Generator(spec, catalog)
    assert caught.value.problem.field == "palette_key"
    assert "'gone_palette'" in str(caught.value)


class TestMutation:
    def test_a_neighbour_differs_in_one_move(self, catalog):
        generator = Generator(make_spec(max_rings=8), catalog)
        rng = random.Random(9)
        for _ in range(300):
            candidate = generator.sample(rng)
            neighbour = generator.mutate(candidate, rng)
            assert neighbour != candidate
            assert abs(neighbour.ring_count - candidate.ring_count) <= 1

    def test_every_kind_of_move_happens(self, catalog):
        generator = Generator(make_spec(max_rings=8, palette_key="classic_bw"), catalog)
        rng = random.Random(10)
        seen = Counter()
        for _ in range(500):
            c = generator.sample(rng)
            m = generator.mutate(c, rng)
            if m.ring_count != c.ring_count:
                seen["ring_count"] += 1
            elif m.total != c.total:
                seen["resize"] += 1
            elif m.widths != c.widths:
                seen["move_width"] += 1
            elif m.patterns != c.patterns:
                seen["pattern"] += 1
            elif m.materials != c.materials:
                seen["material"] += 1
        assert set(seen) == {"ring_count", "resize", "move_width", "pattern", "material"}

    def test_fixed_widths_leave_only_materials_to_change(self, catalog):
        spec = make_spec(
            min_rings=2,
            max_rings=2,
            min_ring_width_mm="1.00",
            max_ring_width_mm="1.00",
            min_total_width_mm="2.00",
            max_total_width_mm="2.00",
            allow_mosaic=False,
            allow_segmented=False,
            palette_key="classic_bw",
        )
        one = Candidate((100, 100), ("solid", "solid"), ("wood:ebony", "wood:ebony"), 200)
        neighbour = Generator(spec, catalog).mutate(one, random.Random(11))
        assert neighbour.widths == one.widths and neighbour.patterns == one.patterns
        assert neighbour.materials != one.materials

    def test_a_one_design_profile_returns_the_candidate_itself(self):
        text = DEFAULT_CATALOG_PATH.read_text() + '  solo: ["wood:ebony"]\n'
        catalog = parse_catalog(text)
        spec, problems = parse_profile(
            "solo",
            {
                **DEFAULTS,
                "min_rings": 1,
                "max_rings": 1,
                "min_ring_width_mm": "1.00",
                "max_ring_width_mm": "1.00",
                "min_total_width_mm": "1.00",
                "max_total_width_mm": "1.00",
                "allow_mosaic": False,
                "allow_segmented": False,
                "palette_key": "solo",
            },
            palette_keys=catalog.palette_keys(),
        )
        generator = Generator(spec, catalog)
        only = generator.sample(random.Random(0))
        assert only == Candidate((100,), ("solid",), ("wood:ebony",), 100)
        assert generator.mutate(only, random.Random(0)) == only


def test_to_dict(catalog):
    candidate = Candidate((37, 251), ("solid", "mosaic"), ("wood:ebony", "wood:holly"), 288)
    assert candidate.to_dict() == {
        "rings": [
            {"width_mm": 0.37, "pattern": "solid", "material_key": "wood:ebony"},
            {"width_mm": 2.51, "pattern": "mosaic", "material_key": "wood:holly"},
        ],
        "ring_count": 2,
        "total_width_mm": 2.88,
    }
    assert candidate.ring_count == 2 and candidate.total_width_mm == 2.88
