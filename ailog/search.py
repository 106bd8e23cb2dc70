"""Run one constraint search for a context and record it: the write path behind
``POST /api/rmos/ai/constraint-search``, ``manage.py run_search`` and ``simulate_traffic``.

It resolves the context to a profile (``profiles.selectors``), runs the engine's search loop
and records the run with every attempt through :func:`ailog.services.run_record`, with the
profile version and history record in force and the resolution summary (rule, fallback).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ailog.models import AiRun, Source
from ailog.services import run_record
from engine.context import Context
from engine.generator import PaletteError
from engine.search import Budget, BudgetError, SearchOutcome, run_search
from profiles import selectors as profile_selectors
from rmos_site.errors import FieldError, ValidationFailed


def budget_parse(values: Mapping[str, Any]) -> Budget:
    """A search budget from request or command values, or a 400 naming each bad field."""
    try:
        return Budget.from_mapping({k: v for k, v in values.items() if v is not None})
    except BudgetError as exc:
        raise ValidationFailed(errors=[FieldError(p.field, p.rule, p.message) for p in exc.problems]) from None


def search_run_execute(
    *,
    context: Context,
    budget: Budget,
    profile_name: str | None = None,
    source: str = Source.INTERNAL,
    now: Callable[[], datetime] | None = None,
) -> tuple[AiRun, SearchOutcome]:
    """Resolve, search, record. ``now`` may stamp the run at another time (demo traffic)."""
    resolved = profile_selectors.context_resolve(context=context, profile_name=profile_name)
    options = {"now": now} if now is not None else {}
    try:
        outcome = run_search(context, resolved.spec, profile_selectors.catalog_get(), budget, **options)
    except PaletteError as exc:
        raise ValidationFailed(errors=[FieldError(exc.problem.field, exc.problem.rule, exc.problem.message)]) from None
    run = run_record(
        context=context.as_dict(),
        profile=resolved.profile.name,
        profile_version=resolved.version.version,
        profile_history_id=resolved.version.history_id,
        # A profile named explicitly was not chosen by a rule nor by the fallback: record neither.
        rule_id=None if resolved.overridden else resolved.resolution.rule_id,
        fallback_used=None if resolved.overridden else resolved.resolution.fallback_used,
        budget={**budget.to_dict(), "seed": outcome.seed},
        attempts=[
            {
                "attempt_index": a.attempt_index,
                "timestamp": a.timestamp,
                "score": a.score,
                "risk_bucket": a.risk_bucket,
                "is_acceptable": a.is_acceptable,
                "candidate": a.candidate,
                "warnings": a.warnings,
            }
            for a in outcome.attempts
        ],
        success=outcome.success,
        reason=outcome.reason,
        selected_score=outcome.selected_score,
        selected_risk_bucket=outcome.selected_risk_bucket,
        selected_candidate=outcome.selected_candidate,
        selected_attempt_index=outcome.selected.attempt_index if outcome.selected else None,
        timestamp=outcome.finished_at,
        started_at=outcome.started_at,
        # On another clock (demo traffic) the run lasts what its stamps say, not the real time.
        elapsed_seconds=round(
            (outcome.finished_at - outcome.started_at).total_seconds()
            if now is not None
            else outcome.elapsed_ms / 1000,
            4,
        ),
        catalog_revision=profile_selectors.catalog_get().revision,
        warnings=outcome.warnings,
        source=source,
    )
    return run, outcome
