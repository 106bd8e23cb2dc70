"""Writes to the analytics aggregates. Only ailog.services (in its transactions) and the
``rebuild_aggregates`` command call these.

A write to the log folds its changes into a :class:`Tally` (in memory, a few thousand keys at
most) and applies it with one upsert per table::

    INSERT INTO t (key…, runs, …) VALUES (…)
    ON CONFLICT (key…) DO UPDATE SET runs = t.runs + excluded.runs, …

which SQLite (3.24+) and PostgreSQL both run atomically per row, so concurrent writers add up.
Rows are applied in key order, so two writers lock them in the same order. Subtractions (prune,
an attempt moving to its run's profile) are negative deltas; rows left at zero are deleted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, Max, Q, Sum
from django.db.models.functions import Coalesce, TruncDate

from ailog.models import AiAttempt, AiRun
from analytics.metrics import ADDITIVE, REASONS, Counts
from analytics.models import KEY_FIELDS, ContextDay, ContextTotal

UTC = UTC
#: Index of each additive count in a tally row; the last slot is last_run_at.
_SLOT = {name: i for i, name in enumerate(ADDITIVE)}
_LAST = len(ADDITIVE)
_RUNS, _ATTEMPTS_REPORTED, _SCORED, _SELECTED_SUM = (
    _SLOT[n] for n in ("runs", "attempts_reported", "scored_runs", "selected_score_sum")
)
_REASON_SLOT = {reason: _SLOT[reason] for reason in REASONS}
_ATTEMPTS, _GREEN, _YELLOW, _RED, _ACCEPTABLE, _SCORE_SUM = (
    _SLOT[n] for n in ("attempts", "green", "yellow", "red", "acceptable", "score_sum")
)
_BUCKET_SLOT = {"GREEN": _GREEN, "YELLOW": _YELLOW, "RED": _RED}


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


class Tally:
    """Changes to the aggregates of one write, keyed by ``(day, *KEY_FIELDS)``."""

    def __init__(self) -> None:
        self.rows: dict[tuple, list] = {}

    def __bool__(self) -> bool:
        return bool(self.rows)

    def _row(self, key: tuple) -> list:
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = [0] * len(ADDITIVE) + [None]
        return row

    def run(self, run: Mapping[str, Any], sign: int = 1) -> None:
        """A run, as the values ailog stores (``timestamp``, context, profile, outcome)."""
        row = self._row(
            (
                day_of(run["timestamp"]),
                run["tool_id"],
                run["material_id"],
                run["machine_id"],
                run["geometry_engine"],
                run["workflow_mode"],
                run["profile_name"],
                run["profile_version"] or 0,
            )
        )
        row[_RUNS] += sign
        row[_REASON_SLOT[run["reason"]]] += sign
        row[_ATTEMPTS_REPORTED] += sign * run["attempts"]
        if run["selected_score"] is not None:
            row[_SCORED] += sign
            row[_SELECTED_SUM] += sign * run["selected_score"]
        if sign > 0 and (row[_LAST] is None or run["timestamp"] > row[_LAST]):
            row[_LAST] = run["timestamp"]

    def attempts(self, key: tuple, *, buckets: Iterable[str], acceptable: int, score_sum: float, sign: int = 1) -> None:
        """Attempts that share ``key`` = ``(day, *KEY_FIELDS)``; ``buckets`` has one entry per attempt."""
        row = self._row(key)
        count = 0
        for bucket in buckets:
            row[_BUCKET_SLOT[bucket]] += sign
            count += 1
        row[_ATTEMPTS] += sign * count
        row[_ACCEPTABLE] += sign * acceptable
        row[_SCORE_SUM] += sign * score_sum

    def attempt(self, attempt: Mapping[str, Any] | Any, sign: int = 1) -> None:
        """One attempt, as a mapping of ailog's attempt fields."""
        key = (
            day_of(attempt["timestamp"]),
            attempt["tool_id"],
            attempt["material_id"],
            attempt["machine_id"],
            attempt["geometry_engine"],
            attempt["workflow_mode"],
            attempt["profile_name"],
            attempt["profile_version"] or 0,
        )
        self.attempts(
            key,
            buckets=(attempt["risk_bucket"],),
            acceptable=int(attempt["is_acceptable"]),
            score_sum=attempt["score"],
            sign=sign,
        )

    def add_counts(self, key: tuple, counts: Counts, sign: int = 1) -> None:
        row = self._row(key)
        for name, slot in _SLOT.items():
            row[slot] += sign * getattr(counts, name)
        if sign > 0 and counts.last_run_at is not None and (row[_LAST] is None or counts.last_run_at > row[_LAST]):
            row[_LAST] = counts.last_run_at

    def apply(self) -> None:
        """Write the changes: day rows, then all-time rows, in key order; drop rows left empty."""
        if not self.rows:
            return
        totals: dict[tuple, list] = {}
        shrinking = False
        for key, row in self.rows.items():
            total = totals.get(key[1:])
            if total is None:
                totals[key[1:]] = list(row)
            else:
                for slot in range(_LAST):
                    total[slot] += row[slot]
                if row[_LAST] is not None and (total[_LAST] is None or row[_LAST] > total[_LAST]):
                    total[_LAST] = row[_LAST]
            shrinking = shrinking or any(value < 0 for value in row[:_LAST])
        _upsert(ContextDay, ("day", *KEY_FIELDS), sorted(self.rows.items()))
        _upsert(ContextTotal, KEY_FIELDS, sorted(totals.items()))
        if shrinking:
            days = sorted({key[0] for key in self.rows})
            for model, extra in ((ContextDay, Q(day__in=days)), (ContextTotal, Q())):
                model.objects.filter(extra, runs=0, attempts=0).delete()
                model.objects.filter(extra, runs=0, last_run_at__isnull=False).update(last_run_at=None)
        self.rows = {}


