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

The package: :mod:`~engine.tuning.space` (the search space), :mod:`~engine.tuning.objective` (the
request's rules and the objective), :mod:`~engine.tuning.search` (:func:`tune`),
:mod:`~engine.tuning.results` (proposals, history, importances), :mod:`~engine.tuning.noise`
(:func:`sampling_noise`).
"""

from engine.tuning.noise import sampling_noise
from engine.tuning.objective import (
    DEFAULT_SAMPLES_PER_CONTEXT,
    DEFAULT_TRIALS,
    MAX_TRIALS,
    MIN_TRIALS,
    SEED_LIMIT,
    TuningError,
)
from engine.tuning.results import PROPOSALS, changed_fields, plain_values
from engine.tuning.search import DIVERSITY, tune
from engine.tuning.space import SearchSpace, admit

__all__ = [
    "DEFAULT_SAMPLES_PER_CONTEXT",
    "DEFAULT_TRIALS",
    "DIVERSITY",
    "MAX_TRIALS",
    "MIN_TRIALS",
    "PROPOSALS",
    "SEED_LIMIT",
    "SearchSpace",
    "TuningError",
    "admit",
    "changed_fields",
    "plain_values",
    "sampling_noise",
    "tune",
]
