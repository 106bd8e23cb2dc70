"""Prediction on real traffic: how would a profile's values fare in the contexts it serves (DESIGN.md §9)?

:func:`predict` samples the real generator and scorer in each context of a profile's traffic (a
list of ``(context, weight)`` pairs, the weight being e.g. the context's runs in the last 30 days),
under the saved values and, when given, proposed values, and answers per context and weighted
overall:

- **acceptable share**: the share of sampled candidates that a search would accept, exactly as
  :func:`engine.search.is_acceptable` decides it (score >= ``min_feasibility_score`` and not RED;
  the minimum defaults to the search budget's default, 80);
- **GREEN share**: the share of sampled candidates whose risk bucket is GREEN;
- **distinct designs**: how many different candidates the samples hold (a profile squeezed to a
  handful of designs shows here), per context and over all contexts together.

The overall shares are the weighted means of the contexts' shares: ``Σ wᵢ · shareᵢ / Σ wᵢ``.

**Common random numbers.** Each context draws its samples from its own seed, derived from the
request's ``seed`` and the context's identity (not its position in the list), and the saved and
the proposed values use the *same* seed in the same context. The two sides then consume the same
random stream, so a difference between them comes from the values, not from the luck of the draw;
and the same request always gives the same answer.

:class:`TrafficEvaluator` is the reusable core: it builds each context's scorer and seed once and
then evaluates any number of profile specs (the tuning search, :mod:`engine.tuning`, evaluates
hundreds).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from engine.catalog import Catalog
from engine.context import Context
from engine.feasibility import GREEN, Scorer
from engine.generator import Candidate, Generator
from engine.profile import CONSTRAINT_FIELDS, Problem, ProfileSpec, parse_profile
from engine.search import Budget, BudgetError, is_acceptable

DEFAULT_SAMPLES_PER_CONTEXT = 500
MIN_SAMPLES_PER_CONTEXT = 5
MAX_SAMPLES_PER_CONTEXT = 10_000
#: DESIGN §9: the contexts that make up 95 % of a profile's runs, at most 20.
MAX_CONTEXTS = 20
SEED_LIMIT = 2**63
#: The search budget's default minimum score: "acceptable" here means what a default run accepts.
DEFAULT_MIN_SCORE: float = Budget().min_feasibility_score
#: Shares in answers are rounded to this many decimals (counts are exact).
SHARE_PLACES = 4
#: The name profile values are parsed under (a prediction needs values, not a name).
_SPEC_NAME = "prediction"


class PredictionError(ValueError):
    """The prediction request breaks its rules; ``problems`` names each field and rule."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


class ContextCounts(NamedTuple):
    """One context's samples under one set of values."""

    acceptable: int
    green: int
    distinct_designs: int


class Evaluation(NamedTuple):
    """One set of values over the whole traffic: per-context counts (in traffic order), the
    weighted shares, and the distinct designs over all contexts' samples together."""

    contexts: tuple[ContextCounts, ...]
    acceptable_share: float
    green_share: float
    distinct_designs: int


def context_seed(seed: int, context: Context) -> int:
    """The seed of ``context``'s samples in a request with ``seed``: from the context's identity,
    so reordering the traffic changes nothing, and stable across processes (unlike ``hash``)."""
    key = "\x1f".join((str(seed), *context.as_dict().values())).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") >> 1