def _upsert(model, key_fields: tuple[str, ...], items: list[tuple[tuple, list]]) -> None:
    """Add ``items`` (key, tally row) to ``model``'s rows, creating the missing ones."""
    if not items:
        return
    sqlite = connection.vendor == "sqlite"
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = (*key_fields, *ADDITIVE, "last_run_at")
    column_list = ", ".join(quote(c) for c in columns)
    last = quote("last_run_at")
    updates = [f"{quote(name)} = {table}.{quote(name)} + excluded.{quote(name)}" for name in ADDITIVE]
    updates.append(
        f"{last} = CASE WHEN excluded.{last} IS NULL THEN {table}.{last} "
        f"WHEN {table}.{last} IS NULL OR excluded.{last} > {table}.{last} THEN excluded.{last} ELSE {table}.{last} END"
    )
    conflict = f"ON CONFLICT ({', '.join(quote(c) for c in key_fields)}) DO UPDATE SET {', '.join(updates)}"
    with connection.cursor() as cursor:
        if sqlite:
            params = []
            for key, row in items:
                values = list(key) + row
                if key_fields[0] == "day":
                    values[0] = values[0].isoformat()
                if row[_LAST] is not None:
                    values[-1] = row[_LAST].astimezone(UTC).replace(tzinfo=None).isoformat(" ")
                params.append(values)
            # SQLite runs in this process: one prepared statement per row costs microseconds.
            cursor.executemany(
                f"INSERT INTO {table} ({column_list}) VALUES ({', '.join(['%s'] * len(columns))}) {conflict}", params
            )
            return
        # PostgreSQL: one statement per row would be a round trip per row; COPY the rows into a
        # temporary table and upsert them all at once (keys are unique within a tally).
        staging = f"analytics_incoming_{model._meta.model_name}"
        cursor.execute(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS SELECT {column_list} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY {staging} ({column_list}) FROM STDIN") as copy:
            for key, row in items:
                copy.write_row((*key, *row))
        order = ", ".join(quote(c) for c in key_fields)
        cursor.execute(
            f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM {staging} ORDER BY {order} {conflict}"
        )
        cursor.execute(f"DROP TABLE {staging}")


# -- counting from the log itself ----------------------------------------------------------------

_GROUP_EXPRESSIONS = {
    "day": TruncDate("timestamp", tzinfo=UTC),
    "profile_version": Coalesce("profile_version", 0),
}


def _grouped(queryset, group: tuple[str, ...]):
    """``queryset.values(*group)`` where ``day`` and ``profile_version`` are computed as the aggregates key them."""
    aliases = {name: f"g_{name}" for name in group}
    annotations = {aliases[name]: _GROUP_EXPRESSIONS.get(name, F(name)) for name in group}
    return queryset.annotate(**annotations).values(*aliases.values()), aliases


def counts_from_log(*, runs, attempts, group: tuple[str, ...]) -> dict[tuple, Counts]:
    """Counts per ``group`` computed from the log's rows (querysets of runs and of attempts)."""
    out: dict[tuple, Counts] = {}
    if runs is not None:
        values, aliases = _grouped(runs, group)
        rows = values.annotate(
            runs=Count("id"),
            **{reason: Count("id", filter=Q(reason=reason)) for reason in REASONS},
            attempts_reported=Sum("attempts"),
            scored_runs=Count("selected_score"),
            selected_score_sum=Sum("selected_score"),
            last_run_at=Max("timestamp"),
        ).order_by()
        for row in rows:
            key = tuple(row[aliases[name]] for name in group)
            out.setdefault(key, Counts()).add(row)
    if attempts is not None:
        values, aliases = _grouped(attempts, group)
        rows = values.annotate(
            attempts=Count("id"),
            green=Count("id", filter=Q(risk_bucket="GREEN")),
            yellow=Count("id", filter=Q(risk_bucket="YELLOW")),
            red=Count("id", filter=Q(risk_bucket="RED")),
            acceptable=Count("id", filter=Q(is_acceptable=True)),
            score_sum=Sum("score"),
        ).order_by()
        for row in rows:
            key = tuple(row[aliases[name]] for name in group)
            out.setdefault(key, Counts()).add(row)
    return out


DAY_KEY = ("day", *KEY_FIELDS)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def aggregates_forget(*, start: datetime, end: datetime) -> None:
    """Take out of the aggregates the log rows with ``start <= timestamp < end`` (before a prune deletes them)."""
    window = Q(timestamp__gte=start, timestamp__lt=end)
    counts = counts_from_log(
        runs=AiRun.objects.filter(window), attempts=AiAttempt.objects.filter(window), group=DAY_KEY
    )
    tally = Tally()
    for key, value in counts.items():
        tally.add_counts(key, value, sign=-1)
    tally.apply()


# -- rebuild and check -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    table: str
    key: tuple
    field: str
    stored: Any
    expected: Any

    def __str__(self) -> str:
        named = ", ".join(
            f"{name}={value}"
            for name, value in zip(("day", *KEY_FIELDS) if self.table == "day" else KEY_FIELDS, self.key)
        )
        return f"{self.table} [{named}] {self.field}: stored {self.stored!r}, expected {self.expected!r}"


def _differences(table: str, key: tuple, stored: Counts | None, expected: Counts | None) -> list[Mismatch]:
    stored = stored or Counts()
    expected = expected or Counts()
    out = []
    for name in (*ADDITIVE, "last_run_at"):
        a, b = getattr(stored, name), getattr(expected, name)
        if isinstance(a, float) or isinstance(b, float):
            same = math.isclose(a or 0.0, b or 0.0, rel_tol=1e-9, abs_tol=1e-6)
        else:
            same = a == b
        if not same:
            out.append(Mismatch(table, key, name, a, b))
    return out


def _stored(model, queryset_filter: Q, key_fields: tuple[str, ...]) -> dict[tuple, Counts]:
    out = {}
    for row in model.objects.filter(queryset_filter).values(*key_fields, *ADDITIVE, "last_run_at"):
        out[tuple(row[name] for name in key_fields)] = Counts().add(row)
    return out


def _days_with_data():
    """Each UTC day that has log rows or day aggregates, ascending: one index seek per day found."""
    from django.db.models import Min

    day = None
    while True:
        after = {} if day is None else {"timestamp__gte": _midnight(day + timedelta(days=1))}
        found = [
            moment.astimezone(UTC).date()
            for moment in (
                AiRun.objects.filter(**after).aggregate(m=Min("timestamp"))["m"],
                AiAttempt.objects.filter(**after).aggregate(m=Min("timestamp"))["m"],
            )
            if moment is not None
        ]
        stored = ContextDay.objects.filter(**({} if day is None else {"day__gt": day})).aggregate(m=Min("day"))["m"]
        if stored is not None:
            found.append(stored)
        if not found:
            return
        day = min(found)
        yield day


def aggregates_hold_writers() -> None:
    """Until this transaction ends, let nobody else write runs or attempts (reads go on).

    For a transaction that reads the log and then replaces aggregates computed from it (a prune
    day, a rebuild day, the rebuilt totals): two statements or more. Under PostgreSQL's READ
    COMMITTED an ingestion committed between them would be lost from the aggregates or counted
    twice (seen: 1,185 wrong aggregate values after pruning while 6 clients posted into the
    pruned days). Ingestion writes its rows and its aggregate changes in one transaction, so it
    now waits for this one, or this one for it. SQLite has one writer at a time already
    (transactions begin IMMEDIATE)."""
    if connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in (AiRun, AiAttempt))
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")


