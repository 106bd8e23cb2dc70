"""Every write to the AI log: the search loop, the ingestion API and the commands all come here.

* :func:`run_record` — one run of this server's search loop, with its attempts.
* :func:`runs_ingest` — a batch of runs posted by an integrator, each with its attempts.
* :func:`events_ingest` — a batch of seed-style events; attempts may come before their run.
* :func:`logs_prune` — delete everything older than a date.

Rules every write keeps:

* Every item is checked (:mod:`ailog.records`); one bad item rejects the whole batch with the
  index and field of each problem, and nothing is written.
* A ``run_id`` is one run. Posting it again is accepted when every value it states equals the
  stored one ("unchanged"), and attempts the log did not have yet are added; a differing value is
  a 409 that names the run and the fields, and nothing is written. The unique keys on
  ``run_id`` and ``(run_id, attempt_index)`` make a duplicate impossible even when two requests
  race: the loser's insert fails, its transaction is retried, and the retry finds the winner's
  rows and compares with them like any retry.
* A run names its profile; the version (and history record) in force is taken from the run
  when it says, otherwise looked up for the run's time. A name this server never knew is kept,
  and reported as a warning.
* All of it happens in one transaction.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Min
from django.utils import timezone

from ailog import selectors
from ailog.counts import DAY_KEY, Tally
from ailog.models import AiAttempt, AiRun, Source
from ailog.records import (
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
    ATTEMPT_FIELDS,
    CONTEXT_KEYS,
    EVENT_ATTEMPT,
    EVENT_RUN,
    EVENT_TYPES,
    RUN_FIELDS,
    SCORE_TOLERANCE,
    Attempt,
    Checker,
    NestedAttempt,
    Problems,
    Run,
    acceptance_problem,
    shown,
)
from ailog.signals import log_changed
from profiles.selectors import ProfileVersionLookup
from rmos_site.errors import Conflict, FieldError, PayloadTooLarge, ValidationFailed

logger = logging.getLogger("rmos.ailog")

MAX_RUNS_PER_REQUEST = 1_000
MAX_ATTEMPTS_PER_REQUEST = 50_000
MAX_EVENTS_PER_REQUEST = 50_000
WRITE_TRIES = 4
#: PostgreSQL advisory lock key of ingestion's orphan gate (see _Writer._pass_the_orphan_gate).
ORPHAN_GATE_LOCK = 0x726D6F735F6F7270  # "rmos_orp"
_RETRYABLE_SQLSTATES = {"23505", "40001", "40P01"}  # unique violation, serialization failure, deadlock

RUN_COLUMNS = RUN_FIELDS + ("recorded_at", "source")
_RUN_JSON = {"selected_candidate", "warnings"}
_RUN_DATETIMES = {"timestamp", "started_at", "recorded_at"}
_json = json.JSONEncoder(separators=(",", ":"), allow_nan=False, check_circular=False).encode


@dataclass
class IngestResult:
    """What a write did. ``created`` is false for a retry that stored nothing new."""

    runs_created: int = 0
    runs_unchanged: int = 0
    attempts_created: int = 0
    attempts_unchanged: int = 0
    unchanged_run_ids: list[str] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)

    @property
    def created(self) -> bool:
        return bool(self.runs_created or self.attempts_created)


# ---------------------------------------------------------------------------------------------
# Public services


def runs_ingest(*, runs: Any, source: str = Source.API) -> IngestResult:
    """Store a batch of runs, each with its ``attempt_records``. See the module docstring."""
    if not isinstance(runs, list):
        raise ValidationFailed.single("runs", "type", "must be a list of runs")
    if not runs:
        raise ValidationFailed.single("runs", "min_items", "the batch is empty; send at least one run")
    if len(runs) > MAX_RUNS_PER_REQUEST:
        raise PayloadTooLarge(
            f"{len(runs)} runs in one request; the limit is {MAX_RUNS_PER_REQUEST}. Split the batch.",
            errors=[FieldError("runs", "max_items", f"at most {MAX_RUNS_PER_REQUEST} runs per request")],
        )
    attempt_count = sum(
        len(r["attempt_records"]) for r in runs if type(r) is dict and type(r.get("attempt_records")) is list
    )
    if attempt_count > MAX_ATTEMPTS_PER_REQUEST:
        raise PayloadTooLarge(
            f"{attempt_count} attempts in one request; the limit is {MAX_ATTEMPTS_PER_REQUEST}. Split the batch.",
            errors=[FieldError("runs", "max_attempts", f"at most {MAX_ATTEMPTS_PER_REQUEST} attempts per request")],
        )
    problems = Problems()
    checker = Checker(now=timezone.now(), problems=problems)
    checked = [checker.run_item(item, index, nested=True) for index, item in enumerate(runs)]
    _refuse_repeated_runs(checked, problems)
    _raise_problems(problems)
    return _store([run for run in checked if run is not None], [], source=source)


def events_ingest(*, events: Any) -> IngestResult:
    """Store a batch of seed-style events (``ai_constraint_attempt``, ``ai_constraint_run_summary``)."""
    if not isinstance(events, list):
        raise ValidationFailed.single("events", "type", "must be a list of events")
    if not events:
        raise ValidationFailed.single("events", "min_items", "the batch is empty; send at least one event")
    if len(events) > MAX_EVENTS_PER_REQUEST:
        raise PayloadTooLarge(
            f"{len(events)} events in one request; the limit is {MAX_EVENTS_PER_REQUEST}. Split the batch.",
            errors=[FieldError("events", "max_items", f"at most {MAX_EVENTS_PER_REQUEST} events per request")],
        )
    summaries = sum(1 for e in events if type(e) is dict and e.get("event_type") == EVENT_RUN)
    if summaries > MAX_RUNS_PER_REQUEST:
        raise PayloadTooLarge(
            f"{summaries} run summaries in one request; the limit is {MAX_RUNS_PER_REQUEST}. Split the batch.",
            errors=[FieldError("events", "max_runs", f"at most {MAX_RUNS_PER_REQUEST} run summaries per request")],
        )
    problems = Problems()
    checker = Checker(now=timezone.now(), problems=problems)
    runs: list[Run | None] = []
    loose: list[tuple[int, Attempt]] = []
    for index, item in enumerate(events):
        if type(item) is not dict:
            problems.add(index, "", "type", "each event must be a JSON object")
            continue
        kind = item.get("event_type")
        if kind == EVENT_RUN:
            runs.append(checker.run_item(item, index, nested=False))
        elif kind == EVENT_ATTEMPT:
            attempt = checker.attempt_event(item, index)
            if attempt is not None:
                loose.append((index, attempt))
        else:
            problems.add(index, "event_type", "choice", f"must be one of {', '.join(EVENT_TYPES)}; got {shown(kind)}")
    _refuse_repeated_runs(runs, problems)
    seen: dict[tuple[uuid.UUID, int], int] = {}
    for index, attempt in loose:
        key = (attempt[A_RUN], attempt[A_INDEX])
        if key in seen:
            problems.add(
                index, "attempt_index", "unique", f"attempt {key[1]} of run {key[0]} is also event [{seen[key]}]"
            )
        else:
            seen[key] = index
    _raise_problems(problems)
    return _store([run for run in runs if run is not None], loose, source=Source.API)


def run_record(
    *,
    context: Mapping[str, str],
    profile: str,
    profile_version: int | None,
    profile_history_id: int | None,
    rule_id: int | None,
    fallback_used: bool | None,
    budget: Mapping[str, Any],
    attempts: Sequence[Mapping[str, Any]],
    success: bool,
    reason: str,
    selected_score: float | None,
    selected_risk_bucket: str | None,
    selected_candidate: Mapping[str, Any] | None = None,
    selected_attempt_index: int | None = None,
    timestamp: datetime | None = None,
    started_at: datetime | None = None,
    elapsed_seconds: float | None = None,
    catalog_revision: str = "",
    warnings: Sequence[str] = (),
    run_id: uuid.UUID | None = None,
    source: str = Source.INTERNAL,
) -> AiRun:
    """Record one search run with its attempts (the search loop calls this with plain data).

    ``context`` has the five context fields; ``budget`` any of ``max_attempts``,
    ``time_limit_seconds``, ``min_feasibility_score``, ``stop_on_first_green``, ``seed``; each
    attempt ``attempt_index``, ``timestamp`` (aware datetime), ``score``, ``risk_bucket``,
    ``is_acceptable``, ``candidate`` (dict) and ``warnings``. The same checks as ingestion apply.
    """
    item: dict[str, Any] = {key: context.get(key) for key in CONTEXT_KEYS if context.get(key) is not None}
    item.update({key: value for key, value in budget.items() if value is not None})
    item.update(
        run_id=str(run_id or uuid.uuid4()),
        timestamp=_iso(timestamp or timezone.now()),
        profile=profile,
        profile_version=profile_version,
        rule_id=rule_id,
        fallback_used=fallback_used,
        attempts=len(attempts),
        success=success,
        reason=reason,
        selected_score=selected_score,
        selected_risk_bucket=selected_risk_bucket,
        selected_candidate=dict(selected_candidate) if selected_candidate is not None else None,
        selected_attempt_index=selected_attempt_index,
        started_at=_iso(started_at) if started_at is not None else None,
        elapsed_seconds=elapsed_seconds,
        catalog_revision=catalog_revision or None,
        warnings=list(warnings),
        attempt_records=[
            {**attempt, "timestamp": _iso(attempt["timestamp"])}
            if isinstance(attempt.get("timestamp"), datetime)
            else dict(attempt)
            for attempt in attempts
        ],
    )
    problems = Problems()
    run = Checker(now=timezone.now(), problems=problems).run_item(item, 0, nested=True)
    _raise_problems(problems)
    assert run is not None
    if profile_history_id is not None:
        run.values["profile_history_id"] = profile_history_id
        run.given = run.given | {"profile_history_id"}
    _store([run], [], source=source)
    return AiRun.objects.get(run_id=run.run_id)


@dataclass(frozen=True)
class PruneResult:
    before: datetime
    runs: int
    attempts: int
    dry_run: bool


def logs_prune(
    *,
    before: datetime,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> PruneResult:
    """Delete every run and every attempt whose own timestamp is earlier than ``before``.

    One UTC day per transaction, oldest first, so a prune of years never holds a long lock and
    an interrupted prune leaves whole days behind, never half of one; each transaction also
    sends the day's counts as removed (:data:`ailog.signals.log_changed`), and ingestion waits
    for it (see :func:`log_hold_writers`). ``progress(done, total)`` is called after each day.
    ``dry_run`` only counts.
    """
    if timezone.is_naive(before):
        raise ValidationFailed.single("before", "timezone", "give a timezone-aware date-time")
    if dry_run:
        return PruneResult(
            before,
            AiRun.objects.filter(timestamp__lt=before).count(),
            AiAttempt.objects.filter(timestamp__lt=before).count(),
            True,
        )
    oldest = [
        moment
        for moment in (
            AiRun.objects.aggregate(oldest=Min("timestamp"))["oldest"],
            AiAttempt.objects.aggregate(oldest=Min("timestamp"))["oldest"],
        )
        if moment is not None
    ]
    if not oldest or min(oldest) >= before:
        return PruneResult(before, 0, 0, False)
    start = datetime.combine(min(oldest).astimezone(UTC).date(), time(), tzinfo=UTC)
    total_days = (before - start + timedelta(days=1) - timedelta(microseconds=1)) // timedelta(days=1)
    runs = attempts = 0
    for done in range(1, total_days + 1):
        end = min(start + timedelta(days=1), before)
        with transaction.atomic():
            log_hold_writers()
            day_runs, day_attempts = selectors.log_between(start=start, end=end)
            removed = Tally()
            for key, counts in selectors.log_counts(runs=day_runs, attempts=day_attempts, group=DAY_KEY).items():
                removed.add_counts(key, counts, sign=-1)
            if removed:
                log_changed.send(sender=AiRun, change=removed)
            runs += day_runs.delete()[0]
            attempts += day_attempts.delete()[0]
        if progress is not None:
            progress(done, total_days)
        start = end
    return PruneResult(before, runs, attempts, False)


def log_hold_writers() -> None:
    """Until this transaction ends, let nobody else write runs or attempts (reads go on).

    For a transaction that reads the log and then replaces counts computed from it (a prune day,
    a rebuild of the analytics aggregates): two statements or more. Under PostgreSQL's READ
    COMMITTED an ingestion committed between them would be lost from the counts or counted twice.
    Ingestion writes its rows and sends its counts in one transaction, so it now waits for this
    one, or this one for it. SQLite has one writer at a time already (transactions begin
    IMMEDIATE)."""
    if connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in (AiRun, AiAttempt))
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")


# ---------------------------------------------------------------------------------------------
# Checking helpers


def _iso(moment: datetime) -> str:
    if timezone.is_naive(moment):
        raise ValidationFailed.single("timestamp", "timezone", "datetimes passed to run_record must be timezone-aware")
    return moment.isoformat()


def _refuse_repeated_runs(runs: Iterable[Run | None], problems: Problems) -> None:
    first: dict[uuid.UUID, int] = {}
    for run in runs:
        if run is None:
            continue
        if run.run_id in first:
            problems.add(
                run.index, "run_id", "unique", f"run {run.run_id} is also item [{first[run.run_id]}] of this batch"
            )
        else:
            first[run.run_id] = run.index


def _raise_problems(problems: Problems) -> None:
    if problems:
        shown = len(problems.errors)
        detail = None
        if problems.total > shown:
            detail = f"{problems.total} problems in the batch (the first {shown} are listed); nothing was stored."
        raise ValidationFailed(detail, errors=problems.errors, extra={"error_count": problems.total})


def _resolve_profiles(runs: list[Run]) -> list[FieldError]:
    """Fill in the profile version and history record in force; warn about names unknown here."""
    warnings: list[FieldError] = []
    lookup = ProfileVersionLookup(run.values["profile_name"] for run in runs)
    for run in runs:
        values = run.values
        name = values["profile_name"]
        values.setdefault("profile_history_id", None)
        if not name:
            continue
        if not lookup.exists(name):
            warnings.append(
                FieldError(
                    "profile",
                    "unknown_profile",
                    f"no profile named {name!r} here; the run is kept under that name",
                    run.index,
                )
            )
            continue
        if values["profile_version"] is not None:
            if values["profile_history_id"] is None:
                values["profile_history_id"] = lookup.history_id_of(name, values["profile_version"])
                if values["profile_history_id"] is None:
                    warnings.append(
                        FieldError(
                            "profile_version",
                            "unknown_profile_version",
                            f"profile {name!r} never had version {values['profile_version']} here; the run keeps the number",
                            run.index,
                        )
                    )
            continue
        in_force = lookup.at(name, values["timestamp"])
        values["profile_version"] = in_force.version
        values["profile_history_id"] = in_force.history_id
        if in_force.version is None:
            warnings.append(
                FieldError(
                    "profile", "deleted_profile", f"profile {name!r} was deleted before this run's time", run.index
                )
            )
        elif in_force.before_first:
            first = lookup.first_journaled(name)
            warnings.append(
                FieldError(
                    "profile_version",
                    "before_first_version",
                    f"the run is older than the first version of {name!r} journaled here ({first:%Y-%m-%d %H:%M} UTC); "
                    f"it is counted under version {in_force.version}. Send profile_version to say which version it used",
                    run.index,
                )
            )
    return warnings


# ---------------------------------------------------------------------------------------------
# Storing


def _store(runs: list[Run], loose: list[tuple[int, Attempt]], *, source: str) -> IngestResult:
    warnings = _resolve_profiles(runs)
    runs.sort(key=lambda run: run.run_id)  # one lock order for every writer
    for attempt in range(WRITE_TRIES):
        try:
            with transaction.atomic():
                _prefer_indexes()
                result = _Writer(runs, loose, source=source).write()
            result.warnings = warnings
            return result
        except (IntegrityError, OperationalError) as exc:
            if not _lost_a_race(exc) or attempt == WRITE_TRIES - 1:
                raise
            logger.info("ingestion raced another writer (%s); trying again", exc.__class__.__name__)
    raise AssertionError("unreachable")


def _prefer_indexes() -> None:
    """For the rest of this transaction, let PostgreSQL scan a whole table only when no index can
    answer (its temporary tables), and compile no query.

    Every other query of ingestion looks up a batch's keys, but a planner without statistics
    (autovacuum off, see rmos.W001, or a table that grew a lot since its last ANALYZE) estimates
    such a lookup at half the table and scans all of it. Penalising sequential scans makes the
    costs of the temporary-table scans huge, which would trigger JIT compilation (~100 ms a
    query), hence ``jit = off``; these are short keyed queries that JIT never helps. Measured on
    a 3M-attempt table without statistics: 3,000 runs in 1.1 s instead of 4.3 s; with statistics
    no difference (1.1-1.3 s either way); the 1M-attempt load test, 23,263 instead of 9,466
    attempts/s.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL jit = off")


