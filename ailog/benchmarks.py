"""The AI log's benchmarks (``manage.py benchmark``) and the dataset every benchmark runs on.

The dataset is made by :class:`Traffic`, a seeded generator of what the log sees in a shop:
a few hundred contexts with Zipf-like popularity (catalog ids plus a few unknown to the
catalog), three workflow modes and geometry engines in uneven shares, four profiles with two or
three versions each (runs report the version in force for their time), about ten attempts per
run, search outcomes that depend on how hard the context is, candidates on internal runs,
timestamps spread over 180 days. It goes in through :func:`ailog.services.runs_ingest`, the path
integrators use, 1,000 runs per call.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.test import Client

from ailog import services
from ailog.filters import LogFilter
from ailog.models import AiAttempt, AiRun
from ailog.records import ATTEMPT_FIELDS
from ailog.selectors import attempts_filtered
from analytics.services import aggregates_rebuild
from engine.profile import DEFAULTS
from profiles import services as profile_services
from profiles.selectors import profile_list
from rmos_site.benchmark import Bench, Row, p50, register, register_dataset, timings
from rmos_site.present import utc_iso
from rmos_site.roles import api_account_ensure

UTC = UTC
SEED = 20251213
SPAN_DAYS = 180
RUNS_PER_BATCH = 1000
CONTEXTS = 400

TOOLS = [
    "saw:jeweler-0.25", "saw:slitting-0.5", "saw:table-1.0", "router:downcut-0.8", "router:upcut-1.5",
    "router:vbit-60", "laser:co2-40w", "laser:fiber-20w", "saw:custom-0.3", "router:legacy-2.0",
]  # fmt: skip
MATERIALS = [
    "wood:maple-flamed", "wood:maple-hard", "wood:ebony", "wood:rosewood", "wood:mahogany", "wood:walnut",
    "wood:holly", "wood:padauk", "wood:spruce", "wood:cedar", "shell:abalone-paua", "shell:abalone-green",
    "shell:mother-of-pearl", "wood:bubinga", "wood:koa",
]  # fmt: skip
MACHINES = ["proto:desktop-cnc", "proto:hobby-laser", "prod:vmc-3axis", "prod:laser-cell", "proto:garage-cnc"]
ENGINES = (("shapely", 0.6), ("", 0.3), ("ml", 0.1))
MODES = (("constraint_first", 0.6), ("ai_assisted", 0.3), ("design_first", 0.1))
#: Profile -> changes that make versions 2, 3, ... (version 1 is the engine's defaults).
PROFILES: dict[str, list[dict[str, Any]]] = {
    "default": [{"max_rings": 5}, {"max_rings": 6, "bias_simple": True}],
    "shell-inlay": [{"allow_segmented": False}],
    "production": [{"min_rings": 2}, {"max_total_width_mm": 10}],
    "laser-fine": [{"min_ring_width_mm": "0.40"}],
}
UNKNOWN_PROFILE = "legacy-x"
PATTERNS = ("solid", "solid", "mosaic", "segmented")


def _weighted(rng: random.Random, pairs: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([value for value, _ in pairs], weights=[weight for _, weight in pairs])[0]


def _iso(moment: datetime) -> str:
    return utc_iso(moment)


class Traffic:
    """A deterministic stream of realistic runs (plain dicts, as decoded from JSON)."""

    def __init__(self, seed: int = SEED, *, end: datetime) -> None:
        rng = random.Random(seed)
        self.end = end
        self.start = end - timedelta(days=SPAN_DAYS)
        seen = set()
        self.contexts: list[dict[str, Any]] = []
        while len(self.contexts) < CONTEXTS:
            key = (rng.choice(TOOLS), rng.choice(MATERIALS), rng.choice(MACHINES), _weighted(rng, ENGINES))
            if key in seen:
                continue
            seen.add(key)
            tool, material, machine, engine = key
            if material.startswith("shell:"):
                profile = "shell-inlay"
            elif tool.startswith("laser:"):
                profile = "laser-fine"
            elif machine.startswith("prod:"):
                profile = "production"
            else:
                profile = "default"
            difficulty = rng.betavariate(2, 3) + (0.25 if material.startswith("shell:") else 0.0)
            self.contexts.append(
                {
                    "tool_id": tool,
                    "material_id": material,
                    "machine_id": machine,
                    "geometry_engine": engine,
                    "profile": profile,
                    "difficulty": min(difficulty, 0.98),
                }
            )
        weights = [1.0 / (rank + 1) ** 1.1 for rank in range(CONTEXTS)]
        self.cumulative = list(itertools.accumulate(weights))
        self.candidates = [self._candidate(rng) for _ in range(2000)]
        self.rng = rng

    @staticmethod
    def _candidate(rng: random.Random) -> dict[str, Any]:
        rings = [
            {
                "width_mm": rng.randint(40, 250) / 100,
                "pattern": rng.choice(PATTERNS),
                "material_key": rng.choice(MATERIALS),
            }
            for _ in range(rng.randint(1, 6))
        ]
        return {"rings": rings, "ring_count": len(rings), "total_width_mm": round(sum(r["width_mm"] for r in rings), 2)}

    def context_share(self, index: int) -> float:
        previous = self.cumulative[index - 1] if index else 0.0
        return (self.cumulative[index] - previous) / self.cumulative[-1]

    def run(self, at: datetime) -> dict[str, Any]:
        rng = self.rng
        context = self.contexts[bisect.bisect_left(self.cumulative, rng.random() * self.cumulative[-1])]
        internal = rng.random() < 0.7
        max_attempts = rng.choice((10, 20, 20, 30))
        p_green = 0.015 + 0.22 * (1 - context["difficulty"]) ** 2
        mean = 85 - 55 * context["difficulty"]
        attempts: list[dict[str, Any]] = []
        outcome = "budget_exhausted"
        timed_out = rng.random() < 0.03
        if rng.random() < 0.004:
            outcome, max_attempts = "no_candidates", 0
        for index in range(1, max_attempts + 1):
            if rng.random() < p_green:
                score = rng.uniform(80, 100)
            else:
                score = min(79.9, max(0.0, rng.gauss(mean - 10, 14)))
            bucket = "GREEN" if score >= 80 else "YELLOW" if score >= 50 else "RED"
            if bucket != "RED" and rng.random() < 0.08:  # one weak check makes the overall bucket worse
                bucket = "YELLOW" if bucket == "GREEN" else "RED"
            attempts.append(
                {
                    "attempt_index": index,
                    "score": round(score, 2),
                    "risk_bucket": bucket,
                    "is_acceptable": bucket == "GREEN",
                }
            )
            if bucket == "GREEN":
                outcome = "green_found"
                break
            if timed_out and index >= max_attempts // 2:
                outcome = "timeout"
                break
        selected = max(attempts, key=lambda a: a["score"]) if attempts else None
        # A RED candidate is never acceptable (tested last: the random stream, hence the dataset, stays as it was).
        if (
            outcome in ("budget_exhausted", "timeout")
            and selected
            and selected["score"] >= 70
            and rng.random() < 0.5
            and selected["risk_bucket"] != "RED"
        ):
            outcome = "acceptable_found"
            for attempt in attempts:
                attempt["is_acceptable"] = attempt["score"] >= 70 and attempt["risk_bucket"] != "RED"
        for position, attempt in enumerate(attempts):
            attempt["timestamp"] = _iso(at - timedelta(milliseconds=300 * (len(attempts) - position)))
            if internal:
                attempt["candidate"] = rng.choice(self.candidates)
            else:
                attempt["ring_count"] = rng.randint(1, 6)
        profile = context["profile"]
        versions = 1 + len(PROFILES[profile])
        position = (at - self.start) / (self.end - self.start)
        run = {
            "run_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "timestamp": _iso(at),
            "elapsed_seconds": round(0.3 * len(attempts) + 0.05, 3),
            "tool_id": context["tool_id"],
            "material_id": context["material_id"],
            "machine_id": context["machine_id"],
            "workflow_mode": _weighted(rng, MODES),
            "geometry_engine": context["geometry_engine"],
            "profile": profile,
            "profile_version": min(versions, 1 + int(max(0.0, position) * versions)),
            "max_attempts": max(max_attempts, 1),
            "time_limit_seconds": 30.0,
            "min_feasibility_score": 70.0,
            "stop_on_first_green": True,
            "attempts": len(attempts),
            "success": outcome in ("green_found", "acceptable_found"),
            "reason": outcome,
            "selected_score": selected["score"] if selected and outcome != "no_candidates" else None,
            "selected_risk_bucket": selected["risk_bucket"] if selected and outcome != "no_candidates" else None,
            "attempt_records": attempts,
        }
        if outcome == "green_found":
            run["selected_score"], run["selected_risk_bucket"] = attempts[-1]["score"], "GREEN"
        if internal and selected:
            run["selected_candidate"] = selected.get("candidate")
        if not internal and rng.random() < 0.02:
            run["profile"] = UNKNOWN_PROFILE
            del run["profile_version"]
        run["_source"] = "internal" if internal else "api"
        return run

    def batches(self, runs: int, *, start: datetime, end: datetime) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """``runs`` runs spread evenly from ``start`` to ``end``, in batches of one source each."""
        step = (end - start) / runs
        pending: dict[str, list[dict[str, Any]]] = {"internal": [], "api": []}
        for i in range(runs):
            run = self.run(start + step * (i + self.rng.random()))
            source = run.pop("_source")
            pending[source].append(run)
            if len(pending[source]) == RUNS_PER_BATCH:
                yield source, pending[source]
                pending[source] = []
        for source, rest in pending.items():
            if rest:
                yield source, rest


# -- the dataset -----------------------------------------------------------------------------------


#: While building a PostgreSQL dataset, refresh the planner's statistics after this many attempts.
ANALYZE_EVERY = 500_000


def _dataset_end() -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=1)


def _ensure_profiles() -> None:
    existing = {p.name for p in profile_list()}
    for name, changes in PROFILES.items():
        if name in existing:
            continue
        profile_services.profile_create(name=name, values=DEFAULTS, note="benchmark profile")
        for number, change in enumerate(changes, start=2):
            profile_services.profile_update(name=name, changes=change, note=f"benchmark version {number}")


@register_dataset
def dataset_build(bench: Bench, *, attempts: int, reuse: bool) -> dict[str, Any]:
    """Fill the benchmark database with about ``attempts`` attempts (kept when ``reuse`` and big enough)."""
    _ensure_profiles()
    traffic = Traffic(end=_dataset_end())
    have = AiAttempt.objects.count()
    if not (reuse and have >= attempts * 0.95):
        if have:
            AiAttempt.objects.all().delete()
            AiRun.objects.all().delete()
            aggregates_rebuild(check_only=False)  # an empty log: the old dataset's aggregates go too
        # The generator averages about 8.47 attempts a run: plan slightly more runs than that
        # needs and stop at the size asked for, so the dataset spans the whole period and
        # --reuse finds it big enough later.
        runs = int(attempts / 8.4)
        bench.say(f"Building the dataset: about {attempts:,} attempts ({runs:,} runs over {SPAN_DAYS} days)")
        done, analyzed = 0, 0
        with bench.progress(attempts, "ingesting", "attempts") as bar:
            for source, batch in traffic.batches(runs, start=traffic.start, end=traffic.end):
                services.runs_ingest(runs=batch, source=source)
                done += sum(len(run["attempt_records"]) for run in batch)
                bar.update(done)
                if done >= attempts:
                    break
                if connection.vendor == "postgresql" and done - analyzed >= ANALYZE_EVERY:
                    # What autovacuum does on a server where it is on (see rmos.W001): without
                    # statistics PostgreSQL scans the whole attempts table for each batch's lookup.
                    _analyze()
                    analyzed = done
        _analyze()
    facts = _facts(traffic)
    bench.scratch["traffic"] = traffic
    return facts


def _analyze() -> None:
    """Fresh planner statistics, as a deployment's maintenance would keep them."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit = 1000")
            cursor.execute("ANALYZE")
        else:
            cursor.execute("ANALYZE")


