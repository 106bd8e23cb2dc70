"""Snapshots: sample the generator for a context and describe what comes out (DESIGN.md §4).

A snapshot draws ``n_samples`` candidates with ``random.Random(seed)``, scores each with the fast
path, and reports JSON-ready statistics: ring count, total width and score distributions, the
share of each ring pattern, the risk mix, and a few example candidates with their full
feasibility. :func:`compare_snapshots` sets two snapshots side by side for the what-if preview
of an unsaved profile change.

Statistics:

- ``min``, ``max``, ``mean`` and the percentiles ``p50`` and ``p90``. Percentiles use the
  **nearest-rank** definition: the p-th percentile of N sorted values is the value at rank
  ``ceil(p / 100 * N)`` (1-based), so it is always one of the sampled values.
- Ring-count histogram: one bar per ring count from the profile's ``min_rings`` to
  ``max_rings``, including counts that never occur.
- Total-width histogram: bins of equal width (the last may be narrower) over
  ``[min_total, max_total]`` (at most ten, each a
  whole number of 0.01 mm); each bin holds ``low <= total < high``, and the last one also
  holds ``max_total``.
- Pattern shares are shares of all sampled rings; risk shares are shares of all candidates.

Means and shares are rounded (2 and 4 decimals); widths are in millimetres.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

from engine.catalog import Catalog
from engine.context import Context
from engine.feasibility import BUCKETS, Scorer
from engine.generator import PATTERNS, Generator
from engine.profile import UNITS_PER_MM, Problem, ProfileSpec

MIN_SAMPLES = 5
MAX_SAMPLES = 10_000
MAX_EXAMPLES = 20
SEED_LIMIT = 2**63
TOTAL_WIDTH_BINS = 10


class SnapshotError(ValueError):
    """The snapshot request breaks its rules; ``problems`` names each field and rule."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