def aggregates_rebuild(*, check_only: bool, progress: Callable[[int, int], None] | None = None) -> list[Mismatch]:
    """Recompute the aggregates from the log, day by day; return what differed.

    With ``check_only`` nothing is written. Otherwise each day's rows are replaced in a
    transaction of their own, then the all-time rows are recomputed from the day rows in one
    transaction; ingestion waits while one of them is open (:func:`aggregates_hold_writers`)
    and goes on between them.
    """
    mismatches: list[Mismatch] = []
    expected_totals: dict[tuple, Counts] = {}
    days = list(_days_with_data())
    for done, day in enumerate(days, start=1):
        window = Q(timestamp__gte=_midnight(day), timestamp__lt=_midnight(day + timedelta(days=1)))
        with transaction.atomic():
            if not check_only:
                aggregates_hold_writers()
            expected = counts_from_log(
                runs=AiRun.objects.filter(window), attempts=AiAttempt.objects.filter(window), group=DAY_KEY
            )
            stored = _stored(ContextDay, Q(day=day), DAY_KEY)
            for key in sorted(set(expected) | set(stored), key=str):
                mismatches.extend(_differences("day", key, stored.get(key), expected.get(key)))
            if not check_only:
                ContextDay.objects.filter(day=day).delete()
                tally = Tally()
                for key, counts in expected.items():
                    tally.add_counts(key, counts)
                _upsert(ContextDay, DAY_KEY, sorted(tally.rows.items()))
        for key, counts in expected.items():
            expected_totals.setdefault(key[1:], Counts()).add(counts)
        if progress is not None:
            progress(done, len(days))
    if check_only:
        stored_totals = _stored(ContextTotal, Q(), KEY_FIELDS)
        for key in sorted(set(expected_totals) | set(stored_totals), key=str):
            mismatches.extend(_differences("total", key, stored_totals.get(key), expected_totals.get(key)))
        return mismatches
    with transaction.atomic():
        aggregates_hold_writers()
        stored_totals = _stored(ContextTotal, Q(), KEY_FIELDS)
        rebuilt = {
            tuple(row[name] for name in KEY_FIELDS): Counts().add(row)
            for row in ContextDay.objects.values(*KEY_FIELDS)
            .annotate(**{n: Sum(n) for n in ADDITIVE}, last_run_at=Max("last_run_at"))
            .order_by()
        }
        for key in sorted(set(rebuilt) | set(stored_totals), key=str):
            mismatches.extend(_differences("total", key, stored_totals.get(key), rebuilt.get(key)))
        ContextTotal.objects.all().delete()
        tally_rows = []
        for key, counts in sorted(rebuilt.items(), key=lambda item: str(item[0])):
            row = [getattr(counts, name) for name in ADDITIVE] + [counts.last_run_at]
            tally_rows.append((key, row))
        _upsert(ContextTotal, KEY_FIELDS, tally_rows)
    return mismatches
