"""The search loop: generate, score and record attempts until one is good enough (DESIGN.md §3).

Each attempt draws a candidate, either fresh from the generator or (half of the time, once there
is one) a mutation of the best attempt so far, skips it if exactly the same design was already
tried, scores it and records it. An attempt is **acceptable** when its score is at least
``min_feasibility_score`` and its bucket is not RED.

The loop stops

- at the first acceptable GREEN attempt, when ``stop_on_first_green`` (reason ``green_found``);
- before an attempt, when ``time_limit_seconds`` have passed on the injected clock (``timeout``);
- when :data:`MAX_DRAWS_PER_ATTEMPT` draws in a row were all duplicates: the profile's design space
  is exhausted (``no_candidates``);
- after ``max_attempts`` attempts (``budget_exhausted``).

A run that found something acceptable reports that instead of why it stopped: ``green_found``
when its selected attempt is GREEN, else ``acceptable_found``. ``success`` is true exactly for
those two reasons.

The **selected** attempt is the best by (acceptable, bucket GREEN > YELLOW > RED, score, earlier
attempt): the best acceptable one, GREEN preferred, else the best overall. The same order picks
the attempt that mutations start from.

All randomness comes from ``random.Random(seed)``; a run without a seed draws one and reports it,
so every run can be replayed. With the same seed, profile, context and catalog the attempts are
the same, unless the time limit cuts the run short.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.catalog import Catalog
from engine.context import Context
from engine.feasibility import GREEN, RED, YELLOW, Scorer
from engine.generator import Candidate, Generator
from engine.profile import Problem, ProfileSpec

GREEN_FOUND = "green_found"
ACCEPTABLE_FOUND = "acceptable_found"
BUDGET_EXHAUSTED = "budget_exhausted"
TIMEOUT = "timeout"
NO_CANDIDATES = "no_candidates"
REASONS: tuple[str, ...] = (GREEN_FOUND, ACCEPTABLE_FOUND, BUDGET_EXHAUSTED, TIMEOUT, NO_CANDIDATES)
SUCCESS_REASONS = frozenset({GREEN_FOUND, ACCEPTABLE_FOUND})

#: Consecutive duplicate draws after which the design space counts as exhausted.
MAX_DRAWS_PER_ATTEMPT = 1000
#: Share of attempts (once there is a best attempt) that mutate it rather than draw afresh.
MUTATION_SHARE = 0.5
#: Seeds fit a signed 64-bit column.
SEED_LIMIT = 2**63
BUDGET_FIELDS: tuple[str, ...] = (
    "max_attempts",
    "time_limit_seconds",
    "min_feasibility_score",
    "stop_on_first_green",
    "seed",
)
_BUCKET_RANK = {GREEN: 2, YELLOW: 1, RED: 0}


class BudgetError(ValueError):
    """The budget breaks its rules; ``problems`` names each field and rule."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


@dataclass(frozen=True)
class Budget:
    max_attempts: int = 50
    time_limit_seconds: float = 30.0
    min_feasibility_score: float = 80.0
    stop_on_first_green: bool = True
    seed: int | None = None

    def __post_init__(self) -> None:
        problems = budget_problems(
            max_attempts=self.max_attempts,
            time_limit_seconds=self.time_limit_seconds,
            min_feasibility_score=self.min_feasibility_score,
            stop_on_first_green=self.stop_on_first_green,
            seed=self.seed,
        )
        if problems:
            raise BudgetError(problems)
        # Decimal and int inputs are stored as the float the loop compares against.
        object.__setattr__(self, "time_limit_seconds", float(self.time_limit_seconds))
        object.__setattr__(self, "min_feasibility_score", float(self.min_feasibility_score))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Budget:
        """A budget from request data: missing fields take their defaults, unknown ones are errors."""
        unknown = [
            Problem(str(key), "unknown_field", f"is not a budget field; known fields: {', '.join(BUDGET_FIELDS)}")
            for key in values
            if key not in BUDGET_FIELDS
        ]
        if unknown:
            raise BudgetError(unknown)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in BUDGET_FIELDS}