def _lost_a_race(exc: Exception) -> bool:
    """A unique key taken by a concurrent writer, or a deadlock / serialization failure."""
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _RETRYABLE_SQLSTATES
    return isinstance(exc, IntegrityError) and "UNIQUE constraint failed" in str(cause)


class _Writer:
    """One try at storing a checked batch, inside a transaction."""

    def __init__(self, runs: list[Run], loose: list[tuple[int, Attempt]], *, source: str) -> None:
        self.runs = runs
        self.loose = loose
        self.source = source
        self.result = IngestResult()
        self.conflicts: list[FieldError] = []
        self.conflicting_runs: set[str] = set()
        self.problems = Problems()
        self.rows = _AttemptRows()
        self.tally = Tally()  # the counts this write changes, sent with the rows (ailog.signals)

    def write(self) -> IngestResult:
        self._pass_the_orphan_gate()
        created = self._insert_runs()
        known = self._runs_known()
        stored = self._stored_attempts({run.run_id for run in self.runs} | {a[A_RUN] for _, a in self.loose})
        self._nested_attempts(stored)
        self._loose_attempts(known, stored)
        self._check_orphans(created, stored, known)
        if self.conflicts:
            ids = sorted(self.conflicting_runs)
            named = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
            raise Conflict(
                f"Some of what was posted for run{'s' if len(ids) > 1 else ''} {named} is already recorded with different values; "
                "nothing was stored. Post the same values to retry, or use a new run_id.",
                errors=self.conflicts,
                extra={"run_ids": ids},
            )
        _raise_problems(self.problems)
        self.rows.insert()
        self._relink_orphans(created, stored, known)
        for run in self.runs:
            if run.run_id in created:
                self.tally.run(run.values)
        if self.tally:
            log_changed.send(sender=AiRun, change=self.tally)
        self.result.attempts_created = len(self.rows)
        return self.result

    def _pass_the_orphan_gate(self) -> None:
        """PostgreSQL: never store attempts of a run not yet recorded ("orphans") while another
        transaction may be recording runs.

        Attempts may come before their run's summary: the summary's writer then links them to
        the run's profile and checks them against it, and a writer of later attempts checks them
        against the stored run. Under READ COMMITTED two such writers at the same moment would
        not see each other's rows, so neither would link or check. Every writer takes a shared
        advisory lock; one with orphans takes it exclusively, so it waits until the writers in
        progress commit, and reads their runs afterwards (each statement reads what is committed
        when it starts). It takes the lock before writing anything, so it holds nothing another
        writer waits for. SQLite runs one writer at a time already.
        """
        if connection.vendor != "postgresql":
            return
        outside = {attempt[A_RUN] for _, attempt in self.loose} - {run.run_id for run in self.runs}
        orphans = bool(outside) and AiRun.objects.filter(run_id__in=outside).count() < len(outside)
        with connection.cursor() as cursor:
            lock = "pg_advisory_xact_lock" if orphans else "pg_advisory_xact_lock_shared"
            cursor.execute(f"SELECT {lock}(%s)", [ORPHAN_GATE_LOCK])

    # -- runs ------------------------------------------------------------------------------

    def _insert_runs(self) -> set[uuid.UUID]:
        if not self.runs:
            return set()
        created = _insert_run_rows(self.runs, recorded_at=timezone.now(), source=self.source)
        self.result.runs_created = len(created)
        existing = [run for run in self.runs if run.run_id not in created]
        if existing:
            stored = {
                row["run_id"]: row
                for row in AiRun.objects.filter(run_id__in=[r.run_id for r in existing]).values(*RUN_COLUMNS)
            }
            for run in existing:
                row = stored[run.run_id]
                # Only what the item states is compared: a retry may leave out optional fields.
                differing = [name for name in RUN_FIELDS if name in run.given and row[name] != run.values[name]]
                if row["source"] != self.source:
                    differing.append("source")
                for name in _public(differing):
                    self._conflict(
                        run.run_id, run.index, name, f"run {run.run_id} is already recorded with a different {name}"
                    )
                if not differing:
                    self.result.runs_unchanged += 1
                    self.result.unchanged_run_ids.append(str(run.run_id))
                    # Stored values win for what the retry left out (e.g. the resolved version).
                    run.values.update({name: row[name] for name in RUN_FIELDS})
        return created

    def _runs_known(self) -> dict[uuid.UUID, dict[str, Any]]:
        """The run of every attempt in the batch: from this batch, else as stored."""
        known = {run.run_id: run.values for run in self.runs}
        missing = {attempt[A_RUN] for _, attempt in self.loose} - known.keys()
        if missing:
            for row in AiRun.objects.filter(run_id__in=missing).values(*RUN_FIELDS):
                known[row["run_id"]] = row
        return known

    def _conflict(self, run_id: uuid.UUID, index: int, field: str, message: str) -> None:
        self.conflicting_runs.add(str(run_id))
        self.conflicts.append(FieldError(field, "conflict", message, index))

    # -- attempts --------------------------------------------------------------------------

    def _stored_attempts(self, run_ids: set[uuid.UUID]) -> dict[tuple, tuple]:
        """Attempts already stored for these runs (retries, or events that came first)."""
        if not run_ids:
            return {}
        rows = AiAttempt.objects.filter(run_id__in=run_ids).values_list(*ATTEMPT_FIELDS)
        return {(row[A_RUN], row[A_INDEX]): row for row in rows}

    def _nested_attempts(self, stored: dict[tuple, tuple]) -> None:
        stored_runs = {run_id for run_id, _ in stored}
        for run in self.runs:
            if not run.attempts:
                continue
            if run.run_id not in stored_runs:
                # The common case: one row per attempt, nothing to compare.
                self.rows.add_nested(run.values, run.attempts)
                self._tally_nested(run.values, run.attempts)
                continue
            values = run.values
            head = (run.run_id,)
            context = tuple(values[key] for key in CONTEXT_KEYS) + (values["profile_name"], values["profile_version"])
            for position, nested in enumerate(run.attempts):
                index, ts = nested[0], nested[1]
                attempt = head + (index, ts) + context + tuple(nested[2:])
                self._add_unless_stored(attempt, stored, run.index, prefix=f"attempt_records[{position}].")

    def _tally_nested(self, run: Mapping[str, Any], attempts: list[NestedAttempt]) -> None:
        """Fold a run's attempts into the aggregates' changes (one key per UTC day they span)."""
        key = tuple(
            run[k] for k in ("tool_id", "material_id", "machine_id", "geometry_engine", "workflow_mode", "profile_name")
        )
        key += (run["profile_version"] or 0,)
        by_day: dict[Any, list] = {}
        for attempt in attempts:
            day = attempt[1].date()  # timestamps are UTC here
            into = by_day.get(day)
            if into is None:
                into = by_day[day] = [[], 0, 0.0]
            into[0].append(attempt[3])
            into[1] += attempt[4]
            into[2] += attempt[2]
        for day, (buckets, acceptable, score_sum) in by_day.items():
            self.tally.attempts((day, *key), buckets=buckets, acceptable=acceptable, score_sum=score_sum)

    def _loose_attempts(self, known: dict[uuid.UUID, dict[str, Any]], stored: dict[tuple, tuple]) -> None:
        # Attempts of a run whose summary has not arrived must agree on the run's context with
        # its attempts already stored or posted before them in this batch: else no summary could
        # ever fit them all, and the run would be stuck half-recorded.
        orphan_context: dict[uuid.UUID, tuple[int, str, tuple]] = {}
        for (run_id, attempt_index), row in sorted(stored.items(), key=lambda item: item[0][1]):
            if run_id not in known:
                orphan_context.setdefault(run_id, (attempt_index, "stored", row[A_TOOL : A_ENGINE + 1]))
        for index, attempt in self.loose:
            run = known.get(attempt[A_RUN])
            if run is not None:
                if not self._fits_run(attempt, run, index):
                    continue
                attempt = (*attempt[:A_PROFILE], run["profile_name"], run["profile_version"], *attempt[A_VERSION + 1 :])
            elif not self._fits_other_attempts(attempt, orphan_context, index):
                continue
            self._add_unless_stored(attempt, stored, index)

    def _fits_other_attempts(
        self, attempt: Attempt, orphan_context: dict[uuid.UUID, tuple[int, str, tuple]], index: int
    ) -> bool:
        context = attempt[A_TOOL : A_ENGINE + 1]
        first = orphan_context.setdefault(attempt[A_RUN], (attempt[A_INDEX], "posted", context))
        other_index, how, expected = first
        if other_index == attempt[A_INDEX]:
            return True  # itself (first posted), or a retry of the stored one: compared as a retry
        ok = True
        for key, mine, theirs in zip(_CONTEXT_COLUMNS, context, expected):
            if mine != theirs:
                self.problems.add(
                    index, key, "consistency",
                    f"is {shown(mine)} but attempt {other_index} of run {attempt[A_RUN]} ({how} already) has {shown(theirs)}; the attempts of a run share its context",
                )  # fmt: skip
                ok = False
        return ok

    def _add_unless_stored(self, attempt: Attempt, stored: dict[tuple, tuple], index: int, *, prefix: str = "") -> None:
        before = stored.get((attempt[A_RUN], attempt[A_INDEX]))
        if before is None:
            self.rows.add(attempt)
            self.tally.attempt(dict(zip(ATTEMPT_FIELDS, attempt)))
            return
        # Only what the item states is compared: a retry may leave out the optional fields.
        differing = [
            ATTEMPT_FIELDS[i]
            for i in _ATTEMPT_COMPARED
            if before[i] != attempt[i] and not (i in _ATTEMPT_OPTIONAL and not attempt[i])
        ]
        if differing:
            for name in differing:
                self._conflict(
                    attempt[A_RUN],
                    index,
                    prefix + name,
                    f"attempt {attempt[A_INDEX]} of run {attempt[A_RUN]} is already recorded with a different {name}",
                )
        else:
            self.result.attempts_unchanged += 1

    def _fits_run(self, attempt: Attempt, run: Mapping[str, Any], index: int, *, blame_run: bool = False) -> bool:
        """Whether a stored or posted attempt fits its run; problems go to item ``index``, under
        the attempt's field names, or (``blame_run``: the item is the run's summary) the run's."""
        field = _RUN_SIDE if blame_run else _ATTEMPT_SIDE
        ok = True
        for key, position in zip(CONTEXT_KEYS, (A_TOOL, A_MATERIAL, A_MACHINE, A_MODE, A_ENGINE)):
            if attempt[position] != run[key]:
                self.problems.add(
                    index,
                    key,  # a context field has the same name on both sides
                    "consistency",
                    f"attempt {attempt[A_INDEX]} of run {attempt[A_RUN]} has {key} {attempt[position]!r} but the run has {run[key]!r}",
                )
                ok = False
        if attempt[A_INDEX] > run["attempts"]:
            self.problems.add(
                index,
                field["attempt_index"],
                "consistency",
                f"attempt {attempt[A_INDEX]} of run {attempt[A_RUN]} exceeds the run's {run['attempts']} attempts",
            )
            ok = False
        problem = acceptance_problem(acceptable=attempt[A_ACCEPTABLE], score=attempt[A_SCORE], run=run)
        if problem:
            self.problems.add(
                index,
                field["is_acceptable"],
                "consistency",
                f"attempt {attempt[A_INDEX]} of run {attempt[A_RUN]}: {problem}",
            )
            ok = False
        if attempt[A_INDEX] == run["selected_attempt_index"]:
            # The rule a runs batch applies to a run and the attempts posted with it (records.py).
            score, bucket = run["selected_score"], run["selected_risk_bucket"]
            if score is not None and abs(score - attempt[A_SCORE]) > SCORE_TOLERANCE:
                self.problems.add(
                    index, field["score"], "consistency",
                    f"attempt {attempt[A_INDEX]} of run {attempt[A_RUN]} scored {attempt[A_SCORE]:g} but the run selected it with score {score:g}",
                )  # fmt: skip
                ok = False
            if bucket is not None and bucket != attempt[A_BUCKET]:
                self.problems.add(
                    index, field["risk_bucket"], "consistency",
                    f"attempt {attempt[A_INDEX]} of run {attempt[A_RUN]} is {attempt[A_BUCKET]} but the run selected it as {bucket}",
                )  # fmt: skip
                ok = False
        return ok

    def _check_orphans(
        self, created: set[uuid.UUID], stored: dict[tuple, tuple], known: dict[uuid.UUID, dict[str, Any]]
    ) -> None:
        """Attempts that came before the summary of a run created now must fit that run."""
        index_of = {run.run_id: run.index for run in self.runs}
        for (run_id, _), attempt in stored.items():
            if run_id in created:
                self._fits_run(attempt, known[run_id], index_of[run_id], blame_run=True)

    def _relink_orphans(
        self, created: set[uuid.UUID], stored: dict[tuple, tuple], known: dict[uuid.UUID, dict[str, Any]]
    ) -> None:
        """Give attempts stored before their run's summary the run's profile (and move their counts)."""
        by_profile: dict[tuple[str, int | None], set[uuid.UUID]] = {}
        for (run_id, _), attempt in stored.items():
            if run_id in created:
                run = known[run_id]
                profile = (run["profile_name"], run["profile_version"])
                if (attempt[A_PROFILE], attempt[A_VERSION]) != profile:
                    by_profile.setdefault(profile, set()).add(run_id)
                    before = dict(zip(ATTEMPT_FIELDS, attempt))
                    self.tally.attempt(before, sign=-1)
                    self.tally.attempt({**before, "profile_name": profile[0], "profile_version": profile[1]})
        for (name, version), run_ids in by_profile.items():
            AiAttempt.objects.filter(run_id__in=run_ids).update(profile_name=name, profile_version=version)


