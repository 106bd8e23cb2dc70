"""The feasibility scorer: can this tool, material and machine make this candidate?

Every check, its formula, weight and thresholds are documented in ``docs/feasibility.md``;
:data:`CHECKS` and the curves below are the same numbers in code (a test keeps the two in step).

In short: each check gives a sub-score 0-100 (rounded to 0.1), bucketed GREEN >= 80, YELLOW >= 50,
else RED. The overall score is the weighted mean of the rounded sub-scores (rounded to 0.1); the
overall bucket is the worst check's bucket.

Rounding is exact: every catalog and curve number is taken as the decimal it is written as, each
sub-score is computed as an exact fraction (whole numbers, or :class:`fractions.Fraction`) and
rounded half-to-even to a whole number of tenths, and the weighted mean is an integer division of
whole tenths. So a tie is a tie (79.95 scores 80.0), never decided by binary float error.

:class:`Scorer` resolves the context against the catalog once and keeps every sub-score, in whole
tenths, under a small key (thinnest width; ring count; ring count and total width; the smallest
width-to-strip ratio scaled to a whole number; one ring's material, or pattern and material),
computed exactly the first time the key is seen. So scoring a candidate is dictionary look-ups
and C-level ``min``/``map`` calls over whole numbers.
:meth:`Scorer.score` returns the full :class:`Feasibility`; :meth:`Scorer.fast_score` returns only
``(score, bucket)`` and computes them with the very same code, so the two always agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from operator import mul
from typing import Any, NamedTuple

from engine.catalog import Catalog, Material
from engine.context import Context
from engine.generator import MOSAIC, SEGMENTED, Candidate
from engine.profile import UNITS_PER_MM

GREEN, YELLOW, RED = "GREEN", "YELLOW", "RED"
BUCKETS: tuple[str, ...] = (GREEN, YELLOW, RED)
GREEN_AT = 80.0
YELLOW_AT = 50.0


class CheckSpec(NamedTuple):
    name: str
    weight: int
    #: (x, score) breakpoints of the piecewise-linear curve, x ascending; constant beyond the ends.
    #: Empty for checks whose formula is not a curve (see docs/feasibility.md).
    curve: tuple[tuple[float, float], ...]


CHECKS: tuple[CheckSpec, ...] = (
    # x = thinnest ring / tool minimum feature
    CheckSpec("min_feature", 3, ((0.5, 0.0), (1.0, 50.0), (1.25, 80.0), (2.0, 100.0))),
    # x = min over rings of width / max(context material, ring material) minimum strip
    CheckSpec("strip_width", 3, ((0.5, 0.0), (1.0, 50.0), (1.25, 80.0), (2.0, 100.0))),
    # x = ring count * machine tolerance / total width
    CheckSpec("tolerance_stackup", 2, ((0.02, 100.0), (0.05, 80.0), (0.10, 50.0), (0.20, 0.0))),
    # 100 * (1 - max stress), stress = pattern factor * max(context, ring material) brittleness
    CheckSpec("brittle_patterns", 2, ()),
    # 0 when a segmented ring meets a tool without angled cuts, else 100
    CheckSpec("segmented_tooling", 2, ()),
    # x = tool kind impact * max over rings of max(context, ring material) brittleness
    CheckSpec("chip_out", 2, ((0.2, 100.0), (0.35, 80.0), (0.5, 50.0), (0.8, 0.0))),
    # x = ring count / machine max_rings
    CheckSpec("ring_capacity", 1, ((0.75, 100.0), (1.0, 80.0), (1.25, 50.0), (2.0, 0.0))),
    # x = tool kerf / thinnest ring
    CheckSpec("kerf_loss", 1, ((0.25, 100.0), (0.5, 80.0), (1.0, 50.0), (2.0, 0.0))),
)
CHECK_NAMES: tuple[str, ...] = tuple(check.name for check in CHECKS)
#: How strongly a ring of each pattern strains its material (multiplies brittleness).
PATTERN_STRESS = {MOSAIC: 0.9, SEGMENTED: 0.6}
#: How hard each kind of tool strikes the strip it cuts (multiplies brittleness): a spinning bit
#: hammers the edge, a saw shears it, a laser does not touch it (heat stress only).
TOOL_IMPACT = {"router": 1.0, "saw": 0.4, "laser": 0.2}


def bucket_of(score: float) -> str:
    return GREEN if score >= GREEN_AT else YELLOW if score >= YELLOW_AT else RED


@lru_cache(maxsize=4096)
def _exact(value: float) -> Fraction:
    """A number from the catalog or a curve as the decimal it is written as, exactly.

    ``repr`` of a float is the shortest decimal that reads back as that float, so 0.35 is 7/20,
    not the binary 0.34999999999999997779...
    """
    return Fraction(repr(value))


def _divide_to_even(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` (``denominator > 0``) to the nearest whole number, exactly; a
    tie goes to the even one (as ``round`` does)."""
    quotient, remainder = divmod(numerator, denominator)
    if 2 * remainder > denominator or (2 * remainder == denominator and quotient & 1):
        quotient += 1
    return quotient