def budget_problems(
    *,
    max_attempts: Any,
    time_limit_seconds: Any,
    min_feasibility_score: Any,
    stop_on_first_green: Any,
    seed: Any,
) -> list[Problem]:
    """Every rule the given budget values break (empty when they are valid)."""
    problems = []
    if not _is_whole(max_attempts):
        problems.append(Problem("max_attempts", "type", f"must be a whole number, got {max_attempts!r}"))
    elif not 1 <= max_attempts <= 200:
        problems.append(Problem("max_attempts", "range", f"must be between 1 and 200, got {max_attempts}"))
    for name, value, low, high, unit in (
        ("time_limit_seconds", time_limit_seconds, 0.1, 60, " seconds"),
        ("min_feasibility_score", min_feasibility_score, 0, 100, ""),
    ):
        if not _is_number(value):
            problems.append(Problem(name, "type", f"must be a finite number, got {value!r}"))
        elif not low <= float(value) <= high:
            problems.append(Problem(name, "range", f"must be between {low} and {high}{unit}, got {value}"))
    if not isinstance(stop_on_first_green, bool):
        problems.append(Problem("stop_on_first_green", "type", f"must be true or false, got {stop_on_first_green!r}"))
    if seed is not None:
        if not _is_whole(seed):
            problems.append(Problem("seed", "type", f"must be a whole number or null, got {seed!r}"))
        elif not 0 <= seed < SEED_LIMIT:
            problems.append(Problem("seed", "range", f"must be between 0 and {SEED_LIMIT - 1}, got {seed}"))
    return problems


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_acceptable(score: float, risk_bucket: str, min_feasibility_score: float) -> bool:
    """The one definition of an acceptable attempt: its score reaches the budget's minimum and
    its bucket is not RED (a single impossible check rules a design out, whatever its mean)."""
    return score >= min_feasibility_score and risk_bucket != RED


def _is_number(value: Any) -> bool:
    if isinstance(value, Decimal):
        return value.is_finite()
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class AttemptResult:
    attempt_index: int  # 1-based
    timestamp: datetime
    candidate: dict[str, Any]
    score: float
    risk_bucket: str
    is_acceptable: bool
    ring_count: int
    total_width_mm: float
    warnings: list[str]

    @property
    def rank(self) -> tuple[bool, int, float, int]:
        """Greater is better: acceptable, then bucket, then score, then earlier."""
        return (self.is_acceptable, _BUCKET_RANK[self.risk_bucket], self.score, -self.attempt_index)

    def to_dict(self) -> dict[str, Any]:
        return {
            "attempt_index": self.attempt_index,
            "timestamp": self.timestamp.isoformat(),
            "candidate": self.candidate,
            "score": self.score,
            "risk_bucket": self.risk_bucket,
            "is_acceptable": self.is_acceptable,
            "ring_count": self.ring_count,
            "total_width_mm": self.total_width_mm,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class SearchOutcome:
    started_at: datetime
    finished_at: datetime
    elapsed_ms: float
    attempts: list[AttemptResult]
    success: bool
    reason: str
    selected: AttemptResult | None
    seed: int
    budget: Budget
    duplicates_skipped: int
    warnings: list[str] = field(default_factory=list)

    @property
    def attempt_count(self) -> int:
        return len(self.attempts)

    @property
    def selected_score(self) -> float | None:
        return self.selected.score if self.selected else None

    @property
    def selected_risk_bucket(self) -> str | None:
        return self.selected.risk_bucket if self.selected else None

    @property
    def selected_candidate(self) -> dict[str, Any] | None:
        return self.selected.candidate if self.selected else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "elapsed_ms": self.elapsed_ms,
            "attempts": [attempt.to_dict() for attempt in self.attempts],
            "attempt_count": self.attempt_count,
            "success": self.success,
            "reason": self.reason,
            "selected_attempt_index": self.selected.attempt_index if self.selected else None,
            "selected_score": self.selected_score,
            "selected_risk_bucket": self.selected_risk_bucket,
            "selected_candidate": self.selected_candidate,
            "seed": self.seed,
            "budget": self.budget.to_dict(),
            "duplicates_skipped": self.duplicates_skipped,
            "warnings": list(self.warnings),
        }


