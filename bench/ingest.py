"""Ingestion benchmarks: runs_ingest in process and over HTTP, against raw inserts measured in the same run."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Min

from ailog import services
from ailog.models import AiAttempt, AiRun
from ailog.records import ATTEMPT_FIELDS
from ailog.records.fast import fast_runs
from ailog.services.rows import ATTEMPT_INSERT_COLUMNS, RUN_INSERT_COLUMNS, run_row
from ailog.services.versions import resolve_profiles
from bench.core import Bench, Row, register
from bench.dataset import RUNS_PER_BATCH, Traffic
from rmos_site.roles import api_account_ensure


def _raw_rows(batches: list[list[dict[str, Any]]], *, new_ids: bool = False, sqlite: bool = True) -> list[tuple]:
    """The attempts of ``batches`` as the plain tuples a raw insert takes (built before timing);
    ``new_ids``: under run ids of their own (so that the same rows can be stored again)."""
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    rows = []
    for batch in batches:
        for run in batch:
            run_id = uuid.uuid4() if new_ids else uuid.UUID(run["run_id"])
            run_id = run_id.hex if sqlite else str(run_id)
            for a in run["attempt_records"]:
                candidate = a.get("candidate")
                ts = a["timestamp"].replace("T", " ").rstrip("Z") if sqlite else a["timestamp"]
                rows.append(
                    (
                        run_id, a["attempt_index"], ts, run["tool_id"], run["material_id"],
                        run["machine_id"], run["workflow_mode"], run["geometry_engine"], run.get("profile", ""), run.get("profile_version"),
                        float(a["score"]), a["risk_bucket"], a["is_acceptable"], a.get("ring_count"), a.get("total_width_mm"),
                        None if candidate is None else dumps(candidate), "[]",
                    )
                )  # fmt: skip
    return rows


def _app_pragmas() -> list[str]:
    """The pragmas the product's SQLite connections run, so the raw baseline is configured alike."""
    from rmos_site.env import sqlite_settings

    command = sqlite_settings(Path(tempfile.gettempdir()) / "unused.sqlite3")["OPTIONS"]["init_command"]
    return [pragma for pragma in command.split(";") if pragma.strip()]


#: Index sets of the raw baselines: none (the target's "plain table"), only what idempotency and
#: "newest first" need (a floor for any design), and the attempts table's real indexes.
RAW_INDEXES = {"plain": 0, "minimal": 2, "ours": len(AiAttempt._meta.indexes) + 1}


