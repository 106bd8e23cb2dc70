"""The rosette generator: candidates that always satisfy their constraint profile.

The promise (DESIGN.md §3, "Candidate"): every candidate has a feasible ring count, every ring
width and the total width inside the profile's bounds, only the patterns the profile allows and
only materials from its palette (every catalog material when ``palette_key`` is empty).

Candidates are built directly, never by rejection, so a tight profile costs the same as a loose
one and nothing can loop. All widths are whole hundredths of a millimetre
(:data:`engine.profile.UNITS_PER_MM`), so no rounding can push a width past a bound.

1. Ring count ``n``: one of :meth:`ProfileSpec.feasible_ring_counts` (the counts for which some
   widths reach the total bounds). Uniform; with ``bias_simple`` the k-th smallest feasible count
   has weight ``BIAS_RING_DECAY ** k``, so fewer rings are likelier.
2. Total width ``T``: uniform over the whole hundredths in
   ``[max(min_total, n * min_ring), min(max_total, n * max_ring)]``, which is never empty for a
   feasible ``n``.
3. Ring widths: every ring starts at ``min_ring`` and the remainder ``T - n * min_ring`` is shared
   by stick-breaking (each ring takes a Beta(1, rings left) share, which makes the split uniform
   over all splits), each share clamped so that it stays within ``max_ring - min_ring`` and the
   rings still to come can absorb the rest. The last ring takes what is left, which the clamps
   guarantee fits. The split starts at a random ring, so no position is favoured.
4. Pattern and material per ring, drawn together: the pattern by :data:`PATTERN_WEIGHTS` (or
   :data:`BIAS_PATTERN_WEIGHTS` with ``bias_simple``) over the allowed patterns (``solid`` is
   always allowed), the material uniformly from the palette.

Rings are listed from the soundhole outwards. Randomness comes only from the ``random.Random``
passed in, so a seed determines the candidates.
"""

from __future__ import annotations

import random as random_module
from bisect import bisect_right
from collections.abc import Callable
from typing import Any, NamedTuple

from engine.catalog import Catalog
from engine.profile import UNITS_PER_MM, Problem, ProfileSpec

SOLID = "solid"
MOSAIC = "mosaic"
SEGMENTED = "segmented"
PATTERNS: tuple[str, ...] = (SOLID, MOSAIC, SEGMENTED)

PATTERN_WEIGHTS = {SOLID: 2.0, MOSAIC: 1.0, SEGMENTED: 1.0}
BIAS_PATTERN_WEIGHTS = {SOLID: 6.0, MOSAIC: 1.0, SEGMENTED: 1.0}
BIAS_RING_DECAY = 0.6


class Candidate(NamedTuple):
    """One rosette design. Widths are whole hundredths of a millimetre, inner ring first.

    A tuple, so candidates hash and compare by value: the search loop uses that to skip exact
    duplicates.
    """

    widths: tuple[int, ...]
    patterns: tuple[str, ...]
    materials: tuple[str, ...]
    total: int  # sum(widths)

    @property
    def ring_count(self) -> int:
        return len(self.widths)

    @property
    def total_width_mm(self) -> float:
        return self.total / UNITS_PER_MM

    def to_dict(self) -> dict[str, Any]:
        return {
            "rings": [
                {"width_mm": width / UNITS_PER_MM, "pattern": pattern, "material_key": material}
                for width, pattern, material in zip(self.widths, self.patterns, self.materials)
            ],
            "ring_count": len(self.widths),
            "total_width_mm": self.total / UNITS_PER_MM,
        }


class PaletteError(ValueError):
    """The profile names a palette the catalog does not have, so no material may be chosen."""

    def __init__(self, spec: ProfileSpec, catalog: Catalog):
        known = ", ".join(catalog.palette_keys()) or "none"
        self.problem = Problem(
            "palette_key",
            "unknown_palette",
            f"profile {spec.name!r} uses palette {spec.palette_key!r}, which catalog revision "
            f"{catalog.revision!r} does not have; known: {known}",
        )
        super().__init__(self.problem.message)


def _cumulative(weights: list[float]) -> list[float]:
    """Normalised running sums, the last exactly 1.0 so that ``bisect_right(cdf, u)`` with
    ``0 <= u < 1`` always lands on an index of ``weights``."""
    total = sum(weights)
    running, cdf = 0.0, []
    for weight in weights:
        running += weight
        cdf.append(running / total)
    cdf[-1] = 1.0
    return cdf