def _utc_now() -> datetime:
    return datetime.now(UTC)


def run_search(
    context: Context,
    spec: ProfileSpec,
    catalog: Catalog,
    budget: Budget,
    *,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = _utc_now,
) -> SearchOutcome:
    """Search for an acceptable candidate; see the module docstring for the rules.

    ``clock`` measures the time limit and ``elapsed_ms`` (seconds, monotonic); ``now`` stamps
    the run and its attempts. Both are injectable so that tests control time. Raises
    :class:`engine.generator.PaletteError` when the profile's palette is not in the catalog.
    """
    seed = budget.seed if budget.seed is not None else random.SystemRandom().randrange(SEED_LIMIT)
    rng = random.Random(seed)
    generator = Generator(spec, catalog)
    scorer = Scorer(context, catalog)

    attempts: list[AttemptResult] = []
    seen: set[Candidate] = set()
    best: AttemptResult | None = None
    best_candidate: Candidate | None = None
    duplicates = 0
    stopped: str | None = None

    started_at = now()
    start = clock()
    while len(attempts) < budget.max_attempts:
        if clock() - start >= budget.time_limit_seconds:
            stopped = TIMEOUT
            break
        candidate = None
        for _ in range(MAX_DRAWS_PER_ATTEMPT):
            if best_candidate is not None and rng.random() < MUTATION_SHARE:
                drawn = generator.mutate(best_candidate, rng)
            else:
                drawn = generator.sample(rng)
            if drawn not in seen:
                candidate = drawn
                break
            duplicates += 1
        if candidate is None:
            stopped = NO_CANDIDATES
            break
        seen.add(candidate)

        feasibility = scorer.score(candidate)
        attempt = AttemptResult(
            attempt_index=len(attempts) + 1,
            timestamp=now(),
            candidate=candidate.to_dict(),
            score=feasibility.score,
            risk_bucket=feasibility.risk_bucket,
            is_acceptable=is_acceptable(feasibility.score, feasibility.risk_bucket, budget.min_feasibility_score),
            ring_count=candidate.ring_count,
            total_width_mm=candidate.total_width_mm,
            warnings=feasibility.warnings,
        )
        attempts.append(attempt)
        if best is None or attempt.rank > best.rank:
            best, best_candidate = attempt, candidate
        if attempt.is_acceptable and attempt.risk_bucket == GREEN and budget.stop_on_first_green:
            break
    elapsed_ms = round((clock() - start) * 1000, 1)
    finished_at = now()

    if best is not None and best.is_acceptable:
        reason = GREEN_FOUND if best.risk_bucket == GREEN else ACCEPTABLE_FOUND
    else:
        reason = stopped or BUDGET_EXHAUSTED
    return SearchOutcome(
        started_at=started_at,
        finished_at=finished_at,
        elapsed_ms=elapsed_ms,
        attempts=attempts,
        success=reason in SUCCESS_REASONS,
        reason=reason,
        selected=best,
        seed=seed,
        budget=budget,
        duplicates_skipped=duplicates,
        warnings=list(scorer.warnings),
    )


__all__ = [
    "ACCEPTABLE_FOUND",
    "BUDGET_EXHAUSTED",
    "GREEN_FOUND",
    "NO_CANDIDATES",
    "REASONS",
    "TIMEOUT",
    "AttemptResult",
    "Budget",
    "BudgetError",
    "SearchOutcome",
    "budget_problems",
    "is_acceptable",
    "run_search",
]
