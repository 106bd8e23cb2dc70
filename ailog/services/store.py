"""Storing a checked batch: one transaction, retried when a concurrent writer won a race."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from ailog.counts import Tally
from ailog.models import AiAttempt, AiRun
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
    A_VERSION,
    A_WARNINGS,
    A_WIDTH,
    ATTEMPT_FIELDS,
    CONTEXT_KEYS,
    RUN_FIELDS,
    SCORE_TOLERANCE,
    Attempt,
    NestedAttempt,
    Problems,
    Run,
    acceptance_problem,
    shown,
)
from ailog.services.risk import RunRisk, lock_stored_runs
from ailog.services.rows import RUN_COLUMNS, UNIQUE_VIOLATION, AttemptRows, insert_run_rows, run_keys_allocate
from ailog.services.versions import resolve_profiles
from ailog.signals import log_changed
from rmos_site.errors import Conflict, FieldError, ValidationFailed

logger = logging.getLogger("rmos.ailog")


WRITE_TRIES = 4
#: PostgreSQL advisory lock key of ingestion's orphan gate (see _Writer._pass_the_orphan_gate).
ORPHAN_GATE_LOCK = 0x726D6F735F6F7270  # "rmos_orp"
_RETRYABLE_SQLSTATES = {UNIQUE_VIOLATION, "40001", "40P01"}  # unique violation, serialization failure, deadlock


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


def raise_problems(problems: Problems) -> None:
    if problems:
        shown = len(problems.errors)
        detail = None
        if problems.total > shown:
            detail = f"{problems.total} problems in the batch (the first {shown} are listed); nothing was stored."
        raise ValidationFailed(detail, errors=problems.errors, extra={"error_count": problems.total})


def store_batch(runs: list[Run], loose: list[tuple[int, Attempt]], *, source: str) -> IngestResult:
    warnings = resolve_profiles(runs)
    runs.sort(key=lambda run: run.run_id)  # one lock order for every writer
    exclusive = False  # PostgreSQL: pass ingestion's gate alone (see _Writer._pass_the_orphan_gate)
    tries = 0
    while True:
        try:
            with transaction.atomic():
                _prefer_indexes()
                result = _Writer(runs, loose, source=source, exclusive=exclusive).write()
            result.warnings = warnings
            return result
        except _OrphansAtTheGate:
            exclusive = True  # nothing was written; not a lost race
        except (IntegrityError, OperationalError) as exc:
            tries += 1
            if not _lost_a_race(exc) or tries == WRITE_TRIES:
                raise
            logger.info("ingestion raced another writer (%s); trying again", exc.__class__.__name__)


class _OrphansAtTheGate(Exception):
    """A batch that passed ingestion's gate shared holds attempts of a run that is not stored."""


def _prefer_indexes() -> None:
    """For the rest of this transaction, let PostgreSQL scan a whole table only when no index can
    answer (its temporary tables), and compile no query.

    Every other query of ingestion looks up a batch's keys, but a planner without statistics
    (autovacuum off, see rmos.W001, or a table that grew a lot since its last ANALYZE) estimates
    such a lookup at half the table and scans all of it. Penalising sequential scans makes the
    costs of the temporary-table scans huge, which would trigger JIT compilation (~100 ms a
    query), hence ``jit = off``; these are short keyed queries that JIT never helps. With fresh
    statistics the hint changes nothing.
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

    def __init__(
        self, runs: list[Run], loose: list[tuple[int, Attempt]], *, source: str, exclusive: bool = False
    ) -> None:
        self.exclusive = exclusive
        self.runs = runs
        self.loose = loose
        self.source = source
        self.result = IngestResult()
        self.conflicts: list[FieldError] = []
        self.conflicting_runs: set[str] = set()
        self.problems = Problems()
        self.keys: dict[uuid.UUID, int] = {}  # each touched run's internal key (run_keys_allocate)
        self.rows = AttemptRows(self.keys)
        self.tally = Tally()  # the counts this write changes, sent with the rows (ailog.signals)
        self.risk = RunRisk()  # each run's RED share, as this write changes it (ailog.services.risk)

    def write(self) -> IngestResult:
        self._pass_the_orphan_gate()
        summaries = {run.run_id for run in self.runs}
        touched = summaries | {a[A_RUN] for _, a in self.loose}
        keys, issued = run_keys_allocate(summaries, touched - summaries)
        self.keys.update(keys)
        created = self._insert_runs()
        known = self._runs_known()
        lock_stored_runs(touched - created)
        # A run created now under a key issued now has no attempts stored.
        stored = self._stored_attempts(touched - (created & issued))
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
        raise_problems(self.problems)
        self.rows.insert()
        self._relink_orphans(created, stored, known)
        for run in self.runs:
            if run.run_id in created:
                self.tally.run(run.values)
        self.risk.tally(self.tally, created=created, stored=stored, known=known)
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

        Whether a batch has orphans is read once the shared lock is held: read before, a run found
        stored could be deleted by a prune day (which holds the gate alone, prune.py) before the
        lock was granted, and the batch would write orphans beside a writer of their run's
        summary. A batch that finds orphans then starts again, exclusively (store_batch).
        """
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            lock = "pg_advisory_xact_lock" if self.exclusive else "pg_advisory_xact_lock_shared"
            cursor.execute(f"SELECT {lock}(%s)", [ORPHAN_GATE_LOCK])
        if self.exclusive:
            return
        outside = {attempt[A_RUN] for _, attempt in self.loose} - {run.run_id for run in self.runs}
        if outside and AiRun.objects.filter(run_id__in=outside).count() < len(outside):
            raise _OrphansAtTheGate

    # -- runs ------------------------------------------------------------------------------

    def _insert_runs(self) -> set[uuid.UUID]:
        if not self.runs:
            return set()
        created = insert_run_rows(self.runs, recorded_at=timezone.now(), source=self.source, keys=self.keys)
        self.result.runs_created = len(created)
        existing = [run for run in self.runs if run.run_id not in created]
        if existing:
            stored = {
                row["run_id"]: row
                for row in AiRun.objects.filter(run_id__in=[r.run_id for r in existing]).values(*RUN_COLUMNS, "run_key")
            }
            for run in existing:
                row = stored[run.run_id]
                # The key issued to the run was a candidate; the stored one stands.
                self.keys[run.run_id] = row["run_key"]
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
        rows = AiAttempt.objects.filter(run_key__in=[self.keys[run_id] for run_id in run_ids]).values_list(
            *ATTEMPT_FIELDS
        )
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
                self.risk.add(run.run_id, (nested[3] for nested in run.attempts))
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
            self.risk.add(attempt[A_RUN], (attempt[A_BUCKET],))
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
            keys = [self.keys[run_id] for run_id in run_ids]
            AiAttempt.objects.filter(run_key__in=keys).update(profile_name=name, profile_version=version)


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