def _tenths(value: Fraction) -> int:
    """``value`` in whole tenths, exactly, a tie to the even tenth."""
    return _divide_to_even(value.numerator * 10, value.denominator)


def _curve(points: Sequence[tuple[float, float]]) -> Callable[[int, int], int]:
    """Piecewise-linear interpolation through ``points``: ``curve(p, q)`` is the curve's value at
    ``x = p / q`` (whole numbers, ``q > 0``) in whole tenths, computed and rounded exactly with
    integers only (it runs each time a scorer meets a new key, so it is kept cheap)."""
    xs = [_exact(x) for x, _ in points]
    ys = [_exact(y) * 10 for _, y in points]
    x_scale = math.lcm(*(x.denominator for x in xs))
    y_scale = math.lcm(*(y.denominator for y in ys))
    # Breakpoints as whole numbers: x_i = a[i] / x_scale, value_i in tenths = c[i] / y_scale.
    a = [int(x * x_scale) for x in xs]
    c = [int(y * y_scale) for y in ys]
    first, last = _divide_to_even(c[0], y_scale), _divide_to_even(c[-1], y_scale)

    def curve(p: int, q: int) -> int:
        px = p * x_scale  # x = px / (q * x_scale), compared with a[i] / x_scale as px vs a[i] * q
        if px <= a[0] * q:
            return first
        if px >= a[-1] * q:
            return last
        i = 1
        while px >= a[i] * q:
            i += 1
        i -= 1  # a[i] <= x * x_scale < a[i + 1]
        span = q * (a[i + 1] - a[i])
        # _divide_to_even, inlined: this runs for every new key a scorer meets.
        denominator = span * y_scale
        quotient, remainder = divmod(c[i] * span + (c[i + 1] - c[i]) * (px - a[i] * q), denominator)
        if 2 * remainder > denominator or (2 * remainder == denominator and quotient & 1):
            quotient += 1
        return quotient

    return curve


_CURVES = {check.name: _curve(check.curve) for check in CHECKS if check.curve}
_FEATURE_CURVE = _CURVES["min_feature"]
_STRIP_CURVE = _CURVES["strip_width"]
_STACKUP_CURVE = _CURVES["tolerance_stackup"]
_CHIP_CURVE = _CURVES["chip_out"]
_CAPACITY_CURVE = _CURVES["ring_capacity"]
_KERF_CURVE = _CURVES["kerf_loss"]
_WEIGHTS = tuple(check.weight for check in CHECKS)
_TOTAL_WEIGHT = sum(_WEIGHTS)
_GREEN_TENTHS = round(GREEN_AT * 10)
_YELLOW_TENTHS = round(YELLOW_AT * 10)


@lru_cache(maxsize=4096)
def _brittle_tenths(pattern_factor: float, brittleness: float) -> int:
    """brittle_patterns of one ring: 100 x (1 - pattern factor x brittleness)."""
    return _tenths(100 - 100 * _exact(pattern_factor) * _exact(brittleness))