def _raw_sqlite_rate(rows: list[tuple], batch_sizes: list[int], *, indexes: str, directory: Path) -> float:
    """Rows per second of sqlite3.executemany into a fresh table with the attempt columns.

    ``indexes`` names a set of :data:`RAW_INDEXES`: the unique (run_id, attempt_index) key comes
    first, then the attempts table's indexes in their declared order ((timestamp, id) first).
    """
    path = directory / f"raw-{indexes}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in _app_pragmas():
            db.execute(pragma)
        columns = ", ".join(ATTEMPT_FIELDS)
        db.execute(
            "CREATE TABLE attempt (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id CHAR(32) NOT NULL, attempt_index INTEGER NOT NULL, "
            "timestamp DATETIME NOT NULL, tool_id VARCHAR(128) NOT NULL, material_id VARCHAR(128) NOT NULL, "
            "machine_id VARCHAR(128) NOT NULL, workflow_mode VARCHAR(32) NOT NULL, geometry_engine VARCHAR(64) NOT NULL, "
            "profile_name VARCHAR(64) NOT NULL, profile_version INTEGER NULL, score REAL NOT NULL, risk_bucket VARCHAR(8) NOT NULL, "
            "is_acceptable BOOL NOT NULL, ring_count SMALLINT NULL, total_width_mm REAL NULL, candidate TEXT NULL, warnings TEXT NOT NULL)"
        )
        statements = ["CREATE UNIQUE INDEX attempt_run ON attempt (run_id, attempt_index)"] + [
            f"CREATE INDEX attempt_{n} ON attempt ({', '.join(index.fields)})"
            for n, index in enumerate(AiAttempt._meta.indexes)
        ]
        for statement in statements[: RAW_INDEXES[indexes]]:
            db.execute(statement)
        sql = f"INSERT INTO attempt ({columns}) VALUES ({', '.join('?' * len(ATTEMPT_FIELDS))})"
        start = time.perf_counter()
        offset = 0
        for size in batch_sizes:
            db.execute("BEGIN")
            db.executemany(sql, rows[offset : offset + size])
            db.execute("COMMIT")
            offset += size
        return len(rows) / (time.perf_counter() - start)
    finally:
        db.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _raw_same_table_rate(rows: list[tuple], batch_sizes: list[int]) -> float:
    """Rows per second of a raw insert into the attempts table itself (its indexes, its size),
    one transaction per batch as ingestion commits: executemany on SQLite, COPY on PostgreSQL,
    what ingestion's own insert does with the driver. Each run gets an internal key as ingestion
    gives one, in arrival order - negative here, so that they never meet ingestion's own keys."""
    keys: dict[str, int] = {}
    lowest = AiAttempt.objects.aggregate(low=Min("run_key"))["low"] or 0
    rows = [(*row, keys.setdefault(row[0], min(lowest, 0) - 1 - len(keys))) for row in rows]
    start = time.perf_counter()
    offset = 0
    for size in batch_sizes:
        part = rows[offset : offset + size]
        offset += size
        with transaction.atomic(), connection.cursor() as cursor:
            _raw_insert(cursor, AiAttempt, ATTEMPT_INSERT_COLUMNS, part)
    return len(rows) / (time.perf_counter() - start)


