"""Raw inserts of runs and attempts, straight to the driver.

Runs go through one multi-row INSERT … ON CONFLICT DO NOTHING RETURNING, so the database says
which were new. Attempts are the volume (up to 50,000 a request): they skip the ORM and go
straight to the driver - executemany on SQLite, COPY on PostgreSQL - because model instances and
per-field adaptation would cost more than the insert itself. That is safe here: attempts are not
history-tracked (no signals to miss) and every value was checked before."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from operator import itemgetter
from typing import Any

import msgspec
from django.db import IntegrityError, connection, transaction

from ailog.models import AiAttempt, AiRun, AiRunKey
from ailog.records import (
    A_CANDIDATE,
    A_INDEX,
    A_RUN,
    A_TOOL,
    A_TS,
    A_WARNINGS,
    ATTEMPT_FIELDS,
    CONTEXT_KEYS,
    RUN_FIELDS,
    Attempt,
    NestedAttempt,
    Run,
)

RUN_COLUMNS = RUN_FIELDS + ("recorded_at", "source")
#: What a run row stores beyond RUN_COLUMNS (the internal key, never compared on a retry).
RUN_INSERT_COLUMNS = RUN_COLUMNS + ("run_key",)
#: The attempt columns an insert writes: the checked values, then the run's internal key.
ATTEMPT_INSERT_COLUMNS = ATTEMPT_FIELDS + ("run_key",)
UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE
_RUN_JSON = {"selected_candidate", "warnings"}
_RUN_DATETIMES = {"timestamp", "started_at", "recorded_at"}
_encode = msgspec.json.Encoder().encode  # compiled: 1.15 µs a candidate, where json's took 7.1 (issue 19)


def _json(value: Any) -> str:
    """Compact JSON text of a checked value (finite numbers only: the checks refused the others)."""
    return _encode(value).decode()


def run_keys_allocate(
    summaries: set[uuid.UUID], orphans: set[uuid.UUID]
) -> tuple[dict[uuid.UUID, int], set[uuid.UUID]]:
    """The internal key of each run a batch touches, and the runs given a new key now (which
    can have no attempts stored yet).

    ``summaries``: runs whose summary is in the batch; ``orphans``: runs only attempts of which
    are. A stored run has its key in its row; a run whose attempts came first has it in AiRunKey.
    A run seen for the first time takes the next number of one sequence (AiRunKey's ids), so
    keys follow arrival order. Only a run whose attempts arrive before its summary gets an
    AiRunKey row: its random ``run_id`` index costs a page a run, which runs posted with their
    summary (the common case) do not pay.

    The runs table is not read for ``summaries``: that would visit the random pages of its
    run_id key twice. A summary's key is therefore a candidate: when the run turns out to be
    stored already, its insert does nothing and _Writer._insert_runs takes the stored key. So
    two writers of one new run may both issue a key (PostgreSQL); the run_id key keeps one.
    PostgreSQL: a batch with orphans holds ingestion's gate exclusively (store.py), so no other
    writer issues a key for an orphan meanwhile. SQLite: the transaction holds the write lock.
    """
    keys: dict[uuid.UUID, int] = {}
    for part in _parts(sorted(orphans)):
        keys.update(AiRun.objects.filter(run_id__in=part).values_list("run_id", "run_key"))
    missing = sorted((summaries | orphans) - keys.keys())
    for part in _parts(missing):
        keys.update(_run_key_rows(part))
    new = [run_id for run_id in missing if run_id not in keys]  # in run id order: one lock order
    if not new:
        return keys, set()
    issued = dict(zip(new, _next_keys(len(new))))
    keys.update(issued)
    first_seen = [(issued[run_id], run_id) for run_id in new if run_id in orphans]
    if first_seen:
        table = connection.ops.quote_name(AiRunKey._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} (id, run_id) VALUES (%s, %s)",
                [(key, run_id.hex if connection.vendor == "sqlite" else run_id) for key, run_id in first_seen],
            )
    return keys, set(new)


def _run_key_rows(run_ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, int]]:
    """(run_id, key) of the AiRunKey rows of ``run_ids``. PostgreSQL takes the ids as one array
    parameter: an IN list of a thousand parameters cost more to parse and plan than to run."""
    if connection.vendor != "postgresql":
        return list(AiRunKey.objects.filter(run_id__in=run_ids).values_list("run_id", "id"))
    table = connection.ops.quote_name(AiRunKey._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT run_id, id FROM {table} WHERE run_id = ANY(%s::uuid[])", [run_ids])
        return cursor.fetchall()


def _parts(items: list, size: int = 10_000):
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]


def _next_keys(count: int) -> list[int]:
    """``count`` new keys, in increasing order: the next values of AiRunKey's id sequence, which
    never goes back (a key issued once, even to a run since pruned, is never issued again)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence's name is looked up once, not once per key (the lookup is no cheaper
            # than nextval itself).
            cursor.execute(
                "SELECT nextval(sequence) FROM (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS sequence) named,"
                " generate_series(1, %s) ORDER BY 1",
                [AiRunKey._meta.db_table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: AiRunKey's AUTOINCREMENT counter (sqlite_sequence) is the sequence; this
        # transaction holds the write lock. The keys stored are looked at too, for a database
        # whose counter is behind them (keys written before this scheme, by the migrations).
        cursor.execute(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'ailog_airunkey'), 0),"
            " coalesce((SELECT max(run_key) FROM ailog_airun), 0),"
            " coalesce((SELECT max(run_key) FROM ailog_aiattempt), 0))"
        )
        last = cursor.fetchone()[0]
        cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = 'ailog_airunkey'", [last + count])
        if cursor.rowcount == 0:
            cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('ailog_airunkey', %s)", [last + count])
        return list(range(last + 1, last + 1 + count))


def run_row(run: Run, *, sqlite: bool, recorded_at: datetime, source: str, key: int) -> tuple:
    """The row of a checked run as the driver takes it (RUN_INSERT_COLUMNS)."""
    to_db = _sqlite_datetime if sqlite else _as_is
    row = list(_run_values(run.values))
    # The run id as text COPY takes too: psycopg's UUID adapter is Python code, its str one is not.
    row[_RUN_ID_AT] = row[_RUN_ID_AT].hex if sqlite else str(row[_RUN_ID_AT])
    for at in _RUN_DATETIMES_AT:
        row[at] = to_db(row[at])
    for at in _RUN_JSON_AT:
        value = row[at]
        row[at] = None if value is None else _json(value)
    row += (to_db(recorded_at), source, key)
    return tuple(row)


_run_values = itemgetter(*RUN_FIELDS)
_RUN_ID_AT = RUN_FIELDS.index("run_id")
_RUN_DATETIMES_AT = tuple(at for at, name in enumerate(RUN_FIELDS) if name in _RUN_DATETIMES)
_RUN_JSON_AT = tuple(at for at, name in enumerate(RUN_FIELDS) if name in _RUN_JSON)


def _sqlite_datetime(moment: datetime | None) -> str | None:
    """What Django's SQLite backend stores: naive UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]"."""
    return None if moment is None else moment.replace(tzinfo=None).isoformat(" ")


def _as_is(value: Any) -> Any:
    return value


def insert_run_rows(
    runs: list[Run], *, recorded_at: datetime, source: str, keys: dict[uuid.UUID, int]
) -> set[uuid.UUID]:
    """Insert the runs whose run_id is new (``keys``: their internal keys); return those run ids."""
    sqlite = connection.vendor == "sqlite"
    table = connection.ops.quote_name(AiRun._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in RUN_INSERT_COLUMNS)
    with connection.cursor() as cursor:
        if sqlite:
            # This transaction began IMMEDIATE, so it holds SQLite's write lock: the rows with a
            # larger id than the largest before the insert are the ones it made.
            cursor.execute(f"SELECT max(id) FROM {table}")
            last = cursor.fetchone()[0] or 0
            rows = [
                run_row(run, sqlite=True, recorded_at=recorded_at, source=source, key=keys[run.run_id]) for run in runs
            ]
            placeholders = ", ".join(["%s"] * len(RUN_INSERT_COLUMNS))
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT (run_id) DO NOTHING", rows
            )
            if cursor.rowcount == len(runs):  # the common case: every run is new
                return {run.run_id for run in runs}
            ids = [run.run_id for run in runs]
            return set(AiRun.objects.filter(run_id__in=ids, id__gt=last).values_list("run_id", flat=True))
        # PostgreSQL: concurrent writers are real, so the unique key decides. First the common
        # case, every run new: COPY straight into the table, under a savepoint. A run stored
        # already (a retry, or a racing writer that committed it first) fails the COPY; then the
        # rows go by COPY to a temporary table (a multi-row VALUES of 30,000 parameters costs
        # more to build than to run) and one INSERT … ON CONFLICT DO NOTHING reports which were new.
        rows = [
            run_row(run, sqlite=False, recorded_at=recorded_at, source=source, key=keys[run.run_id]) for run in runs
        ]
        try:
            with (
                transaction.atomic(),
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return {run.run_id for run in runs}
        except IntegrityError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != UNIQUE_VIOLATION:
                raise
        cursor.execute(
            f"CREATE TEMPORARY TABLE ailog_incoming_runs ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA"
        )
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy(f"COPY ailog_incoming_runs ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM ailog_incoming_runs ORDER BY run_id "
            f"ON CONFLICT (run_id) DO NOTHING RETURNING run_id"
        )
        created = {row[0] for row in cursor.fetchall()}
        cursor.execute("DROP TABLE ailog_incoming_runs")
        return created


class AttemptRows:
    """Attempts to insert, kept as the driver's row tuples from the start (one tuple per attempt)."""

    def __init__(self, keys: dict[uuid.UUID, int] | None = None) -> None:
        self.sqlite = connection.vendor == "sqlite"
        self.rows: list[tuple] = []
        self.keys = keys if keys is not None else {}  # each run's internal key (run_keys_allocate)

    def __len__(self) -> int:
        return len(self.rows)

    def add_nested(self, run: Mapping[str, Any], attempts: list[NestedAttempt]) -> None:
        dumps = _json
        run_id = run["run_id"].hex if self.sqlite else str(run["run_id"])  # str: see run_row
        tool, material, machine, mode, engine = (run[key] for key in CONTEXT_KEYS)
        profile, version = run["profile_name"], run["profile_version"]
        key = self.keys.get(run["run_id"])
        append = self.rows.append
        if self.sqlite:
            for index, ts, score, bucket, acceptable, rings, width, candidate, warnings in attempts:
                append(
                    (run_id, index, ts.replace(tzinfo=None).isoformat(" "), tool, material, machine, mode, engine, profile, version,
                     score, bucket, acceptable, rings, width, None if candidate is None else dumps(candidate),
                     dumps(warnings) if warnings else "[]", key)
                )  # fmt: skip
        else:
            for index, ts, score, bucket, acceptable, rings, width, candidate, warnings in attempts:
                append(
                    (run_id, index, ts, tool, material, machine, mode, engine, profile, version, score, bucket, acceptable,
                     rings, width, None if candidate is None else dumps(candidate), dumps(warnings) if warnings else "[]", key)
                )  # fmt: skip

    def add(self, a: Attempt) -> None:
        self.rows.append(
            (
                a[A_RUN].hex if self.sqlite else str(a[A_RUN]),
                a[A_INDEX],
                a[A_TS].replace(tzinfo=None).isoformat(" ") if self.sqlite else a[A_TS],
                *a[A_TOOL:A_CANDIDATE],
                None if a[A_CANDIDATE] is None else _json(a[A_CANDIDATE]),
                _json(a[A_WARNINGS]) if a[A_WARNINGS] else "[]",
                self.keys.get(a[A_RUN]),
            )
        )

    def insert(self) -> None:
        if not self.rows:
            return
        table = connection.ops.quote_name(AiAttempt._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(name) for name in ATTEMPT_INSERT_COLUMNS)
        with connection.cursor() as cursor:
            if self.sqlite:
                placeholders = ", ".join(["%s"] * len(ATTEMPT_INSERT_COLUMNS))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", self.rows)
            else:
                # The driver's own cursor: wrap its errors as Django's (a unique key taken by a
                # racing writer must be an IntegrityError, which store_batch retries).
                with (
                    connection.wrap_database_errors,
                    cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
                ):
                    for row in self.rows:
                        copy.write_row(row)