#: Which field a problem of _Writer._fits_run names, on the attempt's item or on the run's summary.
_ATTEMPT_SIDE = {
    "attempt_index": "attempt_index",
    "score": "score",
    "risk_bucket": "risk_bucket",
    "is_acceptable": "is_acceptable",
}
_RUN_SIDE = {
    "attempt_index": "attempts",
    "score": "selected_score",
    "risk_bucket": "selected_risk_bucket",
    "is_acceptable": "success",
}
#: The context fields in attempt order (A_TOOL .. A_ENGINE).
_CONTEXT_COLUMNS = ATTEMPT_FIELDS[A_TOOL : A_ENGINE + 1]
_ATTEMPT_COMPARED = tuple(i for i in range(len(ATTEMPT_FIELDS)) if i not in (A_PROFILE, A_VERSION))
#: Attempt fields a retry may leave out (None, or no warnings): then the stored value stands.
_ATTEMPT_OPTIONAL = frozenset({A_RINGS, A_WIDTH, A_CANDIDATE, A_WARNINGS})


def _public(names: Iterable[str]) -> list[str]:
    return ["profile" if name == "profile_name" else name for name in names]


# ---------------------------------------------------------------------------------------------
# Raw inserts. Runs go through one multi-row INSERT … ON CONFLICT DO NOTHING RETURNING, so the
# database says which were new. Attempts are the volume (up to 50,000 a request): they skip the
# ORM and go straight to the driver - executemany on SQLite, COPY on PostgreSQL - because model
# instances and per-field adaptation would cost more than the insert itself. That is safe here:
# attempts are not history-tracked (no signals to miss) and every value was checked above.