class TrafficEvaluator:
    """Samples profile specs over fixed, weighted traffic.

    Everything that does not depend on the values is built once: each context's :class:`Scorer`
    (whose exact sub-score memos then stay warm from one spec to the next) and its seed.
    Inputs are trusted here; :func:`predict` and :func:`engine.tuning.tune` validate them first.
    """

    def __init__(
        self,
        catalog: Catalog,
        traffic: Sequence[tuple[Context, float]],
        *,
        samples_per_context: int,
        seed: int,
        min_feasibility_score: float,
    ):
        self.catalog = catalog
        self.traffic = tuple((context, weight) for context, weight in traffic)
        self.samples_per_context = samples_per_context
        self.seed = seed
        self.min_feasibility_score = float(min_feasibility_score)
        self.seeds = tuple(context_seed(seed, context) for context, _ in self.traffic)
        self.weights = tuple(float(weight) for _, weight in self.traffic)
        self.total_weight = math.fsum(self.weights)
        self._scorers: dict[tuple[str, str, str], Scorer] = {}
        # The scorer reads only these three ids: contexts that differ in workflow mode or
        # geometry engine share one scorer (and its memos).
        self.scorers = tuple(self._scorer(context) for context, _ in self.traffic)

    def _scorer(self, context: Context) -> Scorer:
        key = (context.tool_id, context.material_id, context.machine_id)
        if key not in self._scorers:
            self._scorers[key] = Scorer(context, self.catalog)
        return self._scorers[key]

    def evaluate(self, spec: ProfileSpec) -> Evaluation:
        """Sample ``spec`` in every context (same seeds for every spec) and count."""
        sample = Generator(spec, self.catalog).sample
        n = self.samples_per_context
        minimum = self.min_feasibility_score
        counts = []
        designs: list[set[Candidate]] = []
        for scorer, seed in zip(self.scorers, self.seeds):
            rng = random.Random(seed)
            candidates = [sample(rng) for _ in range(n)]
            # Few distinct (score, bucket) outcomes: decide acceptability once per outcome.
            acceptable = green = 0
            for (score, bucket), count in Counter(map(scorer.fast_score, candidates)).items():
                if is_acceptable(score, bucket, minimum):
                    acceptable += count
                if bucket == GREEN:
                    green += count
            distinct = set(candidates)
            designs.append(distinct)
            counts.append(ContextCounts(acceptable, green, len(distinct)))
        return Evaluation(
            contexts=tuple(counts),
            acceptable_share=self.weighted_share([c.acceptable for c in counts]),
            green_share=self.weighted_share([c.green for c in counts]),
            distinct_designs=len(set().union(*designs)),
        )

    def weighted_share(self, counts: Sequence[int]) -> float:
        """``Σ wᵢ · countᵢ / n / Σ wᵢ`` over the contexts, unrounded."""
        n = self.samples_per_context
        return math.fsum(w * c for w, c in zip(self.weights, counts)) / n / self.total_weight


# --- validation ------------------------------------------------------------------------------


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def values_problems(prefix: str, values: Any, catalog: Catalog) -> tuple[ProfileSpec | None, list[Problem]]:
    """Parse profile values (every constraint field) with :func:`engine.profile.parse_profile`
    against the catalog's palettes; each problem's field is prefixed (``saved.min_rings``)."""
    if not isinstance(values, Mapping):
        return None, [
            Problem(prefix, "type", f"must be a mapping of the profile fields {', '.join(CONSTRAINT_FIELDS)}")
        ]
    spec, problems = parse_profile(_SPEC_NAME, values, palette_keys=catalog.palette_keys())
    return spec, [p._replace(field=f"{prefix}.{p.field}") for p in problems]


def traffic_problems(traffic: Any) -> list[Problem]:
    """Rules for ``traffic``: 1-20 ``(Context, weight)`` pairs, each context once, each weight a
    finite number above 0."""
    if isinstance(traffic, (str, bytes)) or not isinstance(traffic, Sequence):
        return [Problem("traffic", "type", "must be a list of (context, weight) pairs")]
    if not 1 <= len(traffic) <= MAX_CONTEXTS:
        return [Problem("traffic", "range", f"must hold between 1 and {MAX_CONTEXTS} contexts, got {len(traffic)}")]
    problems = []
    seen: set[Context] = set()
    for i, item in enumerate(traffic):
        field = f"traffic[{i}]"
        if not (isinstance(item, Sequence) and len(item) == 2 and isinstance(item[0], Context)):
            problems.append(Problem(field, "type", "must be a (Context, weight) pair"))
            continue
        context, weight = item
        if context in seen:
            problems.append(
                Problem(f"{field}.context", "duplicate", "lists a context already listed: merge their weights")
            )
        seen.add(context)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
            problems.append(Problem(f"{field}.weight", "type", f"must be a finite number, got {weight!r}"))
        elif weight <= 0:
            problems.append(Problem(f"{field}.weight", "range", f"must be greater than 0, got {weight!r}"))
    return problems


