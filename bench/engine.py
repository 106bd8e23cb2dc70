"""Benchmarks of the engine's hot paths, returning plain dicts (the Django command prints them).

- :func:`bench_throughput`: generator + fast-path scorer, candidates per second on one core,
  over a realistic mix of profiles and contexts (:data:`MIX_PROFILES` x :data:`MIX_CONTEXTS`).
- :func:`bench_snapshot`: wall time of :func:`engine.snapshot.sample_snapshot`.
- :func:`run_benchmarks`: both, against the targets (:data:`THROUGHPUT_TARGET`,
  :data:`SNAPSHOT_TARGETS_MS`).

Wall-clock numbers depend on what else the machine is doing, so each result also reports the
process CPU time, and snapshot timings report the best and the median of several runs.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from engine.catalog import Catalog, load_catalog
from engine.context import Context
from engine.feasibility import Scorer
from engine.generator import Generator
from engine.profile import DEFAULTS, ProfileSpec, spec_from_values
from engine.snapshot import sample_snapshot

THROUGHPUT_TARGET = 50_000  # candidates per second, generator + fast-path scorer
SNAPSHOT_TARGETS_MS = {500: 15.0, 10_000: 200.0}

#: Profiles like the starter set: loose, fine detail, shell, simple router work, thin saws.
MIX_PROFILES: dict[str, dict[str, Any]] = {
    "default": {},
    "production_machine": {
        "min_rings": 3,
        "max_rings": 10,
        "min_ring_width_mm": "0.40",
        "min_total_width_mm": "4.00",
    },
    "premium_shell": {
        "max_rings": 5,
        "min_ring_width_mm": "0.80",
        "max_total_width_mm": "9.00",
        "allow_mosaic": False,
        "palette_key": "shell_premium",
        "bias_simple": True,
    },
    "router_bit": {
        "max_rings": 5,
        "min_ring_width_mm": "1.00",
        "max_ring_width_mm": "4.00",
        "allow_mosaic": False,
        "allow_segmented": False,
        "palette_key": "warm_woods",
        "bias_simple": True,
    },
    "thin_saw": {
        "min_rings": 2,
        "max_rings": 8,
        "min_ring_width_mm": "0.60",
        "max_ring_width_mm": "2.50",
        "max_total_width_mm": "10.00",
        "allow_mosaic": False,
        "palette_key": "classic_bw",
    },
}
#: Contexts from easy (jeweler's saw, production machine) to hard (shell on a prototype router).
MIX_CONTEXTS: tuple[Context, ...] = (
    Context("saw:jeweler-0.25", "wood:maple-hard", "prod:vmc-3axis"),
    Context("router:upcut-1.5", "shell:abalone-paua", "proto:desktop-cnc"),
    Context("laser:co2-40w", "wood:ebony", "prod:laser-cell"),
    Context("router:downcut-0.8", "wood:rosewood", "proto:desktop-cnc", "ai_assisted"),
    Context("saw:slitting-0.5", "wood:spruce", "proto:hobby-laser", "design_first"),
    Context("laser:fiber-20w", "shell:mother-of-pearl", "prod:laser-cell"),
)
#: Snapshot timings use this pair: the loosest profile in the busiest context.
SNAPSHOT_PROFILE = "default"
SNAPSHOT_CONTEXT = MIX_CONTEXTS[0]


def mix_specs() -> dict[str, ProfileSpec]:
    return {name: spec_from_values(name, {**DEFAULTS, **values}) for name, values in MIX_PROFILES.items()}


def bench_throughput(
    *,
    seconds: float | None = 2.0,
    count: int | None = None,
    seed: int = 0,
    chunk: int = 1_000,
    catalog: Catalog | None = None,
) -> dict[str, Any]:
    """Generate and fast-score candidates round-robin over the mix, in chunks of ``chunk`` per
    (profile, context) pair, until ``count`` candidates (if given) or ``seconds`` have passed.

    Generators and scorers are built before timing starts, as a search or snapshot builds them
    once; the work measured is ``scorer.fast_score(generator.sample(rng))``.
    """
    if seconds is None and count is None:
        raise ValueError("give seconds, count or both")
    catalog = catalog or load_catalog()
    pairs = [
        (name, context, Generator(spec, catalog).sample, Scorer(context, catalog).fast_score)
        for name, spec in mix_specs().items()
        for context in MIX_CONTEXTS
    ]
    rng = random.Random(seed)
    done = 0
    deadline = None if seconds is None else time.perf_counter() + seconds
    started, cpu_started = time.perf_counter(), time.process_time()
    finished = False
    while not finished:
        for _, _, sample, fast_score in pairs:
            todo = chunk if count is None else min(chunk, count - done)
            for _ in range(todo):
                fast_score(sample(rng))
            done += todo
            finished = (count is not None and done >= count) or (
                deadline is not None and time.perf_counter() >= deadline
            )
            if finished:
                break
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    rate = done / wall
    return {
        "candidates": done,
        "seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "candidates_per_second": round(rate),
        "candidates_per_cpu_second": round(done / cpu) if cpu else None,
        "target_per_second": THROUGHPUT_TARGET,
        "meets_target": rate >= THROUGHPUT_TARGET,
        "pairs": len(pairs),
        "profiles": list(MIX_PROFILES),
        "contexts": [context.as_dict() for context in MIX_CONTEXTS],
    }


def bench_snapshot(*, n_samples: int, repeat: int = 5, seed: int = 0, catalog: Catalog | None = None) -> dict[str, Any]:
    """Time ``repeat`` snapshots of ``n_samples`` (profile and context built inside, as the API does)."""
    catalog = catalog or load_catalog()
    spec = mix_specs()[SNAPSHOT_PROFILE]
    timings = []
    for i in range(repeat):
        started = time.perf_counter()
        sample_snapshot(spec, catalog, SNAPSHOT_CONTEXT, n_samples=n_samples, seed=seed + i)
        timings.append((time.perf_counter() - started) * 1000)
    target = SNAPSHOT_TARGETS_MS.get(n_samples)
    best = min(timings)
    return {
        "n_samples": n_samples,
        "runs": repeat,
        "best_ms": round(best, 1),
        "median_ms": round(statistics.median(timings), 1),
        "target_ms": target,
        "meets_target": None if target is None else best <= target,
    }


def run_benchmarks(*, seconds: float = 2.0, repeat: int = 5, catalog: Catalog | None = None) -> dict[str, Any]:
    catalog = catalog or load_catalog()
    return {
        "throughput": bench_throughput(seconds=seconds, catalog=catalog),
        "snapshots": [bench_snapshot(n_samples=n, repeat=repeat, catalog=catalog) for n in SNAPSHOT_TARGETS_MS],
    }


__all__ = [
    "MIX_CONTEXTS",
    "MIX_PROFILES",
    "SNAPSHOT_TARGETS_MS",
    "THROUGHPUT_TARGET",
    "bench_snapshot",
    "bench_throughput",
    "mix_specs",
    "run_benchmarks",
]
