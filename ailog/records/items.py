"""Checks of whole items: a run with its attempts, or an attempt event."""

from __future__ import annotations

from collections.abc import Callable
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
from ailog.records.shapes import (
    ATTEMPT_EVENT_KEYS,
    ATTEMPT_KEYS,
    BATCH_RUN_KEYS,
    CONTEXT_KEYS,
    MAX_ELAPSED_SECONDS,
    MAX_TOTAL_WIDTH_MM,
    MODES,
    NESTED_ATTEMPT_KEYS,
    REASONS,
    RISK_BUCKETS,
    RUN_EVENT_KEYS,
    SCORE_TOLERANCE,
    SEED_RANGE,
    TIME_LIMIT_RANGE,
    WIDTH_TOLERANCE_MM,
    Attempt,
    NestedAttempt,
    Run,
    acceptance_problem,
    shown,
)
from ailog.records.values import ValueChecks
from engine.context import ID_MAX_LENGTH, NO_GEOMETRY_ENGINE
from engine.profile import (
    MAX_RINGS_LIMIT,
)


class Checker(ValueChecks):
    """Checks items of one batch (runs, nested attempts, attempt events) against the rules of
    :mod:`ailog.records`; one instance per batch."""

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
        attempt_index = self.integer(get("attempt_index"), index, prefix + "attempt_index", 1, MAX_ATTEMPTS_PER_RUN)
        ts = self.timestamp(get("timestamp"), index, prefix + "timestamp")
        score = self.number(get("score"), index, prefix + "score", 0.0, 100.0)
        bucket = self.choice(get("risk_bucket"), index, prefix + "risk_bucket", RISK_BUCKETS)
        acceptable = self.boolean(get("is_acceptable"), index, prefix + "is_acceptable")
        ring_count = get("ring_count")
        if ring_count is not None:
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
