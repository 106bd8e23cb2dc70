"""The feasibility scorer: can this tool, material and machine make this candidate?

Every check, its formula, weight and thresholds are documented in ``docs/feasibility.md``;
:data:`CHECKS` and the curves below are the same numbers in code (a test keeps the two in step).

In short: each check gives a sub-score 0-100 (rounded to 0.1), bucketed GREEN >= 80, YELLOW >= 50,
else RED. The overall score is the weighted mean of the rounded sub-scores (rounded to 0.1); the
overall bucket is the worst check's bucket.

:class:`Scorer` resolves the context against the catalog once and keeps the sub-scores that depend
on a small key (thinnest width, ring count, one ring's material or pattern and material), so
scoring a candidate is a few dictionary look-ups, two curve evaluations and C-level
``min``/``map`` calls.
:meth:`Scorer.score` returns the full :class:`Feasibility`; :meth:`Scorer.fast_score` returns only
``(score, bucket)`` and computes them with the very same code, so the two always agree.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import mul, truediv
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


def round_score(value: float) -> float:
    """To the nearest 0.1, ties to even: ``round(value * 10) / 10``.

    Used for every sub-score and the overall score. (It is several times faster than
    ``round(value, 1)``, which matters on the hot path; the two differ only on exact ties.)
    """
    return round(value * 10) / 10


def _curve(points: Sequence[tuple[float, float]]) -> Callable[[float], float]:
    """Piecewise-linear interpolation through ``points``, rounded by :func:`round_score`."""
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    slopes = [(ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i]) for i in range(len(xs) - 1)]
    first_x, last_x, first_y, last_y = xs[0], xs[-1], ys[0], ys[-1]

    def curve(x: float) -> float:
        if x <= first_x:
            return first_y
        if x >= last_x:
            return last_y
        i = bisect_right(xs, x) - 1
        return round((ys[i] + (x - xs[i]) * slopes[i]) * 10) / 10

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


def _units(mm: float) -> float:
    """Millimetres as hundredths, without binary noise such as 0.07 * 100 = 7.000000000000001."""
    return round(mm * UNITS_PER_MM, 9)


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
        self._tolerance = _units(self.machine.tolerance_mm)
        self._segmented_ok = self.tool.angled_cuts

        # Look-ups filled on first use, keyed by something with few values: the thinnest ring's
        # width (hundredths) decides min_feature and kerf_loss, the ring count ring_capacity, a
        # ring's material its strip requirement and chip_out sub-score, a ring's (pattern,
        # material) its brittle_patterns sub-score. A snapshot of a few hundred candidates fills
        # them. Both per-ring curves fall as brittleness rises, so those checks take the lowest
        # per-ring sub-score. Only the bound look-up methods are kept: the hot path calls them.
        self._feature_and_kerf = _Memo(
            lambda thinnest: (_FEATURE_CURVE(thinnest / feature), _KERF_CURVE(kerf / thinnest))
        ).__getitem__
        self._capacity_score = _Memo(lambda n: _CAPACITY_CURVE(n / max_rings)).__getitem__
        self._strip_needed = _Memo(self._strip_requirement).__getitem__
        self._brittle_score = _Memo(lambda ring: round_score(100.0 - 100.0 * self._stress(*ring))).__getitem__
        self._chip_score = _Memo(lambda key: _CHIP_CURVE(self._impact(key))).__getitem__

    def _ring_material(self, key: str) -> Material:
        return self.catalog.materials.get(key, self.catalog.default_material)

    def _strip_requirement(self, material_key: str) -> float:
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

    def _check_scores(self, c: Candidate) -> tuple[float, ...]:
        """Sub-scores in :data:`CHECKS` order."""
        widths, patterns, materials, total = c
        n = len(widths)
        min_feature, kerf_loss = self._feature_and_kerf(min(widths))
        if MOSAIC in patterns or SEGMENTED in patterns:
            brittle = min(map(self._brittle_score, zip(patterns, materials)))
            tooling = 0.0 if not self._segmented_ok and SEGMENTED in patterns else 100.0
        else:
            brittle = tooling = 100.0
        return (
            min_feature,
            _STRIP_CURVE(min(map(truediv, widths, map(self._strip_needed, materials)))),
            _STACKUP_CURVE(n * self._tolerance / total),
            brittle,
            tooling,
            min(map(self._chip_score, materials)),
            self._capacity_score(n),
            kerf_loss,
        )

    # --- public -----------------------------------------------------------------------------

    def fast_score(self, candidate: Candidate) -> tuple[float, str]:
        """``(score, risk_bucket)``: exactly what :meth:`score` reports, without the details."""
        return _overall(self._check_scores(candidate))

    def score(self, candidate: Candidate) -> Feasibility:
        scores = self._check_scores(candidate)
        total, bucket = _overall(scores)
        checks = [
            CheckResult(check.name, score, bucket_of(score), check.weight, detail)
            for check, score, detail in zip(CHECKS, scores, self._details(candidate))
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
            f"{tool.min_feature_mm:g} mm: ratio {thinnest / _units(tool.min_feature_mm):.2f}",
            f"ring {strip_ring + 1} ({_mm(c.widths[strip_ring])} mm {c.materials[strip_ring]}) vs minimum strip "
            f"{self._strip_needed(c.materials[strip_ring]) / UNITS_PER_MM:g} mm: ratio {ratios[strip_ring]:.2f}",
            f"{_count(n, 'ring')} x {machine.tolerance_mm:g} mm tolerance of {machine.id} = "
            f"{n * machine.tolerance_mm:.2f} mm, {n * self._tolerance / c.total:.1%} of the {_mm(c.total)} mm total",
            brittle,
            segmented,
            chip,
            f"{_count(n, 'ring')}; {machine.id} cuts at most {machine.max_rings} in one fixturing",
            f"kerf {tool.kerf_mm:g} mm of {tool.id} vs thinnest ring {_mm(thinnest)} mm: "
            f"{_units(tool.kerf_mm) / thinnest:.0%}",
        ]


def _overall(scores: tuple[float, ...]) -> tuple[float, str]:
    """The weighted mean of the sub-scores, and the worst sub-score's bucket."""
    worst = min(scores)
    bucket = GREEN if worst >= GREEN_AT else YELLOW if worst >= YELLOW_AT else RED
    return round_score(sum(map(mul, _WEIGHTS, scores)) / _TOTAL_WEIGHT), bucket


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
