"""Analytics benchmarks (``manage.py benchmark``): endpoint latency against a GROUP BY over the
log's raw rows, memory of the requests, and a full consistency check of the aggregates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.test import Client

from ailog.models import AiAttempt, AiRun
from ailog.selectors import log_counts
from analytics.selectors import CONTEXT
from analytics.services import aggregates_rebuild
from bench.core import Bench, Row, p50, register, timings
from bench.ingest import integrator_token

ENDPOINTS = "/api/rmos/ai/analytics"


def _raw_group_by(q: Q) -> float:
    """Seconds for the same numbers computed straight from the log: GROUP BY over runs and attempts."""
    start = time.perf_counter()
    log_counts(runs=AiRun.objects.filter(q), attempts=AiAttempt.objects.filter(q), group=CONTEXT)
    return time.perf_counter() - start


def _busiest_tool() -> str:
    from django.db.models import Sum

    from analytics.models import ContextTotal

    return (
        ContextTotal.objects.values("tool_id")
        .annotate(n=Sum("attempts"))
        .order_by("-n")
        .values_list("tool_id", flat=True)[0]
    )


@register(
    "analytics", order=40, help="profile-stats and hotspots p50 through the API vs a raw GROUP BY; other endpoints"
)
def analytics_latency(bench: Bench) -> list[Row]:
    client = Client(HTTP_AUTHORIZATION=f"Token {integrator_token()}")
    tool = _busiest_tool()
    newest = AiRun.objects.order_by("-timestamp").values_list("timestamp", flat=True).first()
    week_ago = (newest - timedelta(days=7)).replace(hour=6, minute=30)
    repeat = 5 if bench.quick else 25
    cases = [
        ("profile-stats, no filter", "profile-stats", Q(), True),
        (f"profile-stats, tool_id={tool}", f"profile-stats?tool_id={tool}", Q(tool_id=tool), True),
        ("hotspots, no filter", "hotspots", Q(), True),
        (
            "profile-stats, since a week ago 06:30",
            f"profile-stats?since={week_ago.isoformat().replace('+00:00', 'Z')}",
            Q(timestamp__gte=week_ago),
            False,
        ),
        (
            "profile-stats, max_runs=1000&max_attempts=10000",
            "profile-stats?max_runs=1000&max_attempts=10000",
            None,
            False,
        ),
        ("timeseries, last 90 days", "timeseries", None, False),
        ("profile-versions, default", "profile-versions?profile=default", None, False),
    ]
    rows = []
    for label, path, raw_q, targeted in cases:

        def fetch(path: str = path) -> None:
            response = client.get(f"{ENDPOINTS}/{path}")
            assert response.status_code == 200, response.content[:300]

        seconds = p50(timings(fetch, repeat=repeat, warmup=2))
        baseline = _raw_group_by(raw_q) if raw_q is not None else None
        ratio_ok = baseline is None or baseline / seconds >= 20
        rows.append(
            Row(
                f"analytics: {label}",
                seconds * 1000,
                "ms",
                target="p50 <= 50 ms and >= 20x faster than the raw GROUP BY" if targeted else "",
                met=(seconds <= 0.050 and ratio_ok) if targeted else None,
                baseline=None if baseline is None else baseline * 1000,
                baseline_label="GROUP BY over the raw runs and attempts" if baseline is not None else "",
                higher_is_better=False,
            )
        )
    rows.append(_memory_row(bench))
    return rows


# -- memory ----------------------------------------------------------------------------------------


PROBE = """
import json, os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmos_site.settings")
django.setup()
from django.test import Client
from bench.ingest import integrator_token


def status(field):
    # This process's own peak (VmHWM) / current (VmRSS) resident set, in KiB. Not ru_maxrss:
    # Linux carries that over exec from the parent, here the benchmark that built the dataset.
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith(field + ":"))


client = Client(HTTP_AUTHORIZATION="Token " + integrator_token())
client.get("/api/rmos/logs/ai/attempts?limit=1")  # warm: imports, URL resolving, connection
before = status("VmHWM")
for path in sys.argv[1:]:
    for _ in range(3):
        assert client.get(path).status_code == 200, path
print(json.dumps({"before_kib": before, "after_kib": status("VmHWM")}))
"""


def _memory_row(bench: Bench) -> Row:
    """Peak RSS of a fresh process serving the analytics requests, compared with the other dataset size."""
    paths = [
        f"{ENDPOINTS}/profile-stats?limit=1000",
        f"{ENDPOINTS}/hotspots?limit=100",
        f"{ENDPOINTS}/timeseries",
        f"{ENDPOINTS}/profile-versions?profile=default",
    ]
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, *paths],
        cwd=settings.BASE_DIR,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
    )
    probe = json.loads(completed.stdout.strip().splitlines()[-1])
    peak = probe["after_kib"] / 1024
    growth = (probe["after_kib"] - probe["before_kib"]) / 1024
    other = _other_size_peak(bench)
    note = f"a fresh process: {probe['before_kib'] / 1024:.0f} MB after start-up, {growth:.1f} MB more while serving the requests"
    if other is None:
        return Row(
            "analytics: peak RSS of the requests",
            peak,
            "MB",
            target="grows <= 50 MB from 1M to 10M attempts",
            notes=note + "; run the benchmark at the other size (1M / 10M) to compare",
        )
    size, other_peak = other
    return Row(
        "analytics: peak RSS of the requests",
        peak,
        "MB",
        target="grows <= 50 MB from 1M to 10M attempts",
        met=abs(peak - other_peak) <= 50,
        baseline=other_peak,
        baseline_label=f"same, {size:,}-attempt dataset",
        higher_is_better=False,
        notes=note,
    )


def _other_size_peak(bench: Bench) -> tuple[int, float] | None:
    """The peak RSS measured by an earlier run on the same kind of database at a size 5-20 times off."""
    directory = Path(settings.BASE_DIR) / "bench-results"
    for path in sorted(directory.glob(f"*-{bench.vendor}-*.json"), reverse=True):
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        size = data.get("dataset", {}).get("attempts", 0)
        ratio = size / bench.dataset["attempts"] if size else 0
        if not (5 <= ratio <= 20 or 1 / 20 <= ratio <= 1 / 5):  # the 1M / 10M pair, not a smoke run
            continue
        for row in data.get("rows", []):
            if row.get("metric") == "analytics: peak RSS of the requests":
                return size, float(row["value"])
    return None


# -- consistency -----------------------------------------------------------------------------------


@register("aggregates-check", order=50, help="rebuild_aggregates --check over the whole dataset (slow at 10M)")
def aggregates_check(bench: Bench) -> list[Row]:
    start = time.perf_counter()
    with bench.progress(None, "checking aggregates", "days") as bar:
        mismatches = aggregates_rebuild(check_only=True, progress=lambda done, total: bar.update(done - bar.n))
    elapsed = time.perf_counter() - start
    return [
        Row(
            "aggregates: mismatches with the log",
            len(mismatches),
            "",
            target="0",
            met=not mismatches,
            notes=f"rebuild_aggregates --check took {elapsed:.0f} s"
            + ("; " + "; ".join(map(str, mismatches[:3])) if mismatches else ""),
        )
    ]
