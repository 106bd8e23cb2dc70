"""The sampling noise: how much the saved values' objective moves from one seed to another (see :mod:`engine.tuning`)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from engine.catalog import Catalog
from engine.context import Context
from engine.prediction import DEFAULT_MIN_SCORE, TrafficEvaluator
from engine.profile import Problem
from engine.tuning.objective import (
    DEFAULT_SAMPLES_PER_CONTEXT,
    MIN_TRIALS,
    SEED_LIMIT,
    Objective,
    TuningError,
    _is_whole,
    _parse_request,
)


def sampling_noise(
    catalog: Catalog,
    saved: Mapping[str, Any],
    traffic: Sequence[tuple[Context, float]],
    *,
    focus: Context | None = None,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    samples_per_context: int = DEFAULT_SAMPLES_PER_CONTEXT,
    min_feasibility_score: float = DEFAULT_MIN_SCORE,
) -> dict[str, Any]:
    """How much the objective of the *saved* values moves from one seed to another alone.

    Re-evaluates ``saved`` on ``traffic`` (or its ``focus`` context) under each seed (five by
    default, as issue 20 asks). A proposal's gain over the saved values means something only
    when it is clearly larger than this spread. Returns ``{"seeds", "objectives", "mean",
    "stdev", "spread"}`` (``spread`` = max - min; shares unrounded). Validated like :func:`tune`.
    """
    spec = _parse_request(
        catalog,
        saved,
        traffic,
        focus=focus,
        trials=MIN_TRIALS,
        samples_per_context=samples_per_context,
        seed=None,
        min_feasibility_score=min_feasibility_score,
    )
    if len(seeds) < 2 or any(not _is_whole(s) or not 0 <= s < SEED_LIMIT for s in seeds):
        raise TuningError([Problem("seeds", "range", f"must be two or more seeds between 0 and {SEED_LIMIT - 1}")])
    objectives = []
    for seed in seeds:
        evaluator = TrafficEvaluator(
            catalog,
            traffic,
            samples_per_context=samples_per_context,
            seed=seed,
            min_feasibility_score=min_feasibility_score,
        )
        focus_index = [c for c, _ in evaluator.traffic].index(focus) if focus is not None else None
        objectives.append(Objective(evaluator, focus_index).value(evaluator.evaluate(spec)))
    return {
        "seeds": list(seeds),
        "objectives": objectives,
        "mean": statistics.fmean(objectives),
        "stdev": statistics.stdev(objectives),
        "spread": max(objectives) - min(objectives),
    }
