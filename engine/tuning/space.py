"""The search space of a tuning study: what a trial may propose, always a valid profile (see :mod:`engine.tuning`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import optuna

from engine.catalog import Catalog
from engine.context import Context
from engine.profile import (
    MAX_RING_WIDTH_LIMIT,
    MAX_RINGS_LIMIT,
    MAX_TOTAL_WIDTH_LIMIT,
    UNITS_PER_MM,
    ProfileSpec,
    feasible_ring_counts,
)

#: How far the total-width bounds may move from the saved ones: down to half, up to one and a half.
TOTAL_WIDTH_FREEDOM = Decimal("0.5")
_RING_LIMIT_UNITS = int(MAX_RING_WIDTH_LIMIT * UNITS_PER_MM)
_TOTAL_LIMIT_UNITS = int(MAX_TOTAL_WIDTH_LIMIT * UNITS_PER_MM)
_FLAGS = ("allow_mosaic", "allow_segmented", "bias_simple")


def _hundredths(mm: float | Decimal) -> int:
    """Millimetres as whole hundredths, rounded up (a lower limit must not undercut the tool)."""
    return math.ceil(Decimal(repr(mm) if isinstance(mm, float) else mm) * UNITS_PER_MM)


def _mm(units: int) -> Decimal:
    return Decimal(units) / UNITS_PER_MM


@dataclass(frozen=True)
class SearchSpace:
    """What a trial may propose; widths and totals in whole hundredths of a millimetre."""

    max_ring_count: int
    ring_width: tuple[int, int]
    total_width: tuple[int, int]
    palette_keys: tuple[str, ...]
    #: The saved (min_rings, max_rings), which :meth:`values_of` keeps wherever it changes nothing.
    saved_rings: tuple[int, int] = (1, 1)

    @classmethod
    def for_traffic(cls, spec: ProfileSpec, catalog: Catalog, contexts: Sequence[Context]) -> SearchSpace:
        """The space for ``spec`` on ``contexts`` (see the module docstring), taking in ``spec``."""
        min_w, max_w, min_t, max_t = spec.units
        tools = [catalog.tool(c.tool_id).entry for c in contexts]
        stocks = [catalog.material(c.material_id).entry for c in contexts]
        machines = [catalog.machine(c.machine_id).entry for c in contexts]
        rings = min(MAX_RINGS_LIMIT, max(spec.max_rings, *(m.max_rings for m in machines)))

        strip_needs = [max(s.min_strip_mm, m.min_strip_mm) for s in stocks for m in catalog.materials.values()]
        rewarded = max(
            *(2 * _hundredths(t.min_feature_mm) for t in tools),
            *(4 * _hundredths(t.kerf_mm) for t in tools),
            *(2 * _hundredths(need) for need in strip_needs),
        )
        width_low = max(1, min(min_w, *(_hundredths(t.min_feature_mm) for t in tools)))
        width_high = min(_RING_LIMIT_UNITS, max(max_w, rewarded, width_low))

        total_low = max(1, min(min_t, int(min_t * (1 - TOTAL_WIDTH_FREEDOM))))
        total_high = min(_TOTAL_LIMIT_UNITS, max(max_t, int(max_t * (1 + TOTAL_WIDTH_FREEDOM))))
        palettes = ("", *catalog.palette_keys())
        return cls(rings, (width_low, width_high), (total_low, total_high), palettes, (spec.min_rings, spec.max_rings))

    def distributions(self) -> dict[str, optuna.distributions.BaseDistribution]:
        """The Optuna parameters, in a fixed order (the same for every trial: TPE models them
        jointly)."""
        dist = optuna.distributions
        (w_lo, w_hi), (t_lo, t_hi) = self.ring_width, self.total_width
        step = 1 / UNITS_PER_MM
        return {
            "min_rings": dist.IntDistribution(1, self.max_ring_count),
            "extra_rings": dist.IntDistribution(0, self.max_ring_count - 1),
            "min_ring_width_mm": dist.FloatDistribution(w_lo / UNITS_PER_MM, w_hi / UNITS_PER_MM, step=step),
            "ring_width_range_mm": dist.FloatDistribution(0, (w_hi - w_lo) / UNITS_PER_MM, step=step),
            "min_total_width_mm": dist.FloatDistribution(t_lo / UNITS_PER_MM, t_hi / UNITS_PER_MM, step=step),
            "total_width_range_mm": dist.FloatDistribution(0, (t_hi - t_lo) / UNITS_PER_MM, step=step),
            "allow_mosaic": dist.CategoricalDistribution((False, True)),
            "allow_segmented": dist.CategoricalDistribution((False, True)),
            "bias_simple": dist.CategoricalDistribution((False, True)),
            "palette_key": dist.CategoricalDistribution(self.palette_keys),
        }

    def params_of(self, spec: ProfileSpec) -> dict[str, Any]:
        """The parameters that give back ``spec``'s values (its point in the space)."""
        min_w, max_w, min_t, max_t = spec.units
        return {
            "min_rings": spec.min_rings,
            "extra_rings": spec.max_rings - spec.min_rings,
            "min_ring_width_mm": min_w / UNITS_PER_MM,
            "ring_width_range_mm": (max_w - min_w) / UNITS_PER_MM,
            "min_total_width_mm": min_t / UNITS_PER_MM,
            "total_width_range_mm": (max_t - min_t) / UNITS_PER_MM,
            **{flag: getattr(spec, flag) for flag in _FLAGS},
            "palette_key": spec.palette_key,
        }

    def values_of(self, params: Mapping[str, Any], description: str = "") -> dict[str, Any]:
        """Profile values (every constraint field) for a trial's parameters; they always admit a design."""
        rings = self.max_ring_count
        min_r = params["min_rings"]
        max_r = min(rings, min_r + params["extra_rings"])
        min_w = round(params["min_ring_width_mm"] * UNITS_PER_MM)
        max_w = min(self.ring_width[1], min_w + round(params["ring_width_range_mm"] * UNITS_PER_MM))
        min_t = round(params["min_total_width_mm"] * UNITS_PER_MM)
        max_t = min(self.total_width[1], min_t + round(params["total_width_range_mm"] * UNITS_PER_MM))
        min_r, max_r, min_t, max_t = admit(min_r, max_r, min_w, max_w, min_t, max_t, max(self.total_width[1], min_w))
        # Ring counts that no total reaches play no part: any bound between the drawn one and the
        # nearest reachable count gives the same generator (the same samples). Take the one
        # nearest the saved value, so a proposal does not show changes that change nothing.
        counts = feasible_ring_counts(min_r, max_r, min_w, max_w, min_t, max_t)
        saved_min, saved_max = self.saved_rings
        min_r = min(max(saved_min, min_r), counts[0])
        max_r = max(min(saved_max, max_r), counts[-1])
        return {
            "description": description,
            "min_rings": min_r,
            "max_rings": max_r,
            "min_ring_width_mm": _mm(min_w),
            "max_ring_width_mm": _mm(max_w),
            "min_total_width_mm": _mm(min_t),
            "max_total_width_mm": _mm(max_t),
            **{flag: params[flag] for flag in _FLAGS},
            "palette_key": params["palette_key"],
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_ring_count": self.max_ring_count,
            "ring_width_mm": [w / UNITS_PER_MM for w in self.ring_width],
            "total_width_mm": [t / UNITS_PER_MM for t in self.total_width],
            "palette_keys": list(self.palette_keys),
            "parameters": list(self.distributions()),
        }


