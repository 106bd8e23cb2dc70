"""Deleting old log rows, a UTC day per transaction, and the lock that keeps writers out meanwhile."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Exists, Min, OuterRef, Q, Subquery
from django.utils import timezone

from ailog import selectors
from ailog.counts import DAY_KEY, Tally
from ailog.models import AiAttempt, AiRun, AiRunKey
from ailog.services.store import ORPHAN_GATE_LOCK
from ailog.signals import log_changed
from rmos_site.errors import ValidationFailed


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
            # Runs dated after this day keep their counts, but those whose attempts began before
            # midnight lose some attempts: their RED share is counted anew from the rest.
            later = AiRun.objects.filter(timestamp__gte=end, run_id__in=Subquery(day_attempts.values("run_id")))
            later_ids = list(later.values_list("run_id", flat=True))
            for key, counts in selectors.log_counts(runs=later, attempts=None, group=DAY_KEY).items():
                removed.add_counts(key, counts, sign=-1)
            _keep_keys_of_surviving_attempts(day_runs, end)
            day_keys = list(  # the day's keys that have an AiRunKey row (few: runs whose attempts came first)
                AiRunKey.objects.filter(
                    Q(id__in=Subquery(day_runs.values("run_key"))) | Q(id__in=Subquery(day_attempts.values("run_key")))
                ).values_list("id", flat=True)
            )
            runs += day_runs.delete()[0]
            attempts += day_attempts.delete()[0]
            _drop_keys_left_unused(day_keys)
            if later_ids:
                survivors = AiRun.objects.filter(run_id__in=later_ids)
                for key, counts in selectors.log_counts(runs=survivors, attempts=None, group=DAY_KEY).items():
                    removed.add_counts(key, counts)
            if removed:
                log_changed.send(sender=AiRun, change=removed)
        if progress is not None:
            progress(done, total_days)
        start = end
    return PruneResult(before, runs, attempts, False)


def _keep_keys_of_surviving_attempts(day_runs, end: datetime) -> None:
    """A run deleted while attempts of it dated ``end`` or later stay (nothing requires an
    attempt to be older than its run's summary) keeps its key in AiRunKey, where a run known
    only by its attempts has it: so its run id still finds them, and a retry of the run takes
    that key and finds them stored instead of storing them again."""
    later = AiAttempt.objects.filter(run_key=OuterRef("run_key"), timestamp__gte=end)
    keep = day_runs.filter(Exists(later)).values_list("run_key", "run_id")
    AiRunKey.objects.bulk_create([AiRunKey(id=key, run_id=run_id) for key, run_id in keep], ignore_conflicts=True)


def _drop_keys_left_unused(keys: list[int]) -> None:
    """Delete the AiRunKey rows among ``keys`` (those of the runs and attempts a prune day
    deleted) that no run row and no attempt uses any more: runs the day deleted whole. A key is
    never issued again (AiRunKey's id sequence never goes back), so a late retry of such a run
    is stored anew under a new key, as a retry of any pruned run is."""
    if keys:
        used = Q(Exists(AiRun.objects.filter(run_key=OuterRef("id")))) | Q(
            Exists(AiAttempt.objects.filter(run_key=OuterRef("id")))
        )
        AiRunKey.objects.filter(id__in=keys).exclude(used).delete()


def log_hold_writers() -> None:
    """Until this transaction ends, let nobody else write runs or attempts (reads go on).

    For a transaction that reads the log and then replaces counts computed from it (a prune day,
    a rebuild of the analytics aggregates): two statements or more. Under PostgreSQL's READ
    COMMITTED an ingestion committed between them would be lost from the counts or counted twice.
    Ingestion writes its rows and sends its counts in one transaction, so it now waits for this
    one, or this one for it. SQLite has one writer at a time already (transactions begin
    IMMEDIATE).

    PostgreSQL: it first takes ingestion's gate exclusively (store.ORPHAN_GATE_LOCK), which every
    writer takes before it reads a run's key. The table lock alone came too late: a writer that
    read a run's key, or found no key, before a prune day committed then stored the pruned run
    anew under a fresh key beside its surviving attempts, each of them a second time."""
    if connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in (AiRun, AiAttempt))
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ORPHAN_GATE_LOCK])
            cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
