"""Load, fault and race test against a real multi-process deployment (issue 7).

    python tests/reliability/load_fault.py [--attempts 200000] [--clients 8] [--workers 4]

What it does, on a fresh PostgreSQL database of its own:

1. migrates, imports the canonical profiles, creates an integrator and an operator account;
2. starts gunicorn with ``--workers`` processes (DEBUG off, as deployed) and nginx in front of it,
   configured as docs/deployment.md says (tests/reliability/front.py); every request below goes
   through nginx;
3. ``--clients`` threads post runs with nested attempts in batches to
   ``POST /api/rmos/logs/ai/runs``; each client re-sends some of its batches at random
   (idempotent retries), and retries any batch whose request failed;
4. in the middle of ingestion it SIGKILLs one gunicorn worker (the master starts another);
5. races identical retries (tests/reliability/racing.py): ``--retry-rounds`` rounds in which
   ``--retry-clients`` clients post the identical batch at once, on ``/events`` and ``/runs``;
   then ``--racers`` concurrent PUTs on one profile, all naming the same version;
6. then verifies from the database: every run stored exactly once, attempt counts exact, no run
   with a partial set of attempts, analytics aggregates equal to a recomputation from the raw
   rows (``rebuild_aggregates --check``), no 5xx other than requests cut by the killed worker,
   exactly one race winner, one new history record, and the YAML on disk equal to the database
   (``export_profiles --check``);
7. through nginx, a slow-body probe: ``--slow-sockets`` clients trickle 100 KB bodies a byte at a
   time while /healthz is asked every 100 ms; its p99 must stay under 1 s (the same probe sent
   straight to gunicorn is reported beside it, for comparison); and nginx's own refusals (414, an
   unknown Host) must come in the API's JSON error shape.

It prints a summary and writes it as JSON (``--report``); the exit status is 0 only when every
check holds. ``.ci/run`` runs a time-bounded form (``--attempts 200000`` still, smaller batches
are not needed: the default finishes in about a minute on two cores).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.reliability.front import Front, refusals, slow_body_probe  # noqa: E402 - after the path
from tests.reliability.racing import racing_identical_retries  # noqa: E402 - after the path

PYTHON = sys.executable
PG = os.environ.get("RMOS_CI_PG", "postgres://postgres@127.0.0.1:5432")

CONTEXTS = [
    ("saw:slitting-0.5", "wood:ebony", "prod:vmc-3axis"),
    ("saw:jeweler-0.25", "wood:maple-hard", "prod:laser-cell"),
    ("router:upcut-1.5", "shell:abalone-paua", "proto:desktop-cnc"),
    ("router:downcut-0.8", "wood:rosewood", "prod:vmc-3axis"),
    ("laser:co2-40w", "wood:holly", "proto:hobby-laser"),
    ("laser:fiber-20w", "shell:mother-of-pearl", "prod:laser-cell"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(sql: str) -> None:
    subprocess.run(["psql", f"{PG}/postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def make_batch(rng: random.Random, *, runs: int, attempts_per_run: int, start: datetime) -> list[dict]:
    batch = []
    for r in range(runs):
        tool, material, machine = rng.choice(CONTEXTS)
        at = start + timedelta(seconds=r)
        success = rng.random() < 0.7
        records = []
        for i in range(1, attempts_per_run + 1):
            last = i == attempts_per_run
            bucket = "GREEN" if (last and success) else rng.choice(["RED", "YELLOW", "RED"])
            score = round(85 + rng.random() * 10, 1) if bucket == "GREEN" else round(30 + rng.random() * 45, 1)
            records.append(
                {
                    "attempt_index": i,
                    "timestamp": iso(at - timedelta(milliseconds=10 * (attempts_per_run - i))),
                    "score": score,
                    "risk_bucket": bucket,
                    "is_acceptable": bucket == "GREEN",
                    "candidate": {
                        "rings": [{"width_mm": 1.5, "pattern": "solid", "material_key": "wood:ebony"}] * 2,
                        "ring_count": 2,
                        "total_width_mm": 3.0,
                    },
                }
            )
        selected = records[-1] if success else max(records, key=lambda a: a["score"])
        batch.append(
            {
                "run_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "timestamp": iso(at),
                "tool_id": tool,
                "material_id": material,
                "machine_id": machine,
                "workflow_mode": "constraint_first",
                "geometry_engine": "",
                "profile": "default",
                "max_attempts": 50,
                "time_limit_seconds": 30.0,
                "attempts": attempts_per_run,
                "success": success,
                "reason": "green_found" if success else "budget_exhausted",
                "selected_score": selected["score"],
                "selected_risk_bucket": selected["risk_bucket"],
                "attempt_records": records,
            }
        )
    return batch


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    requests: int = 0
    resent: int = 0
    retried: int = 0
    fivexx_outside_fault: int = 0

    def add(self, key: str, *, error: bool = False) -> None:
        with self.lock:
            (self.errors if error else self.statuses)[key] += 1


class Deployment:
    def __init__(self, workers: int, workdir: Path):
        self.workers = workers
        self.workdir = workdir
        self.db = f"rmos_load_{os.getpid()}_{int(time.time())}"
        self.port = free_port()  # gunicorn's; clients use public_port (nginx)
        self.public_port = free_port()
        self.env = {
            **{
                k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "RMOS_", "DATABASE_URL", "ENABLE_"))
            },
            "DATABASE_URL": f"{PG}/{self.db}",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "load-test-" + uuid.uuid4().hex * 2,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_SECURE_HSTS_SECONDS": "0",
            "ENABLE_RMOS_PROFILE_ADMIN": "true",
            "RMOS_PROFILE_YAML_PATH": str(workdir / "profiles.yaml"),
            "RMOS_THROTTLE_INGEST": "100000/min",
            "RMOS_NUM_PROXIES": "1",  # nginx in front, as documented
            "PYTHONPATH": str(ROOT),
        }
        self.server: subprocess.Popen | None = None

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=check
        )

    def setup(self) -> dict[str, str]:
        psql(f"CREATE DATABASE {self.db}")
        self.manage("migrate", "--noinput")  # alone: it makes the cache table too
        self.manage("import_profiles", str(ROOT / "rmos_site/config/rmos_constraint_profiles.yaml"))
        self.manage("export_profiles")
        tokens = {}
        for name, role in (("load-integrator", "integrator"), ("load-operator", "operator")):
            token_file = self.workdir / f"{name}.token"
            self.manage("create_api_user", name, "--role", role, "--token-file", str(token_file))
            tokens[role] = token_file.read_text().strip()
        return tokens

    def start(self) -> None:
        self.server = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "rmos_site.wsgi",
                "--workers",
                str(self.workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "120",
                "--graceful-timeout",
                "5",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/api/rmos/ai/catalog")
                conn.getresponse().read()
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not start")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.server.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def stop(self) -> None:
        if self.server and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.server.kill()

    def drop(self) -> None:
        subprocess.run(
            ["psql", f"{PG}/postgres", "-qc", f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)"], capture_output=True
        )


def request(
    port: int, method: str, path: str, token: str, body: object | None = None, timeout: float = 120
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Token {token}"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def run_clients(
    dep: Deployment,
    token: str,
    *,
    attempts: int,
    clients: int,
    batch_runs: int,
    attempts_per_run: int,
    resend_share: float,
    tally: Tally,
    fault_at: float,
    seed: int,
) -> dict:
    per_batch = batch_runs * attempts_per_run
    batches_total = -(-attempts // per_batch)
    per_client = [batches_total // clients + (1 if i < batches_total % clients else 0) for i in range(clients)]
    expected_runs: dict[str, int] = {}
    expected_lock = threading.Lock()
    fault_window = {"start": None, "end": None}
    done_batches = Counter()
    start_moment = datetime(2026, 1, 1, tzinfo=UTC)

    def post(batch: list[dict]) -> bool:
        with tally.lock:
            tally.requests += 1
        try:
            status, _ = request(dep.public_port, "POST", "/api/rmos/logs/ai/runs", token, {"runs": batch})
        except (OSError, http.client.HTTPException) as exc:
            tally.add(type(exc).__name__, error=True)
            return False
        tally.add(str(status))
        if status >= 500:
            in_window = fault_window["start"] is not None and (
                fault_window["end"] is None or time.time() < fault_window["end"] + 5
            )
            if not in_window:
                with tally.lock:
                    tally.fivexx_outside_fault += 1
            return False
        if status not in (200, 201):
            raise RuntimeError(f"unexpected status {status}")
        return True

    def client(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        for b in range(per_client[index]):
            batch = make_batch(
                rng,
                runs=batch_runs,
                attempts_per_run=attempts_per_run,
                start=start_moment + timedelta(days=index, minutes=b),
            )
            with expected_lock:
                for run in batch:
                    expected_runs[run["run_id"]] = len(run["attempt_records"])
            tries = 0
            while not post(batch):
                tries += 1
                with tally.lock:
                    tally.retried += 1
                if tries > 20:
                    raise RuntimeError("a batch failed 20 times")
                time.sleep(0.2 * tries)
            if rng.random() < resend_share:
                with tally.lock:
                    tally.resent += 1
                while not post(batch):
                    time.sleep(0.2)
            done_batches[index] += 1

    def killer() -> None:
        # Wait until the given share of batches is in, then kill one worker mid-ingestion.
        while sum(done_batches.values()) < fault_at * batches_total:
            time.sleep(0.05)
        victims = dep.worker_pids()
        fault_window["start"] = time.time()
        os.kill(victims[0], signal.SIGKILL)
        time.sleep(3)
        fault_window["end"] = time.time()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    kill_thread = threading.Thread(target=killer, daemon=True)
    t0 = time.perf_counter()
    kill_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return {
        "expected_runs": expected_runs,
        "elapsed_s": elapsed,
        "batches": batches_total,
        "killed_worker": fault_window["start"] is not None,
    }


def race(dep: Deployment, token: str, racers: int) -> dict:
    status, body = request(dep.public_port, "GET", "/api/rmos/ai/profile-admin/thin_saw", token)
    current = json.loads(body)
    barrier = threading.Barrier(racers)
    results: list[int] = []
    lock = threading.Lock()

    def put(i: int) -> None:
        barrier.wait()
        code, _ = request(
            dep.public_port,
            "PUT",
            "/api/rmos/ai/profile-admin/thin_saw",
            token,
            {"max_rings": 9 + (i % 10), "note": f"racer {i}", "version": current["version"]},
        )
        with lock:
            results.append(code)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"version_before": current["version"], "statuses": dict(Counter(results))}


VERIFY = r"""
import json, sys
from django.db.models import Count
from ailog.models import AiRun, AiAttempt
from profiles.models import ConstraintProfile
expected = json.load(open(sys.argv[1]))
runs = dict(AiRun.objects.values_list("run_id", "attempts"))
stored = {str(k): v for k, v in runs.items()}
per_run = {str(k): v for k, v in AiAttempt.objects.values("run_id").annotate(n=Count("id")).values_list("run_id", "n")}
dupes = AiRun.objects.values("run_id").annotate(n=Count("id")).filter(n__gt=1).count()
print(json.dumps({
    "runs_stored": len(stored),
    "runs_expected": len(expected),
    "missing_runs": len(set(expected) - set(stored)),
    "unexpected_runs": len(set(stored) - set(expected)),
    "duplicate_run_ids": dupes,
    "attempts_stored": AiAttempt.objects.count(),
    "attempts_expected": sum(expected.values()),
    "runs_with_partial_attempts": sum(1 for r, n in expected.items() if per_run.get(r, 0) != n),
    "thin_saw_history": ConstraintProfile.history.filter(name="thin_saw").count(),
}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attempts", type=int, default=200_000, help="attempts to post in all (default 200,000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--batch-runs", type=int, default=100, help="runs per request (default 100)")
    parser.add_argument("--attempts-per-run", type=int, default=10, help="attempts per run (default 10)")
    parser.add_argument("--resend", type=float, default=0.15, help="share of batches re-sent on purpose (default 0.15)")
    parser.add_argument("--racers", type=int, default=16, help="concurrent PUTs of one profile version (default 16)")
    parser.add_argument("--retry-rounds", type=int, default=20, help="rounds of racing identical retries (default 20)")
    parser.add_argument("--retry-clients", type=int, default=4, help="clients posting each identical batch (default 4)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for batches")
    parser.add_argument("--slow-sockets", type=int, help="slow-body clients in the probe (default: twice the workers)")
    parser.add_argument("--slow-seconds", type=float, default=10.0, help="length of the slow-body probe (default 10)")
    parser.add_argument(
        "--report", type=Path, default=ROOT / "test-artifacts" / "load-fault.json", help="JSON report path"
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="rmos-load-"))
    dep = Deployment(args.workers, workdir)
    tally = Tally()
    report: dict = {"clients": args.clients, "workers": args.workers}
    failures: list[str] = []
    front = Front(upstream_port=dep.port, workdir=workdir, port=dep.public_port, http_port=free_port())
    try:
        tokens = dep.setup()
        dep.start()
        front.start()
        load = run_clients(
            dep,
            tokens["integrator"],
            attempts=args.attempts,
            clients=args.clients,
            batch_runs=args.batch_runs,
            attempts_per_run=args.attempts_per_run,
            resend_share=args.resend,
            tally=tally,
            fault_at=0.4,
            seed=args.seed,
        )
        expected = load.pop("expected_runs")
        sent_attempts = sum(expected.values())
        report.update(load)
        report["attempts_sent_unique"] = sent_attempts
        report["attempts_per_s"] = round(sent_attempts / load["elapsed_s"])
        report.update(
            requests=tally.requests,
            resent_on_purpose=tally.resent,
            retried_after_failure=tally.retried,
            statuses=dict(tally.statuses),
            transport_errors=dict(tally.errors),
            fivexx_outside_fault=tally.fivexx_outside_fault,
        )
        racing, raced_runs = racing_identical_retries(
            lambda path, body: request(dep.public_port, "POST", path, tokens["integrator"], body)[0],
            make_batch,
            rounds=args.retry_rounds,
            clients=args.retry_clients,
            rng=random.Random(args.seed + 1),
        )
        report["racing_identical_retries"] = racing
        expected.update(raced_runs)
        report["race"] = race(dep, tokens["operator"], args.racers)
        slow_sockets = args.slow_sockets or 2 * args.workers
        report["slow_body_through_nginx"] = slow_body_probe(
            dep.public_port, token=tokens["integrator"], sockets=slow_sockets, seconds=args.slow_seconds
        )
        report["slow_body_straight_to_gunicorn"] = slow_body_probe(
            dep.port, token=tokens["integrator"], sockets=slow_sockets, seconds=min(args.slow_seconds, 5.0)
        )
        report["nginx_refusals"] = refusals(dep.public_port)
        front.stop()
        dep.stop()

        expected_file = workdir / "expected.json"
        expected_file.write_text(json.dumps(expected))
        verify = subprocess.run(
            [PYTHON, "manage.py", "shell", "-c", VERIFY.replace("sys.argv[1]", repr(str(expected_file)))],
            cwd=ROOT,
            env=dep.env,
            capture_output=True,
            text=True,
            check=True,
        )
        facts = json.loads(verify.stdout.strip().splitlines()[-1])
        report["verify"] = facts
        aggregates = dep.manage("rebuild_aggregates", "--check", check=False)
        report["aggregates_check"] = {"exit": aggregates.returncode, "output": aggregates.stdout.strip()[-500:]}
        drift = dep.manage("export_profiles", "--check", check=False)
        report["yaml_check"] = {"exit": drift.returncode, "output": drift.stdout.strip()[-300:]}

        if not load["killed_worker"]:
            failures.append("no worker was killed")
        if facts["missing_runs"] or facts["unexpected_runs"] or facts["duplicate_run_ids"]:
            failures.append("runs missing, unexpected or duplicated")
        if facts["attempts_stored"] != facts["attempts_expected"]:
            failures.append("attempt count differs")
        if facts["runs_with_partial_attempts"]:
            failures.append("some runs have a partial set of attempts")
        if tally.fivexx_outside_fault:
            failures.append("5xx outside the fault window")
        if aggregates.returncode != 0:
            failures.append("aggregates differ from a recomputation")
        if racing["not_2xx"]:
            failures.append(f"racing identical retries: {racing['statuses']}")
        race_statuses = report["race"]["statuses"]
        if race_statuses.get(200) != 1 or race_statuses.get(409) != args.racers - 1:
            failures.append(f"race: expected one 200 and {args.racers - 1} 409s, got {race_statuses}")
        if facts["thin_saw_history"] != 2:
            failures.append(f"race: thin_saw should have 2 history records, has {facts['thin_saw_history']}")
        if drift.returncode != 0:
            failures.append("YAML on disk differs from the database")
        if report["slow_body_through_nginx"]["healthz_p99_s"] >= 1.0:
            failures.append(
                f"slow bodies: /healthz p99 {report['slow_body_through_nginx']['healthz_p99_s']} s through nginx"
            )
        for name, refusal in report["nginx_refusals"].items():
            if not refusal["json_error_shape"]:
                failures.append(f"nginx's {name} refusal ({refusal['status']}) is not in the JSON error shape")
    finally:
        front.stop()
        dep.stop()
        dep.drop()
    report["failures"] = failures
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=1, default=str))
    print(json.dumps(report, indent=1, default=str))
    if "racing_identical_retries" in report:
        print(report["racing_identical_retries"]["figure"])
    print("LOAD/FAULT TEST", "PASSED" if not failures else "FAILED: " + "; ".join(failures))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
