"""A tuning request's rules, and the objective its trials are measured by (see :mod:`engine.tuning`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.catalog import Catalog
from engine.context import Context
from engine.prediction import (
    Evaluation,
    TrafficEvaluator,
    sampling_problems,
    traffic_problems,
    values_problems,
)
from engine.profile import CONSTRAINT_FIELDS, Problem, ProfileSpec, parse_profile

DEFAULT_TRIALS = 200
MIN_TRIALS = 10
MAX_TRIALS = 2_000
DEFAULT_SAMPLES_PER_CONTEXT = 300
SEED_LIMIT = 2**63
_SPEC_NAME = "tuning"


class TuningError(ValueError):
    """The tuning request breaks its rules; ``problems`` names each field and rule."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_request(
    catalog: Catalog,
    saved: Any,
    traffic: Any,
    *,
    focus: Any,
    trials: Any,
    samples_per_context: Any,
    seed: Any,
    min_feasibility_score: Any,
) -> ProfileSpec:
    problems = traffic_problems(traffic)
    problems += sampling_problems(
        samples_per_context=samples_per_context, seed=seed, min_feasibility_score=min_feasibility_score
    )
    spec, saved_problems = values_problems("saved", saved, catalog)
    problems += saved_problems
    if not _is_whole(trials):
        problems.append(Problem("trials", "type", f"must be a whole number, got {trials!r}"))
    elif not MIN_TRIALS <= trials <= MAX_TRIALS:
        problems.append(Problem("trials", "range", f"must be between {MIN_TRIALS} and {MAX_TRIALS}, got {trials}"))
    if focus is not None:
        if not isinstance(focus, Context):
            problems.append(Problem("focus", "type", "must be a context of the traffic, or none"))
        elif not traffic_problems(traffic) and focus not in [c for c, _ in traffic]:
            problems.append(Problem("focus", "not_in_traffic", "is not one of the traffic's contexts"))
    if problems:
        raise TuningError(problems)
    assert spec is not None
    return spec


class Objective:
    """Evaluates values for the study; remembers each distinct set of values' evaluation."""

    def __init__(self, evaluator: TrafficEvaluator, focus_index: int | None):
        self.evaluator = evaluator
        self.focus_index = focus_index
        self._cache: dict[tuple[Any, ...], tuple[ProfileSpec, Evaluation]] = {}

    def evaluate(self, values: Mapping[str, Any]) -> tuple[ProfileSpec, Evaluation]:
        key = tuple(values[f] for f in CONSTRAINT_FIELDS)
        if key not in self._cache:
            spec, problems = parse_profile(_SPEC_NAME, values, palette_keys=self.evaluator.catalog.palette_keys())
            if spec is None:  # values_of promises valid values: this is a bug, not bad input
                raise AssertionError(f"a trial's values are not a valid profile: {problems}")
            self._cache[key] = (spec, self.evaluator.evaluate(spec))
        return self._cache[key]

    def value(self, evaluation: Evaluation) -> float:
        if self.focus_index is None:
            return evaluation.acceptable_share
        return evaluation.contexts[self.focus_index].acceptable / self.evaluator.samples_per_context