def admit(
    min_r: int, max_r: int, min_w: int, max_w: int, min_t: int, max_t: int, total_limit: int
) -> tuple[int, int, int, int]:
    """Ring-count and total bounds (hundredths) that admit a design, changed as little as needed.

    ``min_t <= max_t <= total_limit`` and ``min_w <= total_limit <= 60 mm``. The narrowest
    rosette (``min_r`` rings of ``min_w``) must fit ``total_limit``: fewer minimum rings if not.
    When still no ring count reaches a total in ``[min_t, max_t]``, the total bounds are widened
    to the achievable total nearest to them (some ``n * max_w`` below or ``n * min_w`` above, up
    to ``total_limit``), which that ``n`` then reaches.
    """
    if min_r * min_w > total_limit:
        min_r = max(1, total_limit // min_w)
    if feasible_ring_counts(min_r, max_r, min_w, max_w, min_t, max_t):
        return min_r, max_r, min_t, max_t
    nearest: tuple[int, int] | None = None  # (distance, total)
    for n in range(min_r, max_r + 1):
        low, high = n * min_w, n * max_w
        if high < min_t:
            option = (min_t - high, high)
        elif low <= total_limit:
            option = (low - max_t, low)  # low > max_t, or n would be feasible
        else:
            continue
        if nearest is None or option < nearest:
            nearest = option
    assert nearest is not None  # n = min_r always offers one: min_r * min_w fits total_limit
    total = nearest[1]
    return min_r, max_r, min(min_t, total), max(max_t, total)