def _db_datetime():
    if connection.vendor == "sqlite":
        # What Django's SQLite backend stores: naive UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]".
        return lambda moment: None if moment is None else moment.replace(tzinfo=None).isoformat(" ")
    return lambda moment: moment


def _run_row(run: Run, *, sqlite: bool, recorded_at: datetime, source: str) -> tuple:
    to_db = _db_datetime()
    values = run.values
    row = []
    for name in RUN_FIELDS:
        value = values[name]
        if name in _RUN_DATETIMES:
            value = to_db(value)
        elif name in _RUN_JSON:
            value = None if value is None else _json(value)
        elif name == "run_id" and sqlite:
            value = value.hex
        row.append(value)
    row += [to_db(recorded_at), source]
    return tuple(row)


def _insert_run_rows(runs: list[Run], *, recorded_at: datetime, source: str) -> set[uuid.UUID]:
    """Insert the runs whose run_id is new; return those run ids."""
    sqlite = connection.vendor == "sqlite"
    table = connection.ops.quote_name(AiRun._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in RUN_COLUMNS)
    with connection.cursor() as cursor:
        if sqlite:
            # This transaction began IMMEDIATE, so it holds SQLite's write lock: no other writer
            # can add a run between this check and the insert.
            existing = set(
                AiRun.objects.filter(run_id__in=[run.run_id for run in runs]).values_list("run_id", flat=True)
            )
            new = [run for run in runs if run.run_id not in existing]
            rows = [_run_row(run, sqlite=True, recorded_at=recorded_at, source=source) for run in new]
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(RUN_COLUMNS))})", rows)
            return {run.run_id for run in new}
        # PostgreSQL: concurrent writers are real, so let the unique key decide. The rows go in by
        # COPY to a temporary table (a multi-row VALUES of 30,000 parameters costs more to build
        # than to run), then one INSERT … ON CONFLICT DO NOTHING reports which were new.
        cursor.execute(
            f"CREATE TEMPORARY TABLE ailog_incoming_runs ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY ailog_incoming_runs ({columns}) FROM STDIN") as copy:
            for run in runs:
                copy.write_row(_run_row(run, sqlite=False, recorded_at=recorded_at, source=source))
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM ailog_incoming_runs ORDER BY run_id "
            f"ON CONFLICT (run_id) DO NOTHING RETURNING run_id"
        )
        created = {row[0] for row in cursor.fetchall()}
        cursor.execute("DROP TABLE ailog_incoming_runs")
        return created


