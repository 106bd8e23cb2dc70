"""The result of a tuning study: proposals, trial history and importances, JSON-ready (see :mod:`engine.tuning`)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import optuna

from engine.diff import semantic_diff
from engine.prediction import SHARE_PLACES, Evaluation, comparison
from engine.profile import CONSTRAINT_FIELDS, ProfileSpec
from engine.tuning.objective import Objective
from engine.tuning.space import SearchSpace

PROPOSALS = 3
#: Importances need some feasible trials to mean anything (TPE's own start-up is 10 random trials).
MIN_TRIALS_FOR_IMPORTANCES = 10


def _plain(value: Any) -> Any:
    """JSON-ready, as the API shows profile values: decimals as numbers."""
    return float(value) if isinstance(value, Decimal) else value


def plain_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {field: _plain(values[field]) for field in CONSTRAINT_FIELDS}


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The semantic diff: ``[{field, before, after}]`` for every constraint field that differs."""
    return [
        {"field": f, "before": _plain(before[f]), "after": _plain(after[f])}
        for f in CONSTRAINT_FIELDS
        if before[f] != after[f]
    ]


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, SHARE_PLACES)


def _feasible(trial: optuna.trial.FrozenTrial) -> bool:
    return all(value <= 0 for value in trial.constraints.values())


def _proposals(
    feasible: list[optuna.trial.FrozenTrial],
    space: SearchSpace,
    spec: ProfileSpec,
    objective: Objective,
    saved_evaluation: Evaluation,
) -> list[dict[str, Any]]:
    saved_values = spec.values()
    seen = {tuple(saved_values[f] for f in CONSTRAINT_FIELDS)}
    proposals: list[dict[str, Any]] = []
    for trial in sorted(feasible, key=lambda t: (-t.value, t.number)):
        values = space.values_of(trial.params, spec.description)
        key = tuple(values[f] for f in CONSTRAINT_FIELDS)
        if key in seen:
            continue
        seen.add(key)
        # Evaluated again here (same seeds, same numbers) when another worker ran the trial.
        _, evaluation = objective.evaluate(values)
        rows, overall = comparison(objective.evaluator, saved_evaluation, evaluation)
        proposals.append(
            {
                "rank": len(proposals) + 1,
                "trial": trial.number,
                "objective": _share(trial.value),
                "values": plain_values(values),
                "changes": changed_fields(saved_values, values),
                "diff": semantic_diff(saved_values, values),
                "distinct_designs": evaluation.distinct_designs,
                "prediction": {"contexts": rows, "overall": overall},
            }
        )
        if len(proposals) == PROPOSALS:
            break
    return proposals


def _history(finished: list[optuna.trial.FrozenTrial]) -> list[dict[str, Any]]:
    history = []
    best: float | None = None
    for trial in sorted(finished, key=lambda t: t.number):
        feasible = _feasible(trial)
        if feasible and (best is None or trial.value > best):
            best = trial.value
        history.append(
            {
                "trial": trial.number,
                "objective": _share(trial.value),
                "best_so_far": _share(best),
                "feasible": feasible,
                "distinct_designs": trial.user_attrs.get("distinct_designs"),
            }
        )
    return history


def _importances(feasible: list[optuna.trial.FrozenTrial]) -> dict[str, float]:
    """PED-ANOVA importances (Optuna's default evaluator; numpy only, no scikit-learn) of the
    parameters for reaching the best feasible trials, normalised to sum to 1."""
    if len(feasible) < MIN_TRIALS_FOR_IMPORTANCES:
        return {}
    # A study of the feasible trials alone: infeasible ones must not teach which values "help".
    study = optuna.create_study(direction="maximize")
    study.add_trials(feasible)
    importances = optuna.importance.get_param_importances(
        study, evaluator=optuna.importance.PedAnovaImportanceEvaluator()
    )
    return {name: round(value, SHARE_PLACES) for name, value in importances.items()}
