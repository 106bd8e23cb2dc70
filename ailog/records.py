"""Checking and normalising posted runs, attempts and events: the rules of every log item.

Plain Python on plain data (decoded JSON), written for speed: ingestion checks up to 50,000
attempts per request, so each check is a type test and a comparison, with no serializer or
model instance per item. Every problem becomes a :class:`~rmos_site.errors.FieldError` with the
item's ``index`` in the batch and a ``field`` path inside it (``attempt_records[3].score``);
checking goes on after the first problem so that one answer lists them all (up to
:data:`MAX_ERRORS`).

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
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ailog.models import (
    CATALOG_REVISION_MAX,
    GEOMETRY_ENGINE_MAX,
    MAX_ATTEMPTS_PER_RUN,
    PROFILE_NAME_MAX,
    SUCCESS_REASONS,
    Reason,
    RiskBucket,
)
from engine.context import ID_MAX_LENGTH, NO_GEOMETRY_ENGINE, WORKFLOW_MODES
from engine.profile import (
    CONTROL_CHARACTERS_MESSAGE,
    MAX_RING_WIDTH_LIMIT,
    MAX_RINGS_LIMIT,
    MAX_TOTAL_WIDTH_LIMIT,
    control_characters,
)
from rmos_site.errors import FieldError

UTC = UTC
MAX_ERRORS = 200
MAX_WARNINGS = 50
WARNING_MAX_LENGTH = 500
TIMESTAMP_TEXT_MAX = 64
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
#: How far ahead of this server's clock a timestamp may be (other clocks drift).
FUTURE_SLACK = timedelta(hours=1)
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


class Checker:
    """Checks items of one batch against the rules above; ``now`` bounds future timestamps."""

    def __init__(self, *, now: datetime, problems: Problems) -> None:
        self.latest = now + FUTURE_SLACK
        self.problems = problems

    # -- single values --------------------------------------------------------------------

    def timestamp(self, value: Any, index: int, path: str) -> datetime | None:
        add = self.problems.add
        if value is None:
            add(index, path, "required", "this field is required")
            return None
        if type(value) is not str or len(value) > TIMESTAMP_TEXT_MAX:
            add(index, path, "type", "must be an ISO 8601 date-time text with a timezone, e.g. 2025-12-13T10:15:00Z")
            return None
        try:
            # RFC 3339 allows a lower-case "z" for UTC; Python's parser takes only "Z".
            parsed = datetime.fromisoformat(value[:-1] + "Z" if value[-1:] == "z" else value)
        except ValueError:
            add(index, path, "format", f"{value!r} is not an ISO 8601 date-time (e.g. 2025-12-13T10:15:00Z)")
            return None
        if parsed.tzinfo is None:
            add(index, path, "timezone", f"{value!r} has no timezone; add Z or an offset such as +01:00")
            return None
        try:
            parsed = parsed.astimezone(UTC)
        except OverflowError:  # e.g. 9999-12-31T23:59:59-12:00 is past the last moment Python knows
            parsed = None
        if parsed is None or parsed < EARLIEST or parsed > self.latest:
            add(
                index,
                path,
                "range",
                f"{value!r} is out of range: from 2000-01-01 up to an hour ahead of this server's clock",
            )
            return None
        return parsed

    def number(
        self, value: Any, index: int, path: str, low: float, high: float, *, low_open: bool = False
    ) -> float | None:
        kind = type(value)
        if kind is not float and kind is not int:
            if value is None:
                self.problems.add(index, path, "required", "this field is required")
            else:
                self.problems.add(index, path, "type", "must be a number")
            return None
        if kind is float and not math.isfinite(value):
            self.problems.add(index, path, "finite", "must be a finite number")
            return None
        if value < low or value > high or (low_open and value == low):
            where = f"greater than {_fmt(low)}" if low_open else f"at least {_fmt(low)}"
            self.problems.add(index, path, "range", f"must be {where} and at most {_fmt(high)}, got {shown(value)}")
            return None
        return float(value)

    def integer(self, value: Any, index: int, path: str, low: int, high: int) -> int | None:
        if type(value) is not int:
            if type(value) is float and value.is_integer():
                value = int(value)
            elif value is None:
                self.problems.add(index, path, "required", "this field is required")
                return None
            else:
                self.problems.add(index, path, "type", "must be a whole number")
                return None
        if value < low or value > high:
            self.problems.add(index, path, "range", f"must be from {low} to {high}, got {value}")
            return None
        return value

    def boolean(self, value: Any, index: int, path: str) -> bool | None:
        if value is None:
            self.problems.add(index, path, "required", "this field is required")
            return None
        if type(value) is not bool:
            self.problems.add(index, path, "type", "must be true or false")
            return None
        return value

    def text(self, value: Any, index: int, path: str, max_length: int, *, required: bool) -> str | None:
        if value is None and required:
            self.problems.add(index, path, "required", "this field is required")
            return None
        if type(value) is not str:
            self.problems.add(index, path, "type", "must be text")
            return None
        if not value:
            if required:
                self.problems.add(index, path, "required", "must not be empty")
                return None
            return value
        if len(value) > max_length:
            self.problems.add(index, path, "max_length", f"must be at most {max_length} characters, got {len(value)}")
            return None
        if not value.isprintable() or value.strip() != value:
            self.problems.add(index, path, "printable", f"{NOT_PRINTABLE}, without leading or trailing spaces")
            return None
        return value

    def choice(self, value: Any, index: int, path: str, allowed: frozenset[str]) -> str | None:
        if value is None:
            self.problems.add(index, path, "required", "this field is required")
            return None
        if type(value) is not str or value not in allowed:
            self.problems.add(index, path, "choice", f"must be one of {', '.join(sorted(allowed))}; got {shown(value)}")
            return None
        return value

    def run_id(self, value: Any, index: int, path: str) -> uuid.UUID | None:
        if value is None:
            self.problems.add(index, path, "required", "this field is required")
            return None
        if type(value) is not str or len(value) > 45:
            self.problems.add(index, path, "type", "must be a UUID text, e.g. 6f1c2a0e-8f0b-4c8e-9a51-0d6f3c1e2b7a")
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            self.problems.add(index, path, "format", f"{value!r} is not a UUID")
            return None

    def warnings(self, value: Any, index: int, path: str) -> list[str] | None:
        if type(value) is not list:
            self.problems.add(index, path, "type", "must be a list of texts")
            return None
        if len(value) > MAX_WARNINGS:
            self.problems.add(index, path, "max_items", f"at most {MAX_WARNINGS} warnings, got {len(value)}")
            return None
        for i, item in enumerate(value):
            if type(item) is not str:
                self.problems.add(index, f"{path}[{i}]", "type", "must be text")
                return None
            if len(item) > WARNING_MAX_LENGTH:
                self.problems.add(
                    index,
                    f"{path}[{i}]",
                    "max_length",
                    f"must be at most {WARNING_MAX_LENGTH} characters, got {len(item)}",
                )
                return None
            if control_characters(item, allow_newlines=True):  # a NUL or a lone surrogate could not be stored or shown
                self.problems.add(index, f"{path}[{i}]", "characters", CONTROL_CHARACTERS_MESSAGE)
                return None
        return value

    def candidate(self, value: Any, index: int, path: str) -> dict | None:
        """A candidate ``{rings: [{width_mm, pattern, material_key}], ring_count, total_width_mm}``."""
        if type(value) is dict and CANDIDATE_KEYS.issuperset(value):
            rings = value.get("rings")
            if type(rings) is list and 0 < len(rings) <= MAX_RINGS_LIMIT:
                # Fast path: one pass of type tests; any doubt goes to the careful path below.
                total = 0.0
                for ring in rings:
                    if type(ring) is not dict or not RING_KEYS.issuperset(ring):
                        break
                    width = ring.get("width_mm")
                    pattern = ring.get("pattern")
                    material = ring.get("material_key")
                    if (
                        type(width) is not float
                        or not 0.0 < width <= MAX_RING_WIDTH_MM
                        or type(pattern) is not str
                        or pattern not in RING_PATTERNS
                        or type(material) is not str
                        or len(material) > ID_MAX_LENGTH
                        or not material.isprintable()
                    ):
                        break
                    total += width
                else:
                    if total > MAX_TOTAL_WIDTH_MM + WIDTH_TOLERANCE_MM:
                        return self._candidate_in_detail(value, index, path)
                    count = value.get("ring_count")
                    stated = value.get("total_width_mm")
                    if (count is None or count == len(rings)) and (
                        stated is None or (type(stated) is float and abs(stated - total) <= WIDTH_TOLERANCE_MM)
                    ):
                        return value
        return self._candidate_in_detail(value, index, path)

    def _candidate_in_detail(self, value: Any, index: int, path: str) -> dict | None:
        add = self.problems.add
        if type(value) is not dict:
            add(index, path, "type", "must be an object {rings, ring_count, total_width_mm}")
            return None
        unknown = value.keys() - CANDIDATE_KEYS
        if unknown:
            add(
                index,
                f"{path}.{min(unknown)}",
                "unknown_field",
                "unknown field; known fields: rings, ring_count, total_width_mm",
            )
            return None
        rings = value.get("rings")
        if rings is not None:
            if type(rings) is not list or not rings or len(rings) > MAX_RINGS_LIMIT:
                add(index, f"{path}.rings", "type", f"must be a list of 1 to {MAX_RINGS_LIMIT} rings")
                return None
            total = 0.0
            for i, ring in enumerate(rings):
                where = f"{path}.rings[{i}]"
                if type(ring) is not dict or ring.keys() - RING_KEYS:
                    add(index, where, "type", "must be an object {width_mm, pattern, material_key}")
                    return None
                width = self.number(
                    ring.get("width_mm"), index, f"{where}.width_mm", 0.0, MAX_RING_WIDTH_MM, low_open=True
                )
                if width is None:
                    return None
                total += width
                pattern = ring.get("pattern")
                if type(pattern) is not str or pattern not in RING_PATTERNS:
                    add(
                        index,
                        f"{where}.pattern",
                        "choice",
                        f"must be one of mosaic, segmented, solid; got {shown(pattern)}",
                    )
                    return None
                material = ring.get("material_key", "")
                if type(material) is not str:
                    add(index, f"{where}.material_key", "type", "must be text")
                    return None
                if len(material) > ID_MAX_LENGTH:
                    add(
                        index,
                        f"{where}.material_key",
                        "max_length",
                        f"must be at most {ID_MAX_LENGTH} characters, got {len(material)}",
                    )
                    return None
                if not material.isprintable():
                    add(index, f"{where}.material_key", "printable", NOT_PRINTABLE)
                    return None
            if total > MAX_TOTAL_WIDTH_MM + WIDTH_TOLERANCE_MM:
                field = "total_width_mm" if "total_width_mm" in value else "rings"
                add(
                    index,
                    f"{path}.{field}",
                    "range",
                    f"the rings add up to {total:.2f} mm; a candidate is at most {MAX_TOTAL_WIDTH_MM:g} mm wide",
                )
                return None
            count = value.get("ring_count")
            if count is not None and (type(count) is not int or count != len(rings)):
                add(
                    index,
                    f"{path}.ring_count",
                    "consistency",
                    f"is {shown(count)} but the candidate has {len(rings)} rings",
                )
                return None
            stated = value.get("total_width_mm")
            if stated is not None and (type(stated) not in (int, float) or abs(stated - total) > WIDTH_TOLERANCE_MM):
                add(
                    index,
                    f"{path}.total_width_mm",
                    "consistency",
                    f"is {shown(stated)} but the rings add up to {total:.2f}",
                )
                return None
        else:
            if (
                "ring_count" in value
                and self.integer(value["ring_count"], index, f"{path}.ring_count", 1, MAX_RINGS_LIMIT) is None
            ):
                return None
            if (
                "total_width_mm" in value
                and self.number(
                    value["total_width_mm"], index, f"{path}.total_width_mm", 0.0, MAX_TOTAL_WIDTH_MM, low_open=True
                )
                is None
            ):
                return None
        return value

    def unknown_keys(self, item: dict, allowed: frozenset[str], index: int, prefix: str) -> None:
        for key in sorted(item.keys() - allowed, key=str):
            self.problems.add(
                index, f"{prefix}{key}", "unknown_field", f"unknown field; known fields: {', '.join(sorted(allowed))}"
            )

    def context(self, item: dict, index: int, prefix: str = "") -> tuple | None:
        """The five context values of an item (geometry_engine may be left out)."""
        ok = True
        values = []
        for key in ("tool_id", "material_id", "machine_id"):
            value = self.text(item.get(key), index, prefix + key, ID_MAX_LENGTH, required=True)
            ok = ok and value is not None
            values.append(value)
        mode = self.choice(item.get("workflow_mode"), index, prefix + "workflow_mode", MODES)
        ok = ok and mode is not None
        values.append(mode)
        raw_engine = item.get("geometry_engine")
        engine = (
            ""
            if raw_engine is None
            else self.text(raw_engine, index, prefix + "geometry_engine", GEOMETRY_ENGINE_MAX, required=False)
        )
        if engine == NO_GEOMETRY_ENGINE:
            self.problems.add(
                index,
                prefix + "geometry_engine",
                "reserved",
                f"{NO_GEOMETRY_ENGINE!r} means 'no engine' in the log's filters; leave the field out or empty instead",
            )
            engine = None
        ok = ok and engine is not None
        values.append(engine)
        return tuple(values) if ok else None

    # -- attempts --------------------------------------------------------------------------

    def attempt_values(self, item: dict, index: int, prefix: str) -> NestedAttempt | None:
        problems = self.problems
        before = problems.total
        get = item.get
        attempt_index = get("attempt_index")
        if type(attempt_index) is not int or not 1 <= attempt_index <= MAX_ATTEMPTS_PER_RUN:
            attempt_index = self.integer(attempt_index, index, prefix + "attempt_index", 1, MAX_ATTEMPTS_PER_RUN)
        ts = self.timestamp(get("timestamp"), index, prefix + "timestamp")
        score = get("score")
        if type(score) is not float or not 0.0 <= score <= 100.0:  # the common case costs one test
            score = self.number(score, index, prefix + "score", 0.0, 100.0)
        bucket = get("risk_bucket")
        if type(bucket) is not str or bucket not in RISK_BUCKETS:
            bucket = self.choice(bucket, index, prefix + "risk_bucket", RISK_BUCKETS)
        acceptable = get("is_acceptable")
        if type(acceptable) is not bool:
            acceptable = self.boolean(acceptable, index, prefix + "is_acceptable")
        ring_count = get("ring_count")
        if ring_count is not None and (type(ring_count) is not int or not 1 <= ring_count <= MAX_RINGS_LIMIT):
            ring_count = self.integer(ring_count, index, prefix + "ring_count", 1, MAX_RINGS_LIMIT)
        width = get("total_width_mm")
        if width is not None:
            width = self.number(width, index, prefix + "total_width_mm", 0.0, MAX_TOTAL_WIDTH_MM, low_open=True)
        candidate = get("candidate")
        if candidate is not None:
            candidate = self.candidate(candidate, index, prefix + "candidate")
            if candidate is not None:
                rings = candidate.get("rings")
                derived_count = len(rings) if rings is not None else candidate.get("ring_count")
                derived_width = candidate.get("total_width_mm")
                if derived_count is not None:
                    if ring_count is None:
                        ring_count = derived_count
                    elif ring_count != derived_count:
                        problems.add(
                            index,
                            prefix + "ring_count",
                            "consistency",
                            f"is {ring_count} but the candidate has {derived_count} rings",
                        )
                if derived_width is not None:
                    if width is None:
                        width = float(derived_width)
                    elif abs(width - derived_width) > WIDTH_TOLERANCE_MM:
                        problems.add(
                            index,
                            prefix + "total_width_mm",
                            "consistency",
                            f"is {width:g} but the candidate's total is {derived_width:g}",
                        )
        if acceptable is True and bucket == RiskBucket.RED:
            problems.add(index, prefix + "is_acceptable", "consistency", "a RED attempt is never acceptable")
        warnings = get("warnings")
        if warnings is None:
            warnings = []
        elif warnings:
            warnings = self.warnings(warnings, index, prefix + "warnings")
        if problems.total != before:
            return None
        return (attempt_index, ts, score, bucket, acceptable, ring_count, width, candidate, warnings)

    # -- runs ------------------------------------------------------------------------------

    def run_values(self, item: dict, index: int) -> tuple[dict[str, Any], frozenset[str]] | None:
        """The stored values of a run item (profile version / history id left to the caller)."""
        problems = self.problems
        before = problems.total
        get = item.get
        values: dict[str, Any] = {}

        def optional(key: str, check: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
            raw = get(key)
            values[key] = None if raw is None else check(raw, index, key, *args, **kwargs)

        values["run_id"] = self.run_id(get("run_id"), index, "run_id")
        values["timestamp"] = self.timestamp(get("timestamp"), index, "timestamp")
        optional("started_at", self.timestamp)
        optional("elapsed_seconds", self.number, 0.0, MAX_ELAPSED_SECONDS)
        context = self.context(item, index)
        if context is not None:
            values.update(zip(CONTEXT_KEYS, context))
        profile = get("profile")
        values["profile_name"] = (
            "" if profile is None else self.text(profile, index, "profile", PROFILE_NAME_MAX, required=False)
        )
        optional("profile_version", self.integer, 1, 2**31 - 1)
        optional("rule_id", self.integer, 1, 2**63 - 1)
        optional("fallback_used", self.boolean)
        revision = get("catalog_revision")
        values["catalog_revision"] = (
            ""
            if revision is None
            else self.text(revision, index, "catalog_revision", CATALOG_REVISION_MAX, required=False)
        )
        optional("max_attempts", self.integer, 1, MAX_ATTEMPTS_PER_RUN)
        optional("time_limit_seconds", self.number, *TIME_LIMIT_RANGE)
        optional("min_feasibility_score", self.number, 0.0, 100.0)
        optional("stop_on_first_green", self.boolean)
        optional("seed", self.integer, *SEED_RANGE)
        values["attempts"] = self.integer(get("attempts"), index, "attempts", 0, MAX_ATTEMPTS_PER_RUN)
        values["success"] = self.boolean(get("success"), index, "success")
        values["reason"] = self.choice(get("reason"), index, "reason", REASONS)
        optional("selected_score", self.number, 0.0, 100.0)
        optional("selected_risk_bucket", self.choice, RISK_BUCKETS)
        optional("selected_attempt_index", self.integer, 1, MAX_ATTEMPTS_PER_RUN)
        optional("selected_candidate", self.candidate)
        warnings = get("warnings")
        values["warnings"] = [] if warnings is None else self.warnings(warnings, index, "warnings")
        if problems.total != before:
            return None
        self._run_consistency(values, index)
        if problems.total != before:
            return None
        given = frozenset(key for key in item if get(key) is not None)
        if "profile" in given:
            given = given - {"profile"} | {"profile_name"}
        return values, given

    def _run_consistency(self, v: dict[str, Any], index: int) -> None:
        add = self.problems.add
        reason, success = v["reason"], v["success"]
        if success != (reason in SUCCESS_REASONS):
            add(
                index, "success", "consistency", f"success must be {str(not success).lower()} when reason is {reason!r}"
            )
        if success and (v["selected_score"] is None or v["selected_risk_bucket"] is None):
            add(
                index,
                "selected_score",
                "required",
                "a successful run names the score and risk bucket of the candidate it selected",
            )
        if reason == Reason.GREEN_FOUND and v["selected_risk_bucket"] not in (None, RiskBucket.GREEN):
            add(
                index,
                "selected_risk_bucket",
                "consistency",
                f"must be GREEN when reason is green_found, got {v['selected_risk_bucket']}",
            )
        if reason == Reason.ACCEPTABLE_FOUND and v["selected_risk_bucket"] == RiskBucket.RED:
            add(
                index,
                "selected_risk_bucket",
                "consistency",
                "a RED candidate is never acceptable, so the reason cannot be acceptable_found",
            )
        if reason == Reason.NO_CANDIDATES and (v["selected_score"] is not None or v["selected_candidate"] is not None):
            add(index, "selected_score", "consistency", "a run with reason no_candidates has no selected candidate")
        elif v["attempts"] == 0:
            if success:
                add(index, "attempts", "consistency", f"a run that made no attempt cannot succeed (reason {reason!r})")
            elif (
                v["selected_score"] is not None
                or v["selected_risk_bucket"] is not None
                or v["selected_candidate"] is not None
            ):
                add(index, "selected_score", "consistency", "a run that made no attempt has no selected candidate")
        if (
            reason in SUCCESS_REASONS
            and v["min_feasibility_score"] is not None
            and v["selected_score"] is not None
            and v["selected_score"] < v["min_feasibility_score"]
        ):
            add(
                index,
                "selected_score",
                "consistency",
                "is below min_feasibility_score, so the run did not find an acceptable candidate",
            )
        if v["max_attempts"] is not None and v["attempts"] > v["max_attempts"]:
            add(
                index,
                "attempts",
                "consistency",
                f"{v['attempts']} attempts exceed the budget max_attempts={v['max_attempts']}",
            )
        if v["selected_attempt_index"] is not None and v["selected_attempt_index"] > v["attempts"]:
            add(index, "selected_attempt_index", "consistency", f"exceeds the run's {v['attempts']} attempts")
        if v["started_at"] is not None and v["started_at"] > v["timestamp"]:
            add(index, "started_at", "consistency", "must not be later than timestamp (when the run ended)")
        if v["profile_version"] is not None and not v["profile_name"]:
            add(index, "profile_version", "consistency", "a profile version needs the profile name")

    def run_item(self, item: Any, index: int, *, nested: bool) -> Run | None:
        """A run of a runs batch (``nested``: with ``attempt_records``) or of a summary event."""
        if type(item) is not dict:
            self.problems.add(index, "", "type", "each run must be a JSON object")
            return None
        self.unknown_keys(item, BATCH_RUN_KEYS if nested else RUN_EVENT_KEYS, index, "")
        checked = self.run_values(item, index)
        records = item.get("attempt_records") if nested else None
        if records is None:
            return None if checked is None else Run(checked[0], [], index, checked[1])
        if type(records) is not list:
            self.problems.add(index, "attempt_records", "type", "must be a list of attempts")
            return None
        values = checked[0] if checked is not None else None
        if values is not None and len(records) > values["attempts"]:
            self.problems.add(
                index,
                "attempt_records",
                "consistency",
                f"{len(records)} attempts posted but the run says it made {values['attempts']}",
            )
        attempts: list[Attempt] = []
        positions: list[int] = []  # of each checked attempt in attempt_records
        seen: set[int] = set()
        context = tuple(values[key] for key in CONTEXT_KEYS) if values is not None else None
        limit = values["attempts"] if values is not None else MAX_ATTEMPTS_PER_RUN
        check_attempt = self.attempt_values
        for i, record in enumerate(records):
            prefix = f"attempt_records[{i}]."
            if type(record) is not dict:
                self.problems.add(index, prefix[:-1], "type", "each attempt must be a JSON object")
                continue
            if not ATTEMPT_KEYS.issuperset(record):
                self._nested_extras(record, index, prefix, context)
            checked_attempt = check_attempt(record, index, prefix)
            if checked_attempt is None or context is None:
                continue
            attempt_index = checked_attempt[0]
            if attempt_index in seen:
                self.problems.add(
                    index,
                    prefix + "attempt_index",
                    "unique",
                    f"attempt_index {attempt_index} appears twice in this run",
                )
                continue
            if attempt_index > limit:
                self.problems.add(
                    index,
                    prefix + "attempt_index",
                    "consistency",
                    f"attempt_index {attempt_index} exceeds the run's {limit} attempts",
                )
                continue
            seen.add(attempt_index)
            attempts.append(checked_attempt)
            positions.append(i)
        if checked is None:
            return None
        self._selection_matches(values, attempts, index)
        self._acceptance_matches(values, attempts, positions, index)
        return Run(values, attempts, index, checked[1] | {"attempt_records"})

    def _acceptance_matches(
        self, v: dict[str, Any], attempts: list[NestedAttempt], positions: list[int], index: int
    ) -> None:
        for position, attempt in zip(positions, attempts):
            problem = acceptance_problem(acceptable=attempt[4], score=attempt[2], run=v)
            if problem:
                self.problems.add(index, f"attempt_records[{position}].is_acceptable", "consistency", problem)
                return

    def _selection_matches(self, v: dict[str, Any], attempts: list[NestedAttempt], index: int) -> None:
        """The selected attempt, when posted with its run, has the selected score and bucket."""
        chosen = v["selected_attempt_index"]
        attempt = next((a for a in attempts if a[0] == chosen), None) if chosen is not None else None
        if attempt is None:
            return
        score, bucket = attempt[2], attempt[3]
        if v["selected_score"] is not None and abs(v["selected_score"] - score) > SCORE_TOLERANCE:
            self.problems.add(
                index,
                "selected_score",
                "consistency",
                f"is {v['selected_score']:g} but the selected attempt {chosen} scored {score:g}",
            )
        if v["selected_risk_bucket"] is not None and v["selected_risk_bucket"] != bucket:
            self.problems.add(
                index,
                "selected_risk_bucket",
                "consistency",
                f"is {v['selected_risk_bucket']} but the selected attempt {chosen} is {bucket}",
            )

    def _nested_extras(self, record: dict, index: int, prefix: str, context: tuple | None) -> None:
        """A nested attempt may repeat its run's context, and must then agree with it."""
        self.unknown_keys(record, NESTED_ATTEMPT_KEYS, index, prefix)
        if context is None:
            return
        for key, expected in zip(CONTEXT_KEYS, context):
            if key not in record:
                continue
            given = record[key]
            if key == "geometry_engine" and given is None:
                given = ""  # null means "no engine", as on the run
            if given != expected:
                self.problems.add(
                    index,
                    prefix + key,
                    "consistency",
                    f"is {shown(record[key])} but its run's {key} is {shown(expected)}; an attempt shares its run's context",
                )

    def attempt_event(self, item: dict, index: int) -> Attempt | None:
        """An ``ai_constraint_attempt`` event; profile fields are filled from its run later."""
        self.unknown_keys(item, ATTEMPT_EVENT_KEYS, index, "")
        run_uuid = self.run_id(item.get("run_id"), index, "run_id")
        context = self.context(item, index)
        checked = self.attempt_values(item, index, "")
        if run_uuid is None or context is None or checked is None:
            return None
        a_index, ts, score, bucket, acceptable, rings, width, candidate, warnings = checked
        return (run_uuid, a_index, ts, *context, "", None, score, bucket, acceptable, rings, width, candidate, warnings)