class _AttemptRows:
    """Attempts to insert, kept as the driver's row tuples from the start (one tuple per attempt)."""

    def __init__(self) -> None:
        self.sqlite = connection.vendor == "sqlite"
        self.rows: list[tuple] = []

    def __len__(self) -> int:
        return len(self.rows)

    def add_nested(self, run: Mapping[str, Any], attempts: list[NestedAttempt]) -> None:
        dumps = _json
        run_id = run["run_id"].hex if self.sqlite else run["run_id"]
        tool, material, machine, mode, engine = (run[key] for key in CONTEXT_KEYS)
        profile, version = run["profile_name"], run["profile_version"]
        append = self.rows.append
        if self.sqlite:
            for index, ts, score, bucket, acceptable, rings, width, candidate, warnings in attempts:
                append(
                    (run_id, index, ts.replace(tzinfo=None).isoformat(" "), tool, material, machine, mode, engine, profile, version,
                     score, bucket, acceptable, rings, width, None if candidate is None else dumps(candidate),
                     dumps(warnings) if warnings else "[]")
                )  # fmt: skip
        else:
            for index, ts, score, bucket, acceptable, rings, width, candidate, warnings in attempts:
                append(
                    (run_id, index, ts, tool, material, machine, mode, engine, profile, version, score, bucket, acceptable,
                     rings, width, None if candidate is None else dumps(candidate), dumps(warnings) if warnings else "[]")
                )  # fmt: skip

    def add(self, a: Attempt) -> None:
        self.rows.append(
            (
                a[A_RUN].hex if self.sqlite else a[A_RUN],
                a[A_INDEX],
                a[A_TS].replace(tzinfo=None).isoformat(" ") if self.sqlite else a[A_TS],
                *a[A_TOOL:A_CANDIDATE],
                None if a[A_CANDIDATE] is None else _json(a[A_CANDIDATE]),
                _json(a[A_WARNINGS]) if a[A_WARNINGS] else "[]",
            )
        )

    def insert(self) -> None:
        if not self.rows:
            return
        table = connection.ops.quote_name(AiAttempt._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(name) for name in ATTEMPT_FIELDS)
        with connection.cursor() as cursor:
            if self.sqlite:
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(ATTEMPT_FIELDS))})", self.rows
                )
            else:
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in self.rows:
                        copy.write_row(row)
