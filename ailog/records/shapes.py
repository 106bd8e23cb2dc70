"""The shapes of log items: limits, vocabularies, field orders, and the containers checking fills."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ailog.models import (
    Reason,
    RiskBucket,
)
from engine.context import WORKFLOW_MODES
from engine.profile import (
    MAX_RING_WIDTH_LIMIT,
    MAX_TOTAL_WIDTH_LIMIT,
)
from rmos_site.errors import FieldError

UTC = UTC
MAX_ERRORS = 200
MAX_WARNINGS = 50
WARNING_MAX_LENGTH = 500
TIMESTAMP_TEXT_MAX = 64
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
#: How far ahead of this server's clock a timestamp may be: clocks kept by NTP differ by far less.
#: Bounded so that a run's version, taken at its timestamp, is settled soon after it is posted
#: (a version saved between the posting and the timestamp re-attributes it: ailog.services.versions).
FUTURE_SLACK = timedelta(minutes=5)
MAX_ELAPSED_SECONDS = 86_400.0
SEED_RANGE = (-(2**63), 2**63 - 1)
TIME_LIMIT_RANGE = (0.1, 60.0)
MAX_RING_WIDTH_MM = float(MAX_RING_WIDTH_LIMIT)
MAX_TOTAL_WIDTH_MM = float(MAX_TOTAL_WIDTH_LIMIT)
#: Ring patterns of a candidate (DESIGN.md §3, "Candidate").
RING_PATTERNS = frozenset({"solid", "mosaic", "segmented"})
NOT_PRINTABLE = (
    "must be printable text: no control or invisible characters, no spaces but the plain one, no unpaired surrogates"
)
WIDTH_TOLERANCE_MM = 0.005  # a candidate's total may be rounded to hundredths
SCORE_TOLERANCE = 0.005  # a run's selected score may be its attempt's, rounded to hundredths

RISK_BUCKETS = frozenset(RiskBucket.values)
REASONS = frozenset(Reason.values)
MODES = frozenset(WORKFLOW_MODES)
EVENT_ATTEMPT = "ai_constraint_attempt"
EVENT_RUN = "ai_constraint_run_summary"
EVENT_TYPES = (EVENT_ATTEMPT, EVENT_RUN)

CONTEXT_KEYS = ("tool_id", "material_id", "machine_id", "workflow_mode", "geometry_engine")
ATTEMPT_KEYS = frozenset(
    {
        "attempt_index",
        "timestamp",
        "score",
        "risk_bucket",
        "is_acceptable",
        "ring_count",
        "total_width_mm",
        "candidate",
        "warnings",
    }
)
NESTED_ATTEMPT_KEYS = ATTEMPT_KEYS | set(CONTEXT_KEYS)
ATTEMPT_EVENT_KEYS = ATTEMPT_KEYS | set(CONTEXT_KEYS) | {"event_type", "run_id"}
RUN_KEYS = frozenset(
    {
        "run_id",
        "timestamp",
        "started_at",
        "elapsed_seconds",
        *CONTEXT_KEYS,
        "profile",
        "profile_version",
        "rule_id",
        "fallback_used",
        "catalog_revision",
        "max_attempts",
        "time_limit_seconds",
        "min_feasibility_score",
        "stop_on_first_green",
        "seed",
        "attempts",
        "success",
        "reason",
        "selected_score",
        "selected_risk_bucket",
        "selected_attempt_index",
        "selected_candidate",
        "warnings",
    }
)
BATCH_RUN_KEYS = RUN_KEYS | {"attempt_records"}
RUN_EVENT_KEYS = RUN_KEYS | {"event_type"}
CANDIDATE_KEYS = frozenset({"rings", "ring_count", "total_width_mm"})
RING_KEYS = frozenset({"width_mm", "pattern", "material_key"})

#: Order of the values of an attempt (:data:`Attempt`), the same as the columns ailog stores.
ATTEMPT_FIELDS = (
    "run_id",
    "attempt_index",
    "timestamp",
    "tool_id",
    "material_id",
    "machine_id",
    "workflow_mode",
    "geometry_engine",
    "profile_name",
    "profile_version",
    "score",
    "risk_bucket",
    "is_acceptable",
    "ring_count",
    "total_width_mm",
    "candidate",
    "warnings",
)
#: An attempt, checked: a tuple in :data:`ATTEMPT_FIELDS` order (tuples are cheap at 50,000 a request).
Attempt = tuple
A_RUN, A_INDEX, A_TS, A_TOOL, A_MATERIAL, A_MACHINE, A_MODE, A_ENGINE, A_PROFILE, A_VERSION = range(10)
A_SCORE, A_BUCKET, A_ACCEPTABLE, A_RINGS, A_WIDTH, A_CANDIDATE, A_WARNINGS = range(10, 17)

#: Where a run came from (the ``source`` field).
SOURCE_INTERNAL = "internal"  # this server's search loop
SOURCE_API = "api"  # posted by an integrator

#: Run fields, in the order they are stored (see ailog.models.AiRun) and compared on a retry.
RUN_FIELDS = (
    "run_id",
    "timestamp",
    "started_at",
    "elapsed_seconds",
    "tool_id",
    "material_id",
    "machine_id",
    "workflow_mode",
    "geometry_engine",
    "profile_name",
    "profile_version",
    "profile_history_id",
    "rule_id",
    "fallback_used",
    "catalog_revision",
    "max_attempts",
    "time_limit_seconds",
    "min_feasibility_score",
    "stop_on_first_green",
    "seed",
    "attempts",
    "success",
    "reason",
    "selected_score",
    "selected_risk_bucket",
    "selected_attempt_index",
    "selected_candidate",
    "warnings",
)


#: An attempt posted inside its run: ``(attempt_index, timestamp, score, risk_bucket,
#: is_acceptable, ring_count, total_width_mm, candidate, warnings)``; the rest comes from the run.
NestedAttempt = tuple


@dataclass
class Run:
    """A checked run: its stored values, its attempts (if posted with it) and where it came from."""

    values: dict[str, Any]
    attempts: list[NestedAttempt] = field(default_factory=list)
    index: int = 0  # position in the posted batch
    given: frozenset[str] = frozenset()  # the run fields the item stated (for retry comparison)

    @property
    def run_id(self) -> uuid.UUID:
        return self.values["run_id"]


class Problems:
    """Collects field errors of one batch; stops collecting at :data:`MAX_ERRORS`."""

    __slots__ = ("errors", "total")

    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.total = 0

    def add(self, index: int, field: str, rule: str, message: str) -> None:
        self.total += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(FieldError(field, rule, message, index))

    def __bool__(self) -> bool:
        return self.total > 0


def shown(value: Any) -> str:
    """A posted value as its sender wrote it: JSON (null, true, "text"), cut at 60 characters."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def acceptance_problem(*, acceptable: bool, score: float, run: Mapping[str, Any]) -> str | None:
    """Why an attempt's ``is_acceptable`` cannot be true in ``run``, or None: an acceptable attempt
    makes its run a success, and is one only at the run's minimum score (the search loop's rules,
    engine.search: acceptable = score >= min and not RED). A runs batch checks its nested attempts
    with it, ingestion the attempts that come apart from their run (events)."""
    if not acceptable:
        return None
    if not run["success"]:
        return f"is true, so the run found an acceptable candidate; its reason {shown(run['reason'])} says it did not"
    low = run["min_feasibility_score"]
    if low is not None and score < low:
        return f"is true with score {score:g}, below the run's min_feasibility_score {low:g}"
    return None


def _fmt(value: float) -> str:
    return f"{value:g}"
