"""The tuning assistant's search: better values for a profile on its own traffic, with Optuna (DESIGN.md §11).

:func:`tune` searches a profile's bounds and flags for values that raise the **predicted acceptable
share** on the profile's weighted traffic (the contexts and weights of :mod:`engine.prediction`),
or on one context of it (``focus``). Each Optuna trial proposes values; the values are always a
valid profile that admits a design (built so, and checked with :func:`engine.profile.parse_profile`);
they are evaluated with the real generator and scorer by :class:`engine.prediction.TrafficEvaluator`
on fixed, seeded samples per context (the same samples' seeds for every trial and for the saved
values: common random numbers, so trials differ by their values, not by luck).

**Objective**: the weighted acceptable share over the traffic (the focus context's share with
``focus``), maximised.

**No winning by collapsing the design space**: a trial whose samples hold fewer distinct designs
than half of the saved values' (over all contexts' samples together) is *infeasible*. It is told to
Optuna with the constraint ``diversity = saved / 2 - distinct > 0`` (``Trial.set_constraint``), so
TPE steers away from it and it is never a proposal; its objective is still recorded.

**The search space** (:class:`SearchSpace`, reported with the result), every bound in whole
hundredths of a millimetre:

- ``min_rings`` in 1..R and ``extra_rings`` in 0..R-1 (``max_rings = min(R, min_rings + extra_rings)``),
  R the largest ``max_rings`` of the traffic's machines (what one of them cuts in one fixturing),
  never below the saved ``max_rings``, at most 24;
- ``min_ring_width_mm`` in [W_lo, W_hi] and ``ring_width_range_mm`` in [0, W_hi - W_lo]
  (``max_ring_width = min(W_hi, min + range)``): W_lo is the smallest ``min_feature_mm`` of the
  traffic's tools (a thinner ring is RED for every one of them), W_hi the widest ring any check of
  the traffic still rewards (twice a tool's minimum feature or a strip requirement, four times a
  kerf), at most 20 mm; both stretched to take in the saved widths;
- ``min_total_width_mm`` and ``total_width_range_mm`` likewise within [saved min / 2, saved max x 3/2]
  (at most 60 mm): the rosette's size is the operator's design choice, which the search may move
  but not overturn. Where the drawn totals admit no design, they are widened just enough to take
  in the achievable total nearest to them (:func:`admit`); ring-count bounds that no total
  reaches are moved toward the saved ones, which changes no sample but keeps the diff honest;
- ``allow_mosaic``, ``allow_segmented``, ``bias_simple``: true or false;
- ``palette_key``: any catalog palette, or ``""`` (every material).

The saved values are a point of the space and are the study's first trial, so TPE starts from
them. The sampler is ``TPESampler(seed=..., multivariate=True)``: with one worker, a seed gives the
same trials and proposals every time. Several workers can share one study through an Optuna
storage (``storage`` and ``study_name``; the engine only passes them on): they must measure on
the same samples (same ``seed``, samples, minimum score, values and traffic: the study records
them and refuses a worker that differs) and should draw different trials (``sampler_seed``).

The result is plain JSON (see :func:`tune`). :func:`sampling_noise` re-evaluates the saved values
under several seeds, the yardstick a proposal's gain must beat.
"""

from __future__ import annotations

import json
import math
import random
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import optuna

from engine.catalog import Catalog
from engine.context import Context
from engine.prediction import (
    DEFAULT_MIN_SCORE,
    SHARE_PLACES,
    Evaluation,
    TrafficEvaluator,
    comparison,
    sampling_problems,
    traffic_problems,
    values_problems,
)
from engine.profile import (
    CONSTRAINT_FIELDS,
    MAX_RING_WIDTH_LIMIT,
    MAX_RINGS_LIMIT,
    MAX_TOTAL_WIDTH_LIMIT,
    UNITS_PER_MM,
    Problem,
    ProfileSpec,
    feasible_ring_counts,
    parse_profile,
)

DEFAULT_TRIALS = 200
MIN_TRIALS = 10
MAX_TRIALS = 2_000
DEFAULT_SAMPLES_PER_CONTEXT = 300
#: How far the total-width bounds may move from the saved ones: down to half, up to one and a half.
TOTAL_WIDTH_FREEDOM = Decimal("0.5")
PROPOSALS = 3
#: Importances need some feasible trials to mean anything (TPE's own start-up is 10 random trials).
MIN_TRIALS_FOR_IMPORTANCES = 10
DIVERSITY = "diversity"
#: The study's user attribute recording what its trials are measured on.
_MEASURE = "rmos_measure"
SEED_LIMIT = 2**63
_SPEC_NAME = "tuning"
_RING_LIMIT_UNITS = int(MAX_RING_WIDTH_LIMIT * UNITS_PER_MM)
_TOTAL_LIMIT_UNITS = int(MAX_TOTAL_WIDTH_LIMIT * UNITS_PER_MM)
_FLAGS = ("allow_mosaic", "allow_segmented", "bias_simple")


class TuningError(ValueError):
    """The tuning request breaks its rules; ``problems`` names each field and rule."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


# --- the search space ------------------------------------------------------------------------


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


# --- the result's pieces ---------------------------------------------------------------------


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


# --- validation ------------------------------------------------------------------------------


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


# --- the search ------------------------------------------------------------------------------


class _Objective:
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
                        "changes": [{"field", "before", "after"}], "distinct_designs",
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
    objective = _Objective(evaluator, focus_index)
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


def _feasible(trial: optuna.trial.FrozenTrial) -> bool:
    return all(value <= 0 for value in trial.constraints.values())


def _proposals(
    feasible: list[optuna.trial.FrozenTrial],
    space: SearchSpace,
    spec: ProfileSpec,
    objective: _Objective,
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
        objectives.append(_Objective(evaluator, focus_index).value(evaluator.evaluate(spec)))
    return {
        "seeds": list(seeds),
        "objectives": objectives,
        "mean": statistics.fmean(objectives),
        "stdev": statistics.stdev(objectives),
        "spread": max(objectives) - min(objectives),
    }


__all__ = [
    "DEFAULT_SAMPLES_PER_CONTEXT",
    "DEFAULT_TRIALS",
    "MAX_TRIALS",
    "MIN_TRIALS",
    "SearchSpace",
    "TuningError",
    "admit",
    "changed_fields",
    "sampling_noise",
    "tune",
]