class Generator:
    """Samples candidates for one profile; everything that depends only on the profile is
    computed once here so that :meth:`sample` does only the per-candidate work."""

    def __init__(self, spec: ProfileSpec, catalog: Catalog):
        self.spec = spec
        try:
            self.palette: tuple[str, ...] = catalog.palette_materials(spec.palette_key)
        except KeyError:
            raise PaletteError(spec, catalog) from None
        allowed = {SOLID: True, MOSAIC: spec.allow_mosaic, SEGMENTED: spec.allow_segmented}
        self.patterns: tuple[str, ...] = tuple(p for p in PATTERNS if allowed[p])
        self.min_width, self.max_width, self.min_total, self.max_total = spec.units
        self.counts: tuple[int, ...] = tuple(spec.feasible_ring_counts())

        decay = BIAS_RING_DECAY if spec.bias_simple else 1.0
        self._count_cdf = _cumulative([decay**k for k in range(len(self.counts))])
        # One plan per feasible ring count n, in the order of _count_cdf: n, the lowest feasible
        # total, how many totals are feasible, and per split step (rings after this one: k)
        # the Beta(1, k) exponent 1/k and the k * cap the later rings can still absorb.
        cap = self.max_width - self.min_width
        self._plans = []
        for n in self.counts:
            low, high = self.total_range(n)
            steps = tuple((1.0 / k, k * cap) for k in range(n - 1, 0, -1))
            self._plans.append((n, low, high - low + 1, steps))

        # A ring draws its (pattern, material) pair with one random number: pattern by weight,
        # material uniform over the palette.
        weights = BIAS_PATTERN_WEIGHTS if spec.bias_simple else PATTERN_WEIGHTS
        kinds = [(pattern, material) for pattern in self.patterns for material in self.palette]
        self._kind_cdf = _cumulative([weights[pattern] for pattern, _ in kinds])
        self._kind_pattern = tuple(pattern for pattern, _ in kinds)
        self._kind_material = tuple(material for _, material in kinds)
        self._palette_index = {material: i for i, material in enumerate(self.palette)}

    def total_range(self, ring_count: int) -> tuple[int, int]:
        """The totals (hundredths, inclusive) that ``ring_count`` rings can reach within bounds."""
        return (
            max(self.min_total, ring_count * self.min_width),
            min(self.max_total, ring_count * self.max_width),
        )

    def sample(self, rng: random_module.Random) -> Candidate:
        random = rng.random
        n, total_low, total_count, steps = self._plans[bisect_right(self._count_cdf, random())]
        total = total_low + int(random() * total_count)

        min_width = self.min_width
        cap = self.max_width - min_width
        remainder = total - n * min_width
        widths = []
        append = widths.append
        for exponent, reserve in steps:
            share = int(remainder * (1.0 - random() ** exponent) + 0.5)
            floor = remainder - reserve  # what the later rings cannot absorb
            if share < floor:
                share = floor
            elif share > cap:
                share = cap
            append(min_width + share)
            remainder -= share
        append(min_width + remainder)
        if n > 1:
            # The clamps push what is left towards the rings drawn last; starting the split at a
            # random ring gives every position the same width distribution.
            start = int(random() * n)
            widths = widths[start:] + widths[:start]

        cdf = self._kind_cdf
        kinds = [bisect_right(cdf, random()) for _ in range(n)]
        patterns = tuple(map(self._kind_pattern.__getitem__, kinds))
        materials = tuple(map(self._kind_material.__getitem__, kinds))
        return Candidate(tuple(widths), patterns, materials, total)

    def generate(self, n: int, seed: int) -> list[Candidate]:
        rng = random_module.Random(seed)
        sample = self.sample
        return [sample(rng) for _ in range(n)]

    # --- mutation ----------------------------------------------------------------------------

    def mutate(self, candidate: Candidate, rng: random_module.Random) -> Candidate:
        """A valid neighbour of ``candidate`` (which must itself satisfy this generator's profile).

        Tries, in random order: another material for one ring, another pattern for one ring,
        moving width between two rings, resizing one ring, adding or removing a ring. Returns
        ``candidate`` itself only when none of them can change it (a one-design profile).
        """
        moves: list[Callable[[Candidate, random_module.Random], Candidate | None]] = [
            self._other_material,
            self._other_pattern,
            self._move_width,
            self._resize_ring,
            self._change_ring_count,
        ]
        rng.shuffle(moves)
        for move in moves:
            neighbour = move(candidate, rng)
            if neighbour is not None:
                return neighbour
        return candidate

    def _step(self) -> int:
        """Largest width change of one move: a quarter of the ring width range, at least 0.01 mm."""
        return max(1, (self.max_width - self.min_width) // 4)

    def _other_material(self, c: Candidate, rng: random_module.Random) -> Candidate | None:
        if len(self.palette) < 2:
            return None
        ring = int(rng.random() * c.ring_count)
        current = self._palette_index[c.materials[ring]]
        choice = _other_index(current, len(self.palette), rng)
        materials = c.materials[:ring] + (self.palette[choice],) + c.materials[ring + 1 :]
        return c._replace(materials=materials)

    def _other_pattern(self, c: Candidate, rng: random_module.Random) -> Candidate | None:
        if len(self.patterns) < 2:
            return None
        ring = int(rng.random() * c.ring_count)
        current = self.patterns.index(c.patterns[ring])
        choice = _other_index(current, len(self.patterns), rng)
        patterns = c.patterns[:ring] + (self.patterns[choice],) + c.patterns[ring + 1 :]
        return c._replace(patterns=patterns)

    def _move_width(self, c: Candidate, rng: random_module.Random) -> Candidate | None:
        takers = [i for i, w in enumerate(c.widths) if w < self.max_width]
        # A giver needs a taker other than itself.
        givers = [
            i for i, w in enumerate(c.widths) if w > self.min_width and (len(takers) > 1 or (takers and takers[0] != i))
        ]
        if not givers:
            return None
        giver = givers[int(rng.random() * len(givers))]
        takers = [i for i in takers if i != giver]
        taker = takers[int(rng.random() * len(takers))]
        room = min(c.widths[giver] - self.min_width, self.max_width - c.widths[taker], self._step())
        amount = 1 + int(rng.random() * room)
        widths = list(c.widths)
        widths[giver] -= amount
        widths[taker] += amount
        return c._replace(widths=tuple(widths))

    def _resize_ring(self, c: Candidate, rng: random_module.Random) -> Candidate | None:
        ring = int(rng.random() * c.ring_count)
        width = c.widths[ring]
        step = self._step()
        low = max(self.min_width, width - (c.total - self.min_total), width - step)
        high = min(self.max_width, width + (self.max_total - c.total), width + step)
        if low == high:
            return None
        new_width = low + _other_index(width - low, high - low + 1, rng)
        widths = c.widths[:ring] + (new_width,) + c.widths[ring + 1 :]
        return c._replace(widths=widths, total=c.total + new_width - width)

    def _change_ring_count(self, c: Candidate, rng: random_module.Random) -> Candidate | None:
        options = [n for n in (c.ring_count - 1, c.ring_count + 1) if n in self.counts]
        if not options:
            return None
        n = options[int(rng.random() * len(options))]
        widths, patterns, materials = list(c.widths), list(c.patterns), list(c.materials)
        if n < c.ring_count:
            ring = int(rng.random() * c.ring_count)
            del widths[ring], patterns[ring], materials[ring]
        else:
            ring = int(rng.random() * n)
            widths.insert(ring, self.min_width + int(rng.random() * (self.max_width - self.min_width + 1)))
            kind = bisect_right(self._kind_cdf, rng.random())
            patterns.insert(ring, self._kind_pattern[kind])
            materials.insert(ring, self._kind_material[kind])
        low, high = self.total_range(n)
        self._fit_total(widths, low, high, rng)
        return Candidate(tuple(widths), tuple(patterns), tuple(materials), sum(widths))

    def _fit_total(self, widths: list[int], low: int, high: int, rng: random_module.Random) -> None:
        """Grow or shrink rings, from a random ring onwards, until the total is in [low, high].

        ``low`` and ``high`` come from :meth:`total_range`, so the rings can always absorb it.
        """
        total = sum(widths)
        if total < low:
            missing, step = low - total, 1
        elif total > high:
            missing, step = total - high, -1
        else:
            return
        n = len(widths)
        start = int(rng.random() * n)
        for offset in range(n):
            i = (start + offset) % n
            room = self.max_width - widths[i] if step > 0 else widths[i] - self.min_width
            change = min(room, missing)
            widths[i] += step * change
            missing -= change
            if not missing:
                return
        raise AssertionError("total_range promised the rings could absorb the difference")


def _other_index(current: int, size: int, rng: random_module.Random) -> int:
    """A uniformly chosen index in ``range(size)`` other than ``current`` (``size >= 2``)."""
    choice = int(rng.random() * (size - 1))
    return choice + 1 if choice >= current else choice


__all__ = [
    "BIAS_PATTERN_WEIGHTS",
    "BIAS_RING_DECAY",
    "MOSAIC",
    "PATTERNS",
    "PATTERN_WEIGHTS",
    "SEGMENTED",
    "SOLID",
    "Candidate",
    "Generator",
    "PaletteError",
]
