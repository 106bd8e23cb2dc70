"""Did my edit help? benchmarks (issue 16): the versions with their comparisons, one comparison,
the regression watch, each through the API against a GROUP BY over the log's raw rows; and the
prediction on a profile's traffic of 20 contexts at 500 samples each."""

from __future__ import annotations

import time

from django.db.models import Sum
from django.test import Client

from ailog.models import AiAttempt, AiRun
from ailog.selectors import log_counts
from analytics.models import ContextTotal
from analytics.selectors import profile_traffic
from analytics.selectors.comparisons import STRATUM
from bench.core import Bench, Row, p50, register, timings
from bench.ingest import integrator_token

ENDPOINTS = "/api/rmos/ai/analytics"
TARGET = "p50 <= 50 ms"


def _busiest_profile() -> tuple[str, list[int]]:
    rows = (
        ContextTotal.objects.exclude(profile_version=0)
        .values("profile_name", "profile_version")
        .annotate(n=Sum("runs"))
        .order_by("-n")
    )
    totals: dict[str, dict[int, int]] = {}
    for row in rows:
        totals.setdefault(row["profile_name"], {})[row["profile_version"]] = row["n"]
    name = max(totals, key=lambda profile: (len(totals[profile]), sum(totals[profile].values())))
    return name, sorted(totals[name])


def _raw(profile: str | None, versions: list[int] | None = None, *, attempts: bool = True) -> float:
    """Seconds for the same strata straight from the log: runs (and attempts) grouped by context
    and version."""
    runs = AiRun.objects.all()
    rows = AiAttempt.objects.all()
    group: tuple[str, ...] = (*STRATUM, "profile_version")
    if profile is None:
        group = ("profile_name", *group)
    else:
        runs, rows = runs.filter(profile_name=profile), rows.filter(profile_name=profile)
    if versions is not None:
        runs, rows = runs.filter(profile_version__in=versions), rows.filter(profile_version__in=versions)
    start = time.perf_counter()
    log_counts(runs=runs, attempts=rows if attempts else None, group=group)
    return time.perf_counter() - start


def _row(label: str, seconds: float, baseline: float, notes: str = "") -> Row:
    return Row(
        f"impact: {label}",
        seconds * 1000,
        "ms",
        target=TARGET,
        met=seconds <= 0.050,
        baseline=baseline * 1000,
        baseline_label="GROUP BY over the raw rows",
        higher_is_better=False,
        notes=notes,
    )


@register("impact", order=45, help="profile-versions, compare and alerts p50 through the API vs a raw GROUP BY")
def impact_latency(bench: Bench) -> list[Row]:
    client = Client(HTTP_AUTHORIZATION=f"Token {integrator_token()}")
    profile, versions = _busiest_profile()
    a, b = versions[-2], versions[-1]
    repeat = 5 if bench.quick else 25

    def measure(path: str) -> float:
        def fetch() -> None:
            response = client.get(f"{ENDPOINTS}/{path}")
            assert response.status_code == 200, response.content[:300]

        return p50(timings(fetch, repeat=repeat, warmup=2))

    return [
        _row(
            f"profile-versions?profile={profile}",
            measure(f"profile-versions?profile={profile}"),
            _raw(profile),
            notes=f"{len(versions)} versions, each with its comparisons and stored prediction",
        ),
        _row(
            f"compare?profile={profile}&a={a}&b={b}",
            measure(f"compare?profile={profile}&a={a}&b={b}"),
            _raw(profile, [a, b], attempts=False),
        ),
        _row(
            "alerts (refreshed from the aggregates)",
            measure("alerts"),
            _raw(None, attempts=False),
            notes="every profile's current version against the one it replaced, then the list",
        ),
    ]


@register("predict", order=46, help="POST predict for the profile with the most contexts, 500 samples per context")
def predict_latency(bench: Bench) -> list[Row]:
    client = Client(HTTP_AUTHORIZATION=f"Token {integrator_token()}")
    names = ContextTotal.objects.exclude(profile_name="").values_list("profile_name", flat=True).distinct()
    name = max(names, key=lambda n: len(profile_traffic(name=n).contexts))
    traffic = profile_traffic(name=name)
    body = {"changes": {"max_rings": 4}, "samples_per_context": 500, "seed": 1}

    def post() -> None:
        response = client.post(f"/api/rmos/ai/profiles/{name}/predict", body, content_type="application/json")
        assert response.status_code == 200, response.content[:300]

    seconds = p50(timings(post, repeat=2 if bench.quick else 5, warmup=1))
    return [
        Row(
            f"impact: predict, {name}, {len(traffic.contexts)} contexts x 500 samples",
            seconds,
            "s",
            target="<= 2 s at 20 contexts",
            met=seconds <= 2.0 if len(traffic.contexts) == 20 else None,
            higher_is_better=False,
            notes=f"saved and proposed values; {traffic.covered_runs:,} of {traffic.runs:,} runs in the last 30 days",
        )
    ]
