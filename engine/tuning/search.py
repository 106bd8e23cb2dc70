"""The search: a seeded TPE study over a profile's values, on its own traffic (see :mod:`engine.tuning`)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import optuna

from engine.catalog import Catalog
from engine.context import Context
from engine.prediction import DEFAULT_MIN_SCORE, TrafficEvaluator, comparison
from engine.profile import Problem
from engine.tuning.objective import (
    DEFAULT_SAMPLES_PER_CONTEXT,
    DEFAULT_TRIALS,
    SEED_LIMIT,
    Objective,
    TuningError,
    _is_whole,
    _parse_request,
)
from engine.tuning.results import _feasible, _history, _importances, _proposals, _share, plain_values
from engine.tuning.space import SearchSpace

DIVERSITY = "diversity"
#: The study's user attribute recording what its trials are measured on.
_MEASURE = "rmos_measure"


def tune(
    catalog: Catalog,
    saved: Mapping[str, Any],
    traffic: Sequence[tuple[Context, float]],
    *,
    focus: Context | None = None,
    trials: int = DEFAULT_TRIALS,
    samples_per_context: int = DEFAULT_SAMPLES_PER_CONTEXT,
    seed: int | None = None,
    min_feasibility_score: float = DEFAULT_MIN_SCORE,
    storage: str | optuna.storages.BaseStorage | None = None,
    study_name: str | None = None,
    sampler_seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Search values for the profile with ``saved`` values that raise its predicted acceptable share.

    ``saved``: every constraint field (as :meth:`ProfileSpec.values` gives them). ``traffic``:
    1-20 ``(Context, weight)`` pairs (weights > 0), as for :func:`engine.prediction.predict`;
    ``focus``, one of those contexts, makes its share alone the objective (the effect is still
    reported on every context). ``trials``: 10-2,000 trials run by this call. Each trial samples
    ``samples_per_context`` (5-10,000) candidates per context from seeds fixed by ``seed`` (drawn
    and reported when ``None``); acceptable means :func:`engine.search.is_acceptable` at
    ``min_feasibility_score``.

    ``storage`` (an Optuna storage or URL) and ``study_name`` put the trials in a named study that
    other workers may share (it is created or loaded); by default the study lives in memory.
    ``sampler_seed`` seeds TPE (default: ``seed``); workers sharing a study give the same ``seed``
    (the study refuses one whose seed, samples, minimum score, values, traffic or focus differ:
    problem ``study_name``/``mismatch``) and different sampler seeds.
    ``progress(done, total)`` is called after every trial; ``should_stop()`` before each: when it
    returns true the search ends there and reports what it has (``"stopped": true``).

    Raises :class:`TuningError` listing every problem (fields ``saved.<field>``,
    ``traffic[i]...``, ``focus``, ``trials``, ``samples_per_context``, ``seed``,
    ``min_feasibility_score``). Returns (JSON-ready; shares rounded to 4 decimals)::

        {"seed", "trials_requested", "trials_done", "stopped", "samples_per_context",
         "min_feasibility_score", "focus": {context} | None, "catalog_revision", "study_name",
         "search_space": {"max_ring_count", "ring_width_mm": [lo, hi], "total_width_mm": [lo, hi],
                          "palette_keys", "parameters"},
         "saved": {"values": {field: value}, "objective", "acceptable_share", "green_share",
                   "distinct_designs", "min_distinct_designs"},
         "proposals": [{"rank", "trial", "objective", "values": {field: value},
                        "changes": [{"field", "before", "after"}], "diff": semantic_diff(saved, values),
                        "distinct_designs",
                        "prediction": {"contexts": [...], "overall": {...}}}, ...],   # up to 3
         "history": [{"trial", "objective", "best_so_far", "feasible", "distinct_designs"}, ...],
         "importances": {parameter: share of importance, ...}}

    ``prediction`` has the shape of :func:`engine.prediction.predict`'s ``contexts`` and
    ``overall``, saved against the proposal. ``proposals`` are the best feasible trials with
    distinct values other than the saved ones, best first. ``history`` lists every finished trial
    of the study in order (``best_so_far`` over feasible trials). ``importances`` are Optuna's
    PED-ANOVA importances over the feasible trials (empty below 10 of them).
    """
    spec = _parse_request(
        catalog,
        saved,
        traffic,
        focus=focus,
        trials=trials,
        samples_per_context=samples_per_context,
        seed=seed,
        min_feasibility_score=min_feasibility_score,
    )
    if sampler_seed is not None and (not _is_whole(sampler_seed) or not 0 <= sampler_seed < SEED_LIMIT):
        raise TuningError([Problem("sampler_seed", "range", f"must be a whole number between 0 and {SEED_LIMIT - 1}")])
    if seed is None:
        seed = random.SystemRandom().randrange(SEED_LIMIT)
    evaluator = TrafficEvaluator(
        catalog,
        traffic,
        samples_per_context=samples_per_context,
        seed=seed,
        min_feasibility_score=min_feasibility_score,
    )
    contexts = [context for context, _ in evaluator.traffic]
    focus_index = contexts.index(focus) if focus is not None else None
    space = SearchSpace.for_traffic(spec, catalog, contexts)
    distributions = space.distributions()
    objective = Objective(evaluator, focus_index)
    saved_values = spec.values()
    _, saved_evaluation = objective.evaluate(saved_values)
    min_distinct = saved_evaluation.distinct_designs / 2

    # numpy's generator behind TPE takes 32-bit seeds; the samples keep the full seed.
    sampler = optuna.samplers.TPESampler(
        seed=(seed if sampler_seed is None else sampler_seed) % 2**32, multivariate=True
    )
    study = optuna.create_study(
        storage=storage, study_name=study_name, sampler=sampler, direction="maximize", load_if_exists=True
    )
    measure = {
        "seed": seed,
        "samples_per_context": samples_per_context,
        "min_feasibility_score": evaluator.min_feasibility_score,
        "saved": plain_values(saved_values),
        "traffic": [[context.as_dict(), weight] for context, weight in evaluator.traffic],
        "focus": focus.as_dict() if focus is not None else None,
    }
    recorded = study.user_attrs.get(_MEASURE)
    if recorded is None:
        study.set_user_attr(_MEASURE, measure)
    elif recorded != json.loads(json.dumps(measure)):
        raise TuningError(
            [
                Problem(
                    "study_name",
                    "mismatch",
                    f"study {study.study_name!r} measures trials on other samples (seed, samples per context, minimum "
                    "score, saved values, traffic or focus differ): its trials and these could not be compared",
                )
            ]
        )
    study.enqueue_trial(space.params_of(spec), skip_if_exists=True)

    done = 0
    stopped = False
    for _ in range(trials):
        if should_stop is not None and should_stop():
            stopped = True
            break
        trial = study.ask(distributions)
        try:
            values = space.values_of(trial.params, spec.description)
            _, evaluation = objective.evaluate(values)
            trial.set_constraint(DIVERSITY, min_distinct - evaluation.distinct_designs)
            trial.set_user_attr("distinct_designs", evaluation.distinct_designs)
            study.tell(trial, objective.value(evaluation))
        except BaseException:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise
        done += 1
        if progress is not None:
            progress(done, trials)

    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    feasible = [t for t in finished if _feasible(t)]
    rows, overall = comparison(evaluator, saved_evaluation, None)
    return {
        "seed": seed,
        "trials_requested": trials,
        "trials_done": done,
        "stopped": stopped,
        "samples_per_context": samples_per_context,
        "min_feasibility_score": evaluator.min_feasibility_score,
        "focus": focus.as_dict() if focus is not None else None,
        "catalog_revision": catalog.revision,
        "study_name": study.study_name,
        "search_space": space.to_dict(),
        "saved": {
            "values": plain_values(saved_values),
            "objective": _share(objective.value(saved_evaluation)),
            **overall["saved"],
            "min_distinct_designs": min_distinct,
        },
        "proposals": _proposals(feasible, space, spec, objective, saved_evaluation),
        "history": _history(finished),
        "importances": _importances(feasible),
    }
