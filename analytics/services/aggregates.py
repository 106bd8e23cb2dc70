"""Writes to the analytics aggregates: they follow the log's writes, and can be rebuilt from it.

Every write to the log sends its change in counts (an :class:`ailog.counts.Tally`, through
:data:`ailog.signals.log_changed`, connected in :mod:`analytics.apps`) inside its transaction;
:func:`aggregates_apply` adds it with one upsert per table::

    INSERT INTO t (key…, runs, …) VALUES (…)
    ON CONFLICT (key…) DO UPDATE SET runs = t.runs + excluded.runs, …

which SQLite (3.24+) and PostgreSQL both run atomically per row, so concurrent writers add up.
Rows are applied in key order, so two writers lock them in the same order. Subtractions (prune,
an attempt moving to its run's profile) are negative deltas; rows left at zero are deleted.
``rebuild_aggregates`` recomputes them from the log (:func:`aggregates_rebuild`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Min, Q, Sum

from ailog import selectors as log_selectors
from ailog import services as log_services
from ailog.counts import ADDITIVE, DAY_KEY, KEY_FIELDS, LAST, Tally
from analytics.metrics import Counts
from analytics.models import ContextDay, ContextTotal

_RUNS = ADDITIVE.index("runs")


def aggregates_apply(*, change: Tally, **signal) -> None:
    """Add a write's change in counts (``ailog.signals.log_changed``) to the day rows, then the
    all-time rows, in key order; drop rows left empty. Runs in the write's transaction."""
    if not change.rows:
        return
    totals: dict[tuple, list] = {}
    shrinking = False
    for key, row in change.rows.items():
        total = totals.get(key[1:])
        if total is None:
            totals[key[1:]] = list(row)
        else:
            for slot in range(LAST):
                total[slot] += row[slot]
            if row[LAST] is not None and (total[LAST] is None or row[LAST] > total[LAST]):
                total[LAST] = row[LAST]
        shrinking = shrinking or any(value < 0 for value in row[:LAST])
    _upsert(ContextDay, ("day", *KEY_FIELDS), sorted(change.rows.items()))
    _upsert(ContextTotal, KEY_FIELDS, sorted(totals.items()))
    left = [key for key, row in change.rows.items() if row[_RUNS] < 0]
    if left:
        _latest_again(left)
    if shrinking:
        days = sorted({key[0] for key in change.rows})
        for model, extra in ((ContextDay, Q(day__in=days)), (ContextTotal, Q())):
            model.objects.filter(extra, runs=0, attempts=0).delete()
            model.objects.filter(extra, runs=0, last_run_at__isnull=False).update(last_run_at=None)


def _latest_again(keys: list[tuple]) -> None:
    """Runs left these keys (a prune, a run moved to another version): their latest run may have
    been one of them, so it is read again from the log (one query per day) and the day rows'."""
    for day in sorted({key[0] for key in keys}):
        latest = log_selectors.runs_latest(day=day)
        for key in sorted(key for key in keys if key[0] == day):
            ContextDay.objects.filter(day=day, **dict(zip(KEY_FIELDS, key[1:]))).update(last_run_at=latest.get(key))
    for total in sorted({key[1:] for key in keys}):
        where = dict(zip(KEY_FIELDS, total))
        newest = ContextDay.objects.filter(**where).aggregate(m=Max("last_run_at"))["m"]
        ContextTotal.objects.filter(**where).update(last_run_at=newest)


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
                if row[LAST] is not None:
                    values[-1] = row[LAST].astimezone(UTC).replace(tzinfo=None).isoformat(" ")
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


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


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
    day = None
    while True:
        found = [log_selectors.log_next_day(after=day)]
        found.append(
            ContextDay.objects.filter(**({} if day is None else {"day__gt": day})).aggregate(m=Min("day"))["m"]
        )
        found = [d for d in found if d is not None]
        if not found:
            return
        day = min(found)
        yield day


def aggregates_rebuild(*, check_only: bool, progress: Callable[[int, int], None] | None = None) -> list[Mismatch]:
    """Recompute the aggregates from the log, day by day; return what differed.

    With ``check_only`` nothing is written. Otherwise each day's rows are replaced in a
    transaction of their own, then the all-time rows are recomputed from the day rows in one
    transaction; ingestion waits while one of them is open (:func:`ailog.services.log_hold_writers`)
    and goes on between them.
    """
    mismatches: list[Mismatch] = []
    expected_totals: dict[tuple, Counts] = {}
    days = list(_days_with_data())
    for done, day in enumerate(days, start=1):
        with transaction.atomic():
            if not check_only:
                log_services.log_hold_writers()
            runs, attempts = log_selectors.log_between(start=_midnight(day), end=_midnight(day + timedelta(days=1)))
            expected = {
                key: Counts().add(counts)
                for key, counts in log_selectors.log_counts(runs=runs, attempts=attempts, group=DAY_KEY).items()
            }
            stored = _stored(ContextDay, Q(day=day), DAY_KEY)
            for key in sorted(set(expected) | set(stored), key=str):
                mismatches.extend(_differences("day", key, stored.get(key), expected.get(key)))
            if not check_only:
                ContextDay.objects.filter(day=day).delete()
                tally = Tally()
                for key, counts in expected.items():
                    tally.add_counts(key, counts.as_dict())
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
        log_services.log_hold_writers()
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
