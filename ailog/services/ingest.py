"""The ingestion services and the search loop's record: check every item, then store the batch.

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

import gc
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.utils import timezone

from ailog.models import AiRun, Source
from ailog.records import (
    A_INDEX,
    A_RUN,
    CONTEXT_KEYS,
    EVENT_ATTEMPT,
    EVENT_RUN,
    EVENT_TYPES,
    Attempt,
    Checker,
    Problems,
    Run,
    shown,
)
from ailog.records.fast import fast_events, fast_runs
from ailog.services.store import IngestResult, raise_problems, store_batch
from rmos_site.errors import FieldError, PayloadTooLarge, ValidationFailed

MAX_RUNS_PER_REQUEST = 1_000
MAX_ATTEMPTS_PER_REQUEST = 50_000
MAX_EVENTS_PER_REQUEST = 50_000


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
    with paused_gc():
        now = timezone.now()
        problems = Problems()
        checked = fast_runs(runs, now)
        if checked is None:  # refused or in doubt: the full Checker lists every problem
            checker = Checker(now=now, problems=problems)
            checked = [checker.run_item(item, index, nested=True) for index, item in enumerate(runs)]
        _refuse_repeated_runs(checked, problems)
        raise_problems(problems)
        return store_batch([run for run in checked if run is not None], [], source=source)


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
    with paused_gc():
        return _events_ingest(events)


def _events_ingest(events: list) -> IngestResult:
    now = timezone.now()
    problems = Problems()
    fast = fast_events(events, now)
    if fast is not None:
        runs, loose = fast
    else:  # refused or in doubt: the full Checker lists every problem
        runs, loose = _check_events(events, Checker(now=now, problems=problems))
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
    raise_problems(problems)
    return store_batch([run for run in runs if run is not None], loose, source=Source.API)


def _check_events(events: list, checker: Checker) -> tuple[list[Run | None], list[tuple[int, Attempt]]]:
    problems = checker.problems
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
    return runs, loose


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
    now = timezone.now()
    checked = fast_runs([item], now)
    run = checked[0] if checked else Checker(now=now, problems=problems).run_item(item, 0, nested=True)
    raise_problems(problems)
    assert run is not None
    if profile_history_id is not None:
        run.values["profile_history_id"] = profile_history_id
        run.given = run.given | {"profile_history_id"}
    store_batch([run], [], source=source)
    return AiRun.objects.get(run_id=run.run_id)


@contextmanager
def paused_gc() -> Iterator[None]:
    """No garbage collection while a batch is checked and stored (issue 19): a batch makes
    hundreds of thousands of containers, none of them cyclic garbage, and the collector's passes
    over them cost more than the checks (msgspec's conversion 4.5 -> 1.5 µs an attempt). What the
    batch leaves is freed by reference counting; the collector resumes when it ends."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


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