@lru_cache(maxsize=4096)
def _chip_tenths(impact: float, brittleness: float) -> int:
    """chip_out of one ring: the curve at tool impact x brittleness."""
    x = _exact(impact) * _exact(brittleness)
    return _CHIP_CURVE(x.numerator, x.denominator)


class CheckResult(NamedTuple):
    name: str
    score: float
    bucket: str
    weight: int
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


@dataclass(frozen=True)
class Feasibility:
    score: float
    risk_bucket: str
    warnings: list[str]
    checks: list[CheckResult]

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "risk_bucket": self.risk_bucket,
            "warnings": list(self.warnings),
            "checks": [check.to_dict() for check in self.checks],
        }


class _Memo(dict):  # type: ignore[type-arg]
    """A dict that computes, keeps and returns the value of a missing key."""

    __slots__ = ("_compute",)

    def __init__(self, compute: Callable[[Any], Any]):
        super().__init__()
        self._compute = compute

    def __missing__(self, key: Any) -> Any:
        value = self[key] = self._compute(key)
        return value


@lru_cache(maxsize=4096)
def _units(mm: float) -> Fraction:
    """Catalog millimetres as hundredths, exactly (0.07 mm is 7, not 7.000000000000001)."""
    return _exact(mm) * UNITS_PER_MM


