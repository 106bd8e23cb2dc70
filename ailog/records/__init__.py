"""Checking and normalising posted runs, attempts and events: the rules of every log item.

Two layers (issue 19). :mod:`~ailog.records.fast` accepts the happy batch: msgspec Structs
(compiled) check types, ranges, lengths, choices and unknown keys, and a short Python pass the
rest. It never refuses anything itself: on any refusal or doubt the :class:`Checker` (plain
Python on plain data) checks the batch again and lists every problem, each a
:class:`~rmos_site.errors.FieldError` with the item's ``index`` in the batch and a ``field`` path
inside it (``attempt_records[3].score``), up to :data:`MAX_ERRORS`. What the fast layer accepts
it turns into exactly the Checker's values (tests/ailog/test_fast_checks.py).

The shapes (field names follow the seed handoff):

run (``POST /api/rmos/logs/ai/runs`` item, or ``ai_constraint_run_summary`` event)
    ``run_id`` (UUID), ``timestamp`` (when the run ended), ``started_at``, ``elapsed_seconds``,
    the context (``tool_id``, ``material_id``, ``machine_id``, ``workflow_mode``,
    ``geometry_engine``), ``profile`` (name), ``profile_version``, ``rule_id``,
    ``fallback_used``, ``catalog_revision``, the budget (``max_attempts``,
    ``time_limit_seconds``, ``min_feasibility_score``, ``stop_on_first_green``, ``seed``),
    ``attempts`` (the count), ``success``, ``reason``, ``selected_score``,
    ``selected_risk_bucket``, ``selected_attempt_index``, ``selected_candidate``, ``warnings``;
    in a runs batch also ``attempt_records`` (the attempts themselves).

attempt (an item of ``attempt_records``, or an ``ai_constraint_attempt`` event)
    ``attempt_index`` (1-based), ``timestamp``, ``score``, ``risk_bucket``, ``is_acceptable``,
    ``ring_count``, ``total_width_mm``, ``candidate``, ``warnings``; an event also carries
    ``run_id`` and its context, a nested attempt may repeat its run's context.

Timestamps are ISO 8601 texts with a timezone; they are stored in UTC.

:mod:`~ailog.records.shapes` holds the vocabulary and field orders, :mod:`~ailog.records.values`
the checks of single values and :mod:`~ailog.records.items` those of whole items.
"""

from ailog.records.items import Checker
from ailog.records.shapes import (
    A_ACCEPTABLE,
    A_BUCKET,
    A_CANDIDATE,
    A_ENGINE,
    A_INDEX,
    A_MACHINE,
    A_MATERIAL,
    A_MODE,
    A_PROFILE,
    A_RINGS,
    A_RUN,
    A_SCORE,
    A_TOOL,
    A_TS,
    A_VERSION,
    A_WARNINGS,
    A_WIDTH,
    ATTEMPT_EVENT_KEYS,
    ATTEMPT_FIELDS,
    ATTEMPT_KEYS,
    BATCH_RUN_KEYS,
    CANDIDATE_KEYS,
    CONTEXT_KEYS,
    EARLIEST,
    EVENT_ATTEMPT,
    EVENT_RUN,
    EVENT_TYPES,
    FUTURE_SLACK,
    MAX_ELAPSED_SECONDS,
    MAX_ERRORS,
    MAX_RING_WIDTH_MM,
    MAX_TOTAL_WIDTH_MM,
    MAX_WARNINGS,
    MODES,
    NESTED_ATTEMPT_KEYS,
    NOT_PRINTABLE,
    REASONS,
    RING_KEYS,
    RING_PATTERNS,
    RISK_BUCKETS,
    RUN_EVENT_KEYS,
    RUN_FIELDS,
    RUN_KEYS,
    SCORE_TOLERANCE,
    SEED_RANGE,
    SOURCE_API,
    SOURCE_INTERNAL,
    TIME_LIMIT_RANGE,
    TIMESTAMP_TEXT_MAX,
    WARNING_MAX_LENGTH,
    WIDTH_TOLERANCE_MM,
    Attempt,
    NestedAttempt,
    Problems,
    Run,
    acceptance_problem,
    shown,
)
from ailog.records.values import ValueChecks

__all__ = [
    "Checker",
    "ValueChecks",
    "MAX_ERRORS",
    "MAX_WARNINGS",
    "WARNING_MAX_LENGTH",
    "TIMESTAMP_TEXT_MAX",
    "EARLIEST",
    "FUTURE_SLACK",
    "MAX_ELAPSED_SECONDS",
    "SEED_RANGE",
    "TIME_LIMIT_RANGE",
    "MAX_RING_WIDTH_MM",
    "MAX_TOTAL_WIDTH_MM",
    "RING_PATTERNS",
    "NOT_PRINTABLE",
    "WIDTH_TOLERANCE_MM",
    "SCORE_TOLERANCE",
    "RISK_BUCKETS",
    "REASONS",
    "MODES",
    "EVENT_ATTEMPT",
    "EVENT_RUN",
    "EVENT_TYPES",
    "CONTEXT_KEYS",
    "ATTEMPT_KEYS",
    "NESTED_ATTEMPT_KEYS",
    "ATTEMPT_EVENT_KEYS",
    "RUN_KEYS",
    "BATCH_RUN_KEYS",
    "RUN_EVENT_KEYS",
    "CANDIDATE_KEYS",
    "RING_KEYS",
    "ATTEMPT_FIELDS",
    "Attempt",
    "A_RUN",
    "A_INDEX",
    "A_TS",
    "A_TOOL",
    "A_MATERIAL",
    "A_MACHINE",
    "A_MODE",
    "A_ENGINE",
    "A_PROFILE",
    "A_VERSION",
    "A_SCORE",
    "A_BUCKET",
    "A_ACCEPTABLE",
    "A_RINGS",
    "A_WIDTH",
    "A_CANDIDATE",
    "A_WARNINGS",
    "SOURCE_INTERNAL",
    "SOURCE_API",
    "RUN_FIELDS",
    "NestedAttempt",
    "Run",
    "Problems",
    "shown",
    "acceptance_problem",
]