def snapshot_problems(*, n_samples: Any, seed: Any, examples: Any) -> list[Problem]:
    problems = []
    if not _is_whole(n_samples):
        problems.append(Problem("n_samples", "type", f"must be a whole number, got {n_samples!r}"))
    elif not MIN_SAMPLES <= n_samples <= MAX_SAMPLES:
        problems.append(
            Problem("n_samples", "range", f"must be between {MIN_SAMPLES} and {MAX_SAMPLES}, got {n_samples}")
        )
    if seed is not None:
        if not _is_whole(seed):
            problems.append(Problem("seed", "type", f"must be a whole number or null, got {seed!r}"))
        elif not 0 <= seed < SEED_LIMIT:
            problems.append(Problem("seed", "range", f"must be between 0 and {SEED_LIMIT - 1}, got {seed}"))
    if not _is_whole(examples):
        problems.append(Problem("examples", "type", f"must be a whole number, got {examples!r}"))
    elif not 0 <= examples <= MAX_EXAMPLES:
        problems.append(Problem("examples", "range", f"must be between 0 and {MAX_EXAMPLES}, got {examples}"))
    return problems


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def percentile(sorted_values: Sequence[float], p: int) -> float:
    """Nearest-rank percentile of already sorted values, ``0 < p <= 100``."""
    rank = -(-p * len(sorted_values) // 100)  # ceil(p * N / 100) in whole numbers
    return sorted_values[max(rank, 1) - 1]


def _stats(sorted_values: Sequence[float], scale: float, places: int) -> dict[str, float]:
    """min / max / mean / p50 / p90 of sorted values, divided by ``scale`` and rounded."""
    return {
        "min": round(sorted_values[0] / scale, places),
        "max": round(sorted_values[-1] / scale, places),
        "mean": round(sum(sorted_values) / len(sorted_values) / scale, places),
        "p50": round(percentile(sorted_values, 50) / scale, places),
        "p90": round(percentile(sorted_values, 90) / scale, places),
    }


def total_width_bins(min_total: int, max_total: int) -> list[tuple[int, int]]:
    """``(low, high)`` edges in hundredths: at most ten equal bins (the last may be narrower)
    covering the total bounds."""
    span = max_total - min_total
    if span == 0:
        return [(min_total, max_total)]
    width = -(-span // TOTAL_WIDTH_BINS)  # ceil, so at most ten bins
    edges = list(range(min_total, max_total, width)) + [max_total]
    return list(zip(edges, edges[1:]))


def sample_snapshot(
    spec: ProfileSpec,
    catalog: Catalog,
    context: Context,
    *,
    n_samples: int,
    seed: int | None,
    examples: int = 5,
) -> dict[str, Any]:
    """Sample the generator for ``context`` under ``spec`` and describe the results.

    Raises :class:`SnapshotError` for a bad ``n_samples`` (5-10000), ``seed`` or ``examples``
    (0-20), and :class:`engine.generator.PaletteError` when the profile's palette is not in the
    catalog. Without a seed one is drawn and reported.
    """
    problems = snapshot_problems(n_samples=n_samples, seed=seed, examples=examples)
    if problems:
        raise SnapshotError(problems)
    if seed is None:
        seed = random.SystemRandom().randrange(SEED_LIMIT)

    generator = Generator(spec, catalog)
    scorer = Scorer(context, catalog)
    rng = random.Random(seed)
    sample = generator.sample
    candidates = [sample(rng) for _ in range(n_samples)]
    results = list(map(scorer.fast_score, candidates))

    ring_counts = sorted(map(len, map(itemgetter(0), candidates)))
    totals = sorted(map(itemgetter(3), candidates))
    scores = sorted(map(itemgetter(0), results))
    buckets = Counter(map(itemgetter(1), results))
    patterns = Counter(chain.from_iterable(map(itemgetter(1), candidates)))
    ring_total = sum(patterns.values())

    count_histogram = Counter(ring_counts)
    min_w, max_w, min_t, max_t = spec.units
    bins = total_width_bins(min_t, max_t)
    bin_width = bins[0][1] - bins[0][0] or 1
    last_bin = len(bins) - 1
    bin_counts = Counter(min((total - min_t) // bin_width, last_bin) for total in totals)

    warnings = list(scorer.warnings)
    never = [n for n in range(spec.min_rings, spec.max_rings + 1) if n not in generator.counts]
    if never:
        warnings.append(
            f"ring counts {_ranges(never)} never occur: no widths of {spec.min_ring_width_mm}-"
            f"{spec.max_ring_width_mm} mm add up to a total of {spec.min_total_width_mm}-{spec.max_total_width_mm} mm"
        )

    return {
        "profile_name": spec.name,
        "context": context.as_dict(),
        "catalog_revision": catalog.revision,
        "n_samples": n_samples,
        "seed": seed,
        "ring_count": {
            **_stats(ring_counts, 1, 2),
            "histogram": [
                {"value": n, "count": count_histogram.get(n, 0)} for n in range(spec.min_rings, spec.max_rings + 1)
            ],
        },
        "total_width_mm": {
            **_stats(totals, UNITS_PER_MM, 2),
            "histogram": [
                {"low": low / UNITS_PER_MM, "high": high / UNITS_PER_MM, "count": bin_counts.get(i, 0)}
                for i, (low, high) in enumerate(bins)
            ],
        },
        "pattern_shares": {p: round(patterns.get(p, 0) / ring_total, 4) for p in PATTERNS},
        "risk": {b: {"count": buckets.get(b, 0), "share": round(buckets.get(b, 0) / n_samples, 4)} for b in BUCKETS},
        "score": _stats(scores, 1, 2),
        "warnings": warnings,
        "examples": [
            {"candidate": c.to_dict(), "feasibility": scorer.score(c).to_dict()} for c in candidates[:examples]
        ],
    }


def _ranges(values: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    groups: list[list[int]] = []
    for value in values:
        if groups and value == groups[-1][-1] + 1:
            groups[-1].append(value)
        else:
            groups.append([value])
    return ", ".join(f"{g[0]}-{g[-1]}" if len(g) > 1 else str(g[0]) for g in groups)


_STAT_KEYS = ("min", "max", "mean", "p50", "p90")


def compare_snapshots(current: dict[str, Any], proposed: dict[str, Any]) -> dict[str, Any]:
    """What changes from ``current`` to ``proposed`` (two :func:`sample_snapshot` results).

    Every number appears as ``{"current", "proposed", "delta"}`` with ``delta = proposed -
    current``; ``summary`` says the main shifts in words.
    """

    def side_by_side(a: float, b: float, places: int) -> dict[str, float]:
        return {"current": a, "proposed": b, "delta": round(b - a, places)}

    def stats(key: str, places: int) -> dict[str, dict[str, float]]:
        return {s: side_by_side(current[key][s], proposed[key][s], places) for s in _STAT_KEYS}

    comparison = {
        "ring_count": stats("ring_count", 2),
        "total_width_mm": stats("total_width_mm", 2),
        "score": stats("score", 2),
        "risk_shares": {b: side_by_side(current["risk"][b]["share"], proposed["risk"][b]["share"], 4) for b in BUCKETS},
        "pattern_shares": {
            p: side_by_side(current["pattern_shares"][p], proposed["pattern_shares"][p], 4) for p in PATTERNS
        },
    }
    summary = [
        _sentence("mean ring count", comparison["ring_count"]["mean"], "{:.2f}"),
        _sentence("mean total width", comparison["total_width_mm"]["mean"], "{:.2f} mm"),
        _sentence("mean score", comparison["score"]["mean"], "{:.2f}"),
    ]
    summary += [_share_sentence(f"{b} share", comparison["risk_shares"][b]) for b in BUCKETS]
    summary.append(_share_sentence("solid ring share", comparison["pattern_shares"]["solid"]))
    comparison["summary"] = summary
    return comparison


def _sentence(label: str, change: dict[str, float], number: str) -> str:
    if not change["delta"]:
        return f"{label} unchanged at {number.format(change['current'])}"
    return f"{label} {number.format(change['current'])} -> {number.format(change['proposed'])} ({change['delta']:+g})"


def _share_sentence(label: str, change: dict[str, float]) -> str:
    current, proposed = change["current"] * 100, change["proposed"] * 100
    if not change["delta"]:
        return f"{label} unchanged at {current:.1f}%"
    return f"{label} {current:.1f}% -> {proposed:.1f}% ({proposed - current:+.1f} points)"


__all__ = [
    "MAX_SAMPLES",
    "MIN_SAMPLES",
    "SnapshotError",
    "compare_snapshots",
    "percentile",
    "sample_snapshot",
    "snapshot_problems",
    "total_width_bins",
]