class Scorer:
    """Scores candidates for one context. Build one per context and reuse it."""

    def __init__(self, context: Context, catalog: Catalog):
        self.context = context
        self.catalog = catalog
        self.tool, tool_warning = catalog.tool(context.tool_id)
        self.material, material_warning = catalog.material(context.material_id)
        self.machine, machine_warning = catalog.machine(context.machine_id)
        self.warnings: list[str] = [w for w in (tool_warning, material_warning, machine_warning) if w]

        feature = _units(self.tool.min_feature_mm)
        kerf = _units(self.tool.kerf_mm)
        max_rings = self.machine.max_rings
        tolerance = _units(self.machine.tolerance_mm)
        # The same in float hundredths, for the detail sentences only.
        self._feature_units, self._kerf_units, self._tolerance_units = float(feature), float(kerf), float(tolerance)
        self._segmented_ok = self.tool.angled_cuts
        # Every x below is passed to its curve as a whole-number fraction p / q.
        feature_p, feature_q = feature.denominator, feature.numerator  # thinnest / feature
        kerf_p, kerf_q = kerf.numerator, kerf.denominator  # kerf / thinnest
        tolerance_p, tolerance_q = tolerance.numerator, tolerance.denominator  # n * tolerance / total
        # strip_width's x is min over rings of width / needed: with needed = N / D and L the lcm of
        # every N this context can meet (each catalog material, and the default for unknown
        # keys), a ring's x is width * (D * L / N) / L, so the rings compare as whole numbers.
        needs = [self._strip_requirement(key) for key in catalog.materials] + [
            _units(max(self.material.min_strip_mm, catalog.default_material.min_strip_mm))
        ]
        strip_scale = math.lcm(*(need.numerator for need in needs))

        # Sub-scores in whole tenths, computed exactly on first use and kept under a key with few
        # values: the thinnest ring's width (hundredths) decides min_feature and kerf_loss; the
        # ring count ring_capacity; the ring count and then the total width tolerance_stackup;
        # the scaled smallest width / needed ratio strip_width; a ring's material its chip_out;
        # a ring's (pattern, material) its brittle_patterns (chip_out and brittle_patterns fall
        # as brittleness rises, so each is the lowest per-ring sub-score). Only bound look-up
        # methods are kept: the hot path calls them.
        self._feature_and_kerf = _Memo(
            lambda thinnest: (
                _FEATURE_CURVE(thinnest * feature_p, feature_q),
                _KERF_CURVE(kerf_p, thinnest * kerf_q),
            )
        ).__getitem__
        self._capacity_score = _Memo(lambda n: _CAPACITY_CURVE(n, max_rings)).__getitem__
        self._stackup_by_count = _Memo(
            lambda n: _Memo(lambda total: _STACKUP_CURVE(n * tolerance_p, total * tolerance_q))
        ).__getitem__
        self._strip_needed = _Memo(lambda key: float(self._strip_requirement(key))).__getitem__  # for _details
        self._strip_multiplier = _Memo(
            lambda key: (need := self._strip_requirement(key)).denominator * strip_scale // need.numerator
        ).__getitem__
        self._strip_score = _Memo(lambda scaled: _STRIP_CURVE(scaled, strip_scale)).__getitem__
        self._brittle_score = _Memo(
            lambda ring: _brittle_tenths(PATTERN_STRESS.get(ring[0], 0.0), self._brittleness(ring[1]))
        ).__getitem__
        self._chip_score = _Memo(
            lambda key: _chip_tenths(TOOL_IMPACT[self.tool.kind], self._brittleness(key))
        ).__getitem__

    def _ring_material(self, key: str) -> Material:
        return self.catalog.materials.get(key, self.catalog.default_material)

    def _strip_requirement(self, material_key: str) -> Fraction:
        """The thinnest strip (hundredths) a ring of this material may be in this context."""
        return _units(max(self.material.min_strip_mm, self._ring_material(material_key).min_strip_mm))

    def _brittleness(self, material_key: str) -> float:
        """A ring is as brittle as the more brittle of its own and the context's material."""
        return max(self.material.brittleness, self._ring_material(material_key).brittleness)

    def _impact(self, material_key: str) -> float:
        return TOOL_IMPACT[self.tool.kind] * self._brittleness(material_key)

    def _stress(self, pattern: str, material_key: str) -> float:
        return PATTERN_STRESS.get(pattern, 0.0) * self._brittleness(material_key)

    # --- the one computation both paths share ------------------------------------------------

    def _check_tenths(self, c: Candidate) -> tuple[int, ...]:
        """Sub-scores in whole tenths, in :data:`CHECKS` order."""
        widths, patterns, materials, total = c
        n = len(widths)
        min_feature, kerf_loss = self._feature_and_kerf(min(widths))
        if MOSAIC in patterns or SEGMENTED in patterns:
            brittle = min(map(self._brittle_score, zip(patterns, materials)))
            tooling = 0 if not self._segmented_ok and SEGMENTED in patterns else 1000
        else:
            brittle = tooling = 1000
        return (
            min_feature,
            self._strip_score(min(map(mul, widths, map(self._strip_multiplier, materials)))),
            self._stackup_by_count(n)[total],
            brittle,
            tooling,
            min(map(self._chip_score, materials)),
            self._capacity_score(n),
            kerf_loss,
        )

    # --- public -----------------------------------------------------------------------------

    def fast_score(self, candidate: Candidate) -> tuple[float, str]:
        """``(score, risk_bucket)``: exactly what :meth:`score` reports, without the details."""
        return _overall(self._check_tenths(candidate))

    def score(self, candidate: Candidate) -> Feasibility:
        tenths = self._check_tenths(candidate)
        total, bucket = _overall(tenths)
        checks = [
            CheckResult(check.name, part / 10, bucket_of(part / 10), check.weight, detail)
            for check, part, detail in zip(CHECKS, tenths, self._details(candidate))
        ]
        warnings = list(self.warnings)
        warnings.extend(
            f"unknown material_key {key!r} in the candidate: using defaults ({self.catalog.default_material.name})"
            for key in dict.fromkeys(candidate.materials)
            if key not in self.catalog.materials
        )
        warnings.extend(f"{c.name} is {c.bucket} ({c.score}): {c.detail}" for c in checks if c.bucket != GREEN)
        return Feasibility(total, bucket, warnings, checks)

    def _details(self, c: Candidate) -> list[str]:
        """One sentence per check, in :data:`CHECKS` order, naming the ring that decided it."""
        tool, machine = self.tool, self.machine
        n = c.ring_count
        thinnest = min(c.widths)
        thinnest_ring = c.widths.index(thinnest)

        ratios = [width / self._strip_needed(key) for width, key in zip(c.widths, c.materials)]
        strip_ring = ratios.index(min(ratios))

        stresses = [self._stress(pattern, key) for pattern, key in zip(c.patterns, c.materials)]
        stress = max(stresses)
        if stress:
            ring = stresses.index(stress)
            brittle = (
                f"ring {ring + 1} is {c.patterns[ring]} in {c.materials[ring]}: factor "
                f"{PATTERN_STRESS[c.patterns[ring]]:g} x brittleness {self._brittleness(c.materials[ring]):g} "
                f"= stress {stress:.2f}"
            )
        else:
            brittle = "no mosaic or segmented rings"

        impacts = [self._impact(key) for key in c.materials]
        chip_ring = impacts.index(max(impacts))
        chip = (
            f"ring {chip_ring + 1} ({c.materials[chip_ring]}) cut by a {tool.kind}: impact "
            f"{TOOL_IMPACT[tool.kind]:g} x brittleness {self._brittleness(c.materials[chip_ring]):g} "
            f"= {impacts[chip_ring]:.2f}"
        )

        segmented_count = c.patterns.count(SEGMENTED)
        if not segmented_count:
            segmented = "no segmented rings"
        elif self._segmented_ok:
            segmented = f"{_count(segmented_count, 'segmented ring')}; {tool.id} cuts angled joints"
        else:
            segmented = f"{_count(segmented_count, 'segmented ring')}, but {tool.id} cannot cut angled joints"

        return [
            f"thinnest ring {_mm(thinnest)} mm (ring {thinnest_ring + 1}) vs {tool.id} minimum feature "
            f"{tool.min_feature_mm:g} mm: ratio {thinnest / self._feature_units:.2f}",
            f"ring {strip_ring + 1} ({_mm(c.widths[strip_ring])} mm {c.materials[strip_ring]}) vs minimum strip "
            f"{self._strip_needed(c.materials[strip_ring]) / UNITS_PER_MM:g} mm: ratio {ratios[strip_ring]:.2f}",
            f"{_count(n, 'ring')} x {machine.tolerance_mm:g} mm tolerance of {machine.id} = "
            f"{n * machine.tolerance_mm:.2f} mm, {n * self._tolerance_units / c.total:.1%} of the {_mm(c.total)} mm total",
            brittle,
            segmented,
            chip,
            f"{_count(n, 'ring')}; {machine.id} cuts at most {machine.max_rings} in one fixturing",
            f"kerf {tool.kerf_mm:g} mm of {tool.id} vs thinnest ring {_mm(thinnest)} mm: "
            f"{self._kerf_units / thinnest:.0%}",
        ]


def _overall(tenths: tuple[int, ...]) -> tuple[float, str]:
    """The weighted mean of the sub-scores (given in whole tenths), and the worst one's bucket.

    The weighted sum of whole tenths is an integer, so the mean is rounded half-to-even exactly
    by integer division; ``score / 10`` is then the float nearest that decimal (80.0, 79.9).
    """
    worst = min(tenths)
    bucket = GREEN if worst >= _GREEN_TENTHS else YELLOW if worst >= _YELLOW_TENTHS else RED
    quotient, remainder = divmod(sum(map(mul, _WEIGHTS, tenths)), _TOTAL_WEIGHT)
    if 2 * remainder > _TOTAL_WEIGHT or (2 * remainder == _TOTAL_WEIGHT and quotient & 1):
        quotient += 1
    return quotient / 10, bucket


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _mm(units: int) -> str:
    return f"{units / UNITS_PER_MM:.2f}"


__all__ = [
    "BUCKETS",
    "TOOL_IMPACT",
    "CHECKS",
    "CHECK_NAMES",
    "GREEN",
    "PATTERN_STRESS",
    "RED",
    "YELLOW",
    "CheckResult",
    "CheckSpec",
    "Feasibility",
    "Scorer",
    "bucket_of",
]