def _raw_insert(cursor, model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """``rows`` into ``model``'s table as ingestion writes with the driver: executemany on
    SQLite, COPY on PostgreSQL."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(name) for name in columns)
    if connection.vendor == "sqlite":
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})", rows)
        return
    with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _raw_runs_and_attempts_rate(batches: list[list[dict[str, Any]]], batch_sizes: list[int]) -> float:
    """Attempts per second of a raw insert of the batches' runs *and* attempts into the runs and
    attempts tables (every index, the unique random run_id of each run included), one transaction
    a batch: the database's share of ingestion alone, with no checks and no aggregates. The run
    rows are built by ingestion's own code (not timed), under run ids and keys of their own."""
    sqlite = connection.vendor == "sqlite"
    now = datetime.now(tz=UTC)
    lowest = min(AiAttempt.objects.aggregate(low=Min("run_key"))["low"] or 0, 0)
    run_rows: list[list[tuple]] = []
    new_of: dict[str, tuple[Any, int]] = {}  # run id as in _raw_rows -> (new run id as stored, key)
    for batch in batches:
        checked = fast_runs(batch, now)
        assert checked is not None, "the benchmark's runs must pass the checks"
        resolve_profiles(checked)
        part = []
        for item, run in zip(batch, checked):
            original = uuid.UUID(item["run_id"])
            run.values["run_id"] = uuid.uuid4()
            key = lowest - 1 - len(new_of)
            row = run_row(run, sqlite=sqlite, recorded_at=now, source="api", key=key)
            new_of[original.hex if sqlite else str(original)] = (row[0], key)
            part.append(row)
        run_rows.append(part)
    attempt_rows = [(new_of[row[0]][0], *row[1:], new_of[row[0]][1]) for row in _raw_rows(batches, sqlite=sqlite)]
    start = time.perf_counter()
    offset = 0
    for part, size in zip(run_rows, batch_sizes):
        attempts = attempt_rows[offset : offset + size]
        offset += size
        with transaction.atomic(), connection.cursor() as cursor:
            _raw_insert(cursor, AiRun, RUN_INSERT_COLUMNS, part)
            _raw_insert(cursor, AiAttempt, ATTEMPT_INSERT_COLUMNS, attempts)
    return len(attempt_rows) / (time.perf_counter() - start)


def _ingest_rate(batches: list[tuple[str, list[dict[str, Any]]]], attempts: int) -> float:
    """Attempts per second of runs_ingest of ``batches`` (``attempts`` in all), one call a batch."""
    start = time.perf_counter()
    for source, batch in batches:
        services.runs_ingest(runs=batch, source=source)
    return attempts / (time.perf_counter() - start)


def _settle() -> None:
    """Write back what earlier steps left in the write-ahead log (not timed), so that no timed
    step pays for the one before it. SQLite checkpoints inside the commit that finds its log over
    1,000 pages, so without this the first step after the previous round's delete paid for it.
    The operating system's dirty pages go to disk too (os.sync), else the first step of a
    round paid for the SQLite files the plain-table baselines had just written.
    (Inside a transaction, as in the tests, there is nothing to write back yet.)"""
    if connection.in_atomic_block:
        return
    os.sync()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            try:
                with transaction.atomic():
                    cursor.execute("CHECKPOINT")
            except DatabaseError:  # CHECKPOINT needs a superuser (or pg_checkpoint on PostgreSQL 15+)
                pass


def _raw_same_table_clear() -> None:
    """Delete what the raw baselines inserted (not timed), so the dataset stays the log it was."""
    AiAttempt.objects.filter(run_key__lt=0)._raw_delete(AiAttempt.objects.db)
    AiRun.objects.filter(run_key__lt=0)._raw_delete(AiRun.objects.db)


def _python_floor_rate(batches: list[list[dict[str, Any]]]) -> float:
    """Attempts per second of the least Python work any ingestion must do per attempt.

    Read the fields, parse the timestamp and format it for the database, encode the candidate
    as JSON and build the row tuple: no checks, no runs, no aggregates.
    """
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    parse = datetime.fromisoformat
    rows: list[tuple] = []
    append = rows.append
    start = time.perf_counter()
    for batch in batches:
        for run in batch:
            head = (run["run_id"], run["tool_id"], run["material_id"], run["machine_id"], run["workflow_mode"])
            for a in run["attempt_records"]:
                candidate = a.get("candidate")
                append(
                    (head, a["attempt_index"], parse(a["timestamp"]).replace(tzinfo=None).isoformat(" "), float(a["score"]),
                    a["risk_bucket"], a["is_acceptable"], a.get("ring_count"), a.get("total_width_mm"),
                    None if candidate is None else dumps(candidate))
                )  # fmt: skip
    return len(rows) / (time.perf_counter() - start)


def _fresh_batches(bench: Bench, runs: int) -> list[tuple[str, list[dict[str, Any]]]]:
    """New runs, timestamped on the dataset's last day.

    Their run ids are random: with ``--reuse`` the traffic generator starts again from its seed,
    so its own ids would be those of the dataset's first runs (and of an earlier benchmark's).
    """
    traffic: Traffic = bench.scratch["traffic"]
    start = traffic.end + timedelta(hours=bench.scratch.setdefault("fresh_hours", 0))
    bench.scratch["fresh_hours"] += 1
    batches = list(traffic.batches(runs, start=start, end=start + timedelta(minutes=59)))
    for _, batch in batches:
        for run in batch:
            run["run_id"] = str(uuid.uuid4())
    return batches


@register("ingest", order=10, help="in-process runs_ingest vs a raw insert of the same rows into the same table")
def ingest_inprocess(bench: Bench) -> list[Row]:
    # Six rounds: each of the three steps comes first, second and third twice (see below).
    rounds, runs_per_round = (1, 1000) if bench.quick else (6, 5000)
    ours, floor, same_table = 0.0, 0.0, 0.0
    ours_rounds: list[float] = []
    same_rounds: list[float] = []
    both_rounds: list[float] = []
    raw = dict.fromkeys(RAW_INDEXES, 0.0)
    # Beside the default database (var/), so the baselines write to the same storage as ours.
    (settings.BASE_DIR / "var").mkdir(exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="rmos-bench-", dir=settings.BASE_DIR / "var"))
    total_attempts = 0
    with bench.progress(rounds, "ingestion rounds") as bar:
        for round_ in range(rounds):
            batches = _fresh_batches(bench, runs_per_round)
            rows = _raw_rows([batch for _, batch in batches])
            sizes = [sum(len(r["attempt_records"]) for r in batch) for _, batch in batches]
            # Baselines and ours take turns, so a busy moment on the machine hits all of them.
            floor = max(floor, _python_floor_rate([batch for _, batch in batches]))
            for indexes in RAW_INDEXES:
                raw[indexes] = max(raw[indexes], _raw_sqlite_rate(rows, sizes, indexes=indexes, directory=directory))
            # A and B alternate: the same rows (under run ids of their own) raw into the same
            # table, the runs and attempts raw into the same tables, and runs_ingest of the batch;
            # the raw rows are deleted after each round. Each round starts with another of the
            # three, so no one of them is always the first after the previous round's delete.
            same_rows = _raw_rows([batch for _, batch in batches], new_ids=True, sqlite=connection.vendor == "sqlite")

            steps = [
                (same_rounds, partial(_raw_same_table_rate, same_rows, sizes)),
                (both_rounds, partial(_raw_runs_and_attempts_rate, [batch for _, batch in batches], sizes)),
                (ours_rounds, partial(_ingest_rate, batches, len(rows))),
            ]
            for into, step in steps[round_ % 3 :] + steps[: round_ % 3]:
                _settle()
                into.append(step())
            _raw_same_table_clear()
            ours, same_table = max(ours_rounds), max(same_rounds)
            total_attempts += len(rows)
            bar.update(1)
    directory.rmdir()
    bench.scratch["ingest_rate"] = ours
    note = (
        f"best of {rounds} rounds of {runs_per_round:,} runs ({total_attempts // rounds:,} attempts) in batches of "
        f"{RUNS_PER_BATCH:,}, into the {bench.dataset['attempts']:,}-attempt dataset; ours is runs_ingest end to end "
        "(checks, profile lookup, runs, attempts and everything else ingestion writes)"
    )
    floor_rate = 1 / (1 / floor + 1 / raw["minimal"])
    ratios = ", ".join(f"{a / b:.2f}" for a, b in zip(ours_rounds, same_rounds))
    ratios += f"; median {statistics.median(a / b for a, b in zip(ours_rounds, same_rounds)):.2f}"
    return [
        Row(
            "ingest: runs_ingest vs raw insert into the same table",
            ours,
            "attempts/s",
            target=">= 0.70x",
            met=ours >= 0.7 * same_table,
            baseline=same_table,
            baseline_label=f"raw {'executemany' if bench.vendor == 'sqlite' else 'COPY'} into the attempts table, same rows",
            notes=(
                f"{note}. The baseline inserts the same rows (run ids of their own) into the same table with the same "
                f"{RAW_INDEXES['ours']} indexes, one transaction a batch, alternating with ours round by round "
                f"(ratios per round: {ratios}); its rows are deleted after each round, and the write-ahead log is "
                "written back before each timed step (PRAGMA wal_checkpoint / CHECKPOINT, not timed) so no step pays "
                "for the one before it; each round starts with another of the three steps (ours, this baseline, the runs "
                "and attempts baseline)"
            ),
        ),
        Row(
            "ingest: runs_ingest vs raw insert of its runs and attempts into the same tables (information)",
            ours,
            "attempts/s",
            baseline=max(both_rounds),
            baseline_label=f"raw {'executemany' if bench.vendor == 'sqlite' else 'COPY'} of the runs and attempts, same tables",
            notes=(
                "the database's share alone: the same runs (ids of their own, with the runs table's unique random run_id "
                "and its indexes) and attempts, one transaction a batch, with no checks and no aggregates; the row above "
                "leaves the runs out. Ratios per round: "
                + ", ".join(f"{a / b:.2f}" for a, b in zip(ours_rounds, both_rounds))
                + f"; median {statistics.median(a / b for a, b in zip(ours_rounds, both_rounds)):.2f}"
            ),
        ),
        Row(
            "ingest: unchecked floor with its runs vs raw insert into the same table (information)",
            1 / (1 / floor + 1 / max(both_rounds)),
            "attempts/s",
            baseline=same_table,
            baseline_label="the target row's baseline",
            notes=(
                f"computed: the least Python work per attempt ({floor:,.0f} attempts/s alone, see the unchecked floor below) "
                "followed by the raw insert of the runs and attempts above. What a design with no checks, no profile lookup "
                "and no aggregates would reach against the target row's baseline: everything ingestion must do besides "
                "has to fit between this ratio and the target's 0.70x"
            ),
        ),
        Row(
            "ingest: runs_ingest vs raw insert into a plain table (information)",
            ours,
            "attempts/s",
            baseline=raw["plain"],
            baseline_label="raw sqlite3.executemany into a plain SQLite table",
            notes=(
                "for information only (the AI-log issue's baseline, replaced by the row above): a new SQLite table with "
                "no index at all, which no design that pages the log can have"
            ),
        ),
        Row(
            "ingest: runs_ingest vs raw insert into an empty table with our indexes (information)",
            ours,
            "attempts/s",
            baseline=raw["ours"],
            baseline_label=f"raw sqlite3.executemany, our {RAW_INDEXES['ours']} indexes, an empty SQLite table",
            notes="for reference: what the raw insert alone costs with the log viewer's indexes",
        ),
        Row(
            "ingest: raw insert, 2 indexes only",
            raw["minimal"],
            "attempts/s",
            baseline=raw["plain"],
            baseline_label="raw sqlite3.executemany into a plain SQLite table",
            notes=(
                "for reference: the fewest indexes any design needs - the unique (run_id, attempt_index) key that makes retries "
                "idempotent and the (timestamp, id) index for newest first, no Python work at all"
            ),
        ),
        Row(
            "ingest: unchecked floor, 2 indexes",
            floor_rate,
            "attempts/s",
            baseline=raw["plain"],
            baseline_label="raw sqlite3.executemany into a plain SQLite table",
            notes=(
                f"computed, for reference: the least Python work per attempt ({floor:,.0f} attempts/s alone: parse and format the "
                "timestamp, encode the candidate, build the row) followed by the 2-index raw insert above; no checks, "
                "run rows or aggregates. The checks and everything else ingestion does must fit between this ratio and 0.30x"
            ),
        ),
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def integrator_token() -> str:
    return api_account_ensure(username="bench-integrator", role="integrator").token


def _post_bodies(args: tuple[str, str, list[bytes]]) -> list[int]:
    url, token, bodies = args
    statuses = []
    for body in bodies:
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            statuses.append(response.status)
    return statuses


def _http_rate(
    bench: Bench, tree: Path, bodies: list[bytes], token: str, clients: int, database_url: str | None = None
) -> tuple[float, list[int]]:
    """Attempts per second of ``bodies`` posted by ``clients`` threads to gunicorn (4 workers)
    serving the code in ``tree`` against the benchmark database (or ``database_url``)."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "rmos_site.wsgi:application", "--workers", "4", "--bind", f"127.0.0.1:{port}",
         "--timeout", "300", "--log-level", "warning"],
        cwd=tree,
        env={**os.environ, **({"DATABASE_URL": database_url} if database_url else {})},
    )  # fmt: skip
    try:
        _wait_for(port)
        url = f"http://127.0.0.1:{port}/api/rmos/logs/ai/runs"
        _post_bodies((url, token, [json.dumps({"runs": [_warmup_run(bench)]}).encode()] * 4))
        shares = [(url, token, bodies[i::clients]) for i in range(clients)]
        start = time.perf_counter()
        # Threads suffice as clients: they only send prepared bytes and wait on sockets.
        with ThreadPoolExecutor(clients) as pool:
            statuses = [s for part in pool.map(_post_bodies, shares) for s in part]
        elapsed = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=30)
    return sum(_attempts_in(body) for body in bodies) / elapsed, statuses


def _token_in(tree: Path, database_url: str) -> str:
    """An integrator token in another database, made by the code in ``tree``."""
    code = "from rmos_site.roles import api_account_ensure as a; print(a(username='bench-integrator', role='integrator').token)"
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=tree,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def _attempts_in(body: bytes) -> int:
    return sum(len(run["attempt_records"]) for run in json.loads(body)["runs"])


def _http_bodies(bench: Bench, count: int) -> list[bytes]:
    batches = [batch for _, batch in _fresh_batches(bench, count * RUNS_PER_BATCH)]
    return [json.dumps({"runs": batch}).encode() for batch in batches if len(batch) == RUNS_PER_BATCH][:count]


@register(
    "ingest-http",
    order=20,
    help="POST /api/rmos/logs/ai/runs through gunicorn (4 workers), 3 concurrent clients; "
    "RMOS_BENCH_BEFORE=<a checkout of older code> alternates rounds with it",
)
def ingest_http(bench: Bench) -> list[Row]:
    clients, requests_per_client = (2, 1) if bench.quick else (3, 4)
    token = integrator_token()
    before = os.environ.get("RMOS_BENCH_BEFORE")
    trees = [("ours", settings.BASE_DIR)] + ([("before", Path(before))] if before else [])
    rounds = 1 if (bench.quick or not before) else 2
    rates: dict[str, list[float]] = {name: [] for name, _ in trees}
    statuses: list[int] = []
    sizes: list[int] = []
    for _ in range(rounds):
        for name, tree in trees:  # A/B alternately, on one dataset: each round new runs for each
            bodies = _http_bodies(bench, clients * requests_per_client)
            sizes += [len(body) for body in bodies]
            # Older code may need the schema it was written for: a copy of the dataset migrated
            # back (RMOS_BENCH_BEFORE_DATABASE_URL), e.g. before issue 19's time-ordered keys.
            other_db = os.environ.get("RMOS_BENCH_BEFORE_DATABASE_URL") if name == "before" else None
            rate, got = _http_rate(
                bench, tree, bodies, _token_in(tree, other_db) if other_db else token, clients, other_db
            )
            rates[name].append(rate)
            statuses += got
    rate = max(rates["ours"])
    ok = all(status == 201 for status in statuses)
    on_postgres = bench.vendor == "postgresql"
    per_request = (
        f"{clients * requests_per_client} requests of {RUNS_PER_BATCH:,} runs ({sum(sizes) // max(len(sizes), 1) // 1024:,} KiB "
        f"each) from {clients} concurrent clients; {'all 201' if ok else 'FAILED: ' + str(statuses)}"
    )
    rows = []
    if before:
        baseline = max(rates["before"])
        pairs = ", ".join(f"{a / b:.2f}" for a, b in zip(rates["ours"], rates["before"]))
        rows.append(
            Row(
                "ingest: HTTP through gunicorn vs the code before issue 19",
                rate,
                "attempts/s",
                target=">= 1.3x on PostgreSQL",
                met=(rate >= 1.3 * baseline and ok) if on_postgres else None,
                baseline=baseline,
                baseline_label=f"the same through gunicorn serving {Path(before).name}"
                + (
                    " on a copy of the dataset at its schema"
                    if os.environ.get("RMOS_BENCH_BEFORE_DATABASE_URL")
                    else ""
                ),
                notes=f"{per_request}; best of {rounds} alternating rounds each (ratios per round: {pairs})",
            )
        )
    baseline = bench.scratch.get("ingest_rate")
    return [
        *rows,
        Row(
            "ingest: HTTP through gunicorn",
            rate,
            "attempts/s",
            target=">= 20,000 attempts/s on PostgreSQL",
            met=(rate >= 20_000 and ok) if on_postgres else None,
            baseline=baseline,
            baseline_label="in-process runs_ingest" if baseline else "",
            notes=per_request
            + ("" if on_postgres else "; the target is for PostgreSQL (SQLite has one writer at a time)"),
        ),
    ]


def _warmup_run(bench: Bench) -> dict[str, Any]:
    return _fresh_batches(bench, 1)[0][1][0]


def _wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not start on port {port}")