def sampling_problems(*, samples_per_context: Any, seed: Any, min_feasibility_score: Any) -> list[Problem]:
    problems = []
    if not _is_whole(samples_per_context):
        problems.append(Problem("samples_per_context", "type", f"must be a whole number, got {samples_per_context!r}"))
    elif not MIN_SAMPLES_PER_CONTEXT <= samples_per_context <= MAX_SAMPLES_PER_CONTEXT:
        problems.append(
            Problem(
                "samples_per_context",
                "range",
                f"must be between {MIN_SAMPLES_PER_CONTEXT} and {MAX_SAMPLES_PER_CONTEXT}, got {samples_per_context}",
            )
        )
    if seed is not None:
        if not _is_whole(seed):
            problems.append(Problem("seed", "type", f"must be a whole number or null, got {seed!r}"))
        elif not 0 <= seed < SEED_LIMIT:
            problems.append(Problem("seed", "range", f"must be between 0 and {SEED_LIMIT - 1}, got {seed}"))
    try:  # the search budget's own rule for its minimum score
        Budget(min_feasibility_score=min_feasibility_score)
    except BudgetError as exc:
        problems.extend(exc.problems)
    return problems


# --- the answer ------------------------------------------------------------------------------


def _share(count: int, n: int) -> float:
    return round(count / n, SHARE_PLACES)


def counts_dict(counts: ContextCounts, n: int) -> dict[str, Any]:
    return {
        "acceptable": counts.acceptable,
        "acceptable_share": _share(counts.acceptable, n),
        "green": counts.green,
        "green_share": _share(counts.green, n),
        "distinct_designs": counts.distinct_designs,
    }


def overall_dict(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "acceptable_share": round(evaluation.acceptable_share, SHARE_PLACES),
        "green_share": round(evaluation.green_share, SHARE_PLACES),
        "distinct_designs": evaluation.distinct_designs,
    }


def difference_dict(saved: dict[str, Any], proposed: dict[str, Any]) -> dict[str, Any]:
    """``proposed - saved`` for the shares (rounded) and the distinct designs."""
    return {
        "acceptable_share": round(proposed["acceptable_share"] - saved["acceptable_share"], SHARE_PLACES),
        "green_share": round(proposed["green_share"] - saved["green_share"], SHARE_PLACES),
        "distinct_designs": proposed["distinct_designs"] - saved["distinct_designs"],
    }