def _facts(traffic: Traffic) -> dict[str, Any]:
    runs = AiRun.objects.count()
    attempts = AiAttempt.objects.count()
    first, last = traffic.start, traffic.end
    return {
        "attempts": attempts,
        "runs": runs,
        "attempts_per_run": round(attempts / runs, 2) if runs else 0,
        "contexts": CONTEXTS,
        "span": [first.isoformat(), last.isoformat()],
    }


# -- ingestion benchmarks --------------------------------------------------------------------------


def _raw_rows(batches: list[list[dict[str, Any]]]) -> list[tuple]:
    """The attempts of ``batches`` as the plain tuples a raw insert takes (built before timing)."""
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    rows = []
    for batch in batches:
        for run in batch:
            run_id = uuid.UUID(run["run_id"]).hex
            for a in run["attempt_records"]:
                candidate = a.get("candidate")
                rows.append(
                    (
                        run_id, a["attempt_index"], a["timestamp"].replace("T", " ").rstrip("Z"), run["tool_id"], run["material_id"],
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


@register("ingest", order=10, help="in-process runs_ingest vs raw sqlite3.executemany into an equivalent table")
def ingest_inprocess(bench: Bench) -> list[Row]:
    rounds, runs_per_round = (1, 1000) if bench.quick else (3, 5000)
    ours, floor = 0.0, 0.0
    raw = dict.fromkeys(RAW_INDEXES, 0.0)
    # Beside the default database (var/), so the baselines write to the same storage as ours.
    (settings.BASE_DIR / "var").mkdir(exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="rmos-bench-", dir=settings.BASE_DIR / "var"))
    total_attempts = 0
    with bench.progress(rounds, "ingestion rounds") as bar:
        for _ in range(rounds):
            batches = _fresh_batches(bench, runs_per_round)
            rows = _raw_rows([batch for _, batch in batches])
            sizes = [sum(len(r["attempt_records"]) for r in batch) for _, batch in batches]
            # Baselines and ours take turns, so a busy moment on the machine hits all of them.
            floor = max(floor, _python_floor_rate([batch for _, batch in batches]))
            for indexes in RAW_INDEXES:
                raw[indexes] = max(raw[indexes], _raw_sqlite_rate(rows, sizes, indexes=indexes, directory=directory))
            start = time.perf_counter()
            for source, batch in batches:
                services.runs_ingest(runs=batch, source=source)
            ours = max(ours, len(rows) / (time.perf_counter() - start))
            total_attempts += len(rows)
            bar.advance()
    directory.rmdir()
    bench.scratch["ingest_rate"] = ours
    note = (
        f"best of {rounds} rounds of {runs_per_round:,} runs ({total_attempts // rounds:,} attempts) in batches of "
        f"{RUNS_PER_BATCH:,}, into the {bench.dataset['attempts']:,}-attempt dataset; ours is runs_ingest end to end "
        "(checks, profile lookup, runs, attempts and everything else ingestion writes)"
    )
    floor_rate = 1 / (1 / floor + 1 / raw["minimal"])
    return [
        Row(
            "ingest: in-process runs_ingest",
            ours,
            "attempts/s",
            target=">= 30% of baseline",
            met=ours >= 0.3 * raw["plain"],
            baseline=raw["plain"],
            baseline_label="raw sqlite3.executemany, plain table",
            notes=note,
        ),
        Row(
            "ingest: same, vs raw insert with our indexes",
            ours,
            "attempts/s",
            baseline=raw["ours"],
            baseline_label=f"raw executemany, our {RAW_INDEXES['ours']} indexes, empty table",
            notes="for reference: what the raw insert alone costs with the log viewer's indexes",
        ),
        Row(
            "ingest: raw insert, 2 indexes only",
            raw["minimal"],
            "attempts/s",
            baseline=raw["plain"],
            baseline_label="raw sqlite3.executemany, plain table",
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
            baseline_label="raw sqlite3.executemany, plain table",
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


def _integrator_token() -> str:
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


@register(
    "ingest-http", order=20, help="POST /api/rmos/logs/ai/runs through gunicorn (4 workers), 3 concurrent clients"
)
def ingest_http(bench: Bench) -> list[Row]:
    clients, requests_per_client = (2, 1) if bench.quick else (3, 4)
    batches = [batch for _, batch in _fresh_batches(bench, clients * requests_per_client * RUNS_PER_BATCH)]
    batches = [b for b in batches if len(b) == RUNS_PER_BATCH][: clients * requests_per_client]
    bodies = [json.dumps({"runs": batch}).encode() for batch in batches]
    attempts = sum(len(run["attempt_records"]) for batch in batches for run in batch)
    token = _integrator_token()
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "rmos_site.wsgi:application", "--workers", "4", "--bind", f"127.0.0.1:{port}",
         "--timeout", "300", "--log-level", "warning"],
        cwd=settings.BASE_DIR,
        env=dict(os.environ),
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
    rate = attempts / elapsed
    ok = all(status == 201 for status in statuses)
    baseline = bench.scratch.get("ingest_rate")
    on_postgres = bench.vendor == "postgresql"
    return [
        Row(
            "ingest: HTTP through gunicorn",
            rate,
            "attempts/s",
            target=">= 20,000 attempts/s on PostgreSQL",
            met=(rate >= 20_000 and ok) if on_postgres else None,
            baseline=baseline,
            baseline_label="in-process runs_ingest" if baseline else "",
            notes=(
                f"{len(bodies)} requests of {RUNS_PER_BATCH:,} runs (~{attempts // max(len(bodies), 1):,} attempts, "
                f"{sum(map(len, bodies)) // max(len(bodies), 1) // 1024:,} KiB each) from {clients} concurrent clients; "
                f"{'all 201' if ok else 'FAILED: ' + str(statuses)}"
                + ("" if on_postgres else "; the target is for PostgreSQL (SQLite has one writer at a time)")
            ),
        )
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


# -- log viewer ------------------------------------------------------------------------------------


def _rarest_and_commonest(traffic: Traffic, key: str) -> tuple[str, str]:
    shares: dict[str, float] = {}
    for index, context in enumerate(traffic.contexts):
        shares[context[key]] = shares.get(context[key], 0.0) + traffic.context_share(index)
    ranked = sorted((share, value) for value, share in shares.items() if value)
    return ranked[0][1], ranked[-1][1]


def _unindexed_seconds(filters: LogFilter) -> float:
    """The same first page with the indexes switched off: what the query would cost without them."""
    queryset = attempts_filtered(filters=filters).order_by("-timestamp", "-id")[:101]
    sql, params = queryset.query.sql_with_params()
    table = connection.ops.quote_name(AiAttempt._meta.db_table)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            start = time.perf_counter()
            cursor.execute(sql.replace(f"FROM {table}", f"FROM {table} NOT INDEXED", 1), params)
            cursor.fetchall()
            return time.perf_counter() - start
    with transaction.atomic(), connection.cursor() as cursor:
        for knob in ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"):
            cursor.execute(f"SET LOCAL {knob} = off")  # ends with the transaction
        start = time.perf_counter()
        cursor.execute(sql, params)
        cursor.fetchall()
        return time.perf_counter() - start


@register("log-viewer", order=30, help="GET attempts: first page of 100 for each single filter, p50 through the API")
def log_viewer(bench: Bench) -> list[Row]:
    traffic: Traffic = bench.scratch["traffic"]
    token = _integrator_token()
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    newest = AiRun.objects.order_by("-timestamp").values_list("run_id", "timestamp").first()
    cases: list[tuple[str, dict[str, str]]] = [("no filter", {})]
    for key in ("tool_id", "material_id", "machine_id", "geometry_engine"):
        rare, common = _rarest_and_commonest(traffic, key)
        cases += [(f"{key} (rarest)", {key: rare}), (f"{key} (commonest)", {key: common})]
    cases += [
        ("workflow_mode=design_first (10%)", {"workflow_mode": "design_first"}),
        ("risk_bucket=GREEN", {"risk_bucket": "GREEN"}),
        ("profile (rarest)", {"profile": "laser-fine"}),
        ("profile (unknown, 2% of api runs)", {"profile": UNKNOWN_PROFILE}),
        ("run_id", {"run_id": str(newest[0])}),
        ("since (last day)", {"since": _iso(newest[1] - timedelta(days=1))}),
        ("until (first week)", {"until": _iso(traffic.start + timedelta(days=7))}),
    ]
    repeat = 3 if bench.quick else 15
    rows = []
    for label, params in cases:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        url = f"/api/rmos/logs/ai/attempts?limit=100&{query}"

        def fetch(url: str = url) -> None:
            response = client.get(url)
            assert response.status_code == 200, response.content[:300]

        seconds = p50(timings(fetch, repeat=repeat, warmup=2))
        parsed = LogFilter(
            **{
                k: (uuid.UUID(v) if k == "run_id" else datetime.fromisoformat(v) if k in ("since", "until") else v)
                for k, v in params.items()
            }
        )
        baseline = _unindexed_seconds(parsed)
        rows.append(
            Row(
                f"log viewer: attempts, {label}",
                seconds * 1000,
                "ms",
                target="p50 <= 20 ms",
                met=seconds <= 0.020,
                baseline=baseline * 1000,
                baseline_label="same query, indexes off",
                higher_is_better=False,
            )
        )
    return rows
