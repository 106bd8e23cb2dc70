from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from bench import core as benchmark
from bench import report
from bench.dataset import dataset_build
from rmos_site.env import parse_database_url


def _size_tag(attempts: int) -> str:
    return f"{attempts // 1_000_000}m" if attempts % 1_000_000 == 0 else f"{attempts // 1000}k"


class Command(BaseCommand):
    help = (
        "Measure the product's performance targets. Builds a realistic dataset of --attempts attempts "
        "(about 8.5 per run, months of timestamps, several profile versions) through the ingestion "
        "service in a benchmark database of its own - never the configured one - then runs every "
        "registered benchmark (--list shows them), prints a table (metric, value, baseline, ratio, "
        "target, met?) and writes it as JSON to bench-results/. The benchmark database is a SQLite file "
        "under var/bench/ when the configured database is SQLite, else a database named <name>_bench_<size> "
        "on the same PostgreSQL server; --database-url picks another."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--attempts", type=int, default=1_000_000, help="dataset size in attempts (default 1,000,000)"
        )
        parser.add_argument(
            "--database-url", help="benchmark database (sqlite:///path or postgres://…); default: see above"
        )
        parser.add_argument("--only", help="comma-separated benchmark names (see --list)")
        parser.add_argument(
            "--reuse",
            action="store_true",
            help="keep the dataset already in the benchmark database if it is big enough",
        )
        parser.add_argument(
            "--output-dir", type=Path, default=settings.BASE_DIR / "bench-results", help="where the JSON goes"
        )
        parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
        parser.add_argument(
            "--quick", action="store_true", help="fewer repeats and samples (a smoke run, not a measurement)"
        )
        parser.add_argument("--in-benchmark-database", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, **options) -> None:
        benchmark.discover()
        if options["list"]:
            for item in sorted(benchmark.REGISTRY.values(), key=lambda b: b.order):
                self.stdout.write(f"{item.name:20} {item.help}")
            return
        if options["attempts"] < 1000:
            raise CommandError("--attempts must be at least 1,000")
        selected = self._selected(options["only"])
        if not options["in_benchmark_database"]:
            self._run_in_benchmark_database(options)
            return
        self._measure(options, selected)

    def _selected(self, only: str | None) -> list[benchmark.Benchmark]:
        items = sorted(benchmark.REGISTRY.values(), key=lambda b: b.order)
        if not only:
            return items
        names = [name.strip() for name in only.split(",") if name.strip()]
        unknown = [name for name in names if name not in benchmark.REGISTRY]
        if unknown:
            raise CommandError(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(b.name for b in items)}")
        return [b for b in items if b.name in names]

    # -- the parent: pick the benchmark database and run there ------------------------------

    def _benchmark_url(self, options) -> str:
        if options["database_url"]:
            return options["database_url"]
        tag = _size_tag(options["attempts"])
        db = settings.DATABASES["default"]
        if db["ENGINE"].endswith("sqlite3"):
            return f"sqlite:///{settings.BASE_DIR / 'var' / 'bench' / f'bench-{tag}.sqlite3'}"
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        host = db["HOST"] or "localhost"
        port = f":{db['PORT']}" if db["PORT"] else ""
        return f"postgres://{auth}@{host}{port}/{db['NAME']}_bench_{tag}"

    def _run_in_benchmark_database(self, options) -> None:
        url = self._benchmark_url(options)
        target = parse_database_url(url)
        configured = settings.DATABASES["default"]
        if str(target["NAME"]) == str(configured["NAME"]) and target.get("HOST", "") == configured.get("HOST", ""):
            raise CommandError(
                "the benchmark database must not be the configured database; pass another --database-url"
            )
        if target["ENGINE"].endswith("postgresql"):
            _ensure_postgres_database(target, fresh=not options["reuse"])
        elif not options["reuse"]:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target['NAME']}{suffix}").unlink(missing_ok=True)
        env = dict(os.environ)
        scratch = settings.BASE_DIR / "var" / "bench"
        scratch.mkdir(parents=True, exist_ok=True)
        (settings.BASE_DIR / "var" / "staticfiles").mkdir(parents=True, exist_ok=True)
        env.pop("RMOS_PROFILE_HISTORY_PATH", None)
        env.update(
            DATABASE_URL=url,
            # The benchmark's profiles are exported here, never over the canonical YAML.
            RMOS_PROFILE_YAML_PATH=str(scratch / "profiles.yaml"),
            # Measure what a deployment runs: no DEBUG query log; plain HTTP on the loopback.
            DJANGO_DEBUG="false",
            DJANGO_SECRET_KEY=env.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(40),
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
            DJANGO_SECURE_SSL_REDIRECT="false",
            DJANGO_SECURE_COOKIES="false",
            DJANGO_SECURE_HSTS_SECONDS="0",
        )
        argv = [sys.executable, str(settings.BASE_DIR / "manage.py"), "benchmark", "--in-benchmark-database"]
        argv += ["--attempts", str(options["attempts"]), "--output-dir", str(options["output_dir"])]
        if options["only"]:
            argv += ["--only", options["only"]]
        for flag in ("reuse", "quick"):
            if options[flag]:
                argv.append(f"--{flag}")
        self.stderr.write(f"Benchmark database: {url}")
        completed = subprocess.run(argv, env=env)
        if completed.returncode:
            raise CommandError(f"the benchmark failed (exit status {completed.returncode})")

    # -- the child: inside the benchmark database --------------------------------------------

    def _measure(self, options, selected: list[benchmark.Benchmark]) -> None:
        call_command("migrate", verbosity=0, interactive=False)
        call_command("createcachetable", verbosity=0)
        bench = benchmark.Bench(
            database_url=os.environ.get("DATABASE_URL", ""),
            vendor=connection.vendor,
            dataset={},
            stdout=self.stdout,
            stderr=self.stderr,
            quick=options["quick"],
        )
        bench.dataset = dataset_build(bench, attempts=options["attempts"], reuse=options["reuse"])
        rows: list[benchmark.Row] = []
        for item in selected:
            bench.say(f"== {item.name}: {item.help}")
            rows.extend(item.run(bench))
        self.stdout.write("")
        self.stdout.write(
            f"{connection.vendor} - dataset: {bench.dataset['attempts']:,} attempts, {bench.dataset['runs']:,} runs"
        )
        self.stdout.write(benchmark.table(rows))
        options["output_dir"].mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = options["output_dir"] / f"{stamp}-{connection.vendor}-{_size_tag(options['attempts'])}.json"
        path.write_text(
            json.dumps(
                {
                    "time": stamp,
                    "vendor": connection.vendor,
                    "size": _size_tag(options["attempts"]).upper(),
                    "command": _command_line(options),
                    "quick": options["quick"],
                    "dataset": bench.dataset,
                    "machine": _machine(),
                    "rows": [row.as_dict() for row in rows],
                },
                indent=2,
                default=str,
            )
        )
        self.stdout.write(f"\nwritten to {path}")
        if not options["quick"]:
            docs = settings.BASE_DIR / "docs" / "performance.md"
            report.write(options["output_dir"], docs)
            self.stdout.write(f"and to {docs.relative_to(settings.BASE_DIR)}")


def _command_line(options) -> str:
    prefix = "DATABASE_URL=postgres://… " if connection.vendor == "postgresql" else ""
    parts = ["./dev bench", f"--attempts {options['attempts']}"]
    if options["only"]:
        parts.append(f"--only {options['only']}")
    return prefix + " ".join(parts)


def _machine() -> dict[str, object]:
    """What the numbers were measured on (the machine is shared: the load says how busy it was)."""
    cpu = None
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), None)
    except OSError:
        pass
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
        else:
            cursor.execute("SELECT sqlite_version()")
            database = f"SQLite {cursor.fetchone()[0]}"
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "load": " ".join(f"{value:.1f}" for value in os.getloadavg()),
        "python": sys.version.split()[0],
        "database": database,
    }


def _ensure_postgres_database(target: dict, *, fresh: bool) -> None:
    import psycopg
    from psycopg import sql

    params = {"dbname": "postgres", "user": target["USER"] or None, "password": target["PASSWORD"] or None}
    if target["HOST"]:
        params["host"] = target["HOST"]
    if target["PORT"]:
        params["port"] = target["PORT"]
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target["NAME"]]).fetchone()
        if exists and fresh:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(target["NAME"])))
            exists = None
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target["NAME"])))