def comparison(
    evaluator: TrafficEvaluator, saved: Evaluation, proposed: Evaluation | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-context rows and the overall block of an answer (see :func:`predict`)."""
    n = evaluator.samples_per_context
    rows = []
    for i, (context, weight) in enumerate(evaluator.traffic):
        saved_counts = counts_dict(saved.contexts[i], n)
        row: dict[str, Any] = {
            "context": context.as_dict(),
            "weight": weight,
            "saved": saved_counts,
            "proposed": None,
            "difference": None,
            "warnings": list(evaluator.scorers[i].warnings),
        }
        if proposed is not None:
            row["proposed"] = counts_dict(proposed.contexts[i], n)
            row["difference"] = difference_dict(saved_counts, row["proposed"])
        rows.append(row)
    overall: dict[str, Any] = {"saved": overall_dict(saved), "proposed": None, "difference": None}
    if proposed is not None:
        overall["proposed"] = overall_dict(proposed)
        overall["difference"] = difference_dict(overall["saved"], overall["proposed"])
    return rows, overall


def predict(
    catalog: Catalog,
    saved: Mapping[str, Any],
    proposed: Mapping[str, Any] | None,
    traffic: Sequence[tuple[Context, float]],
    *,
    samples_per_context: int = DEFAULT_SAMPLES_PER_CONTEXT,
    seed: int | None = None,
    min_feasibility_score: float = DEFAULT_MIN_SCORE,
) -> dict[str, Any]:
    """Predicted acceptable and GREEN shares of ``saved`` (and ``proposed``) values on ``traffic``.

    ``saved`` and ``proposed`` hold every constraint field (:data:`engine.profile.CONSTRAINT_FIELDS`,
    as :meth:`ProfileSpec.values` gives them; merge a partial change onto the saved values first).
    ``traffic`` is 1-20 ``(Context, weight)`` pairs, weights > 0. Each context is sampled
    ``samples_per_context`` times (5-10,000) from :func:`context_seed` ``(seed, context)``, the
    same samples' seed for saved and proposed values (common random numbers: the difference is
    the values', not chance's). Without a ``seed`` one is drawn and reported. A candidate is
    acceptable as :func:`engine.search.is_acceptable` says, at ``min_feasibility_score``.

    Raises :class:`PredictionError` listing every problem (fields ``saved.<field>``,
    ``proposed.<field>``, ``traffic[i].weight``, ``samples_per_context``, ``seed``,
    ``min_feasibility_score``). Returns (JSON-ready; shares rounded to 4 decimals)::

        {"samples_per_context", "seed", "min_feasibility_score", "catalog_revision",
         "contexts": [{"context": {tool_id, ...}, "weight",
                       "saved": {"acceptable", "acceptable_share", "green", "green_share",
                                 "distinct_designs"},
                       "proposed": {same} | None, "difference": {"acceptable_share",
                       "green_share", "distinct_designs"} | None, "warnings": [...]}, ...],
         "overall": {"saved": {"acceptable_share", "green_share", "distinct_designs"},
                     "proposed": {same} | None, "difference": {same} | None}}

    ``overall`` shares are weighted by the contexts' weights; its ``distinct_designs`` counts
    the designs of all contexts' samples together.
    """
    problems = traffic_problems(traffic)
    problems += sampling_problems(
        samples_per_context=samples_per_context, seed=seed, min_feasibility_score=min_feasibility_score
    )
    saved_spec, saved_problems = values_problems("saved", saved, catalog)
    problems += saved_problems
    proposed_spec = None
    if proposed is not None:
        proposed_spec, proposed_problems = values_problems("proposed", proposed, catalog)
        problems += proposed_problems
    if problems:
        raise PredictionError(problems)
    assert saved_spec is not None
    if seed is None:
        seed = random.SystemRandom().randrange(SEED_LIMIT)

    evaluator = TrafficEvaluator(
        catalog,
        traffic,
        samples_per_context=samples_per_context,
        seed=seed,
        min_feasibility_score=min_feasibility_score,
    )
    saved_evaluation = evaluator.evaluate(saved_spec)
    proposed_evaluation = evaluator.evaluate(proposed_spec) if proposed_spec is not None else None
    rows, overall = comparison(evaluator, saved_evaluation, proposed_evaluation)
    return {
        "samples_per_context": samples_per_context,
        "seed": seed,
        "min_feasibility_score": evaluator.min_feasibility_score,
        "catalog_revision": catalog.revision,
        "contexts": rows,
        "overall": overall,
    }


__all__ = [
    "DEFAULT_MIN_SCORE",
    "DEFAULT_SAMPLES_PER_CONTEXT",
    "MAX_CONTEXTS",
    "MAX_SAMPLES_PER_CONTEXT",
    "MIN_SAMPLES_PER_CONTEXT",
    "ContextCounts",
    "Evaluation",
    "PredictionError",
    "TrafficEvaluator",
    "context_seed",
    "predict",
]
