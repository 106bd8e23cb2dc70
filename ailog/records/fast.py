"""The compiled first layer of checking (issue 19): msgspec Structs for types, ranges, lengths,
choices and unknown keys, then a short Python pass for what msgspec cannot express (timestamps,
printable text, candidates, the cross-field rules, reusing :class:`~ailog.records.items.Checker`'s
own checks). It only ever *accepts*: on any refusal or doubt it answers None, and the caller runs
the full Checker on the same items, so error answers are the Checker's, unchanged.

The values it accepts are exactly the Checker's (tests/ailog/test_fast_checks.py proves it with
generated items): same tuples, same dicts, the posted candidate object itself (stored as posted).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from ailog.models import CATALOG_REVISION_MAX, MAX_ATTEMPTS_PER_RUN, RiskBucket
from ailog.records.items import Checker
from ailog.records.shapes import (
    EARLIEST,
    MAX_ELAPSED_SECONDS,
    MAX_RING_WIDTH_MM,
    MAX_TOTAL_WIDTH_MM,
    REASONS,
    RING_PATTERNS,
    SEED_RANGE,
    TIME_LIMIT_RANGE,
    WIDTH_TOLERANCE_MM,
    Attempt,
    NestedAttempt,
    Problems,
    Run,
)
from engine.context import GEOMETRY_ENGINE_MAX, ID_MAX_LENGTH, NO_GEOMETRY_ENGINE, WORKFLOW_MODES
from engine.profile import MAX_RINGS_LIMIT, PROFILE_NAME_MAX

Score = Annotated[float, Meta(ge=0.0, le=100.0)]
Index = Annotated[int, Meta(ge=1, le=MAX_ATTEMPTS_PER_RUN)]
Id = Annotated[str, Meta(min_length=1, max_length=ID_MAX_LENGTH)]
Bucket = Literal[tuple(RiskBucket.values)]  # type: ignore[valid-type]
Mode = Literal[tuple(WORKFLOW_MODES)]  # type: ignore[valid-type]
ReasonText = Literal[tuple(sorted(REASONS))]  # type: ignore[valid-type]
Stamp = Annotated[str, Meta(max_length=64)]


class _Ring(msgspec.Struct, forbid_unknown_fields=True):
    width_mm: Annotated[float, Meta(gt=0.0, le=MAX_RING_WIDTH_MM)]
    pattern: Literal[tuple(sorted(RING_PATTERNS))]  # type: ignore[valid-type]
    material_key: Annotated[str, Meta(max_length=ID_MAX_LENGTH)] = ""


class _Candidate(msgspec.Struct, forbid_unknown_fields=True):
    rings: Annotated[list[_Ring], Meta(min_length=1, max_length=MAX_RINGS_LIMIT)] | None = None
    ring_count: Annotated[int, Meta(ge=1, le=MAX_RINGS_LIMIT)] | None = None
    total_width_mm: Annotated[float, Meta(gt=0.0, le=MAX_TOTAL_WIDTH_MM)] | None = None


class _Attempt(msgspec.Struct, forbid_unknown_fields=True):
    attempt_index: Index
    timestamp: Stamp
    score: Score
    risk_bucket: Bucket
    is_acceptable: bool
    ring_count: Annotated[int, Meta(ge=1, le=MAX_RINGS_LIMIT)] | None = None
    total_width_mm: Annotated[float, Meta(gt=0.0, le=MAX_TOTAL_WIDTH_MM)] | None = None
    candidate: _Candidate | None = None
    warnings: list | None = None


class _AttemptEvent(
    _Attempt, forbid_unknown_fields=True, kw_only=True, tag_field="event_type", tag="ai_constraint_attempt"
):
    run_id: Annotated[str, Meta(max_length=45)]
    tool_id: Id
    material_id: Id
    machine_id: Id
    workflow_mode: Mode
    geometry_engine: Annotated[str, Meta(max_length=GEOMETRY_ENGINE_MAX)] | None = None


class _Run(msgspec.Struct, forbid_unknown_fields=True):
    run_id: Annotated[str, Meta(max_length=45)]
    timestamp: Stamp
    tool_id: Id
    material_id: Id
    machine_id: Id
    workflow_mode: Mode
    attempts: Annotated[int, Meta(ge=0, le=MAX_ATTEMPTS_PER_RUN)]
    success: bool
    reason: ReasonText
    started_at: Stamp | None = None
    elapsed_seconds: Annotated[float, Meta(ge=0.0, le=MAX_ELAPSED_SECONDS)] | None = None
    geometry_engine: Annotated[str, Meta(max_length=GEOMETRY_ENGINE_MAX)] | None = None
    profile: Annotated[str, Meta(max_length=PROFILE_NAME_MAX)] | None = None
    profile_version: Annotated[int, Meta(ge=1, le=2**31 - 1)] | None = None
    rule_id: Annotated[int, Meta(ge=1, le=2**63 - 1)] | None = None
    fallback_used: bool | None = None
    catalog_revision: Annotated[str, Meta(max_length=CATALOG_REVISION_MAX)] | None = None
    max_attempts: Index | None = None
    time_limit_seconds: Annotated[float, Meta(ge=TIME_LIMIT_RANGE[0], le=TIME_LIMIT_RANGE[1])] | None = None
    min_feasibility_score: Score | None = None
    stop_on_first_green: bool | None = None
    seed: Annotated[int, Meta(ge=SEED_RANGE[0], le=SEED_RANGE[1])] | None = None
    selected_score: Score | None = None
    selected_risk_bucket: Bucket | None = None
    selected_attempt_index: Index | None = None
    selected_candidate: _Candidate | None = None
    warnings: list | None = None


class _BatchRun(_Run, forbid_unknown_fields=True):
    attempt_records: list[_Attempt] | None = None


class _RunEvent(_Run, forbid_unknown_fields=True, tag_field="event_type", tag="ai_constraint_run_summary"):
    pass


_RUN_TYPE = list[_BatchRun]
_EVENT_TYPE = list[_AttemptEvent | _RunEvent]


class _Doubt(Exception):
    """The fast layer cannot accept this batch: the full Checker takes it."""


class FastChecks:
    """One batch's fast checks. A scratch Checker does the rare parts (timestamps, warnings): any
    problem it finds is a doubt."""

    def __init__(self, now: datetime) -> None:
        self.scratch = Checker(now=now, problems=Problems())
        self.latest = self.scratch.latest
        self.stamps: dict[str, Any] = {}

    def _ok(self) -> None:
        if self.scratch.problems.total:
            raise _Doubt

    def stamp(self, text: str) -> datetime:
        """The Checker's timestamp rule for the plain forms (…Z, …±hh:mm); others are a doubt."""
        parsed = self.stamps.get(text)
        if parsed is None:
            parsed = datetime.fromisoformat(text)  # ValueError: a doubt (see fast_runs)
            if parsed.tzinfo is None:
                raise _Doubt
            if parsed.tzinfo is not UTC:
                parsed = parsed.astimezone(UTC)
            if not EARLIEST <= parsed <= self.latest:
                raise _Doubt
            self.stamps[text] = parsed
        return parsed

    @staticmethod
    def printable(value: str) -> str:
        if not value.isprintable() or value.strip() != value:
            raise _Doubt
        return value

    def optional_text(self, value: str | None) -> str:
        if value is None or not value:
            return "" if value is None else value
        return self.printable(value)

    def warnings(self, value: list | None) -> list:
        if value is None:
            return []
        if value:
            self.scratch.warnings(value, 0, "")
            self._ok()
        return value

    @staticmethod
    def candidate(checked: _Candidate, posted: dict) -> dict:
        """The posted candidate (stored as posted), once its Struct passed; the sums the Checker
        checks (ailog.records.values.ValueChecks.candidate)."""
        rings = checked.rings
        if rings is None:
            if None in posted.values():
                raise _Doubt  # without rings, the Checker refuses a null ring_count or total
            return posted
        total = 0.0
        for ring in rings:
            if not ring.material_key.isprintable():
                raise _Doubt
            total += ring.width_mm
        if total > MAX_TOTAL_WIDTH_MM + WIDTH_TOLERANCE_MM:
            raise _Doubt
        count = checked.ring_count
        stated = checked.total_width_mm
        if (count is not None and count != len(rings)) or (
            stated is not None and abs(stated - total) > WIDTH_TOLERANCE_MM
        ):
            raise _Doubt
        return posted

    # -- items -------------------------------------------------------------------------------

    def attempt(self, a: _Attempt, posted: dict) -> NestedAttempt:
        ring_count = a.ring_count
        width = a.total_width_mm
        candidate = None
        if a.candidate is not None:
            candidate = self.candidate(a.candidate, posted["candidate"])
            rings = candidate.get("rings")
            derived_count = len(rings) if rings is not None else candidate.get("ring_count")
            derived_width = candidate.get("total_width_mm")
            if derived_count is not None:
                if ring_count is None:
                    ring_count = derived_count
                elif ring_count != derived_count:
                    raise _Doubt
            if derived_width is not None:
                if width is None:
                    width = float(derived_width)
                elif abs(width - derived_width) > WIDTH_TOLERANCE_MM:
                    raise _Doubt
        bucket = a.risk_bucket
        if a.is_acceptable and bucket == "RED":
            raise _Doubt
        warnings = a.warnings
        return (
            a.attempt_index,
            self.stamp(a.timestamp),
            a.score,
            bucket,
            a.is_acceptable,
            ring_count,
            width,
            candidate,
            [] if warnings is None else (self.warnings(warnings) if warnings else warnings),
        )

    def run_values(self, r: _Run, item: dict) -> tuple[dict[str, Any], frozenset[str]]:
        try:
            run_id = uuid.UUID(r.run_id)
        except ValueError:
            raise _Doubt from None
        engine = r.geometry_engine
        if engine == NO_GEOMETRY_ENGINE:
            raise _Doubt
        printable = self.printable
        values: dict[str, Any] = {
            "run_id": run_id,
            "timestamp": self.stamp(r.timestamp),
            "started_at": None if r.started_at is None else self.stamp(r.started_at),
            "elapsed_seconds": r.elapsed_seconds,
            "tool_id": printable(r.tool_id),
            "material_id": printable(r.material_id),
            "machine_id": printable(r.machine_id),
            "workflow_mode": r.workflow_mode,
            "geometry_engine": self.optional_text(engine),
            "profile_name": self.optional_text(r.profile),
            "profile_version": r.profile_version,
            "rule_id": r.rule_id,
            "fallback_used": r.fallback_used,
            "catalog_revision": self.optional_text(r.catalog_revision),
            "max_attempts": r.max_attempts,
            "time_limit_seconds": r.time_limit_seconds,
            "min_feasibility_score": r.min_feasibility_score,
            "stop_on_first_green": r.stop_on_first_green,
            "seed": r.seed,
            "attempts": r.attempts,
            "success": r.success,
            "reason": r.reason,
            "selected_score": r.selected_score,
            "selected_risk_bucket": r.selected_risk_bucket,
            "selected_attempt_index": r.selected_attempt_index,
            "selected_candidate": None
            if r.selected_candidate is None
            else self.candidate(r.selected_candidate, item["selected_candidate"]),
            "warnings": self.warnings(r.warnings),
        }
        self.scratch._run_consistency(values, 0)
        self._ok()
        given = frozenset(key for key, value in item.items() if value is not None)
        if "profile" in given:
            given = given - {"profile"} | {"profile_name"}
        return values, given

    def batch_run(self, r: _BatchRun, item: dict, index: int) -> Run:
        values, given = self.run_values(r, item)
        records = r.attempt_records
        if records is None:
            return Run(values, [], index, given)
        limit = values["attempts"]
        if len(records) > limit:
            raise _Doubt
        posted = item["attempt_records"]
        attempts = [self.attempt(a, raw) for a, raw in zip(records, posted)]
        seen = {a[0] for a in attempts}
        if len(seen) != len(attempts) or (attempts and max(seen) > limit):
            raise _Doubt
        for raw in posted:
            if "tool_id" in raw or "material_id" in raw or "machine_id" in raw or "workflow_mode" in raw:
                raise _Doubt  # a nested attempt repeating its run's context: the Checker compares it
            if "geometry_engine" in raw:
                raise _Doubt
        self.scratch._selection_matches(values, attempts, 0)
        self.scratch._acceptance_matches(values, attempts, range(len(attempts)), 0)
        self._ok()
        return Run(values, attempts, index, given | {"attempt_records"})

    def attempt_event(self, e: _AttemptEvent, item: dict) -> Attempt:
        try:
            run_id = uuid.UUID(e.run_id)
        except ValueError:
            raise _Doubt from None
        engine = e.geometry_engine
        if engine == NO_GEOMETRY_ENGINE:
            raise _Doubt
        printable = self.printable
        context = (
            printable(e.tool_id),
            printable(e.material_id),
            printable(e.machine_id),
            e.workflow_mode,
            self.optional_text(engine),
        )
        a_index, ts, score, bucket, acceptable, rings, width, candidate, warnings = self.attempt(e, item)
        return (run_id, a_index, ts, *context, "", None, score, bucket, acceptable, rings, width, candidate, warnings)


def fast_runs(items: list, now: datetime) -> list[Run] | None:
    """The checked runs of a runs batch, or None when the Checker must look."""
    try:
        structs = msgspec.convert(items, _RUN_TYPE, strict=True)
        checks = FastChecks(now)
        return [checks.batch_run(r, item, index) for index, (r, item) in enumerate(zip(structs, items))]
    except (msgspec.MsgspecError, ValueError, OverflowError, _Doubt):  # ValueError: e.g. a lone surrogate
        return None


def fast_events(items: list, now: datetime) -> tuple[list[Run], list[tuple[int, Attempt]]] | None:
    """The checked run summaries and attempts of an events batch, or None when the Checker must look."""
    try:
        structs = msgspec.convert(items, _EVENT_TYPE, strict=True)
        checks = FastChecks(now)
        runs: list[Run] = []
        loose: list[tuple[int, Attempt]] = []
        for index, (e, item) in enumerate(zip(structs, items)):
            if type(e) is _AttemptEvent:
                loose.append((index, checks.attempt_event(e, item)))
            else:
                values, given = checks.run_values(e, item)
                runs.append(Run(values, [], index, given))
        return runs, loose
    except (msgspec.MsgspecError, ValueError, OverflowError, _Doubt):  # ValueError: e.g. a lone surrogate
        return None
